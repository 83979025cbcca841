/**
 * The thin uWS adapter: turns a uWS request into an ApiRequest, runs the shared pipeline
 * (auth → body limit → content-type → JSON → idempotency → handler) and writes the ApiResponse.
 * uWS rules kept here, once: onAborted before any await, the request object read synchronously
 * (it is stack-allocated), onData chunks copied, writes corked, and nothing thrown back into uWS.
 */
import { randomUUID } from 'node:crypto';
import type uWS from 'uWebSockets.js';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import { withIdempotency } from '../idempotency/middleware.ts';
import type { IdempotencyStore } from '../idempotency/store.ts';
import type { Auth } from './auth.ts';
import { isJsonContentType, readBody } from './body.ts';
import { MalformedJsonError, problemResponse, UnauthorizedError, UnsupportedMediaTypeError } from './errors.ts';
import { send, type ResState } from './respond.ts';
import type { ApiRequest, ApiResponse, Handler, HttpMethod, RouteFn, RouteOptions } from './types.ts';

export interface AdapterDeps {
  app: uWS.TemplatedApp;
  auth: Auth;
  metricsAuth: boolean;
  maxBodyBytes: number;
  metrics: Metrics;
  logger: Logger;
  idempotency: IdempotencyStore;
}

const CORRELATION_RE = /^[A-Za-z0-9._:@-]{1,128}$/;
const UWS_METHOD: Record<HttpMethod, 'get' | 'post' | 'put' | 'patch' | 'del'> = { GET: 'get', POST: 'post', PUT: 'put', PATCH: 'patch', DELETE: 'del' };

/** `/a/{id}/b` or `/a/:id/b` → uWS pattern `/a/:id/b` and parameter names in order. */
export function compilePattern(pattern: string): { uws: string; names: string[] } {
  const names: string[] = [];
  const uws = pattern.replace(/\{([A-Za-z0-9_]+)\}|:([A-Za-z0-9_]+)/g, (_m, a: string | undefined, b: string | undefined) => {
    names.push((a ?? b)!);
    return `:${a ?? b}`;
  });
  return { uws, names };
}

function parseQuery(q: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!q) return out;
  for (const [k, v] of new URLSearchParams(q)) if (!(k in out)) out[k] = v;
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export interface Router {
  route: RouteFn;
  /** Run the pipeline for a request on a uWS route registered by other means (catch-all, wildcard). */
  handle(res: uWS.HttpResponse, req: uWS.HttpRequest, route: string, handler: Handler, opts: RouteOptions, names?: string[]): void;
  /** Resolves when every request in progress has been answered (graceful close). */
  drain(): Promise<void>;
}

export function createRouter(d: AdapterDeps): Router {
  const inflight = new Set<Promise<void>>();
  /** Histogram children per (route, method, status): prom-client hashes label objects per call. */
  const children = new Map<string, { observe(v: number): void }>();
  const observe = (route: string, method: string, status: number, secs: number) => {
    const key = `${route}\u0000${method}\u0000${status}`;
    let c = children.get(key);
    if (!c) children.set(key, (c = d.metrics.httpDuration.labels({ route, method, status: String(status) })));
    c.observe(secs);
  };
  const handle = (res: uWS.HttpResponse, uReq: uWS.HttpRequest, routeLabel: string, handler: Handler, opts: RouteOptions, names: string[] = []) => {
    const st: ResState = { aborted: false, done: false };
    res.onAborted(() => {
      st.aborted = true;
    });
    const started = process.hrtime.bigint();
    let req: ApiRequest | undefined;
    let bodyPromise: Promise<Buffer> | undefined;
    let unauthorized = false;
    const finish = (r: ApiResponse, close = false) => {
      const correlationId = req?.correlationId;
      send(res, st, r, correlationId ? { 'x-correlation-id': correlationId } : {}, close);
      const secs = Number(process.hrtime.bigint() - started) / 1e9;
      observe(routeLabel, req?.method ?? 'UNKNOWN', r.status, secs);
    };
    try {
      const headers: Record<string, string> = {};
      uReq.forEach((k, v) => {
        headers[k] = v;
      });
      const method = uReq.getMethod().toUpperCase() as HttpMethod;
      const path = uReq.getUrl();
      const params: Record<string, string> = {};
      names.forEach((n, i) => (params[n] = decode(uReq.getParameter(i) ?? '')));
      const cid = headers['x-correlation-id'];
      req = {
        method,
        path,
        route: routeLabel,
        params,
        query: parseQuery(uReq.getQuery()),
        headers,
        body: undefined,
        rawBody: Buffer.alloc(0),
        principal: 'anonymous',
        correlationId: cid && CORRELATION_RE.test(cid) ? cid : randomUUID(),
      };
      const auth = opts.auth ?? (path.startsWith('/api/') ? 'api' : 'open');
      const who = d.auth.authenticate(headers.authorization);
      req.principal = who.principal;
      unauthorized = (auth === 'api' || (auth === 'metrics' && d.metricsAuth)) && !who.ok;
      if (method === 'POST' || method === 'PUT' || method === 'PATCH') {
        const len = headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
        // Attached synchronously: uWS requires onData before the handler returns.
        bodyPromise = readBody(res, st, opts.maxBodyBytes ?? d.maxBodyBytes, Number.isFinite(len) ? len : undefined);
      }
    } catch (err) {
      d.logger.error({ err }, 'request setup failed');
      finish(problemResponse(err), true);
      return;
    }
    const r = req;
    const run = (opts.idempotent ?? r.method === 'POST') ? withIdempotency(handler, d.idempotency, d.logger) : handler;
    let pending: Promise<ApiResponse> | undefined;
    if (!bodyPromise) {
      // No body to wait for: answer in this tick when the handler is synchronous.
      let out: ApiResponse | Promise<ApiResponse>;
      try {
        if (unauthorized) throw new UnauthorizedError();
        out = run(r);
      } catch (err) {
        finish(problemResponse(err, r.path));
        return;
      }
      if (!(out instanceof Promise)) {
        finish(out);
        return;
      }
      pending = out;
    }
    const p = (async () => {
      try {
        if (bodyPromise) {
          let raw: Buffer;
          try {
            raw = await bodyPromise;
          } catch (err) {
            // Too large: answer now and close, so the unread rest is never parsed as a request.
            finish(problemResponse(err, r.path), true);
            return;
          }
          // The body is drained (bounded) even when unauthorized, so the connection stays usable.
          if (unauthorized) throw new UnauthorizedError();
          if (raw.length > 0) {
            if (!isJsonContentType(r.headers['content-type'])) throw new UnsupportedMediaTypeError(r.headers['content-type'] ?? '');
            r.rawBody = raw;
            try {
              r.body = JSON.parse(raw.toString('utf8'));
            } catch (err) {
              throw new MalformedJsonError((err as Error).message);
            }
          }
        }
        if (unauthorized) throw new UnauthorizedError();
        finish(await (pending ?? run(r)));
      } catch (err) {
        const problem = problemResponse(err, r.path);
        if (problem.status >= 500) d.logger.error({ err, route: routeLabel, correlationId: r.correlationId }, 'request failed');
        finish(problem);
      }
    })().catch((err) => d.logger.error({ err }, 'response write failed'));
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };

  const route: RouteFn = (method, pattern, handler, opts = {}) => {
    const { uws, names } = compilePattern(pattern);
    d.app[UWS_METHOD[method]](uws, (res, req) => handle(res, req, uws, handler, opts, names));
  };
  const drain = async () => {
    while (inflight.size) await Promise.allSettled([...inflight]);
  };
  return { route, handle, drain };
}
