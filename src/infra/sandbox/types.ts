/**
 * The sandbox contract: where agent, verify and tool-check commands run.
 * Two implementations (docker, local) pass the same behavioural test suite.
 */
import type { SandboxConfig } from '../../domain/projectConfig.ts';
import type { Logger } from '../logger.ts';

export type SandboxKind = 'docker' | 'local';
export type OutputStream = 'stdout' | 'stderr';

export interface ExecOptions {
  /** Working directory relative to the workspace root (default: the root). */
  cwd?: string;
  /** Extra environment for this exec only (never logged). */
  env?: Record<string, string>;
  /** Kill the process after this many ms; the result has timedOut=true. */
  timeoutMs?: number;
  /** PAUSE/STOP: aborting kills the process (group) before exec() settles. */
  signal?: AbortSignal;
  /** Each complete line, in order per stream, as it is produced. */
  onLine?: (stream: OutputStream, line: string) => void;
  /** Keep at most this many bytes of each stream's tail in the result (default 64 KiB). */
  tailBytes?: number;
}

export interface ExecResult {
  exitCode: number | null;
  /** Process ended by a signal (e.g. SIGKILL). */
  signal: string | null;
  timedOut: boolean;
  aborted: boolean;
  /** Exit 137 / OOM-killed. */
  oom: boolean;
  stdoutTail: string;
  stderrTail: string;
  /** Total bytes produced (both streams), even if only the tail was kept. */
  outputBytes: number;
  durationMs: number;
}

export interface Sandbox {
  readonly kind: SandboxKind;
  /** Absolute path of the workspace as commands inside the sandbox see it. */
  readonly workdir: string;
  /** Create or reuse the sandbox and run a health probe; recreate it if the probe fails. Idempotent. */
  ensure(signal?: AbortSignal): Promise<{ id: string; created: boolean }>;
  /** Run argv (never through a shell string). Rejects only for infrastructure failures (SandboxError). */
  exec(argv: string[], opts?: ExecOptions): Promise<ExecResult>;
  /** Remove the container / kill leftover processes. Idempotent. */
  remove(): Promise<void>;
}

export interface SandboxFactoryOptions {
  kind: SandboxKind;
  projectId: string;
  /** Host path of the project's working tree (bind-mounted for docker). */
  workspaceDir: string;
  config?: SandboxConfig;
  /** Default image when config.image is unset (docker). */
  defaultImage: string;
  logger: Logger;
}

export type SandboxErrorCode =
  | 'image_missing'
  | 'engine_unavailable'
  | 'container_failed'
  | 'exec_failed'
  | 'not_found';

/** One error type for the sandbox failure family. */
export class SandboxError extends Error {
  override name = 'SandboxError';
  constructor(
    message: string,
    readonly code: SandboxErrorCode,
    readonly transient = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
