/**
 * Writing an ApiResponse to a uWS HttpResponse. Every write happens inside `res.cork` (one
 * syscall, and required when writing after an await) and only if the client has not aborted —
 * touching an aborted uWS response throws, and a thrown error must never escape to uWS.
 */
import { STATUS_CODES } from 'node:http';
import type uWS from 'uWebSockets.js';
import type { ApiResponse } from './types.ts';

/** Per-request state shared by the adapter, body reader and writer. */
export interface ResState {
  aborted: boolean;
  done: boolean;
}

/** Serialize a response body: JSON for values, bytes as is. Returns bytes and default content-type. */
export function encodeBody(body: unknown): { bytes: string | Buffer; type: string | undefined } {
  if (body === undefined) return { bytes: '', type: undefined };
  if (Buffer.isBuffer(body)) return { bytes: body, type: 'application/octet-stream' };
  if (typeof body === 'string') return { bytes: body, type: 'text/plain; charset=utf-8' };
  return { bytes: JSON.stringify(body), type: 'application/json' };
}

/**
 * Send the response. `close` ends the connection afterwards (used for 413, where the rest of
 * the body is still arriving and must not be parsed as the next request).
 */
export function send(res: uWS.HttpResponse, st: ResState, r: ApiResponse, extraHeaders: Record<string, string> = {}, close = false): boolean {
  if (st.aborted || st.done) return false;
  st.done = true;
  const { bytes, type } = encodeBody(r.body);
  const headers: Record<string, string> = { ...extraHeaders, ...(r.headers ?? {}) };
  if (type && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = type;
  res.cork(() => {
    res.writeStatus(`${r.status} ${STATUS_CODES[r.status] ?? 'Unknown'}`);
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    if (r.status === 204 || r.status === 304) res.endWithoutBody(0, close);
    else res.end(bytes, close);
  });
  return true;
}
