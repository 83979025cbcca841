/**
 * The storage contract behind Idempotency-Key: an atomic claim before any side effect, then
 * either the stored response (complete) or the claim's removal (release, after a 5xx, so a
 * retry can run). Redis (SET NX EX) and Postgres (insert … on conflict do nothing) implement it.
 */

export interface StoredResponse {
  status: number;
  headers: Record<string, string>;
  /** The response body exactly as sent (JSON text for JSON responses). */
  body: string;
}

export type ClaimResult =
  | { kind: 'claimed' }
  | { kind: 'in_flight' }
  | { kind: 'mismatch' }
  | { kind: 'completed'; response: StoredResponse };

export interface IdempotencyStore {
  readonly kind: 'redis' | 'postgres';
  claim(scope: string, key: string, fingerprint: string): Promise<ClaimResult>;
  complete(scope: string, key: string, fingerprint: string, response: StoredResponse): Promise<void>;
  release(scope: string, key: string, fingerprint: string): Promise<void>;
}

/** Decide what an existing record means for a new request with `fingerprint`. */
export function judge(existing: { fingerprint: string; state: string; response?: StoredResponse }, fingerprint: string): ClaimResult {
  if (existing.fingerprint !== fingerprint) return { kind: 'mismatch' };
  if (existing.state !== 'completed' || !existing.response) return { kind: 'in_flight' };
  return { kind: 'completed', response: existing.response };
}
