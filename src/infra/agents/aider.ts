/**
 * The Aider agent: one non-interactive `aider --message-file` run per attempt.
 *
 * Why a pinned config: Aider reads `.aider.conf.yml` from the repo root/cwd/home and lets
 * it set almost any option (auto-commits, lint/test commands, history files, …). We write
 * our own config at `<runnerDir>/aider.conf.yml` (the runner's per-task directory, outside the
 * working tree: never committed, not part of the agent's diff) on every run and pass it with `--config`. ConfigArgParse reads the
 * `--config` file before the default config files and skips keys already set, so every key
 * pinned there wins over the repository's config; argv flags win over everything.
 *
 * Limits (verified in Aider's main.py and ConfigArgParse): keys we do NOT pin can still come
 * from the repository's `.aider.conf.yml`, and `.env` in the git root / cwd is loaded with
 * override=True whatever `--env-file` says (`--env-file /dev/null` only adds an empty file
 * to the list). A repo `.env` can thus set AIDER_* variables (which outrank config files,
 * not argv flags) or endpoint variables such as OPENAI_API_BASE. We log a warning when such
 * files exist; use Aider only on trusted repositories or restrict the sandbox's egress.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { AgentConfig } from '../../domain/projectConfig.ts';
import type { Sandbox } from '../sandbox/types.ts';
import { attemptTimeoutMs, hostWorkspace, pickEnv, runAgentProgram, runnerDir, type AgentDeps } from './command.ts';
import type { Agent, AgentRunArgs, AgentRunResult } from './types.ts';

type AiderConfig = Extract<AgentConfig, { kind: 'aider' }>;

/** The pinned config's file name inside the runner's per-task directory. */
export const AIDER_CONFIG_FILE = 'aider.conf.yml';

/** Repository files Aider reads on its own even with our flags (see the file comment). */
const UNPINNABLE_FILES = ['.env', '.aider.conf.yml', '.aider.model.settings.yml', '.aider.model.metadata.json'];

/** The argv of one Aider run (exported for tests and for documentation of what runs). */
export function aiderArgv(workdir: string, promptPath: string, config: Pick<AiderConfig, 'model' | 'args'>, dir = '.devteam'): string[] {
  return [
    'aider',
    '--config', path.posix.join(workdir, dir, AIDER_CONFIG_FILE),
    '--message-file', path.posix.join(workdir, promptPath),
    '--yes-always',
    '--no-auto-commits',
    '--no-pretty',
    '--no-stream',
    '--no-suggest-shell-commands',
    '--no-check-update',
    '--no-show-model-warnings',
    '--env-file', '/dev/null',
    ...(config.model ? ['--model', config.model] : []),
    ...(config.args ?? []),
  ];
}

/**
 * The pinned config. Keys exist in Aider ≥ 0.60 (unknown keys make Aider refuse to start).
 * History files go to the runner directory so they are never committed with the task's changes.
 */
export function aiderConfigYaml(workdir: string, dir = '.devteam'): string {
  const q = (s: string): string => JSON.stringify(s); // a JSON string is a valid YAML scalar
  return [
    '# Written by DevTeam Runner before every Aider run; edits are overwritten.',
    'auto-commits: false',
    'dirty-commits: false',
    'gitignore: false',
    'auto-lint: false',
    'auto-test: false',
    'suggest-shell-commands: false',
    'check-update: false',
    'show-release-notes: false',
    'analytics-disable: true',
    'restore-chat-history: false',
    `chat-history-file: ${q(path.posix.join(workdir, dir, 'aider.chat.history.md'))}`,
    `input-history-file: ${q(path.posix.join(workdir, dir, 'aider.input.history'))}`,
    '',
  ].join('\n');
}

export function createAiderAgent(config: AiderConfig, deps: AgentDeps): Agent {
  const log = deps.logger.child({ agent: 'aider' });
  let version: Promise<string | null> | undefined;

  /** `aider --version` once per agent (a second of Python start-up); null if it cannot be read. */
  const probeVersion = (sandbox: Sandbox, env: Record<string, string>, signal?: AbortSignal): Promise<string | null> => {
    version ??= sandbox.exec(['aider', '--version'], { env, timeoutMs: 60_000, signal, tailBytes: 4096 }).then(
      (r) => {
        const line = r.exitCode === 0 ? r.stdoutTail.trim().split('\n')[0] : '';
        if (!line) version = undefined; // retry next attempt
        return line ? (/(\d+\.\d+[\w.+-]*)/.exec(line)?.[1] ?? line) : null;
      },
      () => ((version = undefined), null),
    );
    return version;
  };

  return {
    kind: 'aider',
    requiredTools: () => ['aider'],
    ignoredPaths: () => ['.aider*'],
    async run(args: AgentRunArgs): Promise<AgentRunResult> {
      const ws = hostWorkspace(args);
      const dir = runnerDir(args);
      await mkdir(path.join(ws, dir), { recursive: true });
      await writeFile(path.join(ws, dir, AIDER_CONFIG_FILE), aiderConfigYaml(args.sandbox.workdir, dir));
      const present = await presentFiles(path.join(ws, args.cwd ?? '.'), UNPINNABLE_FILES);
      if (present.length > 0) {
        log.warn({ files: present }, 'repository has Aider config/.env files that Aider reads despite the pinned config');
      }

      const env = pickEnv(config.envKeys, deps.env, log); // same env (PATH!) for the probe and the run
      const ver = await probeVersion(args.sandbox, env, args.signal);
      const argv = aiderArgv(args.sandbox.workdir, args.promptPath, config, dir);
      log.info({ taskId: args.task.id, attempt: args.attempt, model: config.model ?? null, version: ver }, 'running aider');
      const exec = await runAgentProgram(args, argv, env, attemptTimeoutMs(args, config));
      return { exec, executor: { kind: 'aider', version: ver, model: config.model ?? null } };
    },
  };
}

async function presentFiles(dir: string, names: string[]): Promise<string[]> {
  const found = await Promise.all(names.map((n) => stat(path.join(dir, n)).then(() => n, () => null)));
  return found.filter((n): n is string => n !== null);
}
