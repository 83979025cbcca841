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
  /** Pure function: current outcomes log text (null if absent) and what integrate knows → new text. */
  renderOutcomes: (current: string | null, facts: OutcomeFacts) => string;
}

/** What an outcomes entry may cite: only refs and commits that exist on the remote, and their times. */
export interface OutcomeFacts {
  /** The task's commit on the target branch (what the entry records). */
  taskCommit: string;
  /** Committer time of that commit (ISO 8601 UTC). */
  committedAt: string;
  /** The task branch on the remote holds this task's commit (pushed, or already there); false: do not cite it. */
  branchOnRemote: boolean;
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

export type PublishOutcome = PublishResult & {
  /** False when the remote kept an older attempt's task branch (never force-pushed over). */
  taskBranchPushed: boolean;
};

/** A task's working tree. */
export interface TaskTree {
  /** Path relative to the workspace root (what the sandbox's `cwd` takes), e.g. `tasks/1.2-add-login`. */
  worktree: string;
  /** Host path of the same directory. */
  dir: string;
}

export type RebaseResult = { kind: 'current' } | { kind: 'rebased'; base: string } | { kind: 'conflict'; paths: string[]; hunks: string };

/** What changed in a task's working tree relative to its branch head. */
export interface TreeSummary {
  changedFiles: string[];
  /** One line per file (`A path | +3 -0`, `M path | +1 -1`, `D path`, binary marked) and a total line. */
  diffstat: string;
  /** Unified diff, capped (see patch.ts PATCH_CAP_BYTES). */
  patch: string;
}

/** Which implementation a workspace uses (docs/architecture.md "Git engine"). */
export type GitEngine = 'native' | 'isomorphic-git';

export interface GitWorkspace {
  readonly engine: GitEngine;
  /**
   * Host path of the project's workspace root: the sandbox's workspace (bind-mounted for
   * docker). Task worktrees and the runner's per-task files live below it.
   */
  readonly root: string;
  /** Fetch (clone the first time) the target branch and bring the local target up to it. Never clones twice. */
  sync(signal?: AbortSignal): Promise<{ headOid: string; cloned: boolean }>;
  /** The remote target head oid (idle polling; cheap). */
  remoteHead(signal?: AbortSignal): Promise<string>;
  /** Names of the remote's branches (`refs/heads/*` without the prefix), for choosing names that never collide. */
  remoteBranches(signal?: AbortSignal): Promise<string[]>;
  /** A file's text at the local target head, null if absent. Throws GitError(non_utf8) for binary/invalid text. */
  readAtTarget(path: string): Promise<string | null>;
  /** Sorted paths of all files at the target head. */
  listFilesAtTarget(): Promise<string[]>;
  /** The worktree of a task branch (no I/O). */
  taskTree(taskBranch: string): TaskTree;
  /**
   * Create or reset the task branch to the target head and give it a clean working tree
   * (tracked changes reset, untracked and ignored files removed).
   */
  prepareTask(taskBranch: string, signal?: AbortSignal): Promise<TaskTree & { baseOid: string }>;
  /**
   * A restarted attempt starts from a known tree: the first call for `key` (an attempt) records the
   * task's working tree as it is ('recorded'); a later call with the same key — the attempt runs
   * again after a crash, PAUSE/RESUME or shutdown — puts the tree back to that record
   * ('restored'), so whatever the interrupted run half-did is gone. Records go with removeTask.
   */
  attemptCheckpoint(taskBranch: string, key: string): Promise<'recorded' | 'restored'>;
  /** Uncommitted changes in the task's working tree relative to its branch head. */
  workingTreeSummary(taskBranch: string): Promise<TreeSummary>;
  /**
   * The merge train's first move: put the task's change (committed on its branch now if it is not
   * yet) on top of the current local target. `current`: it already sits on the target head (or is
   * integrated) — a fast-forward follows; `rebased`: it was replayed onto a newer head and the
   * worktree now holds the merged tree, which must be verified again before it lands; `conflict`:
   * it does not apply (the paths, and the conflict hunks as feedback). Idempotent.
   */
  rebaseTask(args: IntegrateArgs, signal?: AbortSignal): Promise<RebaseResult>;
  /** Commit on the task branch, apply it onto the local target, commit the outcomes entry. Idempotent. */
  integrate(args: IntegrateArgs, signal?: AbortSignal): Promise<IntegrateResult>;
  /** Push target + task branch; non-fast-forward → fetch, re-merge (idempotently), retry ≤ 2, never force. */
  publish(args: IntegrateArgs, signal?: AbortSignal): Promise<PublishOutcome>;
  /** True when the remote target branch already contains this task's outcome (trailer match). */
  isTaskOnRemote(taskId: string): Promise<boolean>;
  /** Remove the task's worktree (its branch stays). Idempotent. */
  removeTask(taskBranch: string): Promise<void>;
  /** Paths (gitignore patterns) never committed in any task worktree, e.g. an agent's own files. Idempotent. */
  setIgnored(patterns: string[]): Promise<void>;
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
  /** The remote refused a push for a reason other than non-fast-forward (hook, protection, permission). */
  | 'rejected'
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
