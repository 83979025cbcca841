/**
 * One project's native-git repository on disk and the plumbing the workspace builds on.
 *
 *   <root>/repo.git/         bare repository, owned by the runner: refs/heads/<target> (the local
 *                            target, may hold integrated-but-unpublished commits),
 *                            refs/remotes/origin/<target> (the remote's head at the last fetch),
 *                            refs/heads/<task branch> per task, worktrees/<name>/ admin dirs
 *   <root>/tasks/<name>/     one `git worktree` per task (the agent and verify run here)
 *
 * Every call names its repository explicitly (GIT_DIR, and for a worktree GIT_COMMON_DIR +
 * GIT_WORK_TREE) instead of letting git discover it from a `.git` file: the worktree is the
 * agent's, and its `.git` file could point anywhere. The bare repository's `config` is rewritten
 * to the runner's canonical text before each call (an agent running `git config` in its worktree
 * writes there), so nothing the agent writes is ever read as configuration by the runner.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { GitError } from '../types.ts';
import { runGit, type GitRunOptions, type GitRunResult } from './gitProcess.ts';
import { nativeGitError } from './errors.ts';

/** Files at a commit, by `gitDir\0commit\0path` (least recently used first), bounded by bytes. */
const blobMemo = new Map<string, Buffer | null>();
const BLOB_MEMO_MAX_BYTES = 16 * 1024 * 1024;
let blobMemoBytes = 0;

function remember(key: string, blob: Buffer | null): void {
  if (blob && blob.length > BLOB_MEMO_MAX_BYTES / 4) return;
  blobMemo.set(key, blob);
  blobMemoBytes += blob?.length ?? 0;
  while (blobMemoBytes > BLOB_MEMO_MAX_BYTES) {
    const [oldest, b] = blobMemo.entries().next().value as [string, Buffer | null];
    blobMemo.delete(oldest);
    blobMemoBytes -= b?.length ?? 0;
  }
}

/** The only configuration the runner's bare repository ever has. */
export const CANONICAL_CONFIG = '[core]\n\trepositoryformatversion = 0\n\tfilemode = true\n\tbare = true\n\tlogallrefupdates = true\n';

export interface Identity {
  name: string;
  email: string;
}

export interface CallOptions extends Omit<GitRunOptions, 'cwd'> {
  /** Run in this task worktree (its name under tasks/) instead of the bare repository. */
  worktree?: string;
  /** What is being done, for error messages. */
  op: string;
  /** Exit codes that are answers, not failures (e.g. 1 for `merge-base --is-ancestor`). */
  okCodes?: number[];
  token?: string;
}

export class NativeRepo {
  readonly gitDir: string;
  readonly tasksDir: string;

  constructor(
    readonly root: string,
    readonly branch: string,
  ) {
    this.gitDir = path.join(root, 'repo.git');
    this.tasksDir = path.join(root, 'tasks');
  }

  worktreeDir(name: string): string {
    return path.join(this.tasksDir, name);
  }

  /** Env naming the repository (and worktree) explicitly. */
  env(worktree?: string): Record<string, string> {
    if (!worktree) return { GIT_DIR: this.gitDir };
    return {
      GIT_DIR: path.join(this.gitDir, 'worktrees', worktree),
      GIT_COMMON_DIR: this.gitDir,
      GIT_WORK_TREE: this.worktreeDir(worktree),
    };
  }

  /** Rewrite repo.git/config to the canonical text when anything changed it. */
  async pinConfig(): Promise<void> {
    const file = path.join(this.gitDir, 'config');
    const now = await readFile(file, 'utf8').catch(() => null);
    if (now === CANONICAL_CONFIG || now === null) return;
    const tmp = `${file}.devteam-${process.pid}`;
    await writeFile(tmp, CANONICAL_CONFIG);
    await rename(tmp, file);
  }

  /** Run git against this repository; a non-zero exit outside `okCodes` throws a GitError. */
  async git(args: string[], o: CallOptions): Promise<GitRunResult> {
    await this.pinConfig();
    // GIT_DIR names the repository; the cwd only matters for a worktree's pathspecs.
    const cwd = o.worktree ? this.worktreeDir(o.worktree) : '/';
    const r = await runGit(args, { ...o, cwd, env: { ...this.env(o.worktree), ...o.env } });
    if (r.code !== 0 && !o.okCodes?.includes(r.code)) throw nativeGitError(r.stderr, r.code, { op: o.op, branch: this.branch, token: o.token });
    return r;
  }

  /** `git <args>` → trimmed stdout text. */
  async text(args: string[], o: CallOptions): Promise<string> {
    return (await this.git(args, o)).stdout.toString('utf8').trim();
  }

  /** The oid a ref points at, or null. */
  async ref(ref: string): Promise<string | null> {
    const fast = await this.#readRefFile(ref);
    if (fast !== undefined) return fast;
    const r = await this.git(['rev-parse', '-q', '--verify', `${ref}^{commit}`], { op: `lookup of ${ref}`, okCodes: [1, 128] });
    return r.code === 0 ? r.stdout.toString().trim() : null;
  }

  /**
   * The runner's own branch refs read in-process, as git's files backend stores them (a loose
   * `repo.git/<ref>` file, else a `packed-refs` line) — one file read instead of a `git rev-parse`
   * process on the hot path. undefined (ask git) for anything unusual: another ref namespace, a
   * symbolic or malformed ref, a reftable repository.
   */
  async #readRefFile(ref: string): Promise<string | null | undefined> {
    if (!/^refs\/(heads|remotes|devteam)\/[^\0]+$/.test(ref) || ref.includes('..')) return undefined;
    const loose = await readFile(path.join(this.gitDir, ref), 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : undefined));
    if (loose === undefined) return undefined;
    if (loose !== null) return /^[0-9a-f]{40}\n?$/.test(loose) ? loose.slice(0, 40) : undefined;
    const packed = await readFile(path.join(this.gitDir, 'packed-refs'), 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? '' : undefined));
    if (packed === undefined) return undefined;
    if (!packed && (await readFile(path.join(this.gitDir, 'reftable', 'tables.list')).then(() => true, () => false))) return undefined;
    for (const line of packed.split('\n')) {
      if (line.length === 41 + ref.length && line.endsWith(` ${ref}`) && /^[0-9a-f]{40} /.test(line)) return line.slice(0, 40);
    }
    return null;
  }

  /** Atomically move `ref` to `to` if it still points at `from` (null: must not exist). */
  async updateRef(ref: string, to: string, from: string | null, reason: string): Promise<void> {
    const r = await this.git(['update-ref', '-m', reason, ref, to, from ?? '0'.repeat(40)], { op: `update of ${ref}`, okCodes: [1, 128] });
    if (r.code !== 0) throw new GitError(`${ref} moved while ${reason}; try again`, 'git', true);
  }

  async isAncestor(ancestor: string, of: string): Promise<boolean> {
    return (await this.git(['merge-base', '--is-ancestor', ancestor, of], { op: 'ancestry check', okCodes: [1] })).code === 0;
  }

  /** A blob's bytes at `<commit>:<path>`, or null when the path is absent (or not a file). */
  async readBlob(commit: string, filePath: string): Promise<Buffer | null> {
    // A file at a commit never changes: memoized by (repository, commit, path) — a pure memo, a
    // restarted step that misses it reads the same bytes from git.
    const full = /^[0-9a-f]{40}$/.test(commit);
    const key = `${this.gitDir}\0${commit}\0${filePath}`;
    if (full && blobMemo.has(key)) {
      const hit = blobMemo.get(key)!;
      blobMemo.delete(key);
      blobMemo.set(key, hit);
      return hit;
    }
    const r = await this.git(['cat-file', 'blob', `${commit}:${filePath}`], { op: `read of ${filePath}`, okCodes: [128] });
    const out = r.code === 0 ? r.stdout : null;
    if (full) remember(key, out);
    return out;
  }

  /**
   * The first commit reachable from `start` whose message has the line `<key>: <value>`
   * (the runner's trailers), or null. git's own revision walk: milliseconds on 10k+ commits.
   */
  async findTrailer(start: string, key: string, value: string): Promise<string | null> {
    const pattern = `^${escapeRegex(`${key}: ${value}`)}[[:space:]]*$`;
    const out = await this.text(['log', '-n1', '--format=%H', '-E', `--grep=${pattern}`, start, '--'], { op: `search for ${key}: ${value}` });
    return out || null;
  }

  /** Write `content` as a blob; returns its oid. */
  async writeBlob(content: string | Buffer): Promise<string> {
    return this.text(['hash-object', '-w', '--stdin'], { op: 'write of a blob', input: content });
  }

  /** A tree equal to `baseTree` with `filePath` set to a regular-file blob. Uses a throw-away index. */
  async treeWithFile(baseCommit: string, filePath: string, blob: string): Promise<string> {
    const index = path.join(this.gitDir, `devteam-index-${process.pid}-${Math.random().toString(36).slice(2)}`);
    const env = { GIT_INDEX_FILE: index };
    try {
      await this.git(['read-tree', baseCommit], { op: 'read of the target tree', env });
      await this.git(['update-index', '--add', '--cacheinfo', `100644,${blob},${filePath}`], { op: `staging of ${filePath}`, env });
      return await this.text(['write-tree'], { op: 'write of a tree', env });
    } finally {
      await rm(index, { force: true });
    }
  }

  /** A commit object (no ref moved). */
  async commitTree(tree: string, parents: string[], message: string, author: Identity, committer: Identity = author): Promise<string> {
    const env = {
      GIT_AUTHOR_NAME: author.name,
      GIT_AUTHOR_EMAIL: author.email,
      GIT_COMMITTER_NAME: committer.name,
      GIT_COMMITTER_EMAIL: committer.email,
    };
    return this.text(['commit-tree', tree, ...parents.flatMap((p) => ['-p', p])], { op: 'commit', input: message, env });
  }

  /**
   * Three-way merge of two commits without a working tree (`git merge-tree --write-tree`,
   * git ≥ 2.38): the merged tree, or the conflicted paths (and the tree holding the conflict
   * markers, for feedback).
   */
  async mergeTrees(ours: string, theirs: string): Promise<{ tree: string; conflicts: null } | { tree: string; conflicts: string[] }> {
    const r = await this.git(['merge-tree', '--write-tree', '--name-only', '--no-messages', '-z', ours, theirs], { op: 'merge', okCodes: [1] });
    const parts = r.stdout.toString('utf8').split('\0').filter(Boolean);
    const tree = parts[0]!;
    if (r.code === 0) return { tree, conflicts: null };
    return { tree, conflicts: [...new Set(parts.slice(1))].sort() };
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
