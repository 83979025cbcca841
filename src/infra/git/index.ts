/**
 * Git infrastructure: one workspace per project and the repository-URL policy. Two engines
 * behind one contract (./types.ts GitWorkspace): the native `git` executable (default; fast at
 * real scale, one worktree per task) and isomorphic-git (the fallback when no git ≥ 2.38 is on the
 * runner's machine; one checkout, one task at a time). docs/architecture.md "Git engine" has
 * the measurements behind the choice.
 */
import { spawnSync } from 'node:child_process';
import { GIT_BIN } from './native/gitProcess.ts';
import { NativeGitWorkspace, type NativeWorkspaceTuning } from './native/workspace.ts';
import type { GitEngine, GitWorkspace, GitWorkspaceOptions } from './types.ts';
import { IsoGitWorkspace, type GitWorkspaceTuning } from './workspace.ts';

export * from './types.ts';
export { validateRepoUrl, classifyAddress, type UrlPolicyOptions } from './urlPolicy.ts';
export { IsoGitWorkspace, type GitWorkspaceTuning } from './workspace.ts';
export { NativeGitWorkspace } from './native/workspace.ts';
export { TASK_TRAILER, OUTCOME_TRAILER } from './history.ts';

/** Oldest native git the native engine supports (`merge-tree --write-tree`: 2.38). */
export const MIN_NATIVE_GIT: [number, number] = [2, 38];

let nativeVersion: string | null | undefined;

/** The native git's version (`2.39.5`) when it is usable by the native engine, else null. Probed once. */
export function nativeGitVersion(): string | null {
  if (nativeVersion !== undefined) return nativeVersion;
  try {
    const r = spawnSync(GIT_BIN, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    const m = /git version (\d+)\.(\d+)(\.\d+)?/.exec(r.stdout ?? '');
    const ok = !!m && (Number(m[1]) > MIN_NATIVE_GIT[0] || (Number(m[1]) === MIN_NATIVE_GIT[0] && Number(m[2]) >= MIN_NATIVE_GIT[1]));
    nativeVersion = ok ? `${m![1]}.${m![2]}${m![3] ?? ''}` : null;
  } catch {
    nativeVersion = null;
  }
  return nativeVersion;
}

/** The engine a new workspace gets: `DEVTEAM_GIT_ENGINE` if set, else native when usable. */
export function defaultGitEngine(): GitEngine {
  const forced = process.env.DEVTEAM_GIT_ENGINE;
  if (forced === 'native' || forced === 'isomorphic-git') return forced;
  return nativeGitVersion() ? 'native' : 'isomorphic-git';
}

/** Create the workspace for one project (no I/O until the first call). */
export function createGitWorkspace(opts: GitWorkspaceOptions & GitWorkspaceTuning & NativeWorkspaceTuning & { engine?: GitEngine }): GitWorkspace {
  const engine = opts.engine ?? defaultGitEngine();
  return engine === 'native' ? new NativeGitWorkspace(opts) : new IsoGitWorkspace(opts);
}
