/**
 * Project lifecycle routes: initialize, status, the paginated project list and the five control
 * commands. Each maps a registry result onto HTTP; errors are thrown and mapped in errors.ts.
 */
import { PROJECT_ID_RE } from '../../domain/projectConfig.ts';
import { projectConfigSchema } from '../../domain/projectConfig.ts';
import type { Command, ProjectStatus } from '../../domain/status.ts';
import { validateRepoUrl } from '../../infra/git/index.ts';
import { ConflictError, NotFoundError, ValidationError } from '../http/errors.ts';
import type { ApiRequest, ApiResponse } from '../http/types.ts';
import { parse, type RestDeps } from './deps.ts';
import { listQuery, projectIdParams } from './schemas.ts';

export async function initialize(req: ApiRequest, d: RestDeps): Promise<ApiResponse> {
  if (req.body === undefined) throw new ValidationError('body: a JSON project configuration is required');
  const config = parse(projectConfigSchema, req.body, 'body');
  await validateRepoUrl(config.repo.url, { allowPrivate: d.runtime.config.allowPrivateRepos });
  const r = await d.runtime.registry.initialize(config);
  if (r.code === 'conflict') {
    throw new ConflictError(`project ${config.projectId} is ${r.state}; its config can be replaced only when paused, halted, idle or stopped`, r.state, d.runtime.registry.status(config.projectId)?.acceptedCommands ?? []);
  }
  return { status: r.code === 'created' ? 201 : 200, headers: { 'devteam-initialize': r.code }, body: r.status };
}

/** The committed status: the live projection, else the stored row (a project hosted elsewhere or stopped before boot). */
export async function loadStatus(d: RestDeps, projectId: string): Promise<ProjectStatus> {
  const live = d.runtime.registry.status(projectId);
  if (live) return live;
  const rows = await d.runtime.db.query<{ status: ProjectStatus | null }>(`select status from project where id = $1`, [projectId]);
  if (!rows[0]?.status) throw new NotFoundError(`project ${projectId} not found`);
  return rows[0].status;
}

/** Synchronous when the status is live in this node's projection (the hot path). */
export function getStatus(req: ApiRequest, d: RestDeps): ApiResponse | Promise<ApiResponse> {
  const id = req.params.projectId;
  const projectId = id !== undefined && PROJECT_ID_RE.test(id) ? id : parse(projectIdParams, req.params, 'params').projectId;
  const live = d.runtime.registry.status(projectId);
  if (live) return { status: 200, body: live };
  return loadStatus(d, projectId).then((body) => ({ status: 200, body }));
}

const encodeCursor = (id: string) => Buffer.from(id, 'utf8').toString('base64url');
const decodeCursor = (c: string) => Buffer.from(c, 'base64url').toString('utf8');

/** Keyset pagination by id over the stored rows, preferring the fresher live status per item. */
export async function listProjects(req: ApiRequest, d: RestDeps): Promise<ApiResponse> {
  const { limit, cursor } = parse(listQuery, req.query, 'query');
  const after = cursor ? decodeCursor(cursor) : '';
  const rows = await d.runtime.db.query<{ id: string; status: ProjectStatus }>(
    `select id, status from project where id > $1 and status is not null order by id limit $2`,
    [after, limit + 1],
  );
  const page = rows.slice(0, limit);
  const items = page.map((r) => d.runtime.registry.status(r.id) ?? r.status);
  const nextCursor = rows.length > limit ? encodeCursor(page[page.length - 1]!.id) : null;
  return { status: 200, body: { items, nextCursor } };
}

/** POST …/{pause|resume|stop|retry|skip}/{projectId}. */
export function commandHandler(cmd: Command) {
  return async (req: ApiRequest, d: RestDeps): Promise<ApiResponse> => {
    const { projectId } = parse(projectIdParams, req.params, 'params');
    const r = await d.runtime.registry.command(projectId, cmd, { stopTimeoutMs: d.stopTimeoutMs });
    if (!r.ok) {
      throw new ConflictError(`${cmd} is not accepted while project ${projectId} is ${r.state}`, r.state, r.acceptedCommands);
    }
    const headers: Record<string, string> = { 'devteam-noop': String(r.noop) };
    return { status: r.timedOut ? 202 : 200, headers, body: r.status };
  };
}
