/**
 * Writing an ApiResponse to a uWS HttpResponse. Every write happens inside `res.cork` (one
 * syscall, and required when writing after an await) and only if the client has not aborted —
 * touching an aborted uWS response throws, and a thrown error must never escape to uWS.
 */
import { STATUS_CODES } from 'node:http';
import type uWS from 'uWebSockets.js';
import type { ApiResponse } from './types.ts';

const STATUS_LINES: Record<number, string> = Object.fromEntries(Object.entries(STATUS_CODES).map(([c, t]) => [c, `${c} ${t}`]));

/** Per-request state shared by the adapter, body reader and writer. */
export interface ResState {
  aborted: boolean;
  done: boolean;
  /** Called once when the client aborts (the body reader uses it to stop waiting). */
  onAbort?: () => void;
}

/** JSON of frozen bodies (e.g. a project's committed status, shared until its next transition). */
const frozenJson = new WeakMap<object, string>();

/** Serialize a response body: JSON for values, bytes as is. Returns bytes and default content-type. */
export function encodeBody(body: unknown): { bytes: string | Buffer; type: string | undefined } {
  if (body === undefined) return { bytes: '', type: undefined };
  if (Buffer.isBuffer(body)) return { bytes: body, type: 'application/octet-stream' };
  if (typeof body === 'string') return { bytes: body, type: 'text/plain; charset=utf-8' };
  if (body !== null && typeof body === 'object' && Object.isFrozen(body)) {
    let json = frozenJson.get(body);
    if (json === undefined) frozenJson.set(body, (json = JSON.stringify(body)));
    return { bytes: json, type: 'application/json' };
  }
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
  const own = r.headers;
  const hasType = !!own && Object.keys(own).some((k) => k.toLowerCase() === 'content-type');
  res.cork(() => {
    res.writeStatus(STATUS_LINES[r.status] ?? `${r.status} ${STATUS_CODES[r.status] ?? 'Unknown'}`);
    for (const k in extraHeaders) if (!own || !(k in own)) res.writeHeader(k, extraHeaders[k]!);
    if (own) for (const k in own) res.writeHeader(k, own[k]!);
    if (type && !hasType) res.writeHeader('content-type', type);
    if (r.status === 204 || r.status === 304) res.endWithoutBody(0, close);
    else res.end(bytes, close);
  });
  return true;
}

/**
 * The response as `send` puts it on the wire: status, headers (content-type defaulted the same
 * way) and body bytes. For in-process callers that want what a client would receive.
 */
export function toWire(r: ApiResponse): { status: number; headers: Record<string, string>; body: string | Buffer } {
  const { bytes, type } = encodeBody(r.body);
  const headers: Record<string, string> = { ...r.headers };
  if (type && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) headers['content-type'] = type;
  return { status: r.status, headers, body: r.status === 204 || r.status === 304 ? '' : bytes };
}
