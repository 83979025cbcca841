/**
 * Normalized progress events, token usage and run outcome of the coding-agent CLIs
 * (Claude Code, Codex, Gemini CLI, opencode), and the line-oriented stream parser they share.
 *
 * Each agent prints its own JSONL dialect on stdout (Claude `stream-json`, Codex
 * `exec --json`, Gemini `stream-json`, opencode `run --format json`); the per-agent
 * files map those objects to AgentEvents. This file owns what is common: JSON decoding
 * that never throws, re-joining lines the sandbox split, one-line summaries, usage sums.
 */
import { DEFAULT_MAX_LINE_CHARS } from '../../sandbox/lines.ts';

export type CliAgentKind = 'claude' | 'codex' | 'gemini' | 'opencode';
export type AgentEventKind = 'tool' | 'edit' | 'command' | 'message' | 'usage' | 'result' | 'error';

/** One normalized progress event. `summary` is one line, at most SUMMARY_MAX chars. */
export interface AgentEvent {
  kind: AgentEventKind;
  summary: string;
  /** Tool name as the agent reported it (e.g. `Write`, `apply_patch`, `write_file`, `write`). */
  tool?: string;
  /** File an `edit` touched (as the agent reported it: absolute or workspace-relative). */
  path?: string;
  /** Shell command of a `command` event (truncated to SUMMARY_MAX). */
  command?: string;
  status?: 'started' | 'ok' | 'failed';
  /** For `error`: 'parser' = our decoding failed (malformed line), 'agent' = the agent reported it. */
  source?: 'parser' | 'agent';
  /** For `usage`/`result`: the totals so far. */
  usage?: AgentUsage;
}

/**
 * Token usage of one run, summed over the agent's model calls.
 * - inputTokens: prompt tokens NOT read from cache (incl. cache writes), i.e. full-price input.
 * - cachedTokens: prompt tokens read from cache.
 * - outputTokens: completion tokens (incl. reasoning where the agent folds it in).
 * - costUsd: the agent's own cost figure in US dollars, or null when it reports none or only a
 *   guess (we never price tokens ourselves); costReported says which, and note says why.
 */
export interface AgentUsage {
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costUsd: number | null;
  costReported: boolean;
  note?: string;
}

/** What the agent said about how the run ended (filled by the per-agent parsers). */
export interface RunOutcome {
  /** The agent's terminal event (Claude `result`, Codex `turn.completed|failed`, …) was seen. */
  finished: boolean;
  /** The agent marked the run as failed. */
  isError: boolean;
  /** Last error text the agent reported (API error, turn failure), one line. */
  errorText: string | null;
  /** HTTP status of the last API error, when the agent reports it. */
  httpStatus: number | null;
  /** The agent's own error code (e.g. Claude `authentication_failed`), when it has one. */
  errorCode: string | null;
  /** Final assistant text, one line. */
  finalMessage: string | null;
}

export interface AgentStreamParser {
  /** Feed one stdout line; returns the events it produced (never throws). */
  push(line: string): AgentEvent[];
  /** End of stream: flush buffered text / half-joined lines. */
  end(): AgentEvent[];
  usage(): AgentUsage;
  outcome(): RunOutcome;
  readonly stats: { lines: number; objects: number; malformed: number };
}

/** Mutable state a per-agent line handler updates. */
export interface ParserState {
  usage: AgentUsage;
  outcome: RunOutcome;
  /** Free slot for per-agent bookkeeping (buffered deltas, fallbacks, …). */
  scratch: Record<string, unknown>;
}

export type LineHandler = (obj: Record<string, unknown>, st: ParserState) => AgentEvent[];

export const SUMMARY_MAX = 200;
/** A line this long without a newline was split by the sandbox's line splitter (lines.ts). */
const SPLIT_PIECE_CHARS = DEFAULT_MAX_LINE_CHARS;
/** Give up re-joining split pieces beyond this size (a runaway line must not grow memory). */
const MAX_JOINED_CHARS = 8 * 1024 * 1024;

/** Collapse whitespace to one line and cut to `max` chars (with an ellipsis). */
export function oneLine(text: unknown, max = SUMMARY_MAX): string {
  const s = (typeof text === 'string' ? text : text === undefined || text === null ? '' : JSON.stringify(text)) ?? '';
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

export function emptyUsage(): AgentUsage {
  return { inputTokens: 0, outputTokens: 0, cachedTokens: 0, costUsd: null, costReported: false };
}

export function emptyOutcome(): RunOutcome {
  return { finished: false, isError: false, errorText: null, httpStatus: null, errorCode: null, finalMessage: null };
}

export const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A `usage` event carrying a copy of the totals. */
export function usageEvent(u: AgentUsage, what = 'usage'): AgentEvent {
  const cost = u.costUsd !== null ? `, $${u.costUsd.toFixed(4)}` : ', cost not reported';
  return { kind: 'usage', summary: oneLine(`${what}: ${u.inputTokens} in (+${u.cachedTokens} cached), ${u.outputTokens} out${cost}`), usage: { ...u } };
}

/**
 * Build a parser from a per-agent handler. Lines that are not a JSON object yield one
 * `error` event (source 'parser') and parsing continues. A line exactly as long as the
 * sandbox's split size is held and re-joined with the following pieces, so one huge JSON
 * event (a tool result with a big file) is not lost to the splitter.
 */
export function createStreamParser(agent: CliAgentKind, handle: LineHandler, onEnd?: (st: ParserState) => AgentEvent[]): AgentStreamParser {
  const st: ParserState = { usage: emptyUsage(), outcome: emptyOutcome(), scratch: {} };
  const stats = { lines: 0, objects: 0, malformed: 0 };
  let pending = '';

  const malformed = (text: string, why: string): AgentEvent[] => {
    stats.malformed++;
    return [{ kind: 'error', source: 'parser', summary: oneLine(`${agent}: unparseable output line (${why}): ${text.slice(0, 80)}`) }];
  };

  const decode = (text: string): AgentEvent[] => {
    let obj: unknown;
    try {
      obj = JSON.parse(text);
    } catch (e) {
      return malformed(text, `${text.length} chars, ${(e as Error).message}`);
    }
    if (!isObj(obj)) return malformed(text, 'not a JSON object');
    stats.objects++;
    try {
      return handle(obj, st);
    } catch (e) {
      // A handler bug or an unexpected shape must not stop the run's parsing.
      return malformed(text, `unexpected shape: ${(e as Error).message}`);
    }
  };

  return {
    stats,
    push(line) {
      stats.lines++;
      if (pending || line.length === SPLIT_PIECE_CHARS) {
        pending += line;
        if (line.length === SPLIT_PIECE_CHARS && pending.length < MAX_JOINED_CHARS) return [];
        const joined = pending;
        pending = '';
        if (joined.length >= MAX_JOINED_CHARS) return malformed(joined, `oversized line of ${joined.length} chars dropped`);
        return decode(joined);
      }
      const text = line.trim();
      if (text === '') return [];
      return decode(text);
    },
    end() {
      const out: AgentEvent[] = [];
      if (pending) {
        const joined = pending;
        pending = '';
        out.push(...decode(joined));
      }
      out.push(...(onEnd?.(st) ?? []));
      return out;
    },
    usage: () => ({ ...st.usage }),
    outcome: () => ({ ...st.outcome }),
  };
}
