/**
 * Wraps a POST handler with Idempotency-Key semantics. The claim happens before the handler
 * runs (so before any side effect); the handler's response is stored and replayed with
 * `Idempotent-Replayed: true`; a 5xx (thrown or returned) releases the claim so the client's
 * retry executes. Requests without the header run normally.
 *
 * A thrown error is recorded (its problem response stored, or the claim released for a 5xx) and
 * then rethrown unchanged: the pipeline maps it to the response and logs a 5xx with its
 * correlationId, in one place, exactly as for requests without the header.
 */
import type { Logger } from '../../infra/logger.ts';
import { HttpError, IdempotencyError, problemResponse } from '../http/errors.ts';
import { encodeBody } from '../http/respond.ts';
import type { ApiResponse, Handler } from '../http/types.ts';
import { idempotencyScope, parseIdempotencyKey, requestFingerprint } from './key.ts';
import type { IdempotencyStore, StoredResponse } from './store.ts';

export const REPLAYED_HEADER = 'idempotent-replayed';

function stored(r: ApiResponse): StoredResponse {
  const { bytes, type } = encodeBody(r.body);
  const headers: Record<string, string> = { ...(r.headers ?? {}) };
  if (type && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = type;
  return { status: r.status, headers, body: Buffer.isBuffer(bytes) ? bytes.toString('utf8') : bytes };
}

export function withIdempotency(handler: Handler, store: IdempotencyStore, logger: Logger): Handler {
  return async (req) => {
    const raw = req.headers['idempotency-key'];
    if (raw === undefined) return handler(req);
    const key = parseIdempotencyKey(raw);
    if (!key) throw new IdempotencyError('malformed', 'Idempotency-Key must be 1-255 printable ASCII characters');
    const scope = idempotencyScope(req.method, req.route, req.principal);
    const fingerprint = requestFingerprint(req.path, req.body);
    let claim;
    try {
      claim = await store.claim(scope, key, fingerprint);
    } catch (err) {
      // Logged once by the pipeline (a 5xx), with the store's error as the cause.
      throw new HttpError(503, 'idempotency-store-unavailable', 'Service unavailable', 'the idempotency store is unreachable; retry later', {}, { 'retry-after': '1' }, { cause: err });
    }
    if (claim.kind === 'mismatch') throw new IdempotencyError('mismatch', 'this Idempotency-Key was already used with a different request');
    if (claim.kind === 'in_flight') throw new IdempotencyError('in-flight', 'a request with this Idempotency-Key is still being processed');
    if (claim.kind === 'completed') {
      const r = claim.response;
      return { status: r.status, headers: { ...r.headers, [REPLAYED_HEADER]: 'true' }, body: r.body };
    }
    let res: ApiResponse;
    let thrown: { err: unknown } | undefined;
    try {
      res = await handler(req);
    } catch (err) {
      thrown = { err };
      res = problemResponse(err, req.path);
    }
    try {
      if (res.status >= 500) await store.release(scope, key, fingerprint);
      else await store.complete(scope, key, fingerprint, stored(res));
    } catch (err) {
      // The effect happened; the response still goes out. The claim expires with its TTL.
      logger.error({ err: (err as Error).message, store: store.kind }, 'could not record idempotent response');
    }
    if (thrown) throw thrown.err;
    return res;
  };
}
