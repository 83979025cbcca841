/**
 * The coding-agent contract: the EXECUTE step runs one agent attempt inside the project's sandbox.
 */
import type { AgentConfig } from '../../domain/projectConfig.ts';
import type { ExecResult, OutputStream, Sandbox } from '../sandbox/types.ts';

export interface AgentRunArgs {
  sandbox: Sandbox;
  /** Workspace-relative path of the prompt file the runner wrote (e.g. `.git/devteam/prompt.md`). */
  promptPath: string;
  /**
   * Host path of the workspace (where the runner wrote promptPath). Agents write their own
   * files there (aider's pinned config, the script agent's task.sh). Defaults to
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
  run(args: AgentRunArgs): Promise<AgentRunResult>;
}

/** One error type for the agent failure family (bad template, no script block, …). */
export class AgentError extends Error {
  override name = 'AgentError';
  constructor(message: string, readonly code: 'no_script' | 'bad_template' | 'missing_binary' | 'agent_failed', options?: { cause?: unknown }) {
    super(message, options);
  }
}
