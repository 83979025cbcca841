/**
 * GitWorkspace on isomorphic-git — the fallback engine when no native `git` (≥ 2.38) exists on the
 * runner's machine. One checkout at <dataDir>/repos/<projectId>/checkout serves every task in turn
 * (`taskTree` is always that checkout), so it runs one task at a time.
 *
 * Where "the target" lives: the LOCAL branch refs/heads/<branch>. `sync` brings it up to
 * the remote (fast-forward; kept when it holds unpublished integrations; merged when both
 * moved), `integrate` writes to it, `publish` pushes it. readAtTarget/listFilesAtTarget
 * read it, so they see this runner's integrated-but-unpublished outcomes too.
 * `remoteHead`/`isTaskOnRemote` use refs/remotes/origin/<branch> right after a fetch.
 *
 * Not safe for concurrent calls on one workspace: the runner drives one project at a time.
 */
import fs from 'node:fs';
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import git from 'isomorphic-git';
import type { Logger } from '../logger.ts';
import { changedPaths, findTrailerCommit, hasTrailer, OUTCOME_TRAILER, TASK_TRAILER, withTrailer } from './history.ts';
import { Remote } from './remote.ts';
import { summarize } from './summary.ts';
import { toGitError } from './errors.ts';
import {
  GitError,
  type GitWorkspace,
  type GitWorkspaceOptions,
  type IntegrateArgs,
  type IntegrateResult,
  type PublishOutcome,
  type RebaseResult,
  type TaskTree,
  type TreeSummary,
} from './types.ts';
import { writeExcludeBlock } from './ignore.ts';
import { assertBranchName, normalizeRepoPath as normalizePath } from './paths.ts';
import { parseRepoUrl } from './urlPolicy.ts';
import { cleanCheckout, stageAll } from './worktree.ts';

/** Options beyond the shared contract (all optional). */
export interface GitWorkspaceTuning {
  /** Connect-time host policy; default true = the caller already ran validateRepoUrl. Metadata hosts are always refused. */
  allowPrivateHosts?: boolean;
  /** Socket inactivity timeout for git HTTP requests (ms), default 60 s. */
  idleTimeoutMs?: number;
  /** Non-fast-forward retries in publish, default 2. */
  maxPushRetries?: number;
}

export class IsoGitWorkspace implements GitWorkspace {
  readonly engine = 'isomorphic-git' as const;
  readonly root: string;
  /** The one checkout (host path). */
  readonly dir: string;
  private readonly remote: Remote;
  private readonly log: Logger;
  private readonly target: string;

  constructor(private readonly o: GitWorkspaceOptions & GitWorkspaceTuning) {
    parseRepoUrl(o.url);
    if (!/^[A-Za-z0-9._-]+$/.test(o.projectId)) throw new GitError(`Invalid project id for a repo dir`, 'git');
    assertBranchName(o.branch);
    this.root = join(o.dataDir, 'repos', o.projectId);
    this.dir = join(this.root, 'checkout');
    this.target = `refs/heads/${o.branch}`;
    this.log = o.logger.child({ component: 'git', projectId: o.projectId, branch: o.branch });
    this.remote = new Remote({
      url: o.url,
      branch: o.branch,
      token: o.token,
      allowPrivateHosts: o.allowPrivateHosts ?? true,
      idleTimeoutMs: o.idleTimeoutMs ?? 60_000,
      logger: this.log,
    });
  }

  async sync(signal?: AbortSignal): Promise<{ headOid: string; cloned: boolean }> {
    const cache = {};
    let cloned = false;
    let remoteOid: string;
    if (await this.hasValidRepo()) {
      remoteOid = await this.remote.fetch(this.dir, cache, signal);
    } else {
      // Clone beside the final dir and rename: a crash never leaves a half clone in place.
      const tmp = `${this.dir}.clone-tmp`;
      await rm(this.root, { recursive: true, force: true }); // also another engine's layout
      await mkdir(this.root, { recursive: true });
      remoteOid = await this.remote.clone(tmp, signal);
      await rename(tmp, this.dir);
      cloned = true;
    }
    const headOid = await this.catchUpLocalTarget(remoteOid, cache);
    await cleanCheckout(this.dir, this.o.branch, cache);
    this.log.info({ headOid, cloned }, 'git workspace synced');
    return { headOid, cloned };
  }

  async remoteHead(signal?: AbortSignal): Promise<string> {
    return this.remote.fetch(this.dir, {}, signal);
  }

  remoteBranches(signal?: AbortSignal): Promise<string[]> {
    return this.remote.branches(signal);
  }

  async readAtTarget(path: string): Promise<string | null> {
    return this.readAt(await this.targetOid(), normalizePath(path), {});
  }

  async listFilesAtTarget(): Promise<string[]> {
    return (await git.listFiles({ fs, dir: this.dir, ref: await this.targetOid() })).sort();
  }

  taskTree(): TaskTree {
    return { worktree: 'checkout', dir: this.dir };
  }

  async removeTask(): Promise<void> {
    // The one checkout is reused by the next task; its attempt records go.
    await rm(join(this.root, 'checkpoints'), { recursive: true, force: true });
  }

  /**
   * The fallback engine keeps no tree records: a restarted attempt starts again from the task
   * branch head (the task's base), losing earlier attempts' uncommitted work rather than running
   * on top of a half-done run.
   */
  async attemptCheckpoint(taskBranch: string, key: string): Promise<'recorded' | 'restored'> {
    const marker = join(this.root, 'checkpoints', taskBranch.replace(/\//g, '__'), key);
    if (await stat(marker).then(() => true, () => false)) {
      await cleanCheckout(this.dir, taskBranch, {});
      return 'restored';
    }
    await mkdir(dirname(marker), { recursive: true });
    await writeFile(marker, '');
    return 'recorded';
  }

  async setIgnored(patterns: string[]): Promise<void> {
    await writeExcludeBlock(join(this.dir, '.git', 'info', 'exclude'), patterns);
  }

  async prepareTask(taskBranch: string, signal?: AbortSignal): Promise<TaskTree & { baseOid: string }> {
    assertBranchName(taskBranch);
    if (taskBranch === this.o.branch) throw new GitError('Task branch must differ from the target branch', 'git');
    signal?.throwIfAborted();
    const baseOid = await this.targetOid();
    await git.writeRef({ fs, dir: this.dir, ref: `refs/heads/${taskBranch}`, value: baseOid, force: true });
    await cleanCheckout(this.dir, taskBranch, {});
    this.log.info({ taskBranch, baseOid }, 'task branch prepared');
    return { ...this.taskTree(), baseOid };
  }

  workingTreeSummary(): Promise<TreeSummary> {
    return summarize(this.dir, {});
  }

  /** The fallback engine runs one task at a time: integrate merges whatever the target did meanwhile. */
  async rebaseTask(): Promise<RebaseResult> {
    return { kind: 'current' };
  }

  async integrate(a: IntegrateArgs, signal?: AbortSignal): Promise<IntegrateResult> {
    const cache = {};
    const outcomesPath = normalizePath(a.outcomesPath);
    assertBranchName(a.taskBranch);
    const dir = this.dir;
    const before = await this.targetOid();
    const doneOutcome = await findTrailerCommit(dir, before, OUTCOME_TRAILER, a.taskId, cache);
    let taskOid = await findTrailerCommit(dir, before, TASK_TRAILER, a.taskId, cache);
    if (doneOutcome) {
      taskOid ??= doneOutcome;
      this.log.info({ taskId: a.taskId }, 'task already integrated');
      return { targetOid: before, taskOid, alreadyIntegrated: true, changedFiles: await this.commitFiles(taskOid, cache) };
    }
    const author = { ...this.o.author };
    if (!taskOid) {
      const tip = await git
        .resolveRef({ fs, dir, ref: `refs/heads/${a.taskBranch}` })
        .catch(() => Promise.reject(new GitError(`Task branch ${a.taskBranch} does not exist; prepare it first`, 'git')));
      const { commit } = await git.readCommit({ fs, dir, oid: tip, cache });
      if (hasTrailer(commit.message, TASK_TRAILER, a.taskId)) {
        taskOid = tip; // committed by an earlier attempt that stopped before merging
      } else {
        const current = await git.currentBranch({ fs, dir });
        if (current !== a.taskBranch) {
          throw new GitError(`Working tree is on ${current ?? 'a detached HEAD'}, not ${a.taskBranch}`, 'git');
        }
        await stageAll(dir, cache);
        const message = withTrailer(a.commitMessage, TASK_TRAILER, a.taskId);
        taskOid = await git.commit({ fs, dir, cache, message, author, committer: author });
      }
      try {
        await git.merge({
          fs, dir, cache, ours: this.o.branch, theirs: taskOid, fastForward: true, abortOnConflict: true,
          author, committer: author, message: `Merge ${a.taskBranch}: ${a.taskTitle}`,
        });
      } catch (err) {
        throw toGitError(err, { op: `merge of ${a.taskBranch} into ${this.o.branch}`, branch: this.o.branch });
      }
    }
    // The task branch goes to the remote first, so the entry cites it only when it is there.
    const branchOnRemote = await this.pushTaskBranch(a.taskBranch, cache, signal);
    const { commit: recorded } = await git.readCommit({ fs, dir, oid: taskOid, cache });
    const facts = { taskCommit: taskOid, committedAt: new Date(recorded.committer.timestamp * 1000).toISOString(), branchOnRemote };
    // The outcome entry is written on the target branch's own working tree.
    await cleanCheckout(dir, this.o.branch, cache);
    const current = await this.readAt(await this.targetOid(), outcomesPath, cache);
    await mkdir(dirname(join(dir, outcomesPath)), { recursive: true });
    await writeFile(join(dir, outcomesPath), a.renderOutcomes(current, facts), 'utf8');
    await git.add({ fs, dir, cache, filepath: outcomesPath });
    const message = withTrailer(`Record outcome of ${a.taskId}: ${a.taskTitle}`, OUTCOME_TRAILER, a.taskId);
    const targetOid = await git.commit({ fs, dir, cache, message, author, committer: author });
    this.log.info({ taskId: a.taskId, taskOid, targetOid }, 'task integrated');
    return { targetOid, taskOid, alreadyIntegrated: false, changedFiles: await this.commitFiles(taskOid, cache) };
  }

  async publish(a: IntegrateArgs, signal?: AbortSignal): Promise<PublishOutcome> {
    const cache = {};
    const dir = this.dir;
    const max = this.o.maxPushRetries ?? 2;
    let retries = 0;
    let pushed = false;
    for (;;) {
      const local = await this.targetOid();
      const tracking = await git.resolveRef({ fs, dir, ref: `refs/remotes/origin/${this.o.branch}` }).catch(() => null);
      if (local === tracking) break; // the remote already has exactly this (a repeated publish)
      try {
        await this.remote.push(dir, cache, this.o.branch, signal);
        pushed = true;
        break;
      } catch (err) {
        if (!(err instanceof GitError) || err.code !== 'non_fast_forward') throw err;
        if (retries >= max) {
          throw new GitError(`Push of ${this.o.branch} still rejected after ${retries} retries`, 'non_fast_forward', true, undefined, { cause: err });
        }
        retries++;
        this.log.warn({ taskId: a.taskId, retries }, 'target push rejected (non-fast-forward); fetching and re-merging');
        const remoteOid = await this.remote.fetch(dir, cache, signal);
        await this.mergeInto(remoteOid, `Merge remote ${this.o.branch} into ${this.o.branch}`, cache);
        if ((await git.currentBranch({ fs, dir })) === this.o.branch) await cleanCheckout(dir, this.o.branch, cache);
      }
    }
    const taskBranchPushed = await this.pushTaskBranch(a.taskBranch, cache, signal);
    return { pushed, retries, targetOid: await this.targetOid(), taskBranchPushed };
  }

  /** Push the task branch, never forced; false when the remote keeps another (an older attempt's). */
  private async pushTaskBranch(taskBranch: string, cache: object, signal?: AbortSignal): Promise<boolean> {
    try {
      await this.remote.push(this.dir, cache, taskBranch, signal);
      return true;
    } catch (err) {
      if (!(err instanceof GitError) || err.code !== 'non_fast_forward') throw err;
      this.log.warn({ taskBranch }, 'task branch push rejected; remote keeps an older attempt');
      return false;
    }
  }

  async isTaskOnRemote(taskId: string): Promise<boolean> {
    const cache = {};
    const oid = await this.remote.fetch(this.dir, cache);
    return (await findTrailerCommit(this.dir, oid, OUTCOME_TRAILER, taskId, cache)) !== null;
  }

  // ---- internals ----

  private async hasValidRepo(): Promise<boolean> {
    try {
      await stat(join(this.dir, '.git'));
      await git.resolveRef({ fs, dir: this.dir, ref: 'HEAD' });
      return true;
    } catch {
      return false;
    }
  }

  private async targetOid(): Promise<string> {
    try {
      return await git.resolveRef({ fs, dir: this.dir, ref: this.target });
    } catch {
      throw new GitError(`Target branch '${this.o.branch}' is not present locally; sync first`, 'branch_missing');
    }
  }

  /** Bring the local target up to `remoteOid`; keeps unpublished local commits. */
  private async catchUpLocalTarget(remoteOid: string, cache: object): Promise<string> {
    const dir = this.dir;
    const local = await git.resolveRef({ fs, dir, ref: this.target }).catch(() => null);
    if (local === remoteOid) return local;
    if (local && (await git.isDescendent({ fs, dir, cache, oid: local, ancestor: remoteOid, depth: -1 }))) return local;
    if (!local || (await git.isDescendent({ fs, dir, cache, oid: remoteOid, ancestor: local, depth: -1 }))) {
      await git.writeRef({ fs, dir, ref: this.target, value: remoteOid, force: true });
      return remoteOid;
    }
    await this.mergeInto(remoteOid, `Merge remote ${this.o.branch} into ${this.o.branch}`, cache);
    return this.targetOid();
  }

  private async mergeInto(theirs: string, message: string, cache: object): Promise<void> {
    const author = { ...this.o.author };
    try {
      await git.merge({ fs, dir: this.dir, cache, ours: this.o.branch, theirs, fastForward: true, abortOnConflict: true, author, committer: author, message });
    } catch (err) {
      throw toGitError(err, { op: `merge of the remote ${this.o.branch}`, branch: this.o.branch });
    }
  }

  private async readAt(oid: string, filepath: string, cache: object): Promise<string | null> {
    let blob: Uint8Array;
    try {
      ({ blob } = await git.readBlob({ fs, dir: this.dir, oid, filepath, cache }));
    } catch (err) {
      if ((err as any)?.code === git.Errors.NotFoundError.code) return null;
      throw toGitError(err, { op: `read of ${filepath}`, branch: this.o.branch });
    }
    try {
      if (blob.includes(0)) throw new Error('NUL byte');
      return new TextDecoder('utf-8', { fatal: true }).decode(blob);
    } catch {
      throw new GitError(`${filepath} is not UTF-8 text`, 'non_utf8');
    }
  }

  private async commitFiles(oid: string, cache: object): Promise<string[]> {
    const { commit } = await git.readCommit({ fs, dir: this.dir, oid, cache });
    return changedPaths(this.dir, commit.parent[0] ?? null, oid, cache);
  }
}
