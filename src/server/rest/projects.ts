/**
 * Project records: delete (stopped only), task-run history and artifact download. Artifact
 * names are checked against the run's recorded list and a strict file-name pattern, and the
 * resolved path must stay under the artifacts root — no path traversal.
 */
import { open, rm } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { ConflictError, NotFoundError } from '../http/errors.ts';
import type { ApiRequest, ApiResponse } from '../http/types.ts';
import { loadStatus } from './automation.ts';
import { parse, type RestDeps } from './deps.ts';
import { artifactParams, projectIdParams, type TaskRun } from './schemas.ts';

export async function deleteProject(req: ApiRequest, d: RestDeps): Promise<ApiResponse> {
  const { projectId } = parse(projectIdParams, req.params, 'params');
  const r = await d.runtime.registry.delete(projectId, d.purge);
  if (!r.ok) {
    const accepted = d.runtime.registry.status(projectId)?.acceptedCommands ?? [];
    throw new ConflictError(`project ${projectId} is ${r.state}; only a stopped project can be deleted (STOP it first)`, r.state, accepted);
  }
  return { status: 204 };
}

/** Default purge: the project's repo cache and artifacts under DEVTEAM_DATA_DIR. */
export async function purgeProjectFiles(dataDir: string, projectId: string): Promise<void> {
  await rm(join(dataDir, 'repos', projectId), { recursive: true, force: true });
  await rm(join(dataDir, 'artifacts', projectId), { recursive: true, force: true });
}

async function projectExists(d: RestDeps, projectId: string): Promise<boolean> {
  if (d.runtime.registry.status(projectId)) return true;
  const rows = await d.runtime.db.query(`select 1 from project where id = $1`, [projectId]);
  return rows.length > 0;
}

const iso = (v: unknown) => (v == null ? null : new Date(v as string).toISOString());

export async function listRuns(req: ApiRequest, d: RestDeps): Promise<ApiResponse> {
  const { projectId } = parse(projectIdParams, req.params, 'params');
  if (!(await projectExists(d, projectId))) throw new NotFoundError(`project ${projectId} not found`);
  const rows = await d.runtime.db.query<Record<string, unknown>>(
    `select id, task_id, attempt, state, started_at, finished_at, prompt_sha256, verify, agent, artifacts, outcome
     from task_run where project_id = $1 and deleted_at is null order by id`,
    [projectId],
  );
  const items: TaskRun[] = rows.map((r) => ({
    id: String(r.id),
    taskId: r.task_id as string,
    attempt: Number(r.attempt),
    state: r.state as string,
    startedAt: iso(r.started_at)!,
    finishedAt: iso(r.finished_at),
    promptSha256: (r.prompt_sha256 as string | null) ?? null,
    verify: (r.verify as Record<string, unknown> | null) ?? null,
    agent: (r.agent as Record<string, unknown> | null) ?? null,
    artifacts: Array.isArray(r.artifacts) ? (r.artifacts as string[]) : [],
    outcome: (r.outcome as string | null) ?? null,
  }));
  return { status: 200, body: { items } };
}

export async function getArtifact(req: ApiRequest, d: RestDeps): Promise<ApiResponse> {
  const { projectId, runId, name } = parse(artifactParams, req.params, 'params');
  const rows = await d.runtime.db.query<{ task_id: string; attempt: number; artifacts: unknown }>(
    `select task_id, attempt, artifacts from task_run where id = $1 and project_id = $2 and deleted_at is null`,
    [runId, projectId],
  );
  const run = rows[0];
  if (!run) throw new NotFoundError(`run ${runId} of project ${projectId} not found`);
  if (!Array.isArray(run.artifacts) || !run.artifacts.includes(name)) throw new NotFoundError(`run ${runId} has no artifact named ${name}`);
  const root = resolve(d.runtime.config.DEVTEAM_DATA_DIR, 'artifacts', projectId);
  const file = resolve(root, run.task_id, String(run.attempt), name);
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
