/**
 * The scripted model's vocabulary: what a test asks the endpoint to answer, and what the
 * endpoint records about every request it served. Provider-neutral; each wire encoder
 * (anthropic.ts, openaiResponses.ts, gemini.ts, openaiChat.ts) turns a Turn into its
 * provider's streaming response.
 */

/** Token counts the endpoint reports for one response (provider field names differ). */
export interface TurnUsage {
  /** Prompt tokens NOT served from cache (Anthropic `input_tokens`; others: total prompt − cached). */
  inputTokens: number;
  outputTokens: number;
  /** Prompt tokens served from cache (Anthropic `cache_read_input_tokens`, OpenAI `cached_tokens`, Gemini `cachedContentTokenCount`). */
  cachedTokens: number;
}

/** One tool call, in the agent's own tool vocabulary (e.g. Claude Code `Write`, Gemini `write_file`). */
export interface ToolCall {
  name: string;
  /** The tool's arguments object (Codex custom/freeform tools: `{ input: string }`). */
  input: Record<string, unknown>;
}

/** One model turn answering one main request. */
export type Turn =
  | { kind: 'tool'; calls: ToolCall[]; usage?: TurnUsage }
  | { kind: 'text'; text: string; usage?: TurnUsage };

/**
 * A failure the endpoint answers EVERY request with (main and side). Each wire encoder maps
 * it to its provider's real status code and error body (e.g. an invalid key is 401
 * `authentication_error` for Anthropic and OpenAI, but 400 `API_KEY_INVALID` for Gemini).
 */
export interface ScriptedFailure {
  kind: FailureKind;
  /** Seconds for a `retry-after` header (rate-limit / overloaded). */
  retryAfterSec?: number;
}
export type FailureKind = 'auth' | 'unknown-model' | 'rate-limit' | 'overloaded' | 'quota' | 'server-error';

/** An encoded provider error: status, headers and JSON body. */
export interface WireError {
  status: number;
  headers?: Record<string, string>;
  body: unknown;
}

/** What one test wants: turns for main requests in order, or a failure for every request. */
export interface Script {
  turns?: Turn[];
  fail?: ScriptedFailure;
}

/** One request the endpoint served (bodies kept for assertions; the API key is never kept). */
export interface RecordedRequest {
  method: string;
  /** Path and query, e.g. `/v1/messages?beta=true`. */
  url: string;
  protocol: 'anthropic' | 'responses' | 'chat' | 'gemini' | 'unknown';
  /** main = a turn of the agent loop (consumed a script turn); side = title/count/list/… */
  role: 'main' | 'side' | 'error';
  /** Index into script.turns for main requests. */
  turn?: number;
  /** The model named in the request (body.model or the Gemini URL path). */
  model?: string;
  /** Whether the request carried the expected API key (x-api-key / Bearer / x-goog-api-key / ?key=). */
  keyMatched: boolean;
  status: number;
  /** Usage the endpoint reported in this response (absent for errors and non-model routes). */
  usage?: TurnUsage;
  body: unknown;
  /** Header names received (values are not kept: they carry the key). */
  headerNames: string[];
}
