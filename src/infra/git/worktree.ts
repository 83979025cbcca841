/**
 * Working-tree operations: clean checkout and staging everything.
 *
 * isomorphic-git's checkout leaves untracked files alone, and an agent's earlier attempt
 * may have left files (even ignored ones, or nested `.git` dirs) behind. A clean checkout
 * here = delete every working-tree path that is not a file of the target commit, drop the
 * index, then force-checkout. The top-level `.git/` is never touched by the deletion (the
 * fallback engine keeps only git's own files there).
 */
import fs from 'node:fs';
import { readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';

/** Remove every path under `dir` (except top-level .git) that is not in `keep`. */
export async function removeUntracked(dir: string, keep: Set<string>): Promise<string[]> {
  const removed: string[] = [];
  // Directories that hold a kept file somewhere below.
  const keepDirs = new Set<string>();
  for (const p of keep) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) keepDirs.add(parts.slice(0, i).join('/'));
  }
  async function visit(rel: string): Promise<void> {
    const entries = await readdir(join(dir, rel), { withFileTypes: true });
    for (const e of entries) {
      const p = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && e.name === '.git') continue;
      if (e.isDirectory() && keepDirs.has(p)) {
        await visit(p);
        const left = await readdir(join(dir, p));
        if (left.length === 0) await rmdir(join(dir, p));
      } else if (!(keep.has(p) && !e.isDirectory())) {
        // Not a target file (or a directory where none is kept): remove, without following links.
        await rm(join(dir, p), { recursive: true, force: true });
        removed.push(p);
      }
    }
  }
  await visit('');
  return removed;
}

/**
 * Point HEAD at `branch` (whose ref must already be set) and make the working tree and
 * index exactly the branch's commit.
 */
export async function cleanCheckout(dir: string, branch: string, cache: object): Promise<void> {
  const files = await git.listFiles({ fs, dir, ref: `refs/heads/${branch}`, cache });
  await removeUntracked(dir, new Set(files));
  // Forced checkout rewrites every tracked file whose content differs from the target.
  // It finds those through the index's stat cache, which includes ctime (nanoseconds):
  // any write changes it and user code cannot set it back, so keeping the index is safe
  // and avoids a full re-hash (≈ 0.9 s per 2,000 files, measured in bench/git-clone.ts).
  await git.checkout({ fs, dir, ref: branch, force: true, cache });
}

/** One statusMatrix row: [path, head, workdir, stage]. */
export type StatusRow = [string, 0 | 1, 0 | 1 | 2, 0 | 1 | 2 | 3];

/** Rows that differ from HEAD in the working tree (ignored files excluded). */
export async function changedRows(dir: string, cache: object): Promise<StatusRow[]> {
  const rows = (await git.statusMatrix({ fs, dir, cache })) as StatusRow[];
  return rows.filter(([, head, wd]) => !(head === 1 && wd === 1));
}

/** Stage every working-tree change (adds, modifications, deletions). Returns the paths. */
export async function stageAll(dir: string, cache: object): Promise<string[]> {
  const rows = (await git.statusMatrix({ fs, dir, cache })) as StatusRow[];
  const paths: string[] = [];
  for (const [path, head, wd, stage] of rows) {
    if (head === 1 && wd === 1 && stage === 1) continue;
    if (wd === 0) {
      await git.remove({ fs, dir, filepath: path, cache });
      if (head === 1) paths.push(path);
    } else {
      await git.add({ fs, dir, filepath: path, cache });
      if (!(head === 1 && wd === 1)) paths.push(path);
    }
  }
  return paths.sort();
}
