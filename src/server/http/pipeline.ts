/**
 * The HTTP pipeline, free of any transport: it works on a plain request (method, path, query,
 * lower-case headers, body bytes) and answers an ApiResponse. Every route — REST, static,
 * plug-ins' — goes through it, in this order: route match with parameters → correlation id →
 * body size limit (413) → auth (401) → content type (415) → JSON (400) → Idempotency-Key → the
 * handler → error map (problem+json, errors.ts) → metrics → a log line for every 5xx, exactly
 * once, with its correlationId and route.
 *
 * Two entries: `handle(plainRequest)` runs the whole of it in-process (tests, `inject`); a
 * transport (the uWS adapter) that already matched the route and must stream the body calls
 * `begin` synchronously when the request arrives, then `run` with the body (synchronous when
 * the handler is), or `fail` when the body could not be read (e.g. over the limit mid-stream).
 * Neither `run` nor `fail` nor `handle` ever throws or rejects.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import { withIdempotency } from '../idempotency/middleware.ts';
import type { IdempotencyStore } from '../idempotency/store.ts';
import type { Auth } from './auth.ts';
import { isJsonContentType } from './body.ts';
import { MalformedJsonError, NotFoundError, PayloadTooLargeError, problemResponse, UnauthorizedError, UnsupportedMediaTypeError } from './errors.ts';
import type { ApiRequest, ApiResponse, Handler, HttpMethod, RouteOptions } from './types.ts';

/** A request as any transport (or a test) hands it over. */
export interface PlainRequest {
  method: string;
  /** Path; may carry `?query` when `query` is not given. */
  path: string;
  /** Raw query string (without `?`) or already-parsed parameters. */
  query?: string | Record<string, string>;
  /** Header names lower-case (`handle` lower-cases them; `begin` trusts the transport). */
  headers: Record<string, string>;
  /** The body bytes (ignored unless the method is POST, PUT or PATCH). */
  body?: Buffer | undefined;
}

export interface PipelineDeps {
  auth: Auth;
  metricsAuth: boolean;
  maxBodyBytes: number;
  metrics: Metrics;
  logger: Logger;
  idempotency: IdempotencyStore;
}

/** A registered route. */
export interface Route {
  method: HttpMethod | 'ANY';
  /** The pattern in uWS syntax (`/a/:id`, `/assets/*`): the metrics label and idempotency scope. */
  label: string;
  /** Parameter names in order. */
  names: string[];
  opts: RouteOptions;
  /** The handler with Idempotency-Key semantics when the route is idempotent. */
  run: Handler;
  /** Per segment: a literal, or null for a parameter; `wildcard` when the pattern ends in `*`. */
  segments: Array<string | null>;
  wildcard: boolean;
}

/** One request in progress, from `begin` to `run`/`fail`. */
export interface Exchange {
  readonly route: Route;
  readonly req: ApiRequest;
  readonly started: bigint;
  readonly unauthorized: boolean;
  /** POST, PUT or PATCH: the transport reads a body of at most `bodyLimit` bytes. */
  readonly expectsBody: boolean;
  readonly bodyLimit: number;
}

export interface Pipeline {
  route(method: HttpMethod, pattern: string, handler: Handler, opts?: RouteOptions): Route;
  /** The route for a method and path (without query), with decoded parameters; undefined when none. */
  match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined;
  /** What answers when no route matches: a 404 problem (after auth for /api paths). */
  readonly fallback: Route;
  /** The whole pipeline in-process. Never rejects. */
  handle(req: PlainRequest): Promise<ApiResponse>;
  /** Transport entry, synchronous: correlation id, auth, query. `path` must not carry the query. */
  begin(route: Route, req: Omit<PlainRequest, 'body'>, params: Record<string, string>): Exchange;
  /** The rest of the pipeline once the body is read; synchronous when the handler answered synchronously. */
  run(x: Exchange, body: Buffer | undefined): ApiResponse | Promise<ApiResponse>;
  /** Settle an exchange with an error raised by the transport (e.g. PayloadTooLargeError). */
  fail(x: Exchange, err: unknown): ApiResponse;
}

const CORRELATION_RE = /^[A-Za-z0-9._:@-]{1,128}$/;
const EMPTY = Buffer.alloc(0);

/** `/a/{id}/b` or `/a/:id/b` → uWS pattern `/a/:id/b` and parameter names in order. */
export function compilePattern(pattern: string): { uws: string; names: string[] } {
  const names: string[] = [];
  const uws = pattern.replace(/\{([A-Za-z0-9_]+)\}|:([A-Za-z0-9_]+)/g, (_m, a: string | undefined, b: string | undefined) => {
    names.push((a ?? b)!);
    return `:${a ?? b}`;
  });
  return { uws, names };
}

export function parseQuery(q: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!q) return out;
  for (const [k, v] of new URLSearchParams(q)) if (!(k in out)) out[k] = v;
  return out;
}

export function decodeParam(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function makeRoute(method: Route['method'], label: string, names: string[], opts: RouteOptions, run: Handler): Route {
  const wildcard = label.endsWith('/*');
  const parts = (wildcard ? label.slice(0, -2) : label).split('/').slice(1);
  return { method, label, names, opts, run, wildcard, segments: parts.map((p) => (p.startsWith(':') ? null : p)) };
}

/**
 * Matches like uWS does: per segment a literal beats a parameter, which beats a trailing
 * wildcard; among equals, the first registered wins.
 */
function matchRoute(r: Route, parts: string[]): Array<0 | 1 | 2> | undefined {
  const n = r.segments.length;
  if (r.wildcard ? parts.length <= n : parts.length !== n) return undefined;
  const rank: Array<0 | 1 | 2> = [];
  for (let i = 0; i < n; i++) {
    const s = r.segments[i];
    if (s === null) rank.push(1);
    else if (s === parts[i]) rank.push(0);
    else return undefined;
  }
  if (r.wildcard) rank.push(2);
  return rank;
}

function better(a: Array<0 | 1 | 2>, b: Array<0 | 1 | 2>): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! < b[i]!;
  return a.length > b.length;
}

export function createPipeline(d: PipelineDeps): Pipeline {
  const routes: Route[] = [];
  /** Histogram children per (route, method, status): prom-client hashes label objects per call. */
  const children = new Map<string, { observe(v: number): void }>();
  const observe = (route: string, method: string, status: number, secs: number) => {
    const key = `${route}\u0000${method}\u0000${status}`;
    let c = children.get(key);
    if (!c) children.set(key, (c = d.metrics.httpDuration.labels({ route, method, status: String(status) })));
    c.observe(secs);
  };

  /** Metrics, the one log line of a 5xx, and the correlation id header. */
  const settle = (x: Exchange, r: ApiResponse, err?: unknown): ApiResponse => {
    const { req } = x;
    if (r.status >= 500) {
      const fields = { route: x.route.label, method: req.method, path: req.path, status: r.status, correlationId: req.correlationId };
      if (err !== undefined) d.logger.error({ err, ...fields }, 'request failed');
      else d.logger.warn(fields, 'request answered with a server error');
    }
    observe(x.route.label, req.method, r.status, Number(process.hrtime.bigint() - x.started) / 1e9);
    // The handler's own header wins (a duplicate event answers with the original's id).
    return { status: r.status, headers: { 'x-correlation-id': req.correlationId, ...r.headers }, body: r.body };
  };
  const fail = (x: Exchange, err: unknown): ApiResponse => settle(x, problemResponse(err, x.req.path), err);

  const run = (x: Exchange, raw: Buffer | undefined): ApiResponse | Promise<ApiResponse> => {
    const r = x.req;
    try {
      if (raw !== undefined && raw.length > x.bodyLimit) throw new PayloadTooLargeError(x.bodyLimit);
      if (x.unauthorized) throw new UnauthorizedError();
      if (raw !== undefined && raw.length > 0) {
        if (!isJsonContentType(r.headers['content-type'])) throw new UnsupportedMediaTypeError(r.headers['content-type'] ?? '');
        r.rawBody = raw;
        try {
          r.body = JSON.parse(raw.toString('utf8'));
        } catch (err) {
          throw new MalformedJsonError((err as Error).message);
        }
      }
      const out = x.route.run(r);
      if (out instanceof Promise) return out.then((res) => settle(x, res), (err: unknown) => fail(x, err));
      return settle(x, out);
    } catch (err) {
      return fail(x, err);
    }
  };

  const begin = (route: Route, p: Omit<PlainRequest, 'body'>, params: Record<string, string>): Exchange => {
    const started = process.hrtime.bigint();
    const { headers, path } = p;
    const method = p.method as HttpMethod;
    const cid = headers['x-correlation-id'];
    const who = d.auth.authenticate(headers.authorization);
    const req: ApiRequest = {
      method,
      path,
      route: route.label,
      params,
      query: typeof p.query === 'object' ? p.query : parseQuery(p.query),
      headers,
      body: undefined,
      rawBody: EMPTY,
      principal: who.principal,
      correlationId: cid && CORRELATION_RE.test(cid) ? cid : randomUUID(),
    };
    const auth = route.opts.auth ?? (path.startsWith('/api/') ? 'api' : 'open');
    const unauthorized = (auth === 'api' || (auth === 'metrics' && d.metricsAuth)) && !who.ok;
    const expectsBody = method === 'POST' || method === 'PUT' || method === 'PATCH';
    return { route, req, started, unauthorized, expectsBody, bodyLimit: route.opts.maxBodyBytes ?? d.maxBodyBytes };
  };

  const notFound: Handler = (req) => {
    throw new NotFoundError(`no route for ${req.method} ${req.path}`);
  };
  const fallback = makeRoute('ANY', 'unmatched', [], { idempotent: false }, notFound);

  const match = (method: string, path: string) => {
    const parts = path.split('/').slice(1);
    let best: { route: Route; rank: Array<0 | 1 | 2> } | undefined;
    for (const r of routes) {
      if (r.method !== method) continue;
      const rank = matchRoute(r, parts);
      if (rank && (!best || better(rank, best.rank))) best = { route: r, rank };
    }
    if (!best) return undefined;
    const params: Record<string, string> = {};
    let i = 0;
    best.route.segments.forEach((s, k) => {
      if (s === null) params[best.route.names[i++]!] = decodeParam(parts[k]!);
    });
    return { route: best.route, params };
  };

  return {
    route(method, pattern, handler, opts = {}) {
      const { uws, names } = compilePattern(pattern);
      const idempotent = opts.idempotent ?? method === 'POST';
      const r = makeRoute(method, uws, names, opts, idempotent ? withIdempotency(handler, d.idempotency, d.logger) : handler);
      routes.push(r);
      return r;
    },
    match,
    fallback,
    begin,
    run,
    fail,
    async handle(p) {
      let x: Exchange;
      try {
        let { path, query } = p;
        const q = path.indexOf('?');
        if (q >= 0) {
          query ??= path.slice(q + 1);
          path = path.slice(0, q);
        }
        const method = p.method.toUpperCase();
        const headers: Record<string, string> = {};
        for (const k in p.headers) headers[k.toLowerCase()] = p.headers[k]!;
        const m = match(method, path) ?? { route: fallback, params: {} };
        x = begin(m.route, { method, path, query, headers }, m.params);
      } catch (err) {
        d.logger.error({ err }, 'request setup failed');
        return problemResponse(err);
      }
      return run(x, x.expectsBody ? (p.body ?? EMPTY) : undefined);
    },
  };
}
