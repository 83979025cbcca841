/**
 * All SQL of the idempotency-key family: `idempotency_key` (one row per (scope, key): the claim
 * while the request runs, then the stored response). Nothing else in src/ writes SQL for it.
 *
 * The claim is `insert … on conflict do nothing returning`, atomic under concurrency. Expired
 * rows are not swept by a separate job: `purgeExpired` removes the caller's own expired row and a
 * small batch of others, which keeps the table bounded.
 */
import type { Database } from './orm.ts';
import type { Sql } from './projectRepository.ts';

/** A response as stored for replay (the body exactly as sent). */
export interface IdempotentResponseRow {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** A live (unexpired) record: `in_flight` while the first request runs, then `completed` with its response. */
export interface IdempotencyRecord {
  fingerprint: string;
  state: string;
  response: IdempotentResponseRow | undefined;
}

/** How many expired rows of other keys one purge removes at most. */
const PURGE_BATCH = 100;

/** The repository over one database (see the module comment). */
export function idempotencyRepository(db: Database) {
  const q: Sql = (sql, params) => db.query(sql, params);
  return {
    /** Remove this key's row when expired, and up to PURGE_BATCH other expired rows. */
    async purgeExpired(scope: string, key: string): Promise<void> {
      await q(
        `delete from idempotency_key where (scope = $1 and key = $2 and expires_at <= now())
           or ctid = any(array(select ctid from idempotency_key where expires_at <= now() limit ${PURGE_BATCH}))`,
        [scope, key],
      );
    },

    /** Remove this key's row only if it has expired (it may have expired between insert and select). */
    async deleteIfExpired(scope: string, key: string): Promise<void> {
      await q(`delete from idempotency_key where scope = $1 and key = $2 and expires_at <= now()`, [scope, key]);
    },

    /** Claim the key (`in_flight`, a lease expiring `ttlSec` after now); false when a row exists already. */
    async insertClaim(scope: string, key: string, fingerprint: string, ttlSec: number): Promise<boolean> {
      const rows = await q(
        `insert into idempotency_key (scope, key, fingerprint, state, expires_at)
         values ($1, $2, $3, 'in_flight', now() + make_interval(secs => $4))
         on conflict (scope, key) do nothing returning key`,
        [scope, key, fingerprint, ttlSec],
      );
      return rows.length > 0;
    },

    /** The unexpired record of the key, if any. */
    async find(scope: string, key: string): Promise<IdempotencyRecord | undefined> {
      const rows = await q<{
        fingerprint: string;
        state: string;
        response_status: number | null;
        response_headers: Record<string, string> | null;
        response_body: string | null;
      }>(
        `select fingerprint, state, response_status, response_headers, response_body
         from idempotency_key where scope = $1 and key = $2 and expires_at > now()`,
        [scope, key],
      );
      const r = rows[0];
      if (!r) return undefined;
      const response = r.state === 'completed' ? { status: r.response_status!, headers: r.response_headers ?? {}, body: r.response_body ?? '' } : undefined;
      return { fingerprint: r.fingerprint, state: r.state, response };
    },

    /** Store the response of our in-flight claim, kept `ttlSec` from now (a row another request owns is left alone). */
    async complete(scope: string, key: string, fingerprint: string, response: IdempotentResponseRow, ttlSec: number): Promise<void> {
      await q(
        `update idempotency_key set state = 'completed', response_status = $4, response_headers = $5::jsonb, response_body = $6,
           expires_at = now() + make_interval(secs => $7)
         where scope = $1 and key = $2 and fingerprint = $3 and state = 'in_flight'`,
        [scope, key, fingerprint, response.status, JSON.stringify(response.headers), response.body, ttlSec],
      );
    },

    /** Drop our in-flight claim (after a 5xx) so a retry executes; a completed record is kept. */
    async release(scope: string, key: string, fingerprint: string): Promise<void> {
      await q(`delete from idempotency_key where scope = $1 and key = $2 and fingerprint = $3 and state = 'in_flight'`, [scope, key, fingerprint]);
    },
  };
}

export type IdempotencyRepository = ReturnType<typeof idempotencyRepository>;
