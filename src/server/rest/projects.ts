/**
 * Project records: delete (stopped only), task-run history and artifact download. Artifact
 * names are checked against the run's recorded list and a strict file-name pattern, and the
 * resolved path must stay under the artifacts root — no path traversal.
 */
import { open, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { ConflictError, NotFoundError } from '../http/errors.ts';
import type { ApiRequest, ApiResponse } from '../http/types.ts';
import { parse, type RestDeps } from './deps.ts';
import { artifactParams, projectIdParams, type TaskRun } from './schemas.ts';

export async function deleteProject(req: ApiRequest, d: RestDeps): Promise<ApiResponse> {
  const { projectId } = parse(projectIdParams, req.params, 'params');
  const r = await d.runtime.projects.delete(projectId, d.purge);
  if (!r.ok) throw new ConflictError(`project ${projectId} is ${r.state}; only a stopped project can be deleted (STOP it first)`, r.state, r.acceptedCommands);
  return { status: 204 };
}

/** Default purge: the project's repo cache and artifacts under DEVTEAM_DATA_DIR. */
export async function purgeProjectFiles(dataDir: string, projectId: string): Promise<void> {
  await rm(join(dataDir, 'repos', projectId), { recursive: true, force: true });
  await rm(join(dataDir, 'artifacts', projectId), { recursive: true, force: true });
}

export async function listRuns(req: ApiRequest, d: RestDeps): Promise<ApiResponse> {
  const { projectId } = parse(projectIdParams, req.params, 'params');
  const runs = await d.runtime.projects.runs(projectId);
  const items: TaskRun[] = runs.map(({ branch: _branch, ...r }) => r);
  return { status: 200, body: { items } };
}

export async function getArtifact(req: ApiRequest, d: RestDeps): Promise<ApiResponse> {
  const { projectId, runId, name } = parse(artifactParams, req.params, 'params');
  const run = await d.runtime.projects.run(projectId, runId);
  if (!run) throw new NotFoundError(`run ${runId} of project ${projectId} not found`);
  if (!run.artifacts.includes(name)) throw new NotFoundError(`run ${runId} has no artifact named ${name}`);
  const root = resolve(d.runtime.config.DEVTEAM_DATA_DIR, 'artifacts', projectId);
  const file = resolve(root, run.taskId, String(run.attempt), name);
  if (!file.startsWith(root + sep)) throw new NotFoundError(`run ${runId} has no artifact named ${name}`);
  const cap = d.artifactMaxBytes;
  let fh;
  try {
    fh = await open(file, 'r');
  } catch {
    throw new NotFoundError(`artifact ${name} of run ${runId} is recorded but its file is missing`);
  }
  try {
    const { size } = await fh.stat();
    const buf = Buffer.alloc(Math.min(size, cap));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return {
      status: 200,
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        'devteam-artifact-truncated': String(size > cap),
        'devteam-artifact-size': String(size),
        'x-content-type-options': 'nosniff',
      },
      body: buf.subarray(0, bytesRead),
    };
  } finally {
    await fh.close();
  }
}
