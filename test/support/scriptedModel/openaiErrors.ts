/**
 * OpenAI-style error bodies, shared by the Responses (Codex) and Chat Completions
 * (opencode) encoders. Shapes and codes per https://platform.openai.com/docs/guides/error-codes
 * (401 invalid_api_key, 404 model_not_found, 429 rate_limit_exceeded vs 429
 * insufficient_quota, 500 server_error, 503 "overloaded"). Unlike the real API, the 401
 * message does not echo a masked key: tests assert the key appears nowhere.
 */
import { retryAfter } from './sse.ts';
import type { ScriptedFailure, WireError } from './types.ts';

export function openaiError(f: ScriptedFailure, model: string): WireError {
  const e = (status: number, message: string, type: string, code: string | null, headers: Record<string, string> = {}): WireError => ({
    status,
    headers: { 'x-request-id': 'req_scripted', ...headers },
    body: { error: { message, type, param: null, code } },
  });
  switch (f.kind) {
    case 'auth': return e(401, 'Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.', 'invalid_request_error', 'invalid_api_key');
    case 'unknown-model': return e(404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model_not_found');
    case 'rate-limit': return e(429, `Rate limit reached for ${model} in organization org-scripted on requests per min (RPM): Limit 3, Used 3, Requested 1. Please try again in 1s.`, 'requests', 'rate_limit_exceeded', retryAfter(f.retryAfterSec));
    case 'overloaded': return e(503, 'The server is overloaded or not ready yet.', 'server_error', null, retryAfter(f.retryAfterSec));
    case 'quota': return e(429, 'You exceeded your current quota, please check your plan and billing details. For more information on this error, read the docs: https://platform.openai.com/docs/guides/error-codes/api-errors.', 'insufficient_quota', 'insufficient_quota');
    case 'server-error': return e(500, 'The server had an error while processing your request. Sorry about that!', 'server_error', null);
  }
}
