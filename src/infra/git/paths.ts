/**
 * Names the git layer accepts: branch names and repository-relative paths. Shared by both engines.
 */
import { posix } from 'node:path';
import { isValidGitRefName } from '../../domain/gitRefs.ts';
import { GitError } from './types.ts';

/** Repo-relative POSIX path without `.`/`..` escapes or `.git`; throws GitError otherwise. */
export function normalizeRepoPath(p: string): string {
  const n = posix.normalize(p.replace(/\\/g, '/')).replace(/^(\.\/)+/, '');
  if (!n || n === '.' || n.startsWith('/') || n.startsWith('../') || n === '..' || n.split('/')[0] === '.git') {
    throw new GitError(`Invalid repository path: ${p}`, 'git');
  }
  return n;
}

/** Throws GitError unless `name` is a valid branch name (git check-ref-format --branch rules). */
export function assertBranchName(name: string): void {
  if (!isValidGitRefName(name)) throw new GitError(`Invalid branch name: ${name}`, 'git');
}
