/**
 * Idempotency records in Postgres (no REDIS_URL), through the idempotency repository
 * (src/infra/db/idempotencyRepository.ts, which holds the SQL): expired rows are purged on claim —
 * the row for this key first (so an expired key runs again), then a small batch of others — and
 * the claim is an atomic insert that does nothing on conflict. A claim is a short lease
 * (IDEMPOTENCY_IN_FLIGHT_SEC) so a killed runner's claim lapses; completion keeps the response for
 * IDEMPOTENCY_TTL_SEC.
 */
import { idempotencyRepository, type IdempotencyRepository } from '../../infra/db/idempotencyRepository.ts';
import type { Database } from '../../infra/db/orm.ts';
import { IDEMPOTENCY_IN_FLIGHT_SEC, IDEMPOTENCY_TTL_SEC } from './key.ts';
import { judge, type ClaimResult, type IdempotencyStore, type StoredResponse } from './store.ts';

export class PgIdempotencyStore implements IdempotencyStore {
  readonly kind = 'postgres' as const;
  private repo: IdempotencyRepository;
  constructor(
    db: Database,
    private ttlSec = IDEMPOTENCY_TTL_SEC,
    private inFlightSec = IDEMPOTENCY_IN_FLIGHT_SEC,
  ) {
    this.repo = idempotencyRepository(db);
  }

  async claim(scope: string, key: string, fingerprint: string): Promise<ClaimResult> {
    await this.repo.purgeExpired(scope, key);
    for (let round = 0; round < 2; round++) {
      if (await this.repo.insertClaim(scope, key, fingerprint, this.inFlightSec)) return { kind: 'claimed' };
      const r = await this.repo.find(scope, key);
      if (r) return judge(r, fingerprint);
      // Expired between insert and select: remove it and try once more.
      await this.repo.deleteIfExpired(scope, key);
    }
    return { kind: 'in_flight' };
  }

  complete(scope: string, key: string, fingerprint: string, response: StoredResponse): Promise<void> {
    return this.repo.complete(scope, key, fingerprint, response, this.ttlSec);
  }

  release(scope: string, key: string, fingerprint: string): Promise<void> {
    return this.repo.release(scope, key, fingerprint);
  }
}
