/**
 * The HTTP contract shared by every route and plug-in: handlers are plain async functions from
 * an `ApiRequest` to an `ApiResponse`, testable without a socket. The pipeline (pipeline.ts)
 * applies the HTTP policy — auth, body limits, JSON parsing, idempotency, error mapping,
 * metrics, logging — once, for all routes, including routes added by plug-ins; the uWS adapter
 * (adapter.ts) only moves bytes between the socket and it.
 */
import type uWS from 'uWebSockets.js';
import type { Runtime } from '../../actors/runtime.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import type { RedisHandle } from '../../infra/redis.ts';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ApiRequest {
  method: HttpMethod;
  /** Path without the query string, e.g. `/api/devteam/automation/status/p1`. */
  path: string;
  /** The route pattern that matched, e.g. `/api/devteam/automation/status/:projectId`. */
  route: string;
  /** Decoded path parameters by name. */
  params: Record<string, string>;
  /** Query parameters (first value of each). */
  query: Record<string, string>;
  /** Request headers, names lower-cased. */
  headers: Record<string, string>;
  /** Parsed JSON body (undefined when there was none). */
  body: unknown;
  /** Raw body bytes (empty when there was none); the idempotency fingerprint uses `body`. */
  rawBody: Buffer;
  /** Who is calling: `token:<sha256 prefix>` when a token is configured, else `anonymous`. */
  principal: string;
  /** From `X-Correlation-Id` (validated) or generated; echoed as a response header. */
  correlationId: string;
}

export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  /**
   * A plain value is sent as JSON (`application/json` unless headers say otherwise);
   * a string or Buffer is sent as is (set content-type in headers); undefined → empty body.
   */
  body?: unknown;
}

/** A route handler; may answer synchronously (the adapter then answers in the same tick). */
export type Handler = (req: ApiRequest) => ApiResponse | Promise<ApiResponse>;

export interface RouteOptions {
  /**
   * Who may call: 'api' needs the bearer token when one is configured (default for /api paths),
   * 'metrics' needs it only when DEVTEAM_METRICS_AUTH is set, 'open' never.
   */
  auth?: 'api' | 'metrics' | 'open';
  /** Honour `Idempotency-Key` (default: true for POST). */
  idempotent?: boolean;
  /** Max body bytes for this route (default: DEVTEAM_MAX_BODY_BYTES). */
  maxBodyBytes?: number;
}

/** Registers a route on the app through the shared pipeline (auth, limits, errors, metrics). */
export type RouteFn = (method: HttpMethod, pattern: string, handler: Handler, opts?: RouteOptions) => void;

export interface PluginContext {
  app: uWS.TemplatedApp;
  runtime: Runtime;
  metrics: Metrics;
  logger: Logger;
  /** The shared Redis handle when REDIS_URL is set (use `redis.duplicate()` for blocking reads). */
  redis: RedisHandle | undefined;
  /** True when the request carries a valid bearer token, or when no token is configured. */
  checkAuth(req: Pick<ApiRequest, 'headers'>): boolean;
  /**
   * Constant-time check of a presented credential: an `Authorization` header value
   * (`Bearer <token>`) or a bare token (e.g. from `Sec-WebSocket-Protocol`). True when no token
   * is configured.
   */
  checkToken(presented: string | undefined): boolean;
  route: RouteFn;
}

/**
 * A feature that plugs into the server without the server importing it: the WebSocket gateway
 * and the event ingest route are plug-ins. `attach` runs before the server listens, in the
 * order given; `close` runs (reverse order) before the socket is closed and the Redis handle released.
 */
export interface ServerPlugin {
  name: string;
  attach(ctx: PluginContext): void | Promise<void>;
  close?(): Promise<void>;
}
