/**
 * Binds every operation of the route table (spec.ts) to its handler. Typed as a record over the
 * table's operation ids so a route without a handler (or the reverse) fails at start-up.
 */
import type { Handler } from '../http/types.ts';
import { commandHandler, getStatus, initialize, listProjects } from './automation.ts';
import type { RestDeps } from './deps.ts';
import { healthz, metrics, openapi, readyz } from './ops.ts';
import { deleteProject, getArtifact, listRuns } from './projects.ts';
import { ROUTES, type RouteDoc } from './spec.ts';

export function restHandlers(d: RestDeps): Record<string, Handler> {
  const bind = (fn: (req: Parameters<Handler>[0], d: RestDeps) => ReturnType<Handler>): Handler => (req) => fn(req, d);
  return {
    initialize: bind(initialize),
    getStatus: bind(getStatus),
    listProjects: bind(listProjects),
    pauseProject: bind(commandHandler('PAUSE')),
    resumeProject: bind(commandHandler('RESUME')),
    stopProject: bind(commandHandler('STOP')),
    retryProject: bind(commandHandler('RETRY')),
    skipProject: bind(commandHandler('SKIP')),
    deleteProject: bind(deleteProject),
    listRuns: bind(listRuns),
    getArtifact: bind(getArtifact),
    getOpenApi: bind(openapi),
    healthz: bind(healthz),
    readyz: bind(readyz),
    metrics: bind(metrics),
  };
}

/** Route table entries paired with their handlers; throws when one is missing. */
export function boundRoutes(d: RestDeps): Array<{ doc: RouteDoc; handler: Handler }> {
  const h = restHandlers(d);
  const missing = ROUTES.filter((r) => !h[r.operationId]).map((r) => r.operationId);
  if (missing.length) throw new Error(`REST routes without a handler: ${missing.join(', ')}`);
  return ROUTES.map((doc) => ({ doc, handler: h[doc.operationId]! }));
}

export type { RestDeps } from './deps.ts';
export { purgeProjectFiles } from './projects.ts';
