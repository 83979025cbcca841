/**
 * POST /api/events request and response shapes (zod, strict): what an external system (a git
 * webhook relay, CI, a task-list editor) may send to wake or steer a project.
 */
import { z } from 'zod';
import { projectIdSchema } from '../../domain/envelope.ts';

export const EVENT_TYPE_RE = /^[a-z][a-z0-9_.-]{0,63}$/;

export const eventIngestSchema = z.strictObject({
  /** Client-chosen id for de-duplication: the same id again is answered with the original. */
  id: z.uuid().optional(),
  type: z.string().regex(EVENT_TYPE_RE, { error: 'must match ^[a-z][a-z0-9_.-]{0,63}$' }),
  projectId: projectIdSchema,
  payload: z.record(z.string(), z.unknown()).default({}),
});
export type EventIngest = z.infer<typeof eventIngestSchema>;

export const eventAcceptedSchema = z.object({
  id: z.string(),
  correlationId: z.string(),
  /** queued: on the queue; deferred: stored, dispatched once the queue is reachable again. */
  dispatch: z.enum(['queued', 'deferred']),
});
