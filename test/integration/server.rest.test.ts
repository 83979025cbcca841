/**
 * REST with a real runtime on a fresh Postgres database and TestSteps gates driving project
 * states (no sleeps): every route and every error. Routes are called in-process through the HTTP
 * pipeline (`inProcess: true`: the same routing, auth, limits, JSON, idempotency, error map,
 * metrics and logging as over the socket, answered as fetch Responses); what only a socket can
 * show — streamed and oversized bodies, aborts, keep-alive, the wire format — runs over a real
 * listening uWS server with fetch and node:http.
 */
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { statusSchema } from '../../src/domain/status.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { problemSchema } from '../../src/server/http/errors.ts';
import { projectListSchema, readySchema, taskRunListSchema } from '../../src/server/rest/schemas.ts';
import { requirePostgres, tempDir } from '../support/db.ts';
import { violations } from '../support/jsonSchema.ts';
import { projectBody, startTestServer, type TestServer } from '../support/server.ts';

const skip = await requirePostgres();
const A = '/api/devteam/automation';

describe.skipIf(!!skip)('REST routes', () => {
  let s: TestServer;
  const purged: string[] = [];
  beforeAll(async () => {
    s = await startTestServer({ inProcess: true, tasks: ['1.1'], server: { stopTimeoutMs: 1500, purge: async (id) => void purged.push(id) } });
  });
  afterAll(async () => s?.close());

  const post = (path: string, json?: unknown, headers: Record<string, string> = {}) => s.call(path, { method: 'POST', json, headers });
  const problem = async (r: Response, status: number) => {
    expect(r.status).toBe(status);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    return problemSchema.parse(await r.json());
  };
  const statusOf = async (r: Response, code = 200) => {
    expect(r.status).toBe(code);
    return statusSchema.parse(await r.json());
  };
  const createIdle = async (id: string) => {
    await statusOf(await post(`${A}/initialize`, projectBody(id)), 201);
    return s.waitFor(id, (x) => x.state === 'idle');
  };
  /** Idle → a new task arrives → held in executing by a blocked runAgent (no request holds the project lock). */
  const executing = async (id: string) => {
    await createIdle(id);
    s.steps.block(id, 'runAgent');
    s.steps.tasks.push(`t-${id}`);
    expect(s.runtime.registry.wake(id, 'TASKS_CHANGED')).toBe(true);
    await s.steps.waitingAt(id, 'runAgent');
    return s.waitFor(id, (x) => x.state === 'executing');
  };
  const halted = async (id: string) => {
    await createIdle(id);
    s.steps.failNext(id, 'runAgent', 'agent exploded (test)');
    s.steps.tasks.push(`t-${id}`);
    s.runtime.registry.wake(id, 'TASKS_CHANGED');
    return s.waitFor(id, (x) => x.state === 'halted');
  };

  test('healthz, readyz', async () => {
    expect(await (await s.call('/healthz')).json()).toEqual({ ok: true });
    const r = await s.call('/readyz');
    expect(r.status).toBe(200);
    expect(readySchema.parse(await r.json())).toEqual({ ok: true, checks: { database: 'ok', redis: 'not_configured' } });
  });

  test('initialize: 201 created, 200 unchanged, 409 while running, 200 replaced when paused', async () => {
    const created = await post(`${A}/initialize`, projectBody('init-a'));
    expect(created.headers.get('devteam-initialize')).toBe('created');
    expect((await statusOf(created, 201)).projectId).toBe('init-a');
    const same = await post(`${A}/initialize`, projectBody('init-a'));
    expect(same.headers.get('devteam-initialize')).toBe('unchanged');
    await statusOf(same);
    await executing('init-b');
    const changed = projectBody('init-b', { git: { authorName: 'Other' } });
    const p = await problem(await post(`${A}/initialize`, changed), 409);
    expect(p.state).toBe('executing');
    expect(p.acceptedCommands).toEqual(expect.arrayContaining(['PAUSE', 'STOP']));
    expect((await statusOf(await post(`${A}/pause/init-b`))).state).toBe('paused');
    const replaced = await post(`${A}/initialize`, changed);
    expect(replaced.headers.get('devteam-initialize')).toBe('replaced');
    expect((await statusOf(replaced)).state).toBe('paused');
  });

  test('initialize validation: strict body, projectId, repo URL, missing body', async () => {
    const unknown = await problem(await post(`${A}/initialize`, { ...projectBody('v1'), extra: 1 }), 400);
    expect(unknown.issues?.[0]).toMatchObject({ code: 'unrecognized_keys' });
    const badId = await problem(await post(`${A}/initialize`, projectBody('Bad_ID')), 400);
    expect(badId.detail).toMatch(/^body\.projectId: /);
    const file = await problem(await post(`${A}/initialize`, projectBody('v2', { repo: { url: 'file:///x', branch: 'main' } })), 400);
    expect(file.detail).toMatch(/repo\.url: must be an http\(s\) URL/);
    const meta = await problem(await post(`${A}/initialize`, projectBody('v3', { repo: { url: 'http://169.254.169.254/', branch: 'main' } })), 400);
    expect(meta.detail).toMatch(/metadata/);
    expect((await problem(await post(`${A}/initialize`), 400)).detail).toMatch(/required/);
    expect(s.runtime.registry.status('v2')).toBeUndefined();
  });

  test('body errors: 415, malformed JSON 400, 413 over the limit', async () => {
    const text = await s.call(`${A}/initialize`, { method: 'POST', body: '{}', headers: { 'content-type': 'text/plain' } });
    expect((await problem(text, 415)).detail).toMatch(/application\/json/);
    const bad = await s.call(`${A}/initialize`, { method: 'POST', body: '{"projectId":', headers: { 'content-type': 'application/json' } });
    expect((await problem(bad, 400)).title).toBe('Malformed JSON');
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    await problem(await s.call(`${A}/initialize`, { method: 'POST', body: big, headers: { 'content-type': 'application/json' } }), 413);
  });

  test('status: 200 matching the schema, 404 unknown, 400 bad id', async () => {
    await createIdle('st-1');
    const st = await statusOf(await s.call(`${A}/status/st-1`));
    expect(st).toMatchObject({ projectId: 'st-1', state: 'idle', taskCounts: { done: st.taskCounts.total } });
    expect((await problem(await s.call(`${A}/status/nope`), 404)).detail).toMatch(/nope/);
    await problem(await s.call(`${A}/status/NOT_OK`), 400);
  });

  test('projects: paginated by id with a cursor; limits validated', async () => {
    for (const id of ['pg-a', 'pg-b', 'pg-c']) await createIdle(id);
    const all: string[] = [];
    let cursor: string | null = null;
    do {
      const r = await s.call(`${A}/projects?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(r.status).toBe(200);
      const page = projectListSchema.parse(await r.json());
      expect(page.items.length).toBeLessThanOrEqual(2);
      all.push(...page.items.map((i) => i.projectId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(all).toEqual([...all].sort());
    expect(all).toEqual(expect.arrayContaining(['pg-a', 'pg-b', 'pg-c']));
    expect(new Set(all).size).toBe(all.length);
    await problem(await s.call(`${A}/projects?limit=0`), 400);
    await problem(await s.call(`${A}/projects?limit=1001`), 400);
    await problem(await s.call(`${A}/projects?cursor=${encodeURIComponent('../x')}`), 400);
    await problem(await s.call(`${A}/projects?color=red`), 400);
  });

  test('commands: pause, no-op pause, resume, 409 with acceptedCommands, 404', async () => {
    await executing('cmd-1');
    const retry = await problem(await post(`${A}/retry/cmd-1`), 409);
    expect(retry).toMatchObject({ state: 'executing' });
    expect(retry.acceptedCommands).toEqual(expect.arrayContaining(['PAUSE', 'STOP']));
    expect(retry.acceptedCommands).not.toContain('RETRY');
    const paused = await post(`${A}/pause/cmd-1`);
    expect(paused.headers.get('devteam-noop')).toBe('false');
    expect((await statusOf(paused)).state).toBe('paused');
    const again = await post(`${A}/pause/cmd-1`);
    expect(again.headers.get('devteam-noop')).toBe('true');
    expect((await statusOf(again)).state).toBe('paused');
    await problem(await post(`${A}/skip/cmd-1`), 409);
    // RESUME restarts the cancelled step, which waits at its gate again.
    const resume = post(`${A}/resume/cmd-1`);
    await s.steps.waitingAt('cmd-1', 'runAgent');
    s.steps.release('cmd-1', 'runAgent');
    expect((await statusOf(await resume)).state).not.toBe('paused');
    await problem(await post(`${A}/pause/ghost`), 404);
    await problem(await post(`${A}/pause/Bad!`), 400);
  });

  test('halted: RETRY runs the step again, SKIP skips the task', async () => {
    const h = await halted('hr-1');
    expect(h.lastError).toMatch(/exploded/);
    expect(h.acceptedCommands).toEqual(expect.arrayContaining(['RETRY', 'SKIP', 'STOP']));
    const r = await statusOf(await post(`${A}/retry/hr-1`));
    expect(r.lastError).toBeNull();
    expect((await s.waitFor('hr-1', (x) => x.state === 'idle')).completedTaskIds).toContain('t-hr-1');
    await halted('hs-1');
    await statusOf(await post(`${A}/skip/hs-1`));
    expect((await s.waitFor('hs-1', (x) => x.state === 'idle')).skippedTaskIds).toEqual(['t-hs-1']);
  });

  test('stop: 202 while cleanup runs past the timeout, then 200 no-op when stopped', async () => {
    await executing('stop-1');
    s.steps.block('stop-1', 'cleanup');
    const r = await post(`${A}/stop/stop-1`);
    expect((await statusOf(r, 202)).state).toBe('stopping');
    s.steps.release('stop-1', 'cleanup');
    await s.waitFor('stop-1', (x) => x.state === 'stopped');
    const again = await post(`${A}/stop/stop-1`);
    expect(again.headers.get('devteam-noop')).toBe('true');
    expect((await statusOf(again)).state).toBe('stopped');
    await statusOf(await post(`${A}/stop/stop-1`));
  });

  test('runs and artifacts: list, text, truncation, unknown names, traversal, missing file', async () => {
    await createIdle('art-1');
    const r = await s.call(`${A}/projects/art-1/runs`);
    const { items } = taskRunListSchema.parse(await r.json());
    expect(items.length).toBeGreaterThan(0);
    const run = items[0]!;
    expect(run).toMatchObject({ outcome: 'completed', artifacts: ['agent.log'], promptSha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const art = await s.call(`${A}/projects/art-1/runs/${run.id}/artifacts/agent.log`);
    expect(art.status).toBe(200);
    expect(art.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(art.headers.get('devteam-artifact-truncated')).toBe('false');
    expect(await art.text()).toBe(`agent ran ${run.taskId} attempt 1\n`);
    // Overwrite the file with 1.5 MiB: served capped at 1 MiB, saying so.
    const file = join(s.dataDir, 'artifacts', 'art-1', run.taskId, '1', 'agent.log');
    await writeFile(file, Buffer.alloc(1.5 * 1024 * 1024, 'x'));
    const big = await s.call(`${A}/projects/art-1/runs/${run.id}/artifacts/agent.log`);
    expect(big.headers.get('devteam-artifact-truncated')).toBe('true');
    expect(big.headers.get('devteam-artifact-size')).toBe(String(1.5 * 1024 * 1024));
    expect((await big.arrayBuffer()).byteLength).toBe(1024 * 1024);
    await problem(await s.call(`${A}/projects/art-1/runs/${run.id}/artifacts/other.log`), 404);
    await problem(await s.call(`${A}/projects/art-1/runs/${run.id}/artifacts/..%2F..%2F..%2Fetc%2Fpasswd`), 400);
    await problem(await s.call(`${A}/projects/art-1/runs/${run.id}/artifacts/a%2F..`), 400);
    await problem(await s.call(`${A}/projects/art-1/runs/abc/artifacts/agent.log`), 400);
    await problem(await s.call(`${A}/projects/st-none/runs`), 404);
    // A recorded run whose file is gone.
    const [row] = await s.runtime.db.query<{ id: string }>(
      `insert into task_run (project_id, task_id, attempt, state, artifacts, outcome) values ('art-1', 'manual', 1, 'done', '["gone.log"]', 'completed') returning id`,
    );
    expect((await problem(await s.call(`${A}/projects/art-1/runs/${row!.id}/artifacts/gone.log`), 404)).detail).toMatch(/missing/);
    await problem(await s.call(`${A}/projects/other/runs/${row!.id}/artifacts/gone.log`), 404);
  });

  test('delete: 409 unless stopped; then files purged, runs kept but hidden, 404 afterwards', async () => {
    await createIdle('del-1');
    await mkdir(join(s.dataDir, 'repos', 'del-1'), { recursive: true });
    const p = await problem(await s.call(`${A}/projects/del-1`, { method: 'DELETE' }), 409);
    expect(p.state).toBe('idle');
    await statusOf(await post(`${A}/stop/del-1`));
    const d = await s.call(`${A}/projects/del-1`, { method: 'DELETE' });
    expect(d.status).toBe(204);
    expect(purged).toContain('del-1');
    await expect(stat(join(s.dataDir, 'repos', 'del-1'))).rejects.toThrow();
    await expect(stat(join(s.dataDir, 'artifacts', 'del-1'))).rejects.toThrow();
    const kept = await s.runtime.db.query<{ n: string }>(`select count(*) as n from task_run where project_id = 'del-1' and deleted_at is not null`);
    expect(Number(kept[0]!.n)).toBeGreaterThan(0);
    await problem(await s.call(`${A}/status/del-1`), 404);
    await problem(await s.call(`${A}/projects/del-1/runs`), 404);
    await problem(await s.call(`${A}/projects/del-1`, { method: 'DELETE' }), 404);
  });

  test('metrics: prometheus text with every runner metric', async () => {
    const r = await s.call('/metrics');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await r.text();
    for (const name of ['http_request_duration_seconds', 'devteam_transitions_total', 'devteam_queue_latency_seconds', 'devteam_verify_duration_seconds', 'devteam_ws_connections', 'devteam_ws_messages_sent_total', 'devteam_ws_messages_dropped_total', 'process_cpu_user_seconds_total']) {
      expect(text).toContain(`# TYPE ${name}`);
    }
    expect(text).toMatch(/devteam_transitions_total\{state="idle"\} [1-9]/);
    expect(text).toMatch(/http_request_duration_seconds_count\{route="\/api\/devteam\/automation\/status\/:projectId",method="GET",status="200"\} [1-9]/);
  });

  test('openapi document served equals the committed file; correlation id echoed; unknown route 404', async () => {
    const { readFile } = await import('node:fs/promises');
    const committed = JSON.parse(await readFile(new URL('../../docs/openapi.json', import.meta.url), 'utf8'));
    const served = await (await s.call('/api/openapi.json')).json();
    expect(served).toEqual(committed);
    // Real responses conform to the document's schemas.
    const schemaOf = (path: string, code: number) => served.paths[path].get.responses[code].content['application/json'].schema;
    const st = await (await s.call(`${A}/status/st-1`)).json();
    expect(violations(schemaOf(`${A}/status/{projectId}`, 200), st, served)).toEqual([]);
    const list = await (await s.call(`${A}/projects`)).json();
    expect(violations(schemaOf(`${A}/projects`, 200), list, served)).toEqual([]);
    const runs = await (await s.call(`${A}/projects/art-1/runs`)).json();
    expect(violations(schemaOf(`${A}/projects/{projectId}/runs`, 200), runs, served)).toEqual([]);
    const nf = await (await s.call(`${A}/status/nope`)).json();
    expect(violations(served.paths[`${A}/status/{projectId}`].get.responses[404].content['application/problem+json'].schema, nf, served)).toEqual([]);
    const r = await s.call('/healthz', { headers: { 'x-correlation-id': 'abc-123' } });
    expect(r.headers.get('x-correlation-id')).toBe('abc-123');
    await problem(await s.call('/api/nothing/here'), 404);
    const html = await s.call('/');
    expect(html.headers.get('content-type')).toMatch(/text\/html/);
  });
});

describe.skipIf(!!skip)('static assets and failures (in-process)', () => {
  let s: TestServer;
  let web: { path: string; remove(): Promise<void> };
  const lines: Array<Record<string, unknown>> = [];
  beforeAll(async () => {
    web = await tempDir('devteam-web-');
    await mkdir(join(web.path, 'assets'));
    await writeFile(join(web.path, 'index.html'), '<h1>dash</h1>');
    await writeFile(join(web.path, 'assets', 'app.js'), 'export {}');
    const sink = new Writable({
      write(c, _e, cb) {
        for (const l of String(c).split('\n')) if (l) lines.push(JSON.parse(l));
        cb();
      },
    });
    s = await startTestServer({
      inProcess: true,
      logger: createLogger({ level: 'warn' }, sink),
      server: {
        webDir: web.path,
        extraRoutes: [{ method: 'GET', pattern: '/api/boom', handler: async () => { throw new Error('secret internals'); } }],
      },
    });
  });
  afterAll(async () => {
    await s?.close();
    await web?.remove();
  });

  test('a throwing handler is a 500 problem without internals, logged once with its correlationId and route', async () => {
    const r = await s.call('/api/boom', { headers: { 'x-correlation-id': 'boom-1' } });
    expect(r.status).toBe(500);
    expect(r.headers.get('x-correlation-id')).toBe('boom-1');
    const body = await r.text();
    expect(body).not.toContain('secret internals');
    const logged = lines.filter((l) => l.correlationId === 'boom-1');
    expect(logged).toEqual([expect.objectContaining({ msg: 'request failed', component: 'server', route: '/api/boom', status: 500, err: expect.objectContaining({ message: 'secret internals' }) })]);
    expect((await s.call('/healthz')).status).toBe(200);
  });

  test('static: index and assets from the web dir; no traversal', async () => {
    expect(await (await s.call('/')).text()).toBe('<h1>dash</h1>');
    const js = await s.call('/assets/app.js');
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await s.call('/assets/..%2F..%2Fetc%2Fpasswd')).status).toBe(404);
    expect((await s.call('/assets/missing.js')).status).toBe(404);
  });
});

describe.skipIf(!!skip)('over the socket: bodies, aborts, keep-alive, the wire', () => {
  let s: TestServer;
  let web: { path: string; remove(): Promise<void> };
  beforeAll(async () => {
    web = await tempDir('devteam-web-');
    await mkdir(join(web.path, 'assets'));
    await writeFile(join(web.path, 'assets', 'app.js'), 'export {}');
    s = await startTestServer({
      server: {
        webDir: web.path,
        extraRoutes: [{ method: 'GET', pattern: '/api/boom', handler: async () => { throw new Error('secret internals'); } }],
      },
    });
  });
  afterAll(async () => {
    await s?.close();
    await web?.remove();
  });

  /** One request with node:http on `agent`; says whether it reused a kept-alive socket. */
  const send = (agent: Agent, method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) =>
    new Promise<{ status: number; headers: Record<string, unknown>; text: string; reused: boolean }>((resolve, reject) => {
      const u = new URL(s.url + path);
      const req = httpRequest({ agent, host: u.hostname, port: u.port, method, path: u.pathname + u.search, headers: { ...(body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) } : {}), ...headers } }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString('utf8'), reused: req.reusedSocket }));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });

  test('413 declared and streamed: refused before parsing, the server keeps serving', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const declared = await s.call(`${A}/initialize`, { method: 'POST', body: big, headers: { 'content-type': 'application/json' } });
    expect(declared.status).toBe(413);
    expect(declared.headers.get('content-type')).toBe('application/problem+json');
    // Chunked: no Content-Length, so the limit trips while reading.
    const stream = new ReadableStream({
      start(c) {
        for (let i = 0; i < 32; i++) c.enqueue(new Uint8Array(64 * 1024).fill(0x20));
        c.close();
      },
    });
    const chunked = await s.call(`${A}/initialize`, { method: 'POST', body: stream, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
    expect((await chunked.json()).title).toBe('Payload too large');
    expect((await s.call('/healthz')).status).toBe(200);
  });

  test('keep-alive: bodies, errors and empty answers share one connection; a 413 closes it', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(agent, 'GET', '/healthz', undefined, { 'x-correlation-id': 'ka-1' });
      expect(first).toMatchObject({ status: 200, reused: false, text: '{"ok":true}' });
      expect(first.headers['x-correlation-id']).toBe('ka-1');
      const invalid = await send(agent, 'POST', `${A}/initialize`, JSON.stringify({ projectId: 'Bad_ID' }));
      expect(invalid).toMatchObject({ status: 400, reused: true });
      expect(invalid.headers['content-type']).toBe('application/problem+json');
      expect(await send(agent, 'POST', `${A}/initialize`, '{"projectId":')).toMatchObject({ status: 400, reused: true });
      expect(await send(agent, 'GET', '/api/nothing/here')).toMatchObject({ status: 404, reused: true });
      expect(await send(agent, 'GET', '/assets/app.js')).toMatchObject({ status: 200, reused: true, text: 'export {}' });
      const tooBig = await send(agent, 'POST', `${A}/initialize`, Buffer.alloc(2 * 1024 * 1024, 0x20));
      expect(tooBig.status).toBe(413);
      expect(tooBig.headers.connection).toBe('close');
      // The unread rest of that body is never parsed as a request: the connection was closed.
      expect(await send(agent, 'GET', '/healthz')).toMatchObject({ status: 200, reused: false });
    } finally {
      agent.destroy();
    }
  });

  test('a throwing handler over the wire: 500 problem+json without internals, correlation id echoed', async () => {
    const r = await s.call('/api/boom', { headers: { 'x-correlation-id': 'wire-1' } });
    expect(r.status).toBe(500);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    expect(r.headers.get('x-correlation-id')).toBe('wire-1');
    expect(await r.text()).not.toContain('secret internals');
  });

  test('a client that aborts mid-body does not take the server down', async () => {
    const ac = new AbortController();
    const stream = new ReadableStream({
      pull(c) {
        c.enqueue(new Uint8Array(1024).fill(0x20));
        ac.abort();
      },
    });
    await expect(s.call(`${A}/initialize`, { method: 'POST', body: stream, headers: { 'content-type': 'application/json' }, duplex: 'half', signal: ac.signal } as RequestInit)).rejects.toThrow();
    expect((await s.call('/healthz')).status).toBe(200);
  });
});

describe.skipIf(!!skip)('auth', () => {
  const token = 'test-token-0123456789abcdef';
  let open: TestServer;
  let closedMetrics: TestServer;
  beforeAll(async () => {
    open = await startTestServer({ inProcess: true, env: { DEVTEAM_API_TOKEN: token } });
    closedMetrics = await startTestServer({ inProcess: true, env: { DEVTEAM_API_TOKEN: token, DEVTEAM_METRICS_AUTH: 'true' } });
  });
  afterAll(async () => {
    await open?.close();
    await closedMetrics?.close();
  });

  test('/api needs the bearer token; health, readiness, assets and (by default) metrics stay open', async () => {
    const none = await open.call(`${A}/projects`, { auth: false });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    expect((await open.call(`${A}/projects`, { headers: { authorization: 'Bearer wrong-token-of-some-length' } })).status).toBe(401);
    expect((await open.call(`${A}/projects`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    expect((await open.call(`${A}/projects`)).status).toBe(200);
    const noTokenPost = await open.call(`${A}/initialize`, { method: 'POST', json: projectBody('auth-1'), auth: false });
    expect(noTokenPost.status).toBe(401);
    expect(open.runtime.registry.status('auth-1')).toBeUndefined();
    expect((await open.call('/api/openapi.json', { auth: false })).status).toBe(401);
    for (const path of ['/healthz', '/readyz', '/', '/metrics']) expect((await open.call(path, { auth: false })).status).toBe(200);
  });

  test('DEVTEAM_METRICS_AUTH protects /metrics', async () => {
    expect((await closedMetrics.call('/metrics', { auth: false })).status).toBe(401);
    expect((await closedMetrics.call('/metrics')).status).toBe(200);
  });
});

describe.skipIf(!!skip)('readiness with Redis unreachable', () => {
  let s: TestServer;
  beforeAll(async () => {
    // Nothing listens on port 1: the server still starts, and says it is not ready.
    s = await startTestServer({ inProcess: true, env: { REDIS_URL: 'redis://127.0.0.1:1' } });
  });
  afterAll(async () => s?.close());

  test('/readyz → 503 naming redis; /healthz still 200; idempotent POST → 503, plain POST works', async () => {
    const r = await s.call('/readyz');
    expect(r.status).toBe(503);
    expect(await r.json()).toEqual({ ok: false, checks: { database: 'ok', redis: 'failed' } });
    expect((await s.call('/healthz')).status).toBe(200);
    const keyed = await s.call(`${A}/initialize`, { method: 'POST', json: projectBody('rd-1'), headers: { 'idempotency-key': 'k1' } });
    expect(keyed.status).toBe(503);
    expect(keyed.headers.get('retry-after')).toBe('1');
    expect(s.runtime.registry.status('rd-1')).toBeUndefined();
    expect((await s.call(`${A}/initialize`, { method: 'POST', json: projectBody('rd-1') })).status).toBe(201);
  });
});
