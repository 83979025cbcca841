/**
 * The /ws/devteam wire contract: the envelopes the server sends and the messages a client may
 * send. Every frame is one UTF-8 JSON object. The server builds envelopes itself (and
 * serializes each once for all subscribers); these schemas are the documented contract that
 * clients and tests validate against, and the client-message schemas guard the inbound side.
 */
import * as z from 'zod'; // the namespace form lets the dashboard bundle drop the parts of zod it does not use
import { statusSchema } from './status.ts';

/** Same rule as the REST API's projectId. */
export const projectIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/);

/** ISO-8601 UTC with milliseconds, e.g. `2026-11-24T05:07:00.123Z`. */
const ts = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
const seq = z.number().int().min(0);
/** Present (true) only on an envelope whose payload was cut to fit the outbound limit. */
const truncated = z.literal(true).optional();

/**
 * A committed transition of one actor of the project: the project's (its active leaves, comma-
 * separated when it runs several regions) or a task's (`taskId` set; `to` is the task's leaf).
 */
export const transitionPayloadSchema = z.object({ from: z.string().nullable(), to: z.string(), event: z.string(), taskId: z.string().optional(), truncated });
export const logPayloadSchema = z.object({
  stream: z.enum(['stdout', 'stderr', 'runner']),
  line: z.string(),
  taskId: z.string().nullable(),
  attempt: z.number().int().nullable(),
  n: z.number().int().min(1),
  truncated,
});
export const taskPayloadSchema = z.object({
  taskId: z.string(),
  event: z.enum(['started', 'completed', 'skipped', 'failed']),
  attempt: z.number().int(),
  n: z.number().int().min(1),
  truncated,
});
export const errorPayloadSchema = z.object({ message: z.string(), code: z.string(), n: z.number().int().min(0), truncated });

const base = { ts, projectId: projectIdSchema, seq };

export const snapshotEnvelopeSchema = z.object({ type: z.literal('snapshot'), ...base, payload: statusSchema.extend({ truncated }) });
/** The project's status after the transition with the same seq (what clients show; computed once on the server). */
export const statusEnvelopeSchema = z.object({ type: z.literal('status'), ...base, payload: statusSchema.extend({ truncated }) });
export const transitionEnvelopeSchema = z.object({ type: z.literal('transition'), ...base, payload: transitionPayloadSchema });
export const logEnvelopeSchema = z.object({ type: z.literal('log'), ...base, payload: logPayloadSchema });
export const taskEnvelopeSchema = z.object({ type: z.literal('task'), ...base, payload: taskPayloadSchema });
/**
 * A project error (seq/n as for logs), or — without projectId — a protocol error answering a
 * bad client message (code `invalid_message`).
 */
export const errorEnvelopeSchema = z.object({
  type: z.literal('error'),
  ts,
  projectId: projectIdSchema.optional(),
  seq: seq.optional(),
  payload: errorPayloadSchema,
});
/** Periodic keep-alive, and the answer to a client `ping`. Carries no projectId. */
export const heartbeatEnvelopeSchema = z.object({ type: z.literal('heartbeat'), ts });

export const envelopeSchema = z.discriminatedUnion('type', [
  snapshotEnvelopeSchema,
  statusEnvelopeSchema,
  transitionEnvelopeSchema,
  logEnvelopeSchema,
  taskEnvelopeSchema,
  errorEnvelopeSchema,
  heartbeatEnvelopeSchema,
]);
export type Envelope = z.infer<typeof envelopeSchema>;
export type EnvelopeType = Envelope['type'];

/** At most this many projects in one subscribe/unsubscribe message. */
export const MAX_PROJECTS_PER_MESSAGE = 1000;

export const subscribeMessageSchema = z.strictObject({
  type: z.literal('subscribe'),
  projectIds: z.array(projectIdSchema).min(1).max(MAX_PROJECTS_PER_MESSAGE),
  /** The last seq the client has seen per project; absent → a fresh snapshot. */
  lastSeq: z.record(z.string(), seq).optional(),
});
export const unsubscribeMessageSchema = z.strictObject({
  type: z.literal('unsubscribe'),
  projectIds: z.array(projectIdSchema).min(1).max(MAX_PROJECTS_PER_MESSAGE),
});
export const pingMessageSchema = z.strictObject({ type: z.literal('ping') });

export const clientMessageSchema = z.discriminatedUnion('type', [subscribeMessageSchema, unsubscribeMessageSchema, pingMessageSchema]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;
