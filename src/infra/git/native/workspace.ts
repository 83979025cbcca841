/**
 * GitWorkspace on the native `git` executable (the default engine; docs/architecture.md
 * "Git engine" has the measurements behind the choice). Layout and safety: ./repo.ts; remote
 * access (URL policy, token): ./remoteAccess.ts; process environment: ./gitProcess.ts.
 *
 * History shape: a task's commit is applied onto the current local target as a single-parent
 * commit (a cherry-pick computed by `git merge-tree` — the merge base is the task's base), then
 * the outcomes entry is committed on top, so the target's history stays linear. Only a remote
 * that moved under an unpublished target is merged (a merge commit), never force-pushed.
 *
 * Safe for concurrent calls on different task branches (each worktree has its own index; every
 * ref move is a compare-and-swap), so several lanes of one project can share a workspace.
 */
import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../../logger.ts';
import { hasTrailer, OUTCOME_TRAILER, TASK_TRAILER, withTrailer } from '../history.ts';
import { capPatch } from '../patch.ts';
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
} from '../types.ts';
import { writeExcludeBlock } from '../ignore.ts';
import { assertBranchName, normalizeRepoPath } from '../paths.ts';
import { parseRepoUrl } from '../urlPolicy.ts';
import { gitMessage, nativeGitError } from './errors.ts';
import { remoteAccess } from './remoteAccess.ts';
import { NativeRepo } from './repo.ts';

/** Per repository (git dir): the chain that serializes worktree administration. */
const adminChains = new Map<string, Promise<unknown>>();

/**
 * Run `fn` alone among the worktree administration (add, remove, prune) of one repository in this
 * process. Lanes prepare task worktrees at once; a `git worktree prune` running beside another
 * lane's `git worktree add` deletes the half-made admin dir and the add fails ("could not open
 * …/worktrees/<name>/HEAD").
 */
function worktreeAdmin<T>(gitDir: string, fn: () => Promise<T>): Promise<T> {
  const prev = adminChains.get(gitDir) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(fn);
  const tail = run.catch(() => undefined);
  adminChains.set(gitDir, tail);
  void tail.then(() => adminChains.get(gitDir) === tail && adminChains.delete(gitDir));
  return run;
}

export interface NativeWorkspaceTuning {
  /** Connect-time host policy; default true = the caller already ran validateRepoUrl. Metadata hosts are always refused. */
  allowPrivateHosts?: boolean;
  /** Non-fast-forward retries in publish, default 2. */
  maxPushRetries?: number;
}

/** A worktree's directory name under tasks/: the branch's last path segment (`devteam/1.2-x` → `1.2-x`). */
export function worktreeName(taskBranch: string): string {
  return taskBranch.slice(taskBranch.lastIndexOf('/') + 1);
}

export class NativeGitWorkspace implements GitWorkspace {
  readonly engine = 'native' as const;
  readonly root: string;
  private readonly repo: NativeRepo;
  private readonly log: Logger;
  private readonly target: string;
  private readonly tracking: string;

  constructor(private readonly o: GitWorkspaceOptions & NativeWorkspaceTuning) {
    parseRepoUrl(o.url);
    if (!/^[A-Za-z0-9._-]+$/.test(o.projectId)) throw new GitError('Invalid project id for a repo dir', 'git');
    assertBranchName(o.branch);
    this.root = path.join(o.dataDir, 'repos', o.projectId);
    this.repo = new NativeRepo(this.root, o.branch);
    this.target = `refs/heads/${o.branch}`;
    this.tracking = `refs/remotes/origin/${o.branch}`;
    this.log = o.logger.child({ component: 'git', engine: 'native', projectId: o.projectId, branch: o.branch });
  }

  private access() {
    return remoteAccess({ url: this.o.url, token: this.o.token, allowPrivateHosts: this.o.allowPrivateHosts ?? true });
  }

  /** Fetch the target branch into refs/remotes/origin/<branch>; returns its oid. Needs no remote config. */
  private async fetchTarget(signal?: AbortSignal): Promise<string> {
    const t0 = performance.now();
    const acc = await this.access();
    await this.repo.git(['fetch', '--no-tags', '--no-write-fetch-head', '--prune', '-q', this.o.url, `+${this.target}:${this.tracking}`], {
      op: `fetch of ${this.o.branch}`,
      env: acc.env,
      config: acc.config,
      token: this.o.token,
      signal,
    });
    const oid = await this.repo.ref(this.tracking);
    if (!oid) throw new GitError(`Target branch '${this.o.branch}' does not exist on the remote repository`, 'branch_missing');
    this.log.debug({ ms: Math.round(performance.now() - t0), oid }, 'git fetch done');
    return oid;
  }

  async sync(signal?: AbortSignal): Promise<{ headOid: string; cloned: boolean }> {
    let cloned = false;
    if (!(await this.hasRepo())) {
      // A first fetch into a fresh bare repository is the clone; it is built beside the final
      // place and renamed, so a crash never leaves a half clone that looks usable.
      const t0 = performance.now();
      await rm(this.root, { recursive: true, force: true }); // also an old isomorphic-git layout
      await mkdir(this.root, { recursive: true });
      const tmp = new NativeRepo(path.join(this.root, 'clone-tmp'), this.o.branch);
      await mkdir(tmp.root, { recursive: true });
      await tmp.git(['init', '--bare', '-q', tmp.gitDir], { op: 'init' });
      const acc = await this.access();
      await tmp.git(['fetch', '--no-tags', '--no-write-fetch-head', '-q', this.o.url, `+${this.target}:${this.tracking}`], {
        op: `clone of ${this.o.branch}`,
        env: acc.env,
        config: acc.config,
        token: this.o.token,
        signal,
      });
      if (!(await tmp.ref(this.tracking))) throw new GitError(`Target branch '${this.o.branch}' does not exist on the remote repository`, 'branch_missing');
      await rename(tmp.gitDir, this.repo.gitDir);
      await rm(tmp.root, { recursive: true, force: true });
      cloned = true;
      this.log.info({ ms: Math.round(performance.now() - t0) }, 'git clone done');
    }
    const remoteOid = cloned ? (await this.repo.ref(this.tracking))! : await this.fetchTarget(signal);
    const headOid = await this.catchUp(remoteOid);
    await worktreeAdmin(this.repo.gitDir, () => this.repo.git(['worktree', 'prune'], { op: 'worktree prune' }));
    this.log.info({ headOid, cloned }, 'git workspace synced');
    return { headOid, cloned };
  }

  async remoteHead(signal?: AbortSignal): Promise<string> {
    const acc = await this.access();
    const out = await this.repo.text(['ls-remote', this.o.url, this.target], {
      op: `ls-remote of ${this.o.branch}`,
      env: acc.env,
      config: acc.config,
      token: this.o.token,
      signal,
    });
    const oid = out.split('\n').find((l) => l.endsWith(`\t${this.target}`))?.split('\t')[0];
    if (!oid) throw new GitError(`Target branch '${this.o.branch}' does not exist on the remote repository`, 'branch_missing');
    return oid;
  }

  async remoteBranches(signal?: AbortSignal): Promise<string[]> {
    const acc = await this.access();
    const out = await this.repo.text(['ls-remote', '--heads', this.o.url], {
      op: 'ls-remote of the branches',
      env: acc.env,
      config: acc.config,
      token: this.o.token,
      signal,
    });
    return out
      .split('\n')
      .map((l) => l.split('\t')[1] ?? '')
      .filter((r) => r.startsWith('refs/heads/'))
      .map((r) => r.slice('refs/heads/'.length));
  }

  async readAtTarget(filePath: string): Promise<string | null> {
    const p = normalizeRepoPath(filePath);
    const blob = await this.repo.readBlob(await this.targetOid(), p);
    if (blob === null) return null;
    try {
      if (blob.includes(0)) throw new Error('NUL byte');
      return new TextDecoder('utf-8', { fatal: true }).decode(blob);
    } catch {
      throw new GitError(`${p} is not UTF-8 text`, 'non_utf8');
    }
  }

  async listFilesAtTarget(): Promise<string[]> {
    const out = (await this.repo.git(['ls-tree', '-r', '-z', '--name-only', await this.targetOid()], { op: 'file list' })).stdout.toString('utf8');
    return out.split('\0').filter(Boolean).sort();
  }

  taskTree(taskBranch: string): TaskTree {
    const name = worktreeName(taskBranch);
    return { worktree: `tasks/${name}`, dir: this.repo.worktreeDir(name) };
  }

  async prepareTask(taskBranch: string, signal?: AbortSignal): Promise<TaskTree & { baseOid: string }> {
    assertBranchName(taskBranch);
    if (taskBranch === this.o.branch) throw new GitError('Task branch must differ from the target branch', 'git');
    signal?.throwIfAborted();
    const base = await this.targetOid();
    const tree = this.taskTree(taskBranch);
    const name = worktreeName(taskBranch);
    const registered = (await exists(path.join(this.repo.gitDir, 'worktrees', name, 'HEAD'))) && (await exists(tree.dir));
    if (!registered) {
      await worktreeAdmin(this.repo.gitDir, async () => {
        await rm(tree.dir, { recursive: true, force: true });
        await this.repo.git(['worktree', 'prune'], { op: 'worktree prune' });
        await mkdir(this.repo.tasksDir, { recursive: true });
        await this.repo.git(['worktree', 'add', '-f', '-q', '-B', taskBranch, tree.dir, base], { op: `worktree for ${taskBranch}`, signal });
      });
    } else {
      const ref = `refs/heads/${taskBranch}`;
      await this.repo.git(['update-ref', '-m', 'prepare', ref, base], { op: `reset of ${taskBranch}` });
      await this.repo.git(['symbolic-ref', 'HEAD', ref], { op: `checkout of ${taskBranch}`, worktree: name });
      await this.repo.git(['reset', '--hard', '-q', base], { op: `reset of ${taskBranch}`, worktree: name, signal });
    }
    await this.repo.git(['clean', '-ffdxq'], { op: `clean of ${taskBranch}`, worktree: name, signal });
    await this.relativeGitFile(name);
    this.log.info({ taskBranch, baseOid: base, worktree: tree.worktree }, 'task worktree prepared');
    return { ...tree, baseOid: base };
  }

  async attemptCheckpoint(taskBranch: string, key: string): Promise<'recorded' | 'restored'> {
    const name = worktreeName(taskBranch);
    const ref = `refs/devteam/checkpoints/${name}/${key}`;
    const w = { worktree: name };
    const saved = await this.repo.ref(ref);
    if (saved) {
      await this.repo.git(['reset', '-q', '--hard', 'HEAD'], { op: 'reset of the task tree', ...w });
      await this.repo.git(['clean', '-ffdxq'], { op: 'clean of the task tree', ...w });
      await this.repo.git(['read-tree', '-u', '--reset', saved], { op: 'restore of the task tree', ...w });
      await this.repo.git(['reset', '-q'], { op: 'restore of the task tree', ...w }); // index back to HEAD; the tree keeps the record
      this.log.info({ taskBranch, key }, 'task tree restored to the attempt checkpoint');
      return 'restored';
    }
    // Record the tree (tracked and untracked, not ignored) through a throw-away index.
    const index = path.join(this.repo.gitDir, `devteam-index-${process.pid}-${name}-${key}`);
    try {
      const env = { GIT_INDEX_FILE: index };
      await this.repo.git(['read-tree', 'HEAD'], { op: 'checkpoint', ...w, env });
      await this.repo.git(['add', '-A'], { op: 'checkpoint', ...w, env });
      const tree = await this.repo.text(['write-tree'], { op: 'checkpoint', ...w, env });
      const head = await this.repo.text(['rev-parse', 'HEAD'], { op: 'checkpoint', ...w });
      const commit = await this.repo.commitTree(tree, [head], `checkpoint ${name} ${key}\n`, { ...this.o.author });
      await this.repo.git(['update-ref', ref, commit], { op: 'checkpoint' });
    } finally {
      await rm(index, { force: true });
    }
    return 'recorded';
  }

  async workingTreeSummary(taskBranch: string): Promise<TreeSummary> {
    const name = worktreeName(taskBranch);
    const w = { worktree: name };
    await this.repo.git(['add', '-A'], { op: 'staging of the changes', ...w });
    const diff = ['diff', '--cached', '--no-ext-diff', '--no-textconv', '--no-renames', '--no-color'];
    const [numstat, names, patch] = await Promise.all([
      this.repo.git([...diff, '--numstat', '-z', 'HEAD'], { op: 'diffstat', ...w }),
      this.repo.git([...diff, '--name-status', '-z', 'HEAD'], { op: 'diffstat', ...w }),
      this.repo.git([...diff, 'HEAD'], { op: 'diff', ...w, maxStdoutBytes: 64 * 1024 * 1024 }),
    ]);
    return summarize(numstat.stdout.toString('utf8'), names.stdout.toString('utf8'), patch.stdout.toString('utf8'));
  }

  async rebaseTask(a: IntegrateArgs, signal?: AbortSignal): Promise<RebaseResult> {
    assertBranchName(a.taskBranch);
    const target = await this.targetOid();
    if ((await this.repo.findTrailer(target, OUTCOME_TRAILER, a.taskId)) || (await this.repo.findTrailer(target, TASK_TRAILER, a.taskId))) return { kind: 'current' };
    const taskCommit = await this.commitTask(a);
    signal?.throwIfAborted();
    if ((await this.repo.ref(`${taskCommit}^`)) === target) return { kind: 'current' };
    const merged = await this.repo.mergeTrees(target, taskCommit);
    if (merged.conflicts) {
      // The conflicted files as the merge left them (with conflict markers), against the new head.
      const diff = await this.repo.git(['diff', '--no-ext-diff', '--no-textconv', '--no-color', target, merged.tree, '--', ...merged.conflicts], {
        op: 'conflict hunks',
        maxStdoutBytes: 64 * 1024 * 1024,
      });
      return { kind: 'conflict', paths: merged.conflicts, hunks: capPatch(splitPatch(diff.stdout.toString('utf8'))) };
    }
    const message = (await this.repo.git(['log', '-1', '--format=%B', taskCommit], { op: 'read of the task commit' })).stdout.toString('utf8');
    const replayed = await this.repo.commitTree(merged.tree, [target], message, { ...this.o.author });
    await this.repo.updateRef(`refs/heads/${a.taskBranch}`, replayed, taskCommit, `replay ${a.taskId} onto ${this.o.branch}`);
    await this.repo.git(['reset', '-q', '--hard', 'HEAD'], { op: `checkout of the replayed ${a.taskBranch}`, worktree: worktreeName(a.taskBranch), signal });
    this.log.info({ taskId: a.taskId, onto: target }, 'task replayed onto the new target head');
    return { kind: 'rebased', base: target };
  }

  async integrate(a: IntegrateArgs, signal?: AbortSignal): Promise<IntegrateResult> {
    const outcomesPath = normalizeRepoPath(a.outcomesPath);
    assertBranchName(a.taskBranch);
    let target = await this.targetOid();
    const done = await this.repo.findTrailer(target, OUTCOME_TRAILER, a.taskId);
    if (done) {
      const taskOid = (await this.repo.findTrailer(target, TASK_TRAILER, a.taskId)) ?? done;
      this.log.info({ taskId: a.taskId }, 'task already integrated');
      return { targetOid: target, taskOid, alreadyIntegrated: true, changedFiles: await this.commitFiles(taskOid) };
    }
    const author = { ...this.o.author };
    let onTarget = await this.repo.findTrailer(target, TASK_TRAILER, a.taskId);
    let branchOnRemote: boolean;
    if (!onTarget) {
      const taskCommit = await this.commitTask(a);
      signal?.throwIfAborted();
      // The task branch goes to the remote first, so the entry cites it only when it is there.
      branchOnRemote = await this.pushTaskBranch(a.taskBranch, signal);
      const parent = await this.repo.ref(`${taskCommit}^`);
      if (parent === target) {
        onTarget = taskCommit; // based on the current target: a fast-forward
      } else {
        const merged = await this.repo.mergeTrees(target, taskCommit);
        if (merged.conflicts) {
          throw new GitError(`Merge conflict applying ${a.taskBranch} onto ${this.o.branch} in: ${merged.conflicts.join(', ')}`, 'conflict', false, {
            paths: merged.conflicts,
          });
        }
        const message = (await this.repo.git(['log', '-1', '--format=%B', taskCommit], { op: 'read of the task commit' })).stdout.toString('utf8');
        onTarget = await this.repo.commitTree(merged.tree, [target], message, author);
      }
      await this.repo.updateRef(this.target, onTarget, target, `integrate ${a.taskId}`);
      target = onTarget;
    } else {
      branchOnRemote = await this.pushTaskBranch(a.taskBranch, signal); // a re-run after a crash: idempotent
    }
    // The outcomes entry, committed on the target without a working tree.
    const committedAt = new Date(await this.repo.text(['log', '-1', '--format=%cI', onTarget], { op: 'commit time' })).toISOString();
    const facts = { taskCommit: onTarget, committedAt, branchOnRemote };
    const current = await this.readAtTarget(outcomesPath);
    const blob = await this.repo.writeBlob(a.renderOutcomes(current, facts));
    const tree = await this.repo.treeWithFile(target, outcomesPath, blob);
    const message = withTrailer(`Record outcome of ${a.taskId}: ${a.taskTitle}`, OUTCOME_TRAILER, a.taskId);
    const outcome = await this.repo.commitTree(tree, [target], message, author);
    await this.repo.updateRef(this.target, outcome, target, `outcome of ${a.taskId}`);
    this.log.info({ taskId: a.taskId, taskOid: onTarget, targetOid: outcome }, 'task integrated');
    return { targetOid: outcome, taskOid: onTarget, alreadyIntegrated: false, changedFiles: await this.commitFiles(onTarget) };
  }

  async publish(a: IntegrateArgs, signal?: AbortSignal): Promise<PublishOutcome> {
    const max = this.o.maxPushRetries ?? 2;
    let retries = 0;
    let pushed = false;
    for (;;) {
      const local = await this.targetOid();
      if (local === (await this.repo.ref(this.tracking))) break; // the remote already has exactly this
      const result = await this.push([`${this.target}:${this.target}`], signal);
      const t = result.get(this.target);
      if (!t || t.ok) {
        pushed = true;
        await this.repo.git(['update-ref', this.tracking, local], { op: 'tracking ref update' });
        break;
      }
      if (!t.nonFastForward) {
        // A server hook, a protected branch, a permission: the remote's own words, no retry.
        throw new GitError(`The remote refused the push of ${this.o.branch}: ${t.reason}${result.message ? `\n${result.message}` : ''}`, 'rejected');
      }
      if (retries >= max) throw new GitError(`Push of ${this.o.branch} still rejected after ${retries} retries`, 'non_fast_forward', true);
      retries++;
      this.log.warn({ taskId: a.taskId, retries }, 'target push rejected (non-fast-forward); fetching and merging');
      await this.catchUp(await this.fetchTarget(signal));
    }
    // The task branch went out with integrate; skipped here when this clone already pushed its head.
    const taskBranchPushed = await this.pushTaskBranch(a.taskBranch, signal);
    return { pushed, retries, targetOid: await this.targetOid(), taskBranchPushed };
  }

  /**
   * Push the task branch (never forced). True when the remote branch holds this branch's commit
   * afterwards; false when the remote keeps another (an older attempt's branch: non-fast-forward)
   * or refuses task branches (a hook) — the task's integration does not depend on it.
   */
  private async pushTaskBranch(taskBranch: string, signal?: AbortSignal): Promise<boolean> {
    const ref = `refs/heads/${taskBranch}`;
    // What this clone last pushed of the branch (kept on disk, so it holds across a restart): when
    // the branch still points there, the remote has it and the push would be a no-op round trip.
    const pushedRef = `refs/devteam/pushed/${taskBranch}`;
    const oid = await this.repo.ref(ref);
    if (oid && oid === (await this.repo.ref(pushedRef))) return true;
    const result = await this.push([`${ref}:${ref}`], signal);
    const b = result.get(ref);
    if (!b || b.ok) {
      if (oid) await this.repo.git(['update-ref', pushedRef, oid], { op: 'pushed ref update' });
      return true;
    }
    this.log.warn({ taskBranch, reason: b.reason, remote: result.message || undefined }, 'task branch not pushed; the outcomes entry will not cite it');
    return false;
  }

  async isTaskOnRemote(taskId: string): Promise<boolean> {
    const oid = await this.fetchTarget();
    return (await this.repo.findTrailer(oid, OUTCOME_TRAILER, taskId)) !== null;
  }

  async removeTask(taskBranch: string): Promise<void> {
    const tree = this.taskTree(taskBranch);
    const refs = await this.repo.text(['for-each-ref', '--format=%(refname)', `refs/devteam/checkpoints/${worktreeName(taskBranch)}/`], { op: 'checkpoint list' });
    for (const ref of refs.split('\n').filter(Boolean)) await this.repo.git(['update-ref', '-d', ref], { op: 'checkpoint removal' });
    await worktreeAdmin(this.repo.gitDir, async () => {
      await this.repo.git(['worktree', 'remove', '--force', '--force', tree.dir], { op: `removal of ${tree.worktree}`, okCodes: [128] });
      await rm(tree.dir, { recursive: true, force: true });
      await this.repo.git(['worktree', 'prune'], { op: 'worktree prune' });
    });
  }

  async setIgnored(patterns: string[]): Promise<void> {
    await writeExcludeBlock(path.join(this.repo.gitDir, 'info', 'exclude'), patterns);
  }

  // ---- internals ----

  private async hasRepo(): Promise<boolean> {
    return (await exists(path.join(this.repo.gitDir, 'HEAD'))) && (await this.repo.ref(this.tracking)) !== null;
  }

  private async targetOid(): Promise<string> {
    const oid = await this.repo.ref(this.target);
    if (!oid) throw new GitError(`Target branch '${this.o.branch}' is not present locally; sync first`, 'branch_missing');
    return oid;
  }

  /** Bring the local target up to `remote`; keeps unpublished local commits (merging when both moved). */
  private async catchUp(remote: string): Promise<string> {
    const local = await this.repo.ref(this.target);
    if (local === remote) return remote;
    if (!local) {
      await this.repo.updateRef(this.target, remote, null, 'sync');
      return remote;
    }
    if (await this.repo.isAncestor(remote, local)) return local;
    if (await this.repo.isAncestor(local, remote)) {
      await this.repo.updateRef(this.target, remote, local, 'sync (fast-forward)');
      return remote;
    }
    const merged = await this.repo.mergeTrees(local, remote);
    if (merged.conflicts) {
      throw new GitError(`Merge conflict merging the remote ${this.o.branch} into the local one in: ${merged.conflicts.join(', ')}`, 'conflict', false, {
        paths: merged.conflicts,
      });
    }
    const commit = await this.repo.commitTree(merged.tree, [local, remote], `Merge remote ${this.o.branch} into ${this.o.branch}\n`, { ...this.o.author });
    await this.repo.updateRef(this.target, commit, local, 'sync (merge)');
    return commit;
  }

  /** The task's commit on its branch: an earlier attempt's (found by trailer) or a new one of the worktree. */
  private async commitTask(a: IntegrateArgs): Promise<string> {
    const ref = `refs/heads/${a.taskBranch}`;
    const tip = await this.repo.ref(ref);
    if (!tip) throw new GitError(`Task branch ${a.taskBranch} does not exist; prepare it first`, 'git');
    const tipMessage = (await this.repo.git(['log', '-1', '--format=%B', tip], { op: 'read of the task branch' })).stdout.toString('utf8');
    if (hasTrailer(tipMessage, TASK_TRAILER, a.taskId)) return tip; // committed by an attempt that stopped before applying it
    const name = worktreeName(a.taskBranch);
    await this.repo.git(['add', '-A'], { op: 'staging of the changes', worktree: name });
    const tree = await this.repo.text(['write-tree'], { op: 'write of the task tree', worktree: name });
    const commit = await this.repo.commitTree(tree, [tip], withTrailer(a.commitMessage, TASK_TRAILER, a.taskId), { ...this.o.author });
    await this.repo.updateRef(ref, commit, tip, `commit ${a.taskId}`);
    return commit;
  }

  private async commitFiles(oid: string): Promise<string[]> {
    const out = await this.repo.git(['diff-tree', '--no-commit-id', '--root', '-r', '-z', '--name-only', '--no-renames', oid], { op: 'changed files' });
    return out.stdout.toString('utf8').split('\0').filter(Boolean).sort();
  }

  /** `git push --porcelain` of refspecs (never forced); per-ref results plus the remote's messages. */
  private async push(refspecs: string[], signal?: AbortSignal): Promise<Map<string, PushRef> & { message: string }> {
    const t0 = performance.now();
    const acc = await this.access();
    const r = await this.repo.git(['push', '--porcelain', '--no-verify', this.o.url, ...refspecs], {
      op: `push of ${refspecs.map((s) => s.split(':')[1]!.replace('refs/heads/', '')).join(', ')}`,
      env: acc.env,
      config: acc.config,
      token: this.o.token,
      signal,
      okCodes: [1],
    });
    const results = parsePorcelain(r.stdout.toString('utf8')) as Map<string, PushRef> & { message: string };
    results.message = gitMessage(r.stderr.split('\n').filter((l) => l.startsWith('remote:')).join('\n'), this.o.token);
    if (r.code !== 0 && results.size === 0) {
      // No per-ref status: the push never reached ref updates (auth, network…).
      throw nativeGitError(r.stderr, r.code, { op: 'push', branch: this.o.branch, token: this.o.token });
    }
    this.log.info({ ms: Math.round(performance.now() - t0), refs: refspecs.length }, 'git push done');
    return results;
  }

  /** Point the worktree's `.git` file at its admin dir relatively, so it resolves inside a container too. */
  private async relativeGitFile(name: string): Promise<void> {
    const rel = path.relative(this.repo.worktreeDir(name), path.join(this.repo.gitDir, 'worktrees', name));
    await writeFile(path.join(this.repo.worktreeDir(name), '.git'), `gitdir: ${rel}\n`);
  }
}

interface PushRef {
  ok: boolean;
  nonFastForward: boolean;
  reason: string;
}

/** Parse `git push --porcelain` ref lines: `<flag>\t<src>:<dst>\t<summary> (<reason>)`. */
export function parsePorcelain(out: string): Map<string, PushRef> {
  const m = new Map<string, PushRef>();
  for (const line of out.split('\n')) {
    const parts = line.split('\t');
    if (parts.length < 3 || parts[0]!.length !== 1) continue;
    const [flag, refs, summary] = parts as [string, string, string];
    const dst = refs.slice(refs.indexOf(':') + 1);
    const ok = flag !== '!';
    const reason = /\(([^)]*)\)\s*$/.exec(summary)?.[1] ?? summary.trim();
    m.set(dst, { ok, nonFastForward: !ok && /non-fast-forward|fetch first|stale info/.test(summary) && !/remote rejected/.test(summary), reason: `${summary.trim()}` });
  }
  return m;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** Diff outputs (`--numstat -z`, `--name-status -z`, patch) → the summary shape. */
function summarize(numstat: string, nameStatus: string, patch: string): TreeSummary {
  const status = new Map<string, string>();
  const ns = nameStatus.split('\0');
  for (let i = 0; i + 1 < ns.length; i += 2) if (ns[i]) status.set(ns[i + 1]!, ns[i]!);
  const lines: string[] = [];
  const files: string[] = [];
  let add = 0;
  let del = 0;
  for (const rec of numstat.split('\0')) {
    const m = /^(-|\d+)\t(-|\d+)\t(.*)$/s.exec(rec);
    if (!m) continue;
    const [, a, d, file] = m as unknown as [string, string, string, string];
    files.push(file);
    const st = status.get(file) ?? 'M';
    if (a === '-') lines.push(`${st} ${file} | binary`);
    else {
      add += Number(a);
      del += Number(d);
      lines.push(`${st} ${file} | +${a} -${d}`);
    }
  }
  const n = files.length;
  lines.push(`${n} file${n === 1 ? '' : 's'} changed, ${add} insertion${add === 1 ? '' : 's'}(+), ${del} deletion${del === 1 ? '' : 's'}(-)`);
  return { changedFiles: files.sort(), diffstat: lines.join('\n'), patch: capPatch(splitPatch(patch)) };
}

/** A patch split per file (capPatch keeps whole files while they fit). */
function splitPatch(patch: string): string[] {
  if (!patch) return [];
  return patch.split(/(?=^diff --git )/m);
}
