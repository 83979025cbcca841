/**
 * A real server for integration tests: a runtime on a fresh Postgres database with FakeSteps,
 * listening on a free port (startServer with port 0), plus helpers to wait for committed
 * states through the hub (no sleeps) and to call the API with fetch.
 *
 * With `inProcess: true` nothing listens: `call` runs the request through the same HTTP
 * pipeline with `inject` and answers a fetch `Response` built from what the socket would have
 * sent, so a test reads the same either way. Streamed bodies, aborts and connection behaviour
 * need the socket.
 */
import { createClient } from 'redis';
import { createProjectSteps } from '../../src/actors/projectSteps.ts';
import { createRuntime, type Runtime } from '../../src/actors/runtime.ts';
import type { ProjectStatus } from '../../src/domain/status.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { silentLogger, type Logger } from '../../src/infra/logger.ts';
import { toWire } from '../../src/server/http/respond.ts';
import { createApp, startServer, type PlainRequest, type ServerHandle, type StartServerOptions } from '../../src/server/index.ts';
import { createTestDatabase, tempDir } from './db.ts';
import { FakeSteps } from './fakeSteps.ts';

export const REDIS_TEST_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function redisAvailable(url = REDIS_TEST_URL): Promise<boolean> {
  const c = createClient({ url, socket: { connectTimeout: 2000, reconnectStrategy: false } });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return (await c.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    if (c.isOpen) await c.close().catch(() => undefined);
  }
}

/** Resolves to a skip reason, or throws under CI=true when Redis is missing. */
export async function requireRedis(): Promise<string | null> {
  if (await redisAvailable()) return null;
  const reason = `Redis is not reachable at ${REDIS_TEST_URL}`;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: a missing service is a failure)`);
  process.stderr.write(`\n*** SKIPPING Redis tests: ${reason} ***\n`);
  return reason;
}

export interface TestServer {
  /** The base URL ('' in-process). */
  url: string;
  server: ServerHandle;
  runtime: Runtime;
  steps: FakeSteps;
  dataDir: string;
  token: string | undefined;
  /** fetch `path` on the server (JSON body when `json` is given; bearer token added unless `auth: false`). In-process: through `inject`. */
  call(path: string, init?: RequestInit & { json?: unknown; auth?: boolean }): Promise<Response>;
  /** Resolves with the committed status once `pred` holds for the project. */
  waitFor(projectId: string, pred: (s: ProjectStatus) => boolean): Promise<ProjectStatus>;
  close(): Promise<void>;
}

export interface TestServerOptions {
  tasks?: string[];
  /** Run the real steps (createProjectSteps: git, sandbox, agents) instead of FakeSteps. */
  realSteps?: boolean;
  /** Use this database (e.g. to restart a server on the same data); default a fresh one. */
  databaseUrl?: string;
  dataDir?: string;
  redis?: boolean;
  env?: Record<string, string>;
  server?: StartServerOptions;
  /** No socket: requests go through the pipeline in-process (`call` and `server.inject`). */
  inProcess?: boolean;
  /** The runtime's logger (the server logs through a child of it); default silent. */
  logger?: Logger;
}

/** The request a fetch call would send, as a plain request for `inject`. */
export async function plainRequest(path: string, init: RequestInit): Promise<PlainRequest> {
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((v, k) => (headers[k] = v));
  const b = init.body;
  let body: Buffer | undefined;
  if (b == null) body = undefined;
  else if (typeof b === 'string') body = Buffer.from(b);
  else if (b instanceof Uint8Array) body = Buffer.from(b);
  else if (b instanceof ArrayBuffer) body = Buffer.from(new Uint8Array(b));
  else throw new Error('in-process calls take string or byte bodies; streamed bodies need the socket');
  return { method: init.method ?? 'GET', path, headers, body };
}

/** A fetch Response with exactly what the socket would carry for `r`. */
export function wireResponse(r: Awaited<ReturnType<ServerHandle['inject']>>): Response {
  const w = toWire(r);
  const empty = w.status === 204 || w.status === 304;
  return new Response(empty ? null : typeof w.body === 'string' ? w.body : new Uint8Array(w.body), { status: w.status, headers: w.headers });
}

export async function startTestServer(o: TestServerOptions = {}): Promise<TestServer> {
  const db = o.databaseUrl ? { url: o.databaseUrl, drop: async () => undefined } : await createTestDatabase('devteam_srv');
  const dir = o.dataDir ? { path: o.dataDir, remove: async () => undefined } : await tempDir('devteam-srv-');
  const config = loadConfig({
    DATABASE_URL: db.url,
    DEVTEAM_DATA_DIR: dir.path,
    DEVTEAM_HOST: '127.0.0.1',
    DEVTEAM_PORT: '0',
    LOG_LEVEL: 'silent',
    ...(o.redis ? { REDIS_URL: REDIS_TEST_URL } : {}),
    ...o.env,
  });
  const steps = new FakeSteps({ tasks: o.tasks ?? ['1.1', '1.2'], dataDir: dir.path });
  const runtime = await createRuntime({
    config,
    logger: o.logger ?? silentLogger(),
    makeSteps: o.realSteps ? (p, base) => createProjectSteps({ project: p, ...base }) : steps.make,
  });
  const server = o.inProcess ? await createApp(runtime, o.server) : await startServer(runtime, { port: 0, ...o.server });
  // The server connects to Redis in the background; a test asking for Redis wants it ready.
  const redis = server.redis?.client;
  if (o.redis && redis && !redis.isReady) await new Promise((resolve) => redis.once('ready', resolve));
  const url = 'url' in server ? server.url : '';
  const token = config.DEVTEAM_API_TOKEN;
  return {
    url,
    server,
    runtime,
    steps,
    dataDir: dir.path,
    token,
    call(path, init = {}) {
      const { json, auth, ...rest } = init;
      const headers = new Headers(rest.headers);
      if (token && auth !== false && !headers.has('authorization')) headers.set('authorization', `Bearer ${token}`);
      if (json !== undefined && !headers.has('content-type')) headers.set('content-type', 'application/json');
      const req = { ...rest, headers, body: json !== undefined ? JSON.stringify(json) : rest.body };
      if (!url) return plainRequest(path, req).then((p) => server.inject(p)).then(wireResponse);
      return fetch(url + path, req);
    },
    waitFor(projectId, pred) {
      return new Promise((resolve) => {
        const check = () => {
          const s = runtime.projection.get(projectId);
          if (s && pred(s)) {
            sub.unsubscribe();
            resolve(s);
            return true;
          }
          return false;
        };
        const sub = runtime.hub.all$.subscribe((e) => {
          if (e.projectId === projectId && e.type === 'status') check();
        });
        check();
      });
    },
    async close() {
      await server.close();
      await runtime.close();
      await db.drop();
      await dir.remove();
    },
  };
}

/** A valid initialize body whose repo URL needs no DNS (loopback is allowed on a loopback bind). */
export function projectBody(projectId: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    projectId,
    repo: { url: 'http://127.0.0.1:1/repo.git', branch: 'main' },
    verify: { command: ['true'] },
    agent: { kind: 'script' },
    ...extra,
  };
}
