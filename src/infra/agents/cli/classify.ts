/**
 * Failure classification of one agent attempt, from the agent's own report (RunOutcome,
 * error events), its exit status and the tail of its stderr.
 *
 * - permanent: retrying cannot help until a person acts — invalid/missing API key, unknown
 *   model, quota or billing exhausted.
 * - transient: the provider or the network failed — rate limit (429), overloaded (529/503),
 *   5xx, connection errors; retry the same attempt later.
 * - attempt: the agent ran but did not finish the task (gave up, hit its turn limit, crashed,
 *   timed out, or overflowed its context window); retry with feedback.
 * - ok: the agent finished without reporting an error.
 *
 * Context overflow is 'attempt', not 'permanent': the window fills with THIS attempt's
 * conversation (prompt + tool output it chose to read); a fresh attempt starts empty and the
 * feedback can steer it to smaller steps. A prompt that alone overflows fails every attempt
 * and is stopped by the runner's attempt limit, which is the right place to give up.
 *
 * The patterns below come from the real agents' output against the scripted endpoint
 * (test/fixtures/agents/*-error-*.jsonl) and the providers' documented error bodies.
 */
import type { CliAgentKind, RunOutcome } from './events.ts';

export type FailureClass = 'ok' | 'permanent' | 'transient' | 'attempt';

export interface FailureVerdict {
  class: FailureClass;
  /** Short machine-friendly reason: auth, unknown_model, quota, rate_limit, overloaded, network, context_overflow, … */
  reason: string;
  /** The evidence (one line, no secrets: agent error text or stderr excerpt). */
  detail: string;
}

export interface ClassifyInput {
  exitCode: number | null;
  timedOut: boolean;
  aborted: boolean;
  outcome: RunOutcome;
  /** Texts of the agent-reported error events (retry notices, warnings), in order. */
  agentErrors: string[];
  stderrTail: string;
}

interface Rule { re: RegExp; class: Exclude<FailureClass, 'ok'>; reason: string }

/** Checked in order: permanent before transient (OpenAI's insufficient_quota is a 429). */
const RULES: Rule[] = [
  { re: /invalid x-api-key|invalid api key|incorrect api key|api key not valid|API_KEY_INVALID|authentication_error|authentication_failed|unexpected status 401|status(?:Code)?"?:\s*401|\b401 Unauthorized|permission_error|unexpected status 403/i, class: 'permanent', reason: 'auth' },
  { re: /credit balance is too low|billing_error|insufficient_quota|exceeded your current quota|quota exceeded\. check your plan|exhausted your daily quota|payment required|\b402\b/i, class: 'permanent', reason: 'quota' },
  { re: /model_not_found|not_found_error|does not exist or you do not have access|issue with the selected model|is not found for API version|unknown model|model .{0,40}not (?:found|supported)/i, class: 'permanent', reason: 'unknown_model' },
  { re: /prompt is too long|context[_ ]length[_ ]exceeded|maximum context length|context window|input token count.{0,40}exceeds|too many (?:input )?tokens/i, class: 'attempt', reason: 'context_overflow' },
  { re: /\b429\b|rate[_ ]limit|too many requests|resource has been exhausted|RESOURCE_EXHAUSTED/i, class: 'transient', reason: 'rate_limit' },
  { re: /\b529\b|overloaded|\b503\b|service unavailable|UNAVAILABLE|\b50[024]\b|internal server error|server_error|api_error/i, class: 'transient', reason: 'overloaded' },
  { re: /ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENOTFOUND|EAI_AGAIN|fetch failed|socket hang up|network error|connection (?:refused|reset|error|failed)|waiting for network|stream disconnected/i, class: 'transient', reason: 'network' },
];

/** Per-agent structured error codes (checked before the text rules). */
const CODES: Record<CliAgentKind, Record<string, { class: Exclude<FailureClass, 'ok'>; reason: string }>> = {
  // Claude Code stream-json `assistant.error` (observed: authentication_failed, model_not_found,
  // billing_error, rate_limit, server_error).
  claude: {
    authentication_failed: { class: 'permanent', reason: 'auth' },
    billing_error: { class: 'permanent', reason: 'quota' },
    model_not_found: { class: 'permanent', reason: 'unknown_model' },
    rate_limit: { class: 'transient', reason: 'rate_limit' },
    server_error: { class: 'transient', reason: 'overloaded' },
    error_max_turns: { class: 'attempt', reason: 'max_turns' },
  },
  codex: {},
  gemini: {},
  opencode: {},
};

const tail = (s: string, n = 4000): string => (s.length > n ? s.slice(-n) : s);
const flat = (s: string): string => s.replace(/\s+/g, ' ').trim().slice(0, 300);

function byStatus(status: number | null): { class: Exclude<FailureClass, 'ok'>; reason: string } | null {
  if (status === null) return null;
  if (status === 401 || status === 403) return { class: 'permanent', reason: 'auth' };
  if (status === 402) return { class: 'permanent', reason: 'quota' };
  if (status === 429) return { class: 'transient', reason: 'rate_limit' };
  if (status === 529 || status === 503) return { class: 'transient', reason: 'overloaded' };
  if (status >= 500) return { class: 'transient', reason: 'server_error' };
  return null;
}

/**
 * Classify one attempt. Order: explicit agent error code → text rules over the agent's final
 * error, its error events and the stderr tail (permanent rules first) → HTTP status → exit.
 */
export function classifyRun(agent: CliAgentKind, input: ClassifyInput): FailureVerdict {
  const { outcome } = input;
  const failed = input.timedOut || input.aborted || input.exitCode !== 0 || outcome.isError;
  if (!failed) return { class: 'ok', reason: 'ok', detail: flat(outcome.finalMessage ?? '') };

  const code = outcome.errorCode ? CODES[agent][outcome.errorCode] : undefined;
  if (code) return { ...code, detail: flat(`${outcome.errorCode}: ${outcome.errorText ?? ''}`) };

  // The final error speaks first; retry notices and stderr only when it says nothing we know.
  const texts = [outcome.errorText ?? '', ...input.agentErrors.slice(-5).reverse(), tail(input.stderrTail)];
  for (const text of texts) {
    if (!text) continue;
    const rule = RULES.find((r) => r.re.test(text));
    if (rule) return { class: rule.class, reason: rule.reason, detail: flat(text.match(rule.re) ? excerpt(text, rule.re) : text) };
  }
  const status = byStatus(outcome.httpStatus);
  if (status) return { ...status, detail: flat(`HTTP ${outcome.httpStatus}: ${outcome.errorText ?? ''}`) };
  if (input.aborted) return { class: 'attempt', reason: 'aborted', detail: 'stopped by the runner' };
  if (input.timedOut) return { class: 'attempt', reason: 'timeout', detail: 'the attempt timed out' };
  if (outcome.isError) return { class: 'attempt', reason: 'agent_error', detail: flat(outcome.errorText ?? 'the agent reported an error') };
  return { class: 'attempt', reason: 'exit_code', detail: flat(`exit ${input.exitCode}: ${outcome.errorText ?? lastLine(input.stderrTail)}`) };
}

/** ~200 chars around the first match, so the detail shows the evidence. */
function excerpt(text: string, re: RegExp): string {
  const m = re.exec(text);
  if (!m) return text;
  const start = Math.max(0, m.index - 100);
  return text.slice(start, m.index + m[0].length + 100);
}

function lastLine(s: string): string {
  const lines = s.trim().split('\n');
  return lines[lines.length - 1] ?? '';
}

/**
 * Classify free text an agent printed (any agent kind: aider, a `command` agent), by the same rules
 * as classifyRun: a permanent cause (auth, quota, unknown model), a transient one (rate limit,
 * overload, network), context overflow (an attempt's failure), or null when nothing is recognised.
 */
export function classifyText(text: string): FailureVerdict | null {
  const t = tail(text);
  const rule = RULES.find((r) => r.re.test(t));
  return rule ? { class: rule.class, reason: rule.reason, detail: flat(excerpt(t, rule.re)) } : null;
}
