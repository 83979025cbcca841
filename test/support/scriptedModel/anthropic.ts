/**
 * Anthropic Messages API, the part Claude Code uses (ANTHROPIC_BASE_URL):
 *   POST /v1/messages (stream: true → SSE; false → one JSON message)
 *   POST /v1/messages/count_tokens → { input_tokens }
 *   GET  /v1/models[/<id>] → a one-model list
 * Streaming events and error shapes per https://docs.anthropic.com/en/api/messages-streaming
 * and https://docs.anthropic.com/en/api/errors (529 overloaded_error, 429 rate_limit_error
 * with retry-after, 401 authentication_error, 404 not_found_error; a too-low credit balance
 * is a 400 invalid_request_error).
 */
import type { ServerResponse } from 'node:http';
import { retryAfter, sendEvent, sendJson, startSse } from './sse.ts';
import type { ScriptedFailure, Turn, TurnUsage, WireError } from './types.ts';
import type { WireProtocol } from './protocol.ts';

type Block = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

function blocks(turn: Turn, seq: number): Block[] {
  if (turn.kind === 'text') return [{ type: 'text', text: turn.text }];
  return turn.calls.map((c, i) => ({ type: 'tool_use', id: `toolu_scripted_${seq}_${i}`, name: c.name, input: c.input }));
}

function usageJson(u: TurnUsage): Record<string, number> {
  return { input_tokens: u.inputTokens, output_tokens: u.outputTokens, cache_read_input_tokens: u.cachedTokens, cache_creation_input_tokens: 0 };
}

function streamMessage(res: ServerResponse, model: string, content: Block[], stop: string, u: TurnUsage, seq: number): void {
  startSse(res);
  const id = `msg_scripted_${seq}`;
  sendEvent(res, { type: 'message_start', message: { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null, stop_sequence: null, usage: { ...usageJson(u), output_tokens: 1 } } }, 'message_start');
  content.forEach((b, index) => {
    if (b.type === 'text') {
      sendEvent(res, { type: 'content_block_start', index, content_block: { type: 'text', text: '' } }, 'content_block_start');
      sendEvent(res, { type: 'content_block_delta', index, delta: { type: 'text_delta', text: b.text } }, 'content_block_delta');
    } else {
      sendEvent(res, { type: 'content_block_start', index, content_block: { type: 'tool_use', id: b.id, name: b.name, input: {} } }, 'content_block_start');
      const json = JSON.stringify(b.input);
      const mid = Math.floor(json.length / 2); // two deltas: exercise the client's partial-JSON joining
      for (const part of [json.slice(0, mid), json.slice(mid)]) {
        sendEvent(res, { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: part } }, 'content_block_delta');
      }
    }
    sendEvent(res, { type: 'content_block_stop', index }, 'content_block_stop');
  });
  sendEvent(res, { type: 'message_delta', delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: u.outputTokens } }, 'message_delta');
  sendEvent(res, { type: 'message_stop' }, 'message_stop');
  res.end();
}

function answer(res: ServerResponse, body: Record<string, unknown>, turn: Turn, u: TurnUsage, seq: number): void {
  const model = String(body.model ?? 'scripted');
  const content = blocks(turn, seq);
  const stop = turn.kind === 'tool' ? 'tool_use' : 'end_turn';
  if (body.stream === true) return streamMessage(res, model, content, stop, u, seq);
  sendJson(res, 200, { id: `msg_scripted_${seq}`, type: 'message', role: 'assistant', model, content, stop_reason: stop, stop_sequence: null, usage: usageJson(u) });
}

function error(f: ScriptedFailure, model: string): WireError {
  const e = (status: number, type: string, message: string, headers: Record<string, string> = {}): WireError => ({
    status,
    headers: { 'request-id': 'req_scripted', ...headers },
    body: { type: 'error', error: { type, message }, request_id: 'req_scripted' },
  });
  switch (f.kind) {
    case 'auth': return e(401, 'authentication_error', 'invalid x-api-key');
    case 'unknown-model': return e(404, 'not_found_error', `model: ${model}`);
    case 'rate-limit': return e(429, 'rate_limit_error', 'This request would exceed the rate limit for your organization of 50 requests per minute. For details, refer to: https://docs.claude.com/en/api/rate-limits.', retryAfter(f.retryAfterSec));
    case 'overloaded': return e(529, 'overloaded_error', 'Overloaded', retryAfter(f.retryAfterSec));
    case 'quota': return e(400, 'invalid_request_error', 'Your credit balance is too low to access the Anthropic API. Please go to Plans & Billing to upgrade or purchase credits.');
    case 'server-error': return e(500, 'api_error', 'Internal server error');
  }
}

export const anthropicProtocol: WireProtocol = {
  name: 'anthropic',
  route(method, url) {
    if (method === 'POST' && url.pathname === '/v1/messages') return 'model';
    if (url.pathname === '/v1/messages/count_tokens' || url.pathname.startsWith('/v1/models')) return 'aux';
    return null;
  },
  /** Agent-loop turns carry the tool list; title/summary/quota probes do not. */
  isMain: (body) => Array.isArray(body.tools) && body.tools.length > 0,
  model: (_url, body) => (typeof body.model === 'string' ? body.model : undefined),
  key: (headers) => (headers['x-api-key'] as string | undefined) ?? bearer(headers.authorization),
  answer,
  aux(res, url, body) {
    if (url.pathname === '/v1/messages/count_tokens') return sendJson(res, 200, { input_tokens: JSON.stringify(body).length >> 2 });
    const id = url.pathname.split('/')[3];
    const m = { type: 'model', id: id || 'scripted-model', display_name: 'Scripted', created_at: '2025-01-01T00:00:00Z' };
    sendJson(res, 200, id ? m : { data: [m], has_more: false, first_id: m.id, last_id: m.id });
  },
  error,
};

export function bearer(h: string | string[] | undefined): string | undefined {
  const v = Array.isArray(h) ? h[0] : h;
  return v?.startsWith('Bearer ') ? v.slice(7) : undefined;
}
