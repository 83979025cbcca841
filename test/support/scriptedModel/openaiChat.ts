/**
 * OpenAI Chat Completions, the part opencode's OpenAI-compatible provider uses
 * (provider `options.baseURL = <endpoint>/v1`):
 *   POST /v1/chat/completions (stream: true → SSE chunks ending with `data: [DONE]`)
 *   GET /v1/models → a one-model list.
 * Chunk shapes per https://platform.openai.com/docs/api-reference/chat-streaming: tool calls
 * arrive in `choices[0].delta.tool_calls[]` (`index`, `id`, `function.name`,
 * `function.arguments` as JSON text, possibly split), usage in a final chunk with empty
 * `choices` (`stream_options.include_usage`). `prompt_tokens` INCLUDES
 * `prompt_tokens_details.cached_tokens`.
 */
import type { ServerResponse } from 'node:http';
import { openaiError } from './openaiErrors.ts';
import type { WireProtocol } from './protocol.ts';
import { sendEvent, sendJson, startSse } from './sse.ts';
import type { Turn, TurnUsage } from './types.ts';

export function chatUsage(u: TurnUsage): Record<string, unknown> {
  const prompt = u.inputTokens + u.cachedTokens;
  return { prompt_tokens: prompt, completion_tokens: u.outputTokens, total_tokens: prompt + u.outputTokens, prompt_tokens_details: { cached_tokens: u.cachedTokens } };
}

function answer(res: ServerResponse, body: Record<string, unknown>, turn: Turn, u: TurnUsage, seq: number): void {
  const model = String(body.model ?? 'scripted');
  const base = { id: `chatcmpl-scripted-${seq}`, object: 'chat.completion.chunk', created: 1735689600, model };
  const calls = turn.kind === 'tool'
    ? turn.calls.map((c, index) => ({ index, id: `call_scripted_${seq}_${index}`, type: 'function', function: { name: c.name, arguments: JSON.stringify(c.input) } }))
    : [];
  const finish = turn.kind === 'tool' ? 'tool_calls' : 'stop';
  if (body.stream !== true) {
    const message = turn.kind === 'tool' ? { role: 'assistant', content: null, tool_calls: calls.map(({ index: _i, ...c }) => c) } : { role: 'assistant', content: turn.text };
    return sendJson(res, 200, { ...base, object: 'chat.completion', choices: [{ index: 0, message, finish_reason: finish }], usage: chatUsage(u) });
  }
  startSse(res);
  sendEvent(res, { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }] });
  if (turn.kind === 'text') {
    sendEvent(res, { ...base, choices: [{ index: 0, delta: { content: turn.text }, finish_reason: null }] });
  } else {
    for (const c of calls) {
      const args = c.function.arguments;
      const mid = Math.floor(args.length / 2); // split arguments: exercise the client's joining
      sendEvent(res, { ...base, choices: [{ index: 0, delta: { tool_calls: [{ ...c, function: { name: c.function.name, arguments: args.slice(0, mid) } }] }, finish_reason: null }] });
      sendEvent(res, { ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: c.index, function: { arguments: args.slice(mid) } }] }, finish_reason: null }] });
    }
  }
  sendEvent(res, { ...base, choices: [{ index: 0, delta: {}, finish_reason: finish }] });
  sendEvent(res, { ...base, choices: [], usage: chatUsage(u) });
  sendEvent(res, '[DONE]');
  res.end();
}

export const chatProtocol: WireProtocol = {
  name: 'chat',
  route(method, url) {
    if (method === 'POST' && url.pathname === '/v1/chat/completions') return 'model';
    return null;
  },
  isMain: (body) => Array.isArray(body.tools) && body.tools.length > 0,
  model: (_url, body) => (typeof body.model === 'string' ? body.model : undefined),
  key: (headers) => {
    const v = headers.authorization;
    return typeof v === 'string' && v.startsWith('Bearer ') ? v.slice(7) : undefined;
  },
  answer,
  aux: (res) => sendJson(res, 200, {}),
  error: openaiError,
};
