/**
 * The status projection: the one shape REST, the WebSocket stream and the UI show for a project.
 */
import * as z from 'zod'; // the namespace form lets the dashboard bundle drop the parts of zod it does not use

export const PROJECT_STATES = [
  'initializing',
  'selecting',
  'preparing',
  'waitingForSlot',
  'executing',
  'verifying',
  'integrating',
  'recording',
  'idle',
  'awaitingTaskList',
  'paused',
  'halted',
  'stopping',
  'stopped',
] as const;
export type ProjectState = (typeof PROJECT_STATES)[number];

export const COMMANDS = ['PAUSE', 'RESUME', 'STOP', 'RETRY', 'SKIP'] as const;
export type Command = (typeof COMMANDS)[number];

export const taskCountsSchema = z.object({
  total: z.number().int().min(0),
  done: z.number().int().min(0),
  skipped: z.number().int().min(0),
  remaining: z.number().int().min(0),
});
export type TaskCounts = z.infer<typeof taskCountsSchema>;

/** A task in flight (a lane of the team), as the status shows it. */
export const laneSchema = z.object({
  taskId: z.string(),
  title: z.string(),
  /** The task's state: preparing, waitingForSlot, executing, verifying, ready (waiting for the merge train), reworking, halted, paused. */
  state: z.string(),
  attempt: z.number().int().min(1),
  /** When the lane entered its state (ISO 8601). */
  since: z.string(),
  error: z.string().nullable(),
  /** A paused lane: the step it resumes (e.g. `executing`). */
  resumes: z.string().nullable().optional(),
});
export type LaneStatus = z.infer<typeof laneSchema>;

export const statusSchema = z.object({
  projectId: z.string(),
  state: z.enum(PROJECT_STATES),
  /** Dotted path of the active leaf (e.g. `initializing.syncingRepo`; for paused, the step it will resume). */
  substate: z.string().nullable(),
  /** The oldest lane (or the task being merged): what a one-lane client shows. */
  currentTask: z.object({ id: z.string(), title: z.string(), attempt: z.number().int().min(1) }).nullable(),
  /** Tasks in flight, oldest first (one with parallelism 1). */
  lanes: z.array(laneSchema),
  /** Verified tasks waiting for the merge train, in merge order (the first is being merged when the state is integrating/recording). */
  mergeQueue: z.array(z.string()),
  completedTaskIds: z.array(z.string()),
  skippedTaskIds: z.array(z.string()),
  blockedTaskIds: z.array(z.string()),
  taskCounts: taskCountsSchema,
  lastError: z.string().nullable(),
  tools: z.record(z.string(), z.string()).nullable(),
  templatePath: z.string().nullable(),
  acceptedCommands: z.array(z.enum(COMMANDS)),
  seq: z.number().int().min(0),
  updatedAt: z.string(),
});
export type ProjectStatus = z.infer<typeof statusSchema>;

export const EMPTY_COUNTS: TaskCounts = { total: 0, done: 0, skipped: 0, remaining: 0 };
