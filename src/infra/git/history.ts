/**
 * Commit-history queries by trailer. The runner marks its commits with
 * `DevTeam-Task: <id>` (the task's change) and `DevTeam-Outcome: <id>` (the outcomes-log
 * entry); finding them is how integrate/publish stay idempotent across crashes.
 */
import fs from 'node:fs';
import git from 'isomorphic-git';

export const TASK_TRAILER = 'DevTeam-Task';
export const OUTCOME_TRAILER = 'DevTeam-Outcome';

/**
 * Walk limit. History deeper than this is not searched: the commits the runner looks for
 * are recent (written by the current or the previous attempt), so a bound keeps each
 * check cheap on big repositories.
 */
export const MAX_WALK = 20_000;

/** Append a trailer paragraph to a commit message. */
export function withTrailer(message: string, key: string, value: string): string {
  return `${message.trimEnd()}\n\n${key}: ${value}\n`;
}

/** True when one of the message's lines is exactly `<key>: <value>`. */
export function hasTrailer(message: string, key: string, value: string): boolean {
  const want = `${key}: ${value}`;
  return message.split('\n').some((l) => l.trim() === want);
}

/**
 * Breadth-first walk from `start` over all parents; returns the first commit oid whose
 * message carries the trailer, or null. Missing objects (shallow history) end that path.
 */
export async function findTrailerCommit(
  dir: string,
  start: string,
  key: string,
  value: string,
  cache: object,
  max = MAX_WALK,
): Promise<string | null> {
  const seen = new Set<string>([start]);
  const queue = [start];
  for (let i = 0; i < queue.length && i < max; i++) {
    const oid = queue[i];
    let commit;
    try {
      ({ commit } = await git.readCommit({ fs, dir, oid, cache }));
    } catch {
      continue;
    }
    if (hasTrailer(commit.message, key, value)) return oid;
    for (const p of commit.parent) {
      if (!seen.has(p)) {
        seen.add(p);
        queue.push(p);
      }
    }
  }
  return null;
}

/** Paths whose blob differs between two commits (added, modified or deleted), sorted. */
export async function changedPaths(dir: string, fromOid: string | null, toOid: string, cache: object): Promise<string[]> {
  const trees = fromOid ? [git.TREE({ ref: fromOid }), git.TREE({ ref: toOid })] : [git.TREE({ ref: toOid })];
  const out: string[] = await git.walk({
    fs,
    dir,
    cache,
    trees,
    map: async (path, entries) => {
      if (path === '.') return undefined;
      const [a, b] = fromOid ? entries : [null, entries[0]];
      const ta = a ? await a.type() : undefined;
      const tb = b ? await b.type() : undefined;
      if (ta === 'tree' || tb === 'tree') {
        // Descend; a tree replaced by a blob (or vice versa) reports the blob side.
        if (ta === 'blob' || tb === 'blob') return path;
        return undefined;
      }
      const oa = a ? await a.oid() : undefined;
      const ob = b ? await b.oid() : undefined;
      return oa !== ob ? path : undefined;
    },
  });
  return out.filter(Boolean).sort();
}
