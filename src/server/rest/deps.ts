/**
 * What REST handlers need, passed in explicitly so each handler is a plain function testable
 * without a socket; plus the one helper that turns zod failures into 400 problems.
 */
import type { z } from 'zod';
import type { Runtime } from '../../actors/runtime.ts';
import type { Metrics } from '../../infra/metrics.ts';
import type { RedisHandle } from '../../infra/redis.ts';
import { ValidationError } from '../http/errors.ts';

export interface RestDeps {
  runtime: Runtime;
  metrics: Metrics;
  redis: RedisHandle | undefined;
  /** Removes a deleted project's repo cache, artifacts and (via the caller's hook) its container. */
  purge(projectId: string): Promise<void>;
  /** How long STOP waits for cleanup before answering 202. */
  stopTimeoutMs: number;
  /** Artifact bytes returned at most; larger files are truncated (and say so in a header). */
  artifactMaxBytes: number;
  /** The OpenAPI document served at /api/openapi.json. */
  openapi(): unknown;
}

/** Parse or throw a 400 naming the first issue (`what` prefixes its path: body, params, query). */
export function parse<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw ValidationError.fromZod(r.error, what);
  return r.data;
}
