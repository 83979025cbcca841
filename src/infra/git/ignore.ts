/**
 * The runner's block in a repository's `info/exclude` (gitignore(5): patterns there apply to every
 * worktree of the repository and are never committed).
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

const BEGIN = '# >>> devteam-runner (managed; edits are overwritten)';
const END = '# <<< devteam-runner';

/** Replace the runner's block in `file` with `patterns` (creating the file). Idempotent. */
export async function writeExcludeBlock(file: string, patterns: string[]): Promise<void> {
  const current = await readFile(file, 'utf8').catch(() => '');
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const rest = start >= 0 && end > start ? current.slice(0, start) + current.slice(end + END.length).replace(/^\n/, '') : current;
  const block = patterns.length ? `${BEGIN}\n${patterns.join('\n')}\n${END}\n` : '';
  const next = `${rest}${rest && !rest.endsWith('\n') ? '\n' : ''}${block}`;
  if (next === current) return;
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.devteam-${process.pid}`;
  await writeFile(tmp, next);
  await rename(tmp, file);
}
