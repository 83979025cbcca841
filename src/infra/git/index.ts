/**
 * Git infrastructure: one workspace per project (isomorphic-git over HTTP(S), token via
 * onAuth only) and the repository-URL policy.
 */
import type { GitWorkspace, GitWorkspaceOptions } from './types.ts';
import { IsoGitWorkspace, type GitWorkspaceTuning } from './workspace.ts';

export * from './types.ts';
export { validateRepoUrl, classifyAddress, type UrlPolicyOptions } from './urlPolicy.ts';
export { IsoGitWorkspace, type GitWorkspaceTuning, type PublishOutcome } from './workspace.ts';
export { TASK_TRAILER, OUTCOME_TRAILER } from './history.ts';

/** Create the workspace for one project (no I/O until the first call). */
export function createGitWorkspace(opts: GitWorkspaceOptions & GitWorkspaceTuning): GitWorkspace {
  return new IsoGitWorkspace(opts);
}
