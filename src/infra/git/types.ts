/**
 * The git-side contract used by the machine's steps (sync, prepare, integrate, record).
 * One GitWorkspace per project: DEVTEAM_DATA_DIR/repos/<projectId>.
 */
import type { Logger } from '../logger.ts';

export interface GitWorkspaceOptions {
  dataDir: string;
  projectId: string;
  url: string;
  /** Target branch. */
  branch: string;
  /** Resolved from the project's tokenEnv by the caller; used only through onAuth. */
  token?: string;
  author: { name: string; email: string };
  logger: Logger;
}

export interface IntegrateArgs {
  taskId: string;
  taskTitle: string;
  taskBranch: string;
  /** Commit message for the task's change (the runner adds a `DevTeam-Task: <id>` trailer). */
  commitMessage: string;
  outcomesPath: string;
  /** Pure function: current outcomes log text (null if absent) → new text. */
  renderOutcomes: (current: string | null) => string;
}

export interface IntegrateResult {
  targetOid: string;
  taskOid: string;
  /** The target branch already held this task's commits (a crash after push): nothing written. */
  alreadyIntegrated: boolean;
  /** Files changed by the task's commit. */
  changedFiles: string[];
}

export interface PublishResult {
  pushed: boolean;
  /** Non-fast-forward rejections that were resolved by fetch + re-merge. */
  retries: number;
  targetOid: string;
}

export interface GitWorkspace {
  readonly dir: string;
  /** Clone if absent else fetch; check out the target branch. Never clones twice. */
  sync(signal?: AbortSignal): Promise<{ headOid: string; cloned: boolean }>;
  /** Fetch and return the remote target head oid (idle polling). */
  remoteHead(signal?: AbortSignal): Promise<string>;
  /** A file's text at the (fetched) target branch head, null if absent. Throws GitError(non_utf8) for binary/invalid text. */
  readAtTarget(path: string): Promise<string | null>;
  /** Sorted paths of all files at the target head. */
  listFilesAtTarget(): Promise<string[]>;
  /** Create or reset the task branch from the target head, clean working tree, check it out. */
  prepareTaskBranch(taskBranch: string, signal?: AbortSignal): Promise<{ baseOid: string }>;
  /** Summary of uncommitted working-tree changes vs HEAD. */
  workingTreeSummary(): Promise<{ changedFiles: string[]; diffstat: string; patch: string }>;
  /** Commit on the task branch, merge into target locally, commit the outcomes entry. Idempotent. */
  integrate(args: IntegrateArgs): Promise<IntegrateResult>;
  /** Push target + task branch; non-fast-forward → fetch, re-merge (idempotently), retry ≤ 2, never force. */
  publish(args: IntegrateArgs): Promise<PublishResult>;
  /** True when the remote target branch already contains this task's commit (trailer match). */
  isTaskOnRemote(taskId: string): Promise<boolean>;
}

export type GitErrorCode =
  | 'invalid_url'
  | 'forbidden_host'
  | 'auth'
  | 'network'
  | 'not_found'
  | 'branch_missing'
  | 'conflict'
  | 'non_fast_forward'
  | 'non_utf8'
  | 'git';

/** One error type for the git failure family. Messages never contain the token. */
export class GitError extends Error {
  override name = 'GitError';
  constructor(
    message: string,
    readonly code: GitErrorCode,
    readonly transient = false,
    readonly details?: { paths?: string[] },
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
