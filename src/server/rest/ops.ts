/**
 * Operational routes: liveness (always 200 while the process serves), readiness (the database
 * answers `select 1`, Redis answers PING when configured), Prometheus metrics, the OpenAPI document.
 */
import type { ApiRequest, ApiResponse } from '../http/types.ts';
import type { RestDeps } from './deps.ts';

export async function healthz(): Promise<ApiResponse> {
  return { status: 200, body: { ok: true } };
}

/** Resolves to false after `ms` instead of hanging on an unreachable service. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([p.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

export async function readyz(_req: ApiRequest, d: RestDeps): Promise<ApiResponse> {
  const [database, redis] = await Promise.all([
    within(d.runtime.db.ping(), 2000),
    d.redis ? d.redis.ping(2000) : Promise.resolve(undefined),
  ]);
  const checks = { database: database ? 'ok' : 'failed', redis: redis === undefined ? 'not_configured' : redis ? 'ok' : 'failed' };
  const ok = database && redis !== false;
  return { status: ok ? 200 : 503, body: { ok, checks } };
}

export async function metrics(_req: ApiRequest, d: RestDeps): Promise<ApiResponse> {
  return { status: 200, headers: { 'content-type': d.metrics.contentType }, body: await d.metrics.text() };
}

export async function openapi(_req: ApiRequest, d: RestDeps): Promise<ApiResponse> {
  return { status: 200, body: d.openapi() };
}
