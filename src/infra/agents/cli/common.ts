/**
 * Plumbing shared by the CLI coding-agent adapters (claude.ts, codex.ts, gemini.ts,
 * opencode.ts): the per-run agent home, the prompt-from-file wrapper, the version probe,
 * and runCli — run the agent through the sandbox, parse its JSONL stdout into normalized
 * events as it streams, and classify the outcome.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../logger.ts';
import type { ExecResult, Sandbox } from '../../sandbox/types.ts';
import { hostWorkspace, runAgentProgram, sandboxPath } from '../command.ts';
import { AgentError, type AgentRunArgs, type AgentRunResult } from '../types.ts';
import { classifyRun, type FailureVerdict } from './classify.ts';
import type { AgentEvent, AgentEventKind, AgentStreamParser, AgentUsage, CliAgentKind, RunOutcome } from './events.ts';

/** Run arguments: the runner's, plus a callback for normalized events as they stream. */
export interface CliRunArgs extends AgentRunArgs {
  onEvent?: (event: AgentEvent) => void;
}

/** AgentRunResult plus what the agent's stream told us. */
export interface CliRunResult extends Omit<AgentRunResult, 'executor'> {
  executor: { kind: CliAgentKind; version: string | null; model: string | null };
  usage: AgentUsage;
  verdict: FailureVerdict;
  outcome: RunOutcome;
  /** The last MAX_KEPT_EVENTS events (all were passed to onEvent). */
  events: AgentEvent[];
  eventCounts: Record<AgentEventKind, number>;
  /** stdout lines that were not decodable JSON objects. */
  parseErrors: number;
}

/**
 * A CLI coding agent. Same shape as `Agent` (types.ts) except `kind`, which AgentConfig
 * does not list yet: once config.ts's schemas are merged into agentConfigSchema, a CliAgent
 * is an Agent.
 */
export interface CliAgent {
  readonly kind: CliAgentKind;
  requiredTools(): string[];
  run(args: CliRunArgs): Promise<CliRunResult>;
}

/** Workspace-relative root of the agents' per-run homes (inside .git: never committed). */
export const AGENT_HOME_ROOT = '.git/devteam/agent-home';
const MAX_KEPT_EVENTS = 500;
/**
 * The prompt becomes ONE argv element; Linux caps one element at MAX_ARG_STRLEN (128 KiB).
 * Bigger prompts are refused with a clear error rather than an opaque E2BIG.
 */
export const MAX_PROMPT_BYTES = 120 * 1024;
/** Marks the argv element the wrapper replaces with the prompt file's content (suffix form: `--prompt=@@…`). */
export const PROMPT_MARK = '@@DEVTEAM_PROMPT@@';

/**
 * `sh -c` script: $1 is the prompt file, the rest is the agent argv. Each element ending
 * with PROMPT_MARK gets the mark replaced by the file's content. The content only ever
 * travels as a quoted parameter expansion — it is never parsed by the shell.
 */
const PROMPT_SH = [
  'f=$1; shift',
  `p=$(cat -- "$f") || { echo "devteam: cannot read the prompt file $f" >&2; exit 66; }`,
  `for a do shift; case $a in *${PROMPT_MARK}) set -- "$@" "\${a%${PROMPT_MARK}}$p";; *) set -- "$@" "$a";; esac; done`,
  'exec "$@"',
].join('\n');

/** Wrap an agent argv so the element(s) marked with PROMPT_MARK receive the prompt file's content. */
export function withPromptFromFile(promptFileInSandbox: string, argv: string[]): string[] {
  return ['sh', '-c', PROMPT_SH, 'devteam-agent', promptFileInSandbox, ...argv];
}

/** Paths of one agent's per-run home: on the host (to write config) and inside the sandbox (for env). */
export interface AgentHome {
  host: string;
  sandbox: string;
}

/**
 * A fresh, empty home for this run (`.git/devteam/agent-home/<kind>`): the agent's config
 * dir, HOME and TMPDIR point here, so it never reads or writes the user's real ~/.claude,
 * ~/.codex, ~/.gemini or ~/.config/opencode, and nothing survives between attempts.
 */
export async function freshAgentHome(args: Pick<AgentRunArgs, 'sandbox' | 'workspaceDir'>, kind: CliAgentKind): Promise<AgentHome> {
  const rel = `${AGENT_HOME_ROOT}/${kind}`;
  const host = path.join(hostWorkspace(args), rel);
  await rm(host, { recursive: true, force: true });
  await mkdir(path.join(host, 'tmp'), { recursive: true });
  return { host, sandbox: sandboxPath(args, rel) };
}

/** Throw a clear AgentError when the prompt file is missing or too big for one argv element. */
export async function checkPromptFile(args: Pick<AgentRunArgs, 'sandbox' | 'workspaceDir' | 'promptPath'>): Promise<void> {
  const file = path.join(hostWorkspace(args), args.promptPath);
  const st = await stat(file).catch(() => null);
  if (!st?.isFile()) throw new AgentError(`prompt file ${args.promptPath} does not exist in the workspace`, 'agent_failed');
  if (st.size > MAX_PROMPT_BYTES) {
    throw new AgentError(`prompt file ${args.promptPath} is ${st.size} bytes; the CLI agents take the prompt as one argument of at most ${MAX_PROMPT_BYTES} bytes`, 'agent_failed');
  }
}

/** `<agent> --version` once per adapter (retried next run if it failed); null when unreadable. */
export function versionProber(argv: string[]): (sandbox: Sandbox, env: Record<string, string>, signal?: AbortSignal) => Promise<string | null> {
  let cached: Promise<string | null> | undefined;
  return (sandbox, env, signal) => {
    cached ??= sandbox.exec(argv, { env, timeoutMs: 60_000, signal, tailBytes: 4096 }).then(
      (r) => {
        const line = r.exitCode === 0 ? (r.stdoutTail.trim().split('\n').pop() ?? '') : '';
        if (!line) cached = undefined;
        return line ? (/(\d+\.\d+\.\d+[\w.+-]*)/.exec(line)?.[1] ?? line) : null;
      },
      () => ((cached = undefined), null),
    );
    return cached;
  };
}

export interface CliRunSpec {
  kind: CliAgentKind;
  /** Full argv (already wrapped with withPromptFromFile). */
  argv: string[];
  env: Record<string, string>;
  parser: AgentStreamParser;
  model: string | null;
  version: string | null;
  timeoutMs: number | undefined;
}

/**
 * Run the agent and stream its stdout through the parser: each normalized event goes to
 * args.onEvent as it happens; raw lines still go to args.onLine. Throws only what
 * runAgentProgram throws (AgentError 'missing_binary' on exit 127, SandboxError).
 */
export async function runCli(args: CliRunArgs, spec: CliRunSpec, log: Logger): Promise<CliRunResult> {
  const kept: AgentEvent[] = [];
  const counts: Record<AgentEventKind, number> = { tool: 0, edit: 0, command: 0, message: 0, usage: 0, result: 0, error: 0 };
  const agentErrors: string[] = [];
  const emit = (events: AgentEvent[]): void => {
    for (const e of events) {
      counts[e.kind]++;
      kept.push(e);
      if (kept.length > MAX_KEPT_EVENTS) kept.shift();
      if (e.kind === 'error' && e.source === 'agent') agentErrors.push(e.summary);
      try {
        args.onEvent?.(e);
      } catch (err) {
        log.warn({ err }, 'onEvent callback threw');
      }
    }
  };

  log.info({ taskId: args.task.id, attempt: args.attempt, model: spec.model, version: spec.version }, `running ${spec.kind}`);
  const exec: ExecResult = await runAgentProgram(
    {
      ...args,
      onLine: (stream, line) => {
        if (stream === 'stdout') emit(spec.parser.push(line));
        args.onLine?.(stream, line);
      },
    },
    spec.argv,
    spec.env,
    spec.timeoutMs,
  );
  emit(spec.parser.end());

  const outcome = spec.parser.outcome();
  const verdict = classifyRun(spec.kind, { exitCode: exec.exitCode, timedOut: exec.timedOut, aborted: exec.aborted, outcome, agentErrors, stderrTail: exec.stderrTail });
  const usage = spec.parser.usage();
  log.info(
    { taskId: args.task.id, exitCode: exec.exitCode, verdict: verdict.class, reason: verdict.reason, events: counts, parseErrors: spec.parser.stats.malformed, inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, cachedTokens: usage.cachedTokens, costUsd: usage.costUsd },
    `${spec.kind} finished`,
  );
  return {
    exec,
    executor: { kind: spec.kind, version: spec.version, model: spec.model },
    usage,
    verdict,
    outcome,
    events: kept,
    eventCounts: counts,
    parseErrors: spec.parser.stats.malformed,
  };
}
