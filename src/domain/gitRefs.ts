/**
 * Git ref names the runner creates or accepts: the rules of `git check-ref-format --branch`
 * (git-check-ref-format(1)), task-branch slugs and names. Pure.
 */

const SLUG_MAX = 40;
const SLUG_RE = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** Lower-case `[a-z0-9-]` words joined by '-', ≤ 40 chars cut at a word boundary when possible; 'task' if empty. */
export function taskSlug(title: string): string {
  const words = title
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean);
  let slug = '';
  for (const w of words) {
    const joined = slug ? `${slug}-${w}` : w;
    if (joined.length > SLUG_MAX) break;
    slug = joined;
  }
  if (!slug && words.length) slug = words[0].slice(0, SLUG_MAX);
  return slug || 'task';
}

/** The rules of `git check-ref-format --branch` (plus: no leading '-', which `git branch` refuses). */
export function isValidGitRefName(name: string): boolean {
  if (name === '' || name === '@' || name.startsWith('-')) return false;
  if (name.startsWith('/') || name.endsWith('/') || name.endsWith('.') || name.includes('//')) return false;
  if (name.includes('..') || name.includes('@{')) return false;
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(name)) return false;
  return name.split('/').every((c) => !c.startsWith('.') && !c.endsWith('.lock'));
}

/** Task-branch namespaces in order of preference (a remote that already has `devteam` as a branch gets the next). */
export const TASK_BRANCH_NAMESPACES = ['devteam', 'devteam-runner', 'devteam-tasks'] as const;

/**
 * A task branch name that collides with no branch of the remote: the first namespace whose own
 * name is not a remote branch (git cannot have both `devteam` and `devteam/x`) and under which the
 * name is not taken; null when all are (the caller reports it).
 */
export function freeTaskBranchName(taskId: string, slug: string, remoteBranches: Iterable<string>): string | null {
  const taken = new Set(remoteBranches);
  for (const ns of TASK_BRANCH_NAMESPACES) {
    const name = taskBranchName(taskId, slug, ns);
    if (!taken.has(ns) && !taken.has(name)) return name;
  }
  return null;
}

/**
 * `<namespace>/<taskId>-<slug>` (namespace `devteam` by default); '.' in the id is kept (git allows it). Characters git forbids are
 * replaced, and a slug that is not already a slug is re-slugged, so the result is always a valid ref.
 */
export function taskBranchName(taskId: string, slug: string, namespace: string = TASK_BRANCH_NAMESPACES[0]): string {
  const id = taskId.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/\.{2,}/g, '.').replace(/^[.-]+/, '').replace(/\.+$/, '') || 'task';
  const s = SLUG_RE.test(slug) && slug.length <= SLUG_MAX ? slug : taskSlug(slug);
  const name = `${namespace}/${id}-${s}`;
  if (!isValidGitRefName(name)) throw new Error(`Invalid branch name ${JSON.stringify(name)}`); // unreachable by construction
  return name;
}
