/**
 * zod schemas of the REST API that are not domain shapes: path/query parameters and response
 * envelopes. Handlers validate with them and the OpenAPI document is generated from them, so
 * the contract and the code share one definition.
 */
import { z } from 'zod';
import { PROJECT_ID_RE } from '../../domain/projectConfig.ts';
import { statusSchema } from '../../domain/status.ts';

export const projectIdParams = z.object({
  projectId: z.string().regex(PROJECT_ID_RE, { error: 'must match ^[a-z0-9][a-z0-9-]{0,62}$' }),
});

/**
 * Optional body of the control commands. `taskId` names the halted task a RETRY / SKIP is for;
 * it is required when several tasks are halted at once (team mode) and refused on the other commands.
 */
export const commandBodySchema = z
  .strictObject({
    taskId: z
      .string()
      .regex(/^(?:[A-Za-z][A-Za-z0-9]*-)?\d+(?:\.\d+)*$/, 'a task id such as 1.2 or T-3')
      .optional()
      .meta({ description: 'The halted task a RETRY / SKIP is for (required when several are halted)' }),
  })
  .meta({ description: 'Optional command options' });

export const ARTIFACT_NAME_RE = /^(?!\.{1,2}$)[A-Za-z0-9._-]{1,128}$/;

export const artifactParams = projectIdParams.extend({
  runId: z.string().regex(/^[1-9][0-9]{0,17}$/, { error: 'must be a task run id (a positive integer)' }),
  name: z.string().regex(ARTIFACT_NAME_RE, { error: 'must be an artifact file name (letters, digits, . _ -)' }),
});

export const listQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, { error: 'must be a cursor returned by a previous page' }).optional(),
});

export const projectListSchema = z
  .object({
    items: z.array(statusSchema),
    /** Pass as `cursor` to get the next page; null on the last page. */
    nextCursor: z.string().nullable(),
  })
  .meta({ description: 'One page of project statuses, ordered by projectId' });

export const taskRunSchema = z
  .object({
    id: z.string(),
    taskId: z.string(),
    attempt: z.number().int(),
    state: z.string(),
    startedAt: z.string(),
    finishedAt: z.string().nullable(),
    promptSha256: z.string().nullable(),
    verify: z.record(z.string(), z.unknown()).nullable(),
    agent: z.record(z.string(), z.unknown()).nullable(),
    artifacts: z.array(z.string()),
    outcome: z.string().nullable(),
  })
  .meta({ description: 'One attempt of one task' });
export type TaskRun = z.infer<typeof taskRunSchema>;

export const taskRunListSchema = z.object({ items: z.array(taskRunSchema) });

export const healthSchema = z.object({ ok: z.literal(true) });

export const readySchema = z.object({
  ok: z.boolean(),
  checks: z.object({ database: z.enum(['ok', 'failed']), redis: z.enum(['ok', 'failed', 'not_configured']) }),
});
