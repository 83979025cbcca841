/**
 * Gemini API (generativelanguage v1beta), the part Gemini CLI uses with an API key and a
 * base-URL override:
 *   POST /v1beta/models/<model>:streamGenerateContent?alt=sse → SSE `data:` chunks of
 *        GenerateContentResponse
 *   POST /v1beta/models/<model>:generateContent → one GenerateContentResponse (side calls)
 *   POST /v1beta/models/<model>:countTokens → { totalTokens }
 *   GET  /v1beta/models → a one-model list
 * Shapes per https://ai.google.dev/api/generate-content (candidates[].content.parts[] with
 * `text` or `functionCall {name, args}`; `usageMetadata.promptTokenCount` INCLUDES
 * `cachedContentTokenCount`) and errors per https://ai.google.dev/gemini-api/docs/troubleshooting
 * (an invalid key is 400 INVALID_ARGUMENT / API_KEY_INVALID, not 401).
 */
import type { ServerResponse } from 'node:http';
import type { WireProtocol } from './protocol.ts';
import { retryAfter, sendEvent, sendJson, startSse } from './sse.ts';
import type { ScriptedFailure, Turn, TurnUsage, WireError } from './types.ts';

const MODEL_PATH = /^\/v1(?:beta|alpha)?\/models\/([^/:]+):(streamGenerateContent|generateContent|countTokens)$/;

export function geminiUsage(u: TurnUsage): Record<string, number> {
  const prompt = u.inputTokens + u.cachedTokens;
  return { promptTokenCount: prompt, candidatesTokenCount: u.outputTokens, totalTokenCount: prompt + u.outputTokens, cachedContentTokenCount: u.cachedTokens };
}

/** A side request that asks for JSON (router / next-speaker / loop checks): answer with a schema-shaped object. */
function sideJson(body: Record<string, unknown>): string | null {
  const cfg = (body.generationConfig ?? body.config ?? {}) as Record<string, unknown>;
  const schema = (cfg.responseJsonSchema ?? cfg.responseSchema) as { properties?: Record<string, { enum?: string[]; type?: string }> } | undefined;
  if (!schema?.properties) return cfg.responseMimeType === 'application/json' ? '{}' : null;
  const out: Record<string, unknown> = {};
  for (const [k, p] of Object.entries(schema.properties)) {
    if (p.enum?.length) out[k] = k === 'next_speaker' ? 'user' : p.enum[0];
    else if (p.type === 'number' || p.type === 'NUMBER' || p.type === 'integer' || p.type === 'INTEGER') out[k] = 0;
    else if (p.type === 'boolean' || p.type === 'BOOLEAN') out[k] = false;
    else out[k] = 'scripted';
  }
  return JSON.stringify(out);
}

function answer(res: ServerResponse, body: Record<string, unknown>, turn: Turn, u: TurnUsage, seq: number, url: URL): void {
  const [, model, method] = MODEL_PATH.exec(url.pathname) ?? [];
  const text = turn.kind === 'text' ? (sideJson(body) ?? turn.text) : '';
  const parts = turn.kind === 'tool' ? turn.calls.map((c) => ({ functionCall: { name: c.name, args: c.input } })) : [{ text }];
  const chunk = {
    candidates: [{ content: { role: 'model', parts }, finishReason: 'STOP', index: 0 }],
    usageMetadata: geminiUsage(u),
    modelVersion: model,
    responseId: `scripted-${seq}`,
  };
  if (method !== 'streamGenerateContent') return sendJson(res, 200, chunk);
  startSse(res);
  sendEvent(res, chunk);
  res.end();
}

function error(f: ScriptedFailure, model: string): WireError {
  const e = (code: number, status: string, message: string, details: unknown[] = [], headers: Record<string, string> = {}): WireError => ({
    status: code,
    headers,
    body: { error: { code, message, status, ...(details.length ? { details } : {}) } },
  });
  switch (f.kind) {
    case 'auth': return e(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [{ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } }]);
    case 'unknown-model': return e(404, 'NOT_FOUND', `models/${model} is not found for API version v1beta, or is not supported for generateContent. Call ListModels to see the list of available models and their supported methods.`);
    case 'rate-limit': return e(429, 'RESOURCE_EXHAUSTED', 'Resource has been exhausted (e.g. check quota).', f.retryAfterSec !== undefined ? [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${f.retryAfterSec}s` }] : [], retryAfter(f.retryAfterSec));
    case 'overloaded': return e(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.', [], retryAfter(f.retryAfterSec));
    case 'quota': return e(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.', [{ '@type': 'type.googleapis.com/google.rpc.QuotaFailure', violations: [{ quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests', quotaId: 'GenerateRequestsPerDayPerProjectPerModel-FreeTier' }] }]);
    case 'server-error': return e(500, 'INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting');
  }
}

export const geminiProtocol: WireProtocol = {
  name: 'gemini',
  route(method, url) {
    const m = MODEL_PATH.exec(url.pathname);
    if (method === 'POST' && m) return m[2] === 'countTokens' ? 'aux' : 'model';
    if (method === 'GET' && /^\/v1(beta|alpha)?\/models$/.test(url.pathname)) return 'aux';
    return null;
  },
  isMain: (body, url) => url.pathname.endsWith(':streamGenerateContent') && Array.isArray(body.tools) && body.tools.length > 0,
  model: (url) => MODEL_PATH.exec(url.pathname)?.[1],
  key: (headers, url) => (headers['x-goog-api-key'] as string | undefined) ?? url.searchParams.get('key') ?? undefined,
  answer,
  aux(res, url, body) {
    if (url.pathname.endsWith(':countTokens')) return sendJson(res, 200, { totalTokens: JSON.stringify(body).length >> 2 });
    sendJson(res, 200, { models: [{ name: 'models/scripted-model', displayName: 'Scripted', supportedGenerationMethods: ['generateContent', 'streamGenerateContent', 'countTokens'] }] });
  },
  error,
};
