/**
 * The server: `createApp` builds the HTTP pipeline (REST, static assets, health/metrics and
 * whatever plug-ins — WebSocket gateway, event ingest — the caller passes) on a uWebSockets.js
 * app without opening a socket, so routes can be called in-process with `inject`;
 * `startServer` is `createApp` + `listen`. The server never imports a plug-in; main wires them,
 * so each feature can be built and tested on its own.
 */
import uWS from 'uWebSockets.js';
import type { Subscription } from 'rxjs';
import type { Runtime } from '../actors/runtime.ts';
import { createMetrics, type Metrics } from '../infra/metrics.ts';
import { createRedis, type RedisHandle } from '../infra/redis.ts';
import { createRouter } from './http/adapter.ts';
import { createAuth } from './http/auth.ts';
import { createPipeline, type PlainRequest } from './http/pipeline.ts';
import { staticHandler } from './http/static.ts';
import type { ApiResponse, Handler, HttpMethod, PluginContext, RouteOptions, ServerPlugin } from './http/types.ts';
import { PgIdempotencyStore } from './idempotency/pgStore.ts';
import { RedisIdempotencyStore } from './idempotency/redisStore.ts';
import type { IdempotencyStore } from './idempotency/store.ts';
import { buildOpenApi } from './openapi.ts';
import { boundRoutes, purgeProjectFiles } from './rest/index.ts';
import type { RouteDoc } from './rest/spec.ts';

export interface StartServerOptions {
  /** Defaults: config DEVTEAM_PORT / DEVTEAM_HOST. Port 0 picks a free port. */
  port?: number;
  host?: string;
  /** A metrics registry to use (default: a new one). */
  metrics?: Metrics;
  /** Extra clean-up when a project is deleted (e.g. remove its container); runs after its files are removed. */
  purge?: (projectId: string) => Promise<void>;
  /** Features plugged into the app (WebSocket gateway, event ingest …), attached in order. */
  plugins?: ServerPlugin[];
  /** Additional routes through the shared pipeline. */
  extraRoutes?: Array<{ method: HttpMethod; pattern: string; handler: Handler; opts?: RouteOptions }>;
  /** Plug-ins' routes to include in /api/openapi.json. */
  openapiExtra?: RouteDoc[];
  /**
   * Shared Redis handle; default: one is created from config.REDIS_URL (and closed by close()),
   * connecting in the background so the server starts — and /readyz says so — while Redis is down.
   */
  redis?: RedisHandle;
  /** Idempotency store override; default: Redis when available, else Postgres. */
  idempotency?: IdempotencyStore;
  /** How long STOP waits for cleanup before 202 (default 30 s). */
  stopTimeoutMs?: number;
  /** Artifact download cap in bytes (default 1 MiB). */
  artifactMaxBytes?: number;
  /** Built dashboard directory (default dist/web). */
  webDir?: string;
}

/** What both an app and a listening server offer. */
export interface ServerHandle {
  app: uWS.TemplatedApp;
  metrics: Metrics;
  redis: RedisHandle | undefined;
  idempotency: IdempotencyStore;
  /**
   * Run a request through the HTTP pipeline in-process, without a socket: routing, auth, body
   * limit, content type, JSON, Idempotency-Key, the handler, errors, metrics and logging.
   * Header names may be in any case; never rejects.
   */
  inject(req: PlainRequest): Promise<ApiResponse>;
  /** Stop listening (if listening), close plug-ins, answer in-flight requests, close connections. Idempotent. */
  close(): Promise<void>;
}

/** The app with every route and plug-in attached, not listening. */
export interface ServerApp extends ServerHandle {
  /** Listen (defaults: config DEVTEAM_PORT / DEVTEAM_HOST; port 0 picks a free port). On failure the app is closed. */
  listen(opts?: { port?: number; host?: string }): Promise<RunningServer>;
}

export interface RunningServer extends ServerHandle {
  url: string;
  port: number;
}

export async function createApp(runtime: Runtime, opts: StartServerOptions = {}): Promise<ServerApp> {
  const { config } = runtime;
  const logger = runtime.logger.child({ component: 'server' });
  const metrics = opts.metrics ?? createMetrics();
  const ownRedis = !opts.redis && !!config.REDIS_URL;
  const redis = opts.redis ?? (config.REDIS_URL ? await createRedis(config.REDIS_URL, logger, { wait: false }) : undefined);
  const idempotency = opts.idempotency ?? (redis ? new RedisIdempotencyStore(redis.client) : new PgIdempotencyStore(runtime.db));
  const auth = createAuth(config.DEVTEAM_API_TOKEN);
  const app = uWS.App();
  const pipeline = createPipeline({
    auth,
    metricsAuth: config.DEVTEAM_METRICS_AUTH,
    maxBodyBytes: config.DEVTEAM_MAX_BODY_BYTES,
    metrics,
    logger,
    idempotency,
  });
  const router = createRouter({ app, pipeline, logger });
  const subs: Subscription[] = [metrics.watchHub(runtime.hub.all$)];
  const plugins = opts.plugins ?? [];
  const docs = [...(opts.openapiExtra ?? [])];
  let doc: unknown;
  const restDeps = {
    runtime,
    metrics,
    redis,
    stopTimeoutMs: opts.stopTimeoutMs ?? 30_000,
    artifactMaxBytes: opts.artifactMaxBytes ?? 1024 * 1024,
    openapi: () => (doc ??= buildOpenApi(docs)),
    async purge(projectId: string) {
      await purgeProjectFiles(config.DEVTEAM_DATA_DIR, projectId);
      await opts.purge?.(projectId);
    },
  };
  for (const { doc: d, handler } of boundRoutes(restDeps)) router.route(d.method, d.path, handler, { auth: d.auth });
  const assets = staticHandler(opts.webDir);
  router.route('GET', '/', assets, { auth: 'open' });
  router.route('GET', '/assets/*', assets, { auth: 'open' });
  for (const r of opts.extraRoutes ?? []) router.route(r.method, r.pattern, r.handler, r.opts);

  const ctx: PluginContext = {
    app,
    runtime,
    metrics,
    logger,
    redis,
    checkAuth: (req) => auth.checkToken(req.headers.authorization),
    checkToken: (presented) => auth.checkToken(presented),
    route: router.route,
  };
  const attached: ServerPlugin[] = [];
  const closePlugins = async () => {
    for (const p of attached.reverse()) await p.close?.().catch((err) => logger.error({ err, plugin: p.name }, 'plugin close failed'));
  };
  try {
    for (const p of plugins) {
      await p.attach(ctx);
      attached.push(p);
      logger.debug({ plugin: p.name }, 'plugin attached');
    }
  } catch (err) {
    await closePlugins();
    if (ownRedis) await redis?.close();
    throw err;
  }
  // Everything else: 404 problem (after auth for /api paths, so unknown API paths do not leak).
  router.fallback();

  let listenSocket: uWS.us_listen_socket | undefined;
  let closed: Promise<void> | undefined;
  const close = () =>
    (closed ??= (async () => {
      if (listenSocket) uWS.us_listen_socket_close(listenSocket);
      await closePlugins();
      await router.drain();
      for (const s of subs) s.unsubscribe();
      // Not in this uWS build's typings, but present: closes every open connection.
      (app as unknown as { close?: () => void }).close?.();
      if (ownRedis) await redis?.close();
      logger.info('server closed');
    })());
  const handle: ServerHandle = { app, metrics, redis, idempotency, inject: (req) => pipeline.handle(req), close };
  return {
    ...handle,
    async listen(l = {}) {
      const host = l.host ?? config.DEVTEAM_HOST;
      const wanted = l.port ?? config.DEVTEAM_PORT;
      listenSocket = await new Promise<uWS.us_listen_socket>((resolve, reject) => {
        app.listen(host, wanted, (s) => (s ? resolve(s) : reject(new Error(`cannot listen on ${host}:${wanted}`))));
      }).catch(async (err) => {
        await close();
        throw err;
      });
      const port = uWS.us_socket_local_port(listenSocket as unknown as uWS.us_socket);
      const urlHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
      logger.info({ host, port, plugins: plugins.map((p) => p.name) }, 'server listening');
      return { ...handle, url: `http://${urlHost}:${port}`, port };
    },
  };
}

/** `createApp` + `listen` (StartServerOptions.port / host). */
export async function startServer(runtime: Runtime, opts: StartServerOptions = {}): Promise<RunningServer> {
  const app = await createApp(runtime, opts);
  return app.listen({ port: opts.port, host: opts.host });
}

export type { ServerPlugin, PluginContext } from './http/types.ts';
export type { PlainRequest } from './http/pipeline.ts';
export type { ApiResponse } from './http/types.ts';
