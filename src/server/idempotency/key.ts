/**
 * Idempotency-Key rules shared by both stores (IETF draft-ietf-httpapi-idempotency-key-header,
 * Stripe's behaviour): the key's syntax, its lifetime, the scope it lives in and the request
 * fingerprint that detects a key reused for a different request.
 */
import { createHash } from 'node:crypto';

/** A completed key's response is replayed for 6 h after completion. */
export const IDEMPOTENCY_TTL_SEC = 6 * 3600;

/**
 * An in-flight claim lapses after 120 s: longer than any request holds it (a STOP waits at most
 * its stop timeout, 30 s by default, plus the routing timeout), short enough that a runner killed
 * mid-request (kill -9: nothing released the claim) does not block the client's retry for hours.
 */
export const IDEMPOTENCY_IN_FLIGHT_SEC = 120;

/** 1–255 printable ASCII characters (0x20–0x7e); surrounding quotes of a structured-header string are allowed. */
export function parseIdempotencyKey(raw: string): string | undefined {
  const v = raw.length >= 2 && raw.startsWith('"') && raw.endsWith('"') ? raw.slice(1, -1) : raw;
  return /^[\x20-\x7e]{1,255}$/.test(v) ? v : undefined;
}

/** Keys are scoped per route and principal: the same key used on another route or by another caller is unrelated. */
export function idempotencyScope(method: string, route: string, principal: string): string {
  return `${method} ${route} ${principal}`;
}

/** JSON with object keys sorted, so semantically equal bodies fingerprint equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value ?? null, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) : v,
  );
}

/**
 * sha256 over the concrete path and the canonical body. The path is included because the scope
 * is the route *pattern*: reusing a key for `pause/a` on `pause/b` is a different request (422).
 */
export function requestFingerprint(path: string, body: unknown): string {
  return createHash('sha256').update(path).update('\n').update(canonicalJson(body)).digest('hex');
}
