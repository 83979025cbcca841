/**
 * The `command` agent — any program run from an argv template — plus the plumbing every
 * agent shares: picking allowed secrets from the runner's env, in-sandbox paths, and
 * running the agent program with a clear error when it is missing.
 */
import path from 'node:path';
import type { AgentConfig } from '../../domain/projectConfig.ts';
import type { Logger } from '../logger.ts';
import type { ExecResult } from '../sandbox/types.ts';
import { AgentError, type Agent, type AgentRunArgs, type AgentRunResult } from './types.ts';

export interface AgentDeps {
  /** The runner's environment; only the names in a config's envKeys are ever read from it. */
  env: Record<string, string | undefined>;
  logger: Logger;
}

type CommandConfig = Extract<AgentConfig, { kind: 'command' }>;

/** Placeholders a command template may use; `${NAME}` (shell syntax) is left alone. */
const PLACEHOLDER_RE = /(?<!\$)\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
const HAS_PLACEHOLDER = new RegExp(PLACEHOLDER_RE.source); // non-global: .test() without lastIndex state
const PLACEHOLDERS = new Set(['promptFile', 'workdir']);

/**
 * Copy only the allowed variables (envKeys) from the runner's env into an exec env.
 * Values are secrets (model API keys): only their names are ever logged.
 */
export function pickEnv(keys: readonly string[] | undefined, env: AgentDeps['env'], log: Logger): Record<string, string> {
  const picked: Record<string, string> = {};
  const missing: string[] = [];
  for (const key of keys ?? []) {
    const value = env[key];
    if (value === undefined || value === '') missing.push(key);
    else picked[key] = value;
  }
  if (missing.length > 0) log.warn({ missingEnvKeys: missing }, 'envKeys not set in the runner environment');
  log.debug({ envKeyNames: Object.keys(picked) }, 'passing env keys to the agent');
  return picked;
}

/** Absolute path, as commands in the sandbox see it, of a workspace-relative path. */
export function sandboxPath(args: Pick<AgentRunArgs, 'sandbox'>, rel: string): string {
  return path.posix.join(args.sandbox.workdir, rel);
}

/** The runner's private per-task directory (workspace-relative); see AgentRunArgs.runnerDir. */
export function runnerDir(args: Pick<AgentRunArgs, 'runnerDir'>): string {
  return args.runnerDir ?? '.devteam';
}

/** Host path of the workspace: where the runner writes files the agent reads. */
export function hostWorkspace(args: Pick<AgentRunArgs, 'sandbox' | 'workspaceDir'>): string {
  return args.workspaceDir ?? args.sandbox.workdir;
}

/** The attempt's timeout: the caller's, else the agent config's timeoutSec. */
export function attemptTimeoutMs(args: AgentRunArgs, config: { timeoutSec?: number }): number | undefined {
  return args.timeoutMs ?? (config.timeoutSec !== undefined ? config.timeoutSec * 1000 : undefined);
}

/**
 * Run the agent program. Exit 127 means the program is not in the sandbox: that is an
 * environment problem, not a failed attempt, so it throws AgentError('missing_binary')
 * (the ExecResult is the error's cause). Any other outcome is returned for the caller to judge.
 */
export async function runAgentProgram(
  args: AgentRunArgs,
  argv: string[],
  env: Record<string, string>,
  timeoutMs: number | undefined,
): Promise<ExecResult> {
  const exec = await args.sandbox.exec(argv, { env, timeoutMs, cwd: args.cwd, signal: args.signal, onLine: args.onLine });
  if (exec.exitCode === 127) {
    const detail = exec.stderrTail.trim().split('\n').pop() ?? '';
    throw new AgentError(
      `agent program '${argv[0]}' was not found in the ${args.sandbox.kind} sandbox (exit 127): ${detail}`,
      'missing_binary',
      { cause: exec },
    );
  }
  return exec;
}

/** Substitute `{promptFile}` / `{workdir}` in each element; never joined into a shell string. */
export function renderTemplate(template: readonly string[], values: Record<string, string>): string[] {
  return template.map((arg) => arg.replace(PLACEHOLDER_RE, (m, name: string) => values[name] ?? m));
}

export function createCommandAgent(config: CommandConfig, deps: AgentDeps): Agent {
  for (const arg of config.argv) {
    for (const [, name] of arg.matchAll(PLACEHOLDER_RE)) {
      if (!PLACEHOLDERS.has(name)) {
        throw new AgentError(
          `agent.argv uses unknown placeholder {${name}} (known: ${[...PLACEHOLDERS].map((p) => `{${p}}`).join(', ')})`,
          'bad_template',
        );
      }
    }
  }
  if (!config.argv[0]) throw new AgentError('agent.argv[0] (the program) must not be empty', 'bad_template');
  const log = deps.logger.child({ agent: 'command' });

  return {
    kind: 'command',
    requiredTools: () => (HAS_PLACEHOLDER.test(config.argv[0]) ? [] : [config.argv[0]]),
    async run(args): Promise<AgentRunResult> {
      const argv = renderTemplate(config.argv, {
        promptFile: sandboxPath(args, args.promptPath),
        workdir: sandboxPath(args, args.cwd ?? '.'),
      });
      log.info({ taskId: args.task.id, attempt: args.attempt, program: argv[0] }, 'running command agent');
      const exec = await runAgentProgram(args, argv, pickEnv(config.envKeys, deps.env, log), attemptTimeoutMs(args, config));
      return { exec, executor: { kind: 'command', version: null, model: null } };
    },
  };
}
