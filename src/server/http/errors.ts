/**
 * The one place that maps errors to HTTP: every failure leaves the server as an
 * `application/problem+json` document (RFC 9457) built here, so routes and plug-ins throw
 * typed errors and never format error responses themselves.
 */
import { z } from 'zod';
import { HostGoneError, OwnerUnavailableError, ProjectConfigError, ProjectNotFoundError } from '../../actors/errors.ts';
import { TaskChoiceError } from '../../actors/errors.ts';
import { GitError } from '../../infra/git/index.ts';
import type { ApiResponse } from './types.ts';

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
const TYPE_BASE = 'https://devteam.dev/problems/';

/** An error with an HTTP status and a problem type slug; `extra` members go into the document. */
export class HttpError extends Error {
  override name = 'HttpError';
  constructor(
    readonly status: number,
    readonly slug: string,
    readonly title: string,
    detail: string,
    readonly extra: Record<string, unknown> = {},
    readonly headers: Record<string, string> = {},
    options?: ErrorOptions,
  ) {
    super(detail, options);
  }
}

export class ValidationError extends HttpError {
  constructor(detail: string, issues?: z.core.$ZodIssue[]) {
    super(400, 'validation', 'Invalid request', detail, issues ? { issues } : {});
  }
  /** From a failed zod parse: the detail names the first issue, `issues` carries all of them. */
  static fromZod(err: z.ZodError, what = 'body'): ValidationError {
    const first = err.issues[0];
    const where = first?.path.length ? `${what}.${first.path.join('.')}` : what;
    return new ValidationError(`${where}: ${first?.message ?? 'invalid'}`, err.issues);
  }
}

export class NotFoundError extends HttpError {
  constructor(detail: string) {
    super(404, 'not-found', 'Not found', detail);
  }
}

/** The command or operation is not allowed in the project's current state. */
export class ConflictError extends HttpError {
  constructor(detail: string, state: string, acceptedCommands: string[] = []) {
    super(409, 'state-conflict', 'Conflict with the project state', detail, { state, acceptedCommands });
  }
}

export class UnsupportedMediaTypeError extends HttpError {
  constructor(got: string) {
    super(415, 'unsupported-media-type', 'Unsupported media type', `request bodies must be application/json, got ${got || 'no content-type'}`);
  }
}

export class PayloadTooLargeError extends HttpError {
  constructor(limit: number) {
    super(413, 'payload-too-large', 'Payload too large', `request body exceeds the limit of ${limit} bytes`);
  }
}

export class UnauthorizedError extends HttpError {
  constructor() {
    super(401, 'unauthorized', 'Unauthorized', 'a valid bearer token is required', {}, { 'www-authenticate': 'Bearer' });
  }
}

export class MalformedJsonError extends HttpError {
  constructor(reason: string) {
    super(400, 'malformed-json', 'Malformed JSON', `request body is not valid JSON: ${reason}`);
  }
}

/** Idempotency-Key failures: malformed key (400), in flight (409), reused with another body (422). */
export class IdempotencyError extends HttpError {
  constructor(kind: 'malformed' | 'in-flight' | 'mismatch', detail: string) {
    const status = kind === 'malformed' ? 400 : kind === 'in-flight' ? 409 : 422;
    const title = kind === 'malformed' ? 'Malformed Idempotency-Key' : kind === 'in-flight' ? 'Request in flight' : 'Idempotency-Key reused';
    super(status, `idempotency-${kind}`, title, detail, {}, kind === 'in-flight' ? { 'retry-after': '1' } : {});
  }
}

export const problemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string().optional(),
    issues: z.array(z.object({ path: z.array(z.union([z.string(), z.number()])), message: z.string() }).loose()).optional(),
    state: z.string().optional(),
    acceptedCommands: z.array(z.string()).optional(),
  })
  .meta({ description: 'RFC 9457 problem details' });
export type Problem = z.infer<typeof problemSchema>;

/** Known error → HttpError; anything else → 500 (detail hidden: it may carry internals). */
export function toHttpError(err: unknown): HttpError {
  if (err instanceof HttpError) return err;
  if (err instanceof ProjectNotFoundError) return new NotFoundError(`project ${err.projectId} not found`);
  if (err instanceof z.ZodError) return ValidationError.fromZod(err);
  if (err instanceof ProjectConfigError) return new ValidationError(`body: ${err.message}`);
  if (err instanceof TaskChoiceError) return new HttpError(400, 'validation', 'Invalid request', `body.taskId: ${err.command} needs one of the halted tasks: ${err.choices.join(', ')}`, { choices: err.choices });
  if (err instanceof HostGoneError) return new HttpError(503, 'owner-unavailable', 'Owner unavailable', err.message, {}, { 'retry-after': '1' });
  if (err instanceof OwnerUnavailableError) return new HttpError(503, 'owner-unavailable', 'Owner unavailable', err.message, {}, { 'retry-after': '1' });
  if (err instanceof GitError && (err.code === 'invalid_url' || err.code === 'forbidden_host' || err.code === 'network')) {
    return new HttpError(400, `repo-url-${err.code.replace('_', '-')}`, 'Repository URL rejected', `repo.url: ${err.message}`);
  }
  return new HttpError(500, 'internal', 'Internal server error', 'the server failed to handle the request');
}

export function problemResponse(err: unknown, instance?: string): ApiResponse {
  const e = toHttpError(err);
  const body: Problem = { type: TYPE_BASE + e.slug, title: e.title, status: e.status, detail: e.message, ...(instance ? { instance } : {}), ...e.extra };
  return { status: e.status, headers: { 'content-type': PROBLEM_CONTENT_TYPE, ...e.headers }, body };
}
