/**
 * Envelope serialization. Each hub event is turned into its JSON text exactly once; that one
 * string goes to the replay buffer and to `app.publish`, so fan-out cost does not grow with the
 * number of subscribers. Payloads over the outbound limit are cut down (longest strings and
 * arrays first) and marked `truncated: true`, so one huge log line can never exceed the limit.
 */
import type { HubEvent } from '../../actors/hub.ts';
import type { ProjectStatus } from '../../domain/status.ts';

/** A serialized envelope with the seq it is ordered by (log/task/error share their transition's). */
export interface Encoded {
  seq: number;
  text: string;
}

/** UTF-8 length without encoding when the string is certainly small (≤ 3 bytes per UTF-16 unit). */
export function utf8Length(s: string, limit: number): number {
  return s.length * 3 <= limit ? s.length : Buffer.byteLength(s);
}

/** Every hub event goes out, `status` included: clients show the status the server computed (src/machines/status.ts). */
export function encodeHubEvent(e: HubEvent, maxBytes: number): Encoded | null {
  return { seq: e.seq, text: encode(e.type, e.ts, e.projectId, e.seq, e.payload, maxBytes) };
}

export function encodeSnapshot(status: ProjectStatus, ts: string, maxBytes: number): string {
  return encode('snapshot', ts, status.projectId, status.seq, status, maxBytes);
}

export function encodeHeartbeat(ts: string): string {
  return `{"type":"heartbeat","ts":"${ts}"}`;
}

export function encodeProtocolError(ts: string, message: string): string {
  return JSON.stringify({ type: 'error', ts, payload: { message: message.slice(0, 2000), code: 'invalid_message', n: 0 } });
}

function encode(type: string, ts: string, projectId: string, seq: number, payload: unknown, maxBytes: number): string {
  const text = JSON.stringify({ type, ts, projectId, seq, payload });
  const size = utf8Length(text, maxBytes);
  if (size <= maxBytes) return text;
  const cut = JSON.stringify({ type, ts, projectId, seq, payload: shrink(payload, size - maxBytes) });
  return Buffer.byteLength(cut) <= maxBytes ? cut : JSON.stringify({ type, ts, projectId, seq, payload: { truncated: true } });
}

/**
 * Cut `excess` bytes (plus slack for JSON escaping and the marker) out of a payload: repeatedly
 * halve-or-trim its largest string/array. Falls back to `{ truncated: true }` alone.
 */
function shrink(payload: unknown, excess: number): Record<string, unknown> {
  if (!payload || typeof payload !== 'object' || Array.isArray(payload)) return { truncated: true };
  const copy: Record<string, unknown> = structuredClone(payload as Record<string, unknown>);
  let remaining = excess + 64;
  for (let round = 0; round < 32 && remaining > 0; round++) {
    const big = largest(copy);
    if (!big) break;
    const { holder, key, size } = big;
    const v = holder[key];
    if (typeof v === 'string') {
      // Bytes→chars: cut generously (a char is 1–3 bytes; JSON escapes may double it).
      const keepChars = Math.max(0, Math.floor(v.length - remaining * (v.length / Math.max(1, size))) - 16);
      holder[key] = v.slice(0, keepChars);
    } else if (Array.isArray(v)) {
      holder[key] = v.slice(0, Math.max(0, Math.floor(v.length * (1 - remaining / Math.max(1, size))) - 1));
    }
    remaining -= size - jsonSize(holder[key]);
  }
  if (remaining > 0) return { truncated: true };
  copy.truncated = true;
  return copy;
}

function jsonSize(v: unknown): number {
  return Buffer.byteLength(JSON.stringify(v) ?? '');
}

/** The largest string or array value (by JSON bytes) anywhere in the object tree. */
function largest(obj: Record<string, unknown>): { holder: Record<string, unknown>; key: string; size: number } | null {
  let best: { holder: Record<string, unknown>; key: string; size: number } | null = null;
  const visit = (o: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === 'string' || Array.isArray(v)) {
        const size = jsonSize(v);
        if (size > 64 && (!best || size > best.size)) best = { holder: o, key: k, size };
      } else if (v && typeof v === 'object') visit(v as Record<string, unknown>);
    }
  };
  visit(obj);
  return best;
}
