/**
 * Typed REST client for every route of the DevTeam Runner API. Uses the global `fetch` (Node 20
 * and browsers) unless one is passed. Every non-2xx answer becomes a `DevTeamApiError` built
 * from the problem+json body; a request that never reaches the server becomes a
 * `DevTeamConnectionError` naming the base URL, so callers can tell "server said no" from
 * "no server".
 */
import type { Command, ProjectStatus } from '../domain/status.ts';
import type { ProjectConfig } from '../domain/projectConfig.ts';
import { DevTeamApiError, DevTeamConnectionError, type Problem } from './errors.ts';
import type { Artifact, CommandOptions, CommandResult, IngestEvent, IngestResult, InitializeResult, PostOptions, ProjectList, Ready, TaskRun } from './types.ts';

export const API_PREFIX = '/api/devteam/automation';
export const DEFAULT_URL = 'http://127.0.0.1:8787';

export interface ClientOptions {
  /** e.g. `http://127.0.0.1:8787` (a trailing slash is fine). */
  baseUrl: string;
  /** Bearer token (DEVTEAM_API_TOKEN of the server). */
  token?: string;
  fetch?: typeof globalThis.fetch;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
}

export interface DevTeamClient {
  readonly baseUrl: string;
  initialize(config: ProjectConfig, opts?: PostOptions): Promise<InitializeResult>;
  status(projectId: string, opts?: { signal?: AbortSignal }): Promise<ProjectStatus>;
  /** One page of projects ordered by id. */
  projects(opts?: { limit?: number; cursor?: string; signal?: AbortSignal }): Promise<ProjectList>;
  /** Every project, following cursors. */
  allProjects(opts?: { pageSize?: number; signal?: AbortSignal }): AsyncGenerator<ProjectStatus>;
  command(projectId: string, command: Command, opts?: CommandOptions): Promise<CommandResult>;
  pause(projectId: string, opts?: PostOptions): Promise<CommandResult>;
  resume(projectId: string, opts?: PostOptions): Promise<CommandResult>;
  stop(projectId: string, opts?: PostOptions): Promise<CommandResult>;
  retry(projectId: string, opts?: CommandOptions): Promise<CommandResult>;
  skip(projectId: string, opts?: CommandOptions): Promise<CommandResult>;
  /** Stopped projects only (409 otherwise). */
  deleteProject(projectId: string, opts?: { signal?: AbortSignal }): Promise<void>;
  runs(projectId: string, opts?: { signal?: AbortSignal }): Promise<TaskRun[]>;
  artifact(projectId: string, runId: string, name: string, opts?: { signal?: AbortSignal }): Promise<Artifact>;
  /** POST /api/events; `correlationId` is sent as X-Correlation-Id (the server echoes or generates one). */
  ingestEvent(event: IngestEvent, opts?: PostOptions & { correlationId?: string }): Promise<IngestResult>;
  openapi(opts?: { signal?: AbortSignal }): Promise<Record<string, unknown>>;
  healthz(opts?: { signal?: AbortSignal }): Promise<{ ok: boolean }>;
  /** Resolves with the readiness report also when the server answers 503 (not ready). */
  readyz(opts?: { signal?: AbortSignal }): Promise<Ready>;
}

interface Req {
  method: 'GET' | 'POST' | 'DELETE';
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  /** Statuses returned as results instead of thrown (besides 2xx). */
  accept?: number[];
}

interface Res {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

const seg = (s: string) => encodeURIComponent(s);

export function createClient(opts: ClientOptions): DevTeamClient {
  const baseUrl = opts.baseUrl.replace(/\/+$/, '');
  const doFetch = opts.fetch ?? globalThis.fetch?.bind(globalThis);
  if (!doFetch) throw new Error('createClient: no global fetch; pass { fetch }');

  async function request(r: Req): Promise<Res> {
    const headers: Record<string, string> = { accept: 'application/json, application/problem+json', ...opts.headers, ...r.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (r.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(r.body);
    }
    let res: Response;
    try {
      res = await doFetch(baseUrl + r.path, { method: r.method, headers, body, signal: r.signal });
    } catch (err) {
      if ((err as Error)?.name === 'AbortError') throw err;
      throw new DevTeamConnectionError(baseUrl, err);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw new DevTeamConnectionError(baseUrl, err);
    }
    const type = res.headers.get('content-type') ?? '';
    let parsed: unknown = text;
    if (/json/i.test(type) && text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    if (res.status >= 400 && !r.accept?.includes(res.status)) {
      const problem: Problem =
        parsed && typeof parsed === 'object' ? (parsed as Problem) : { title: res.statusText || `HTTP ${res.status}`, detail: text.slice(0, 500), status: res.status };
      throw new DevTeamApiError(res.status, problem, res.headers.get('retry-after'));
    }
    return { status: res.status, headers: res.headers, body: parsed, text };
  }

  const postHeaders = (o?: PostOptions & { correlationId?: string }) => {
    const h: Record<string, string> = {};
    if (o?.idempotencyKey) h['idempotency-key'] = o.idempotencyKey;
    if (o?.correlationId) h['x-correlation-id'] = o.correlationId;
    return h;
  };

  const command = async (projectId: string, cmd: Command, o?: CommandOptions): Promise<CommandResult> => {
    const body = o?.taskId !== undefined ? { taskId: o.taskId } : undefined;
    const r = await request({ method: 'POST', path: `${API_PREFIX}/${cmd.toLowerCase()}/${seg(projectId)}`, body, headers: postHeaders(o), signal: o?.signal });
    return { status: r.body as ProjectStatus, noop: r.headers.get('devteam-noop') === 'true', pending: r.status === 202 };
  };

  const client: DevTeamClient = {
    baseUrl,
    async initialize(config, o) {
      const r = await request({ method: 'POST', path: `${API_PREFIX}/initialize`, body: config, headers: postHeaders(o), signal: o?.signal });
      return { created: r.status === 201, outcome: r.headers.get('devteam-initialize'), status: r.body as ProjectStatus };
    },
    async status(projectId, o) {
      return (await request({ method: 'GET', path: `${API_PREFIX}/status/${seg(projectId)}`, signal: o?.signal })).body as ProjectStatus;
    },
    async projects(o = {}) {
      const q = new URLSearchParams();
      if (o.limit !== undefined) q.set('limit', String(o.limit));
      if (o.cursor) q.set('cursor', o.cursor);
      const qs = q.toString();
      return (await request({ method: 'GET', path: `${API_PREFIX}/projects${qs ? `?${qs}` : ''}`, signal: o.signal })).body as ProjectList;
    },
    async *allProjects(o = {}) {
      let cursor: string | undefined;
      do {
        const page = await client.projects({ limit: o.pageSize, cursor, signal: o.signal });
        yield* page.items;
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
    },
    command,
    pause: (id, o) => command(id, 'PAUSE', o),
    resume: (id, o) => command(id, 'RESUME', o),
    stop: (id, o) => command(id, 'STOP', o),
    retry: (id, o) => command(id, 'RETRY', o),
    skip: (id, o) => command(id, 'SKIP', o),
    async deleteProject(projectId, o) {
      await request({ method: 'DELETE', path: `${API_PREFIX}/projects/${seg(projectId)}`, signal: o?.signal });
    },
    async runs(projectId, o) {
      return ((await request({ method: 'GET', path: `${API_PREFIX}/projects/${seg(projectId)}/runs`, signal: o?.signal })).body as { items: TaskRun[] }).items;
    },
    async artifact(projectId, runId, name, o) {
      const r = await request({ method: 'GET', path: `${API_PREFIX}/projects/${seg(projectId)}/runs/${seg(runId)}/artifacts/${seg(name)}`, signal: o?.signal });
      const size = r.headers.get('devteam-artifact-size');
      return { text: r.text, size: size === null ? null : Number(size), truncated: r.headers.get('devteam-artifact-truncated') === 'true' };
    },
    async ingestEvent(event, o) {
      return (await request({ method: 'POST', path: '/api/events', body: event, headers: postHeaders(o), signal: o?.signal })).body as IngestResult;
    },
    async openapi(o) {
      return (await request({ method: 'GET', path: '/api/openapi.json', signal: o?.signal })).body as Record<string, unknown>;
    },
    async healthz(o) {
      return (await request({ method: 'GET', path: '/healthz', signal: o?.signal })).body as { ok: boolean };
    },
    async readyz(o) {
      return (await request({ method: 'GET', path: '/readyz', signal: o?.signal, accept: [503] })).body as Ready;
    },
  };
  return client;
}
