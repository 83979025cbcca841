/**
 * Project lifecycle routes: initialize, status, the paginated project list and the five control
 * commands. Each maps a Projects result onto HTTP; errors are thrown and mapped in errors.ts.
 */
import { PROJECT_ID_RE } from '../../domain/projectConfig.ts';
import { projectConfigSchema } from '../../domain/projectConfig.ts';
import type { Command } from '../../domain/status.ts';
import { validateRepoUrl } from '../../infra/git/index.ts';
import { ConflictError, ValidationError } from '../http/errors.ts';
import type { ApiRequest, ApiResponse } from '../http/types.ts';
import { parse, type RestDeps } from './deps.ts';
import { commandBodySchema, listQuery, projectIdParams } from './schemas.ts';

export async function initialize(req: ApiRequest, d: RestDeps): Promise<ApiResponse> {
  if (req.body === undefined) throw new ValidationError('body: a JSON project configuration is required');
  const config = parse(projectConfigSchema, req.body, 'body');
  await validateRepoUrl(config.repo.url, { allowPrivate: d.runtime.config.allowPrivateRepos });
  const r = await d.runtime.projects.initialize(config);
  if (r.code === 'conflict') {
    throw new ConflictError(`project ${config.projectId} is ${r.state}; its config can be replaced only when paused, halted, idle or stopped`, r.state, r.acceptedCommands);
  }
  return { status: r.code === 'created' ? 201 : 200, headers: { 'devteam-initialize': r.code }, body: r.status };
}

/** Synchronous when the status is live on this node (the hot path). */
export function getStatus(req: ApiRequest, d: RestDeps): ApiResponse | Promise<ApiResponse> {
  const id = req.params.projectId;
  const projectId = id !== undefined && PROJECT_ID_RE.test(id) ? id : parse(projectIdParams, req.params, 'params').projectId;
  const s = d.runtime.projects.status(projectId);
  return s instanceof Promise ? s.then((body) => ({ status: 200, body })) : { status: 200, body: s };
}

const encodeCursor = (id: string) => Buffer.from(id, 'utf8').toString('base64url');
const decodeCursor = (c: string) => Buffer.from(c, 'base64url').toString('utf8');

/** Keyset pagination by id, preferring the fresher live status per item. */
export async function listProjects(req: ApiRequest, d: RestDeps): Promise<ApiResponse> {
  const { limit, cursor } = parse(listQuery, req.query, 'query');
  const page = await d.runtime.projects.list(cursor ? decodeCursor(cursor) : '', limit);
  const nextCursor = page.more ? encodeCursor(page.items[page.items.length - 1]!.projectId) : null;
  return { status: 200, body: { items: page.items, nextCursor } };
}

/**
 * POST …/{pause|resume|stop|retry|skip}/{projectId}, body optional: `{ "taskId": "1.2" }` names
 * the halted task of a RETRY / SKIP (required when several are halted: 400 listing them).
 */
export function commandHandler(cmd: Command) {
  return async (req: ApiRequest, d: RestDeps): Promise<ApiResponse> => {
    const { projectId } = parse(projectIdParams, req.params, 'params');
    const { taskId } = req.body === undefined ? {} : parse(commandBodySchema, req.body, 'body');
    if (taskId !== undefined && cmd !== 'RETRY' && cmd !== 'SKIP') throw new ValidationError(`body.taskId: ${cmd} applies to the whole project; only RETRY and SKIP take a taskId`);
    const r = await d.runtime.projects.command(projectId, cmd, { stopTimeoutMs: d.stopTimeoutMs, ...(taskId ? { taskId } : {}) });
    if (!r.ok) {
      throw new ConflictError(`${cmd} is not accepted while project ${projectId} is ${r.state}`, r.state, r.acceptedCommands);
    }
    const headers: Record<string, string> = { 'devteam-noop': String(r.noop) };
    return { status: r.timedOut ? 202 : 200, headers, body: r.status };
  };
}
