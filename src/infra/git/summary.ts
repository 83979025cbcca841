/**
 * workingTreeSummary: what the agent changed, relative to HEAD, for prompts, logs and review.
 */
import fs from 'node:fs';
import { lstat, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import git from 'isomorphic-git';
import { capPatch, fileDiff } from './patch.ts';
import { changedRows } from './worktree.ts';

/** Files above this size are summarised, not diffed. */
const MAX_DIFF_FILE_BYTES = 1024 * 1024;

type Content = { kind: 'text'; text: string } | { kind: 'binary' } | { kind: 'absent' };

function decode(buf: Uint8Array): Content {
  if (buf.byteLength > MAX_DIFF_FILE_BYTES || buf.includes(0)) return { kind: 'binary' };
  try {
    return { kind: 'text', text: new TextDecoder('utf-8', { fatal: true }).decode(buf) };
  } catch {
    return { kind: 'binary' };
  }
}

function countLines(diff: string): { add: number; del: number } {
  let add = 0;
  let del = 0;
  for (const l of diff.split('\n')) {
    if (l.startsWith('+') && !l.startsWith('+++')) add++;
    else if (l.startsWith('-') && !l.startsWith('---')) del++;
  }
  return { add, del };
}

export async function summarize(
  dir: string,
  cache: object,
): Promise<{ changedFiles: string[]; diffstat: string; patch: string }> {
  const rows = await changedRows(dir, cache);
  const head = await git.resolveRef({ fs, dir, ref: 'HEAD' });
  const stat: string[] = [];
  const parts: string[] = [];
  let totalAdd = 0;
  let totalDel = 0;
  for (const [path, inHead, inWd] of rows) {
    const status = inHead === 0 ? 'A' : inWd === 0 ? 'D' : 'M';
    const before: Content =
      inHead === 0 ? { kind: 'absent' } : decode((await git.readBlob({ fs, dir, oid: head, filepath: path, cache })).blob);
    // Never read through a link: a symlink's content is its target path (git stores it so).
    const abs = join(dir, path);
    const st = inWd === 0 ? null : await lstat(abs);
    const after: Content = !st ? { kind: 'absent' } : st.isSymbolicLink() ? { kind: 'text', text: await readlink(abs) } : st.isDirectory() ? { kind: 'binary' } : decode(await readFile(abs));
    if (before.kind === 'binary' || after.kind === 'binary') {
      stat.push(`${status} ${path} (binary or large)`);
      parts.push(`diff --git a/${path} b/${path}\nBinary or large files differ\n`);
      continue;
    }
    const diff = fileDiff(
      path,
      before.kind === 'text' ? before.text : null,
      after.kind === 'text' ? after.text : null,
    );
    const { add, del } = countLines(diff);
    totalAdd += add;
    totalDel += del;
    stat.push(`${status} ${path} | +${add} -${del}`);
    parts.push(diff);
  }
  const n = rows.length;
  stat.push(`${n} file${n === 1 ? '' : 's'} changed, ${totalAdd} insertions(+), ${totalDel} deletions(-)`);
  return { changedFiles: rows.map((r) => r[0]).sort(), diffstat: stat.join('\n'), patch: capPatch(parts) };
}
