/**
 * The coding-agent contract: the EXECUTE step runs one agent attempt inside the project's sandbox.
 */
import type { AgentConfig } from '../../domain/projectConfig.ts';
import type { ExecResult, OutputStream, Sandbox } from '../sandbox/types.ts';

export interface AgentRunArgs {
  sandbox: Sandbox;
  /**
   * The task's working tree, relative to the sandbox's workspace root (e.g. `tasks/1.2-add-login`):
   * the agent's working directory. Default `.` (the root).
   */
  cwd?: string;
  /**
   * The runner's private directory for this task, relative to the workspace root, outside the
   * working tree (never committed): the prompt file, aider's pinned config, the script agent's
   * task.sh. Default `.devteam`.
   */
  runnerDir?: string;
  /** Workspace-relative path of the prompt file the runner wrote (inside runnerDir). */
  promptPath: string;
  /**
   * Host path of the workspace root (where the runner wrote promptPath). Defaults to
   * sandbox.workdir, which is only right for the local sandbox — pass it for docker.
   */
  workspaceDir?: string;
  task: { id: string; title: string; body: string };
  attempt: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  onLine?: (stream: OutputStream, line: string) => void;
}

export interface AgentRunResult {
  exec: ExecResult;
  /** What ran, for the outcomes entry (no secrets). */
  executor: { kind: AgentConfig['kind']; version: string | null; model: string | null };
}

export interface Agent {
  readonly kind: AgentConfig['kind'];
  /** Programs this agent needs inside the sandbox (checked by checkingTools). */
  requiredTools(): string[];
  /**
   * Paths the agent program itself creates in the working tree that are never part of the task's
   * change (gitignore patterns, e.g. `.aider*`); the runner excludes them from every commit.
   */
  ignoredPaths?(): string[];
  run(args: AgentRunArgs): Promise<AgentRunResult>;
}

/** One error type for the agent failure family (bad template, no script block, …). */
export class AgentError extends Error {
  override name = 'AgentError';
  constructor(message: string, readonly code: 'no_script' | 'bad_template' | 'missing_binary' | 'agent_failed', options?: { cause?: unknown }) {
    super(message, options);
  }
}
