/**
 * The REST route table: method, path, auth and the zod schemas of each operation. The server
 * registers handlers from it and the OpenAPI document is generated from it, so a route cannot
 * exist in one without the other.
 */
import type { z } from 'zod';
import { projectConfigSchema } from '../../domain/projectConfig.ts';
import { statusSchema } from '../../domain/status.ts';
import { eventAcceptedSchema, eventIngestSchema } from '../events/schema.ts';
import { artifactParams, commandBodySchema, healthSchema, listQuery, projectIdParams, projectListSchema, readySchema, taskRunListSchema } from './schemas.ts';

export const API_PREFIX = '/api/devteam/automation';

export interface ResponseDoc {
  description: string;
  /** Named component schema (see openapi.ts COMPONENTS) or an inline schema. */
  schema?: string;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RouteDoc {
  operationId: string;
  method: 'GET' | 'POST' | 'DELETE';
  /** OpenAPI-style path with `{param}`. */
  path: string;
  summary: string;
  auth: 'api' | 'metrics' | 'open';
  params?: z.ZodObject;
  query?: z.ZodObject;
  /** Request body component name (JSON). */
  body?: string;
  /** False when the body may be omitted (default true). */
  bodyRequired?: boolean;
  responses: Record<number, ResponseDoc>;
}

/** Components every document carries; RouteDoc refers to them by name. */
export const COMPONENTS: Record<string, { schema: z.ZodType; io: 'input' | 'output' }> = {
  ProjectConfig: { schema: projectConfigSchema, io: 'input' },
  ProjectStatus: { schema: statusSchema, io: 'output' },
  ProjectList: { schema: projectListSchema, io: 'output' },
  TaskRunList: { schema: taskRunListSchema, io: 'output' },
  Health: { schema: healthSchema, io: 'output' },
  Ready: { schema: readySchema, io: 'output' },
  EventIngest: { schema: eventIngestSchema, io: 'input' },
  EventAccepted: { schema: eventAcceptedSchema, io: 'output' },
  CommandBody: { schema: commandBodySchema, io: 'input' },
};

const P = (description: string): ResponseDoc => ({ description, schema: 'Problem', contentType: 'application/problem+json' });
const common = { 401: P('Missing or invalid bearer token') };
const postErrors = {
  400: P('Invalid body, parameters or Idempotency-Key'),
  409: P('Not accepted in the current state, or the same Idempotency-Key is in flight (Retry-After)'),
  413: P('Body over the limit'),
  415: P('Body is not application/json'),
  422: P('Idempotency-Key reused with a different request'),
};

const stopped202: Record<number, ResponseDoc> = {
  202: { description: 'STOP accepted but cleanup still running after the timeout; the current status', schema: 'ProjectStatus' },
};

const routed202: Record<number, ResponseDoc> = {
  202: { description: "Multi-node: the project's owner did not answer in time; the command stays queued for it. The current status", schema: 'ProjectStatus' },
};

const command = (name: string, verb: string): RouteDoc => ({
  operationId: `${name}Project`,
  method: 'POST',
  path: `${API_PREFIX}/${name}/{projectId}`,
  summary: `${verb} a project`,
  auth: 'api',
  params: projectIdParams,
  body: 'CommandBody',
  bodyRequired: false,
  responses: {
    200: { description: 'Applied (or a no-op); the resulting status', schema: 'ProjectStatus' },
    ...(name === 'stop' ? stopped202 : routed202),
    ...common,
    ...postErrors,
    ...(name === 'retry' || name === 'skip' ? { 400: P('Invalid body or parameters; or several tasks are halted and `taskId` names none of them (the problem lists them)') } : {}),
    404: P('Unknown project'),
  },
});

export const ROUTES: RouteDoc[] = [
  {
    operationId: 'initialize',
    method: 'POST',
    path: `${API_PREFIX}/initialize`,
    summary: 'Create a project, or replace its configuration',
    auth: 'api',
    body: 'ProjectConfig',
    responses: {
      201: { description: 'Created; its actor started', schema: 'ProjectStatus', headers: { 'devteam-initialize': 'created' } },
      200: { description: 'Same config (unchanged) or config replaced', schema: 'ProjectStatus', headers: { 'devteam-initialize': 'unchanged | replaced' } },
      ...common,
      ...postErrors,
    },
  },
  {
    operationId: 'getStatus',
    method: 'GET',
    path: `${API_PREFIX}/status/{projectId}`,
    summary: "A project's status projection",
    auth: 'api',
    params: projectIdParams,
    responses: { 200: { description: 'The status', schema: 'ProjectStatus' }, 400: P('Bad projectId'), ...common, 404: P('Unknown project') },
  },
  {
    operationId: 'listProjects',
    method: 'GET',
    path: `${API_PREFIX}/projects`,
    summary: 'All projects, paginated by projectId',
    auth: 'api',
    query: listQuery,
    responses: { 200: { description: 'A page', schema: 'ProjectList' }, 400: P('Bad limit or cursor'), ...common },
  },
  command('pause', 'Pause'),
  command('resume', 'Resume'),
  command('stop', 'Stop'),
  command('retry', 'Retry the failed step of a halted'),
  command('skip', 'Skip the current task of a halted'),
  {
    operationId: 'deleteProject',
    method: 'DELETE',
    path: `${API_PREFIX}/projects/{projectId}`,
    summary: 'Delete a stopped project (runs and events kept, marked deleted)',
    auth: 'api',
    params: projectIdParams,
    responses: { 204: { description: 'Deleted' }, 400: P('Bad projectId'), ...common, 404: P('Unknown project'), 409: P('Not stopped') },
  },
  {
    operationId: 'listRuns',
    method: 'GET',
    path: `${API_PREFIX}/projects/{projectId}/runs`,
    summary: 'Task runs of a project',
    auth: 'api',
    params: projectIdParams,
    responses: { 200: { description: 'Task runs, oldest first', schema: 'TaskRunList' }, 400: P('Bad projectId'), ...common, 404: P('Unknown project') },
  },
  {
    operationId: 'getArtifact',
    method: 'GET',
    path: `${API_PREFIX}/projects/{projectId}/runs/{runId}/artifacts/{name}`,
    summary: 'One artifact of a task run, as text (size-capped)',
    auth: 'api',
    params: artifactParams,
    responses: {
      200: { description: 'The artifact text; `devteam-artifact-truncated: true` when capped', contentType: 'text/plain', headers: { 'devteam-artifact-truncated': 'true | false', 'devteam-artifact-size': 'bytes on disk' } },
      400: P('Bad parameters'),
      ...common,
      404: P('Unknown project, run or artifact'),
    },
  },
  { operationId: 'getOpenApi', method: 'GET', path: '/api/openapi.json', summary: 'This document', auth: 'api', responses: { 200: { description: 'OpenAPI 3.1', contentType: 'application/json' }, ...common } },
  { operationId: 'healthz', method: 'GET', path: '/healthz', summary: 'Liveness', auth: 'open', responses: { 200: { description: 'Alive', schema: 'Health' } } },
  {
    operationId: 'readyz',
    method: 'GET',
    path: '/readyz',
    summary: 'Readiness: database and (when configured) Redis reachable',
    auth: 'open',
    responses: { 200: { description: 'Ready', schema: 'Ready' }, 503: { description: 'Not ready; `checks` names what failed', schema: 'Ready' } },
  },
  {
    operationId: 'metrics',
    method: 'GET',
    path: '/metrics',
    summary: 'Prometheus metrics',
    auth: 'metrics',
    responses: { 200: { description: 'Prometheus text format', contentType: 'text/plain' }, ...common },
  },
];

/** Routes that plug-ins of the standard server add (documented here so the contract covers them). */
export const PLUGIN_ROUTES: RouteDoc[] = [
  {
    operationId: 'ingestEvent',
    method: 'POST',
    path: '/api/events',
    summary: 'Ingest an event: stored with its outbox row, then dispatched to a worker with a correlationId',
    auth: 'api',
    body: 'EventIngest',
    responses: {
      202: {
        description: 'Stored; dispatch queued (or deferred while Redis is down). A duplicate id answers with the original.',
        schema: 'EventAccepted',
        headers: { 'x-correlation-id': 'echoed or generated' },
      },
      ...common,
      ...postErrors,
    },
  },
];
