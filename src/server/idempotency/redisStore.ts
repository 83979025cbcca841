/**
 * Idempotency records in Redis: one string key per (scope, key) holding JSON, created with
 * `SET … NX EX 120` (the atomic claim, a short lease: a killed runner's claim lapses) and
 * overwritten on completion with `EX 21600` (the response is replayed for 6 h). Release deletes only a claim that is still ours
 * (compare-and-delete in Lua), never a record another request completed.
 */
import { createHash } from 'node:crypto';
import type { RedisClient } from '../../infra/redis.ts';
import { IDEMPOTENCY_IN_FLIGHT_SEC, IDEMPOTENCY_TTL_SEC } from './key.ts';
import { judge, type ClaimResult, type IdempotencyStore, type StoredResponse } from './store.ts';

const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) else return 0 end`;

interface Rec {
  state: 'in_flight' | 'completed';
  fingerprint: string;
  response?: StoredResponse;
}

export class RedisIdempotencyStore implements IdempotencyStore {
  readonly kind = 'redis' as const;
  constructor(
    private client: RedisClient,
    private prefix = 'devteam:idem:',
    private ttlSec = IDEMPOTENCY_TTL_SEC,
    private inFlightSec = IDEMPOTENCY_IN_FLIGHT_SEC,
  ) {}

  /** The scope is hashed so principals and route text never appear in Redis key names. */
  #key(scope: string, key: string): string {
    return `${this.prefix}${createHash('sha256').update(scope).digest('hex').slice(0, 32)}:${key}`;
  }

  #claimValue(fingerprint: string): string {
    return JSON.stringify({ state: 'in_flight', fingerprint } satisfies Rec);
  }

  async claim(scope: string, key: string, fingerprint: string): Promise<ClaimResult> {
    const k = this.#key(scope, key);
    // Two rounds: the record may expire between a failed SET NX and the GET.
    for (let round = 0; round < 2; round++) {
      const ok = await this.client.set(k, this.#claimValue(fingerprint), { condition: 'NX', expiration: { type: 'EX', value: this.inFlightSec } });
      if (ok === 'OK') return { kind: 'claimed' };
      const raw = await this.client.get(k);
      if (raw) return judge(JSON.parse(raw) as Rec, fingerprint);
    }
    return { kind: 'in_flight' };
  }

  async complete(scope: string, key: string, fingerprint: string, response: StoredResponse): Promise<void> {
    const rec: Rec = { state: 'completed', fingerprint, response };
    await this.client.set(this.#key(scope, key), JSON.stringify(rec), { expiration: { type: 'EX', value: this.ttlSec } });
  }

  async release(scope: string, key: string, fingerprint: string): Promise<void> {
    await this.client.eval(RELEASE, { keys: [this.#key(scope, key)], arguments: [this.#claimValue(fingerprint)] });
  }
}
