/**
 * OpenAI Responses API, the part Codex uses (a custom model provider with
 * `wire_api = "responses"` and `base_url = <endpoint>/v1`):
 *   POST /v1/responses (stream: true) → SSE `response.created`, `response.output_item.added`/
 *   `.done` per output item, `response.completed` with usage.
 *   GET /v1/models → a one-model list.
 * Event and item shapes per https://platform.openai.com/docs/api-reference/responses-streaming
 * (function_call items carry `name`, `arguments` (a JSON string) and `call_id`; custom tool
 * calls (freeform tools such as Codex's apply_patch) carry `input`). `usage.input_tokens`
 * INCLUDES `input_tokens_details.cached_tokens`.
 */
import type { ServerResponse } from 'node:http';
import { openaiError } from './openaiErrors.ts';
import type { WireProtocol } from './protocol.ts';
import { sendEvent, sendJson, startSse } from './sse.ts';
import type { Turn, TurnUsage } from './types.ts';

/** Tools Codex declares as `type: "custom"` take raw text: a ToolCall's `input.input` string. */
function items(turn: Turn, seq: number, customTools: Set<string>): Record<string, unknown>[] {
  if (turn.kind === 'text') {
    return [{ type: 'message', id: `msg_scripted_${seq}`, role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: turn.text, annotations: [] }] }];
  }
  return turn.calls.map((c, i) =>
    customTools.has(c.name)
      ? { type: 'custom_tool_call', id: `ctc_scripted_${seq}_${i}`, call_id: `call_scripted_${seq}_${i}`, name: c.name, input: String(c.input.input ?? ''), status: 'completed' }
      : { type: 'function_call', id: `fc_scripted_${seq}_${i}`, call_id: `call_scripted_${seq}_${i}`, name: c.name, arguments: JSON.stringify(c.input), status: 'completed' },
  );
}

export function responsesUsage(u: TurnUsage): Record<string, unknown> {
  const input = u.inputTokens + u.cachedTokens;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: u.cachedTokens },
    output_tokens: u.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: input + u.outputTokens,
  };
}

function customToolNames(body: Record<string, unknown>): Set<string> {
  const tools = Array.isArray(body.tools) ? (body.tools as { type?: string; name?: string }[]) : [];
  return new Set(tools.filter((t) => t.type === 'custom' && t.name).map((t) => t.name as string));
}

function answer(res: ServerResponse, body: Record<string, unknown>, turn: Turn, u: TurnUsage, seq: number): void {
  const model = String(body.model ?? 'scripted');
  const id = `resp_scripted_${seq}`;
  const output = items(turn, seq, customToolNames(body));
  const response = (status: string, extra: Record<string, unknown> = {}) => ({ id, object: 'response', created_at: 1735689600, status, model, output: [], ...extra });
  if (body.stream !== true) return sendJson(res, 200, response('completed', { output, usage: responsesUsage(u) }));
  startSse(res);
  let n = 0;
  sendEvent(res, { type: 'response.created', sequence_number: n++, response: response('in_progress') }, 'response.created');
  output.forEach((item, output_index) => {
    sendEvent(res, { type: 'response.output_item.added', sequence_number: n++, output_index, item: { ...item, status: 'in_progress' } }, 'response.output_item.added');
    if (item.type === 'message') {
      const text = (item.content as { text: string }[])[0].text;
      sendEvent(res, { type: 'response.output_text.delta', sequence_number: n++, item_id: item.id, output_index, content_index: 0, delta: text }, 'response.output_text.delta');
    }
    sendEvent(res, { type: 'response.output_item.done', sequence_number: n++, output_index, item }, 'response.output_item.done');
  });
  sendEvent(res, { type: 'response.completed', sequence_number: n++, response: response('completed', { output, usage: responsesUsage(u) }) }, 'response.completed');
  res.end();
}

export const responsesProtocol: WireProtocol = {
  name: 'responses',
  route(method, url) {
    if (method === 'POST' && url.pathname === '/v1/responses') return 'model';
    if (method === 'GET' && url.pathname === '/v1/models') return 'aux';
    return null;
  },
  isMain: (body) => Array.isArray(body.tools) && body.tools.length > 0,
  model: (_url, body) => (typeof body.model === 'string' ? body.model : undefined),
  key: (headers) => {
    const v = headers.authorization;
    return typeof v === 'string' && v.startsWith('Bearer ') ? v.slice(7) : undefined;
  },
  answer,
  aux: (res) => sendJson(res, 200, { object: 'list', data: [{ id: 'scripted-model', object: 'model', created: 1735689600, owned_by: 'scripted' }] }),
  error: openaiError,
};
