/**
 * Small HTTP/SSE helpers shared by the wire encoders of the scripted model.
 * SSE framing per the WHATWG HTML spec (§9.2 server-sent events): `event:` / `data:` lines
 * and a blank line per event.
 */
import type { ServerResponse } from 'node:http';
import type { WireError } from './types.ts';

export function startSse(res: ServerResponse): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
}

/** One SSE event; `event` is omitted for providers that only use `data:` lines (Gemini, Chat Completions). */
export function sendEvent(res: ServerResponse, data: unknown, event?: string): void {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  res.write(`${event ? `event: ${event}\n` : ''}data: ${payload}\n\n`);
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
  res.end(text);
}

export function sendError(res: ServerResponse, err: WireError): void {
  sendJson(res, err.status, err.body, err.headers);
}

/** `retry-after` header (seconds) when the failure sets one. */
export function retryAfter(sec: number | undefined): Record<string, string> {
  return sec === undefined ? {} : { 'retry-after': String(sec) };
}
