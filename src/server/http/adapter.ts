/**
 * The thin uWS adapter over the HTTP pipeline (pipeline.ts): it reads the uWS request into a
 * plain one, streams the body under the route's limit, hands both to the pipeline and writes the
 * ApiResponse. HTTP policy (auth, JSON, idempotency, errors, metrics, logging) is not here.
 * uWS rules kept here, once: onAborted before any await, the request object read synchronously
 * (it is stack-allocated), onData chunks copied, writes corked, and nothing thrown back into uWS.
 * A synchronous handler with no body is answered in the same tick.
 */
import type uWS from 'uWebSockets.js';
import type { Logger } from '../../infra/logger.ts';
import { readBody } from './body.ts';
import { problemResponse } from './errors.ts';
import { decodeParam, type Exchange, type Pipeline, type Route } from './pipeline.ts';
import { send, type ResState } from './respond.ts';
import type { HttpMethod, RouteFn } from './types.ts';

export interface AdapterDeps {
  app: uWS.TemplatedApp;
  pipeline: Pipeline;
  logger: Logger;
}

const UWS_METHOD: Record<HttpMethod, 'get' | 'post' | 'put' | 'patch' | 'del'> = { GET: 'get', POST: 'post', PUT: 'put', PATCH: 'patch', DELETE: 'del' };

export interface Router {
  /** Registers a route on the pipeline and on the uWS app. */
  route: RouteFn;
  /** Registers the catch-all (any method, any path) answering with the pipeline's fallback. Call last. */
  fallback(): void;
  /** Resolves when every request in progress has been answered (graceful close). */
  drain(): Promise<void>;
}

export function createRouter(d: AdapterDeps): Router {
  const { pipeline } = d;
  const inflight = new Set<Promise<void>>();
  const track = (p: Promise<void>) => {
    const t = p.catch((err) => d.logger.error({ err }, 'response write failed'));
    inflight.add(t);
    void t.finally(() => inflight.delete(t));
  };

  const serve = (res: uWS.HttpResponse, uReq: uWS.HttpRequest, route: Route) => {
    const st: ResState = { aborted: false, done: false };
    res.onAborted(() => {
      st.aborted = true;
      st.onAbort?.();
    });
    let x: Exchange;
    let body: Promise<Buffer> | undefined;
    try {
      const headers: Record<string, string> = {};
      uReq.forEach((k, v) => {
        headers[k] = v;
      });
      const params: Record<string, string> = {};
      route.names.forEach((n, i) => (params[n] = decodeParam(uReq.getParameter(i) ?? '')));
      x = pipeline.begin(route, { method: uReq.getMethod().toUpperCase(), path: uReq.getUrl(), query: uReq.getQuery(), headers }, params);
      if (x.expectsBody) {
        const len = headers['content-length'] !== undefined ? Number(headers['content-length']) : undefined;
        // Attached synchronously: uWS requires onData before the handler returns.
        body = readBody(res, st, x.bodyLimit, Number.isFinite(len) ? len : undefined);
      }
    } catch (err) {
      d.logger.error({ err }, 'request setup failed');
      send(res, st, problemResponse(err), {}, true);
      return;
    }
    if (!body) {
      const out = pipeline.run(x, undefined);
      if (out instanceof Promise) track(out.then((r) => void send(res, st, r)));
      else send(res, st, out);
      return;
    }
    const ex = x;
    track(
      body.then(
        async (raw) => void send(res, st, await pipeline.run(ex, raw)),
        (err: unknown) => {
          // Aborted by the client: nobody to answer.
          if (st.aborted) return;
          // Too large: answer now and close, so the unread rest is never parsed as a request.
          send(res, st, pipeline.fail(ex, err), {}, true);
        },
      ),
    );
  };

  return {
    route(method, pattern, handler, opts) {
      const r = pipeline.route(method, pattern, handler, opts);
      d.app[UWS_METHOD[method]](r.label, (res, req) => serve(res, req, r));
    },
    fallback() {
      d.app.any('/*', (res, req) => serve(res, req, pipeline.fallback));
    },
    async drain() {
      while (inflight.size) await Promise.allSettled([...inflight]);
    },
  };
}
