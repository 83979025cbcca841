/**
 * Idempotency records in Postgres (no REDIS_URL): the claim is `insert … on conflict do nothing
 * returning`, atomic under concurrency. Expired rows are removed on claim — the row for this key
 * first (so an expired key runs again), then a small batch of others, which keeps the table
 * bounded without a separate sweeper.
 */
import type { Database } from '../../infra/db/orm.ts';
import { IDEMPOTENCY_TTL_SEC } from './key.ts';
import { judge, type ClaimResult, type IdempotencyStore, type StoredResponse } from './store.ts';

interface Row {
  fingerprint: string;
  state: string;
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: string | null;
}

export class PgIdempotencyStore implements IdempotencyStore {
  readonly kind = 'postgres' as const;
  constructor(
    private db: Database,
    private ttlSec = IDEMPOTENCY_TTL_SEC,
  ) {}

  async claim(scope: string, key: string, fingerprint: string): Promise<ClaimResult> {
    await this.db.query(
      `delete from idempotency_key where (scope = $1 and key = $2 and expires_at <= now())
         or ctid = any(array(select ctid from idempotency_key where expires_at <= now() limit 100))`,
      [scope, key],
    );
    for (let round = 0; round < 2; round++) {
      const inserted = await this.db.query(
        `insert into idempotency_key (scope, key, fingerprint, state, expires_at)
         values ($1, $2, $3, 'in_flight', now() + make_interval(secs => $4))
         on conflict (scope, key) do nothing returning key`,
        [scope, key, fingerprint, this.ttlSec],
      );
      if (inserted.length) return { kind: 'claimed' };
      const rows = await this.db.query<Row>(
        `select fingerprint, state, response_status, response_headers, response_body
         from idempotency_key where scope = $1 and key = $2 and expires_at > now()`,
        [scope, key],
      );
      const r = rows[0];
      if (r) {
        const response = r.state === 'completed' ? { status: r.response_status!, headers: r.response_headers ?? {}, body: r.response_body ?? '' } : undefined;
        return judge({ fingerprint: r.fingerprint, state: r.state, response }, fingerprint);
      }
      // Expired between insert and select: remove it and try once more.
      await this.db.query(`delete from idempotency_key where scope = $1 and key = $2 and expires_at <= now()`, [scope, key]);
    }
    return { kind: 'in_flight' };
  }

  async complete(scope: string, key: string, fingerprint: string, response: StoredResponse): Promise<void> {
    await this.db.query(
      `update idempotency_key set state = 'completed', response_status = $4, response_headers = $5::jsonb, response_body = $6
       where scope = $1 and key = $2 and fingerprint = $3 and state = 'in_flight'`,
      [scope, key, fingerprint, response.status, JSON.stringify(response.headers), response.body],
    );
  }

  async release(scope: string, key: string, fingerprint: string): Promise<void> {
    await this.db.query(`delete from idempotency_key where scope = $1 and key = $2 and fingerprint = $3 and state = 'in_flight'`, [scope, key, fingerprint]);
  }
}
