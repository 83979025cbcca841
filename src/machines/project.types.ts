/** Types of the project machine (the team's coordinator): context, input, events, emitted events, slots. */
import type { TaskCounts } from '../domain/status.ts';

export type StepName = 'syncingRepo' | 'provisioningSandbox' | 'checkingTools' | 'selecting' | 'integrating' | 'recording';

/** A task in flight, as the project knows it from its task actor (a lane of the team). */
export interface Lane {
  taskId: string;
  title: string;
  attempt: number;
  /** The task actor's state: preparing, waitingForSlot, executing, verifying, ready, halted, paused; `reworking` while the train's REWORK is on its way. */
  state: string;
  /** When the lane entered its state (ISO 8601). */
  since: string;
  error: string | null;
  /** A paused lane: the step it resumes (`executing`); null otherwise. Absent in snapshots from before it existed. */
  resumes?: string | null;
}

/** A command the project decided for a task actor; the host delivers it (and again after a restart) until the task shows it took it. */
export interface Outgoing {
  taskId: string;
  attempt: number;
  kind: 'REWORK' | 'MERGED' | 'SKIP';
  reason?: string;
  feedback?: string;
}

export interface ProjectContext {
  projectId: string;
  lanes: Lane[];
  /** Verified tasks waiting for the merge train, in the order they finished. */
  mergeQueue: string[];
  completedTaskIds: string[];
  skippedTaskIds: string[];
  blockedTaskIds: string[];
  taskCounts: TaskCounts;
  /** Commands for task actors not yet taken (see Outgoing). */
  outbox: Outgoing[];
  lastError: string | null;
  haltedFrom: StepName | null;
  /** Dotted leaf paths the project resumes to (set while paused). */
  pausedFrom: string | null;
  tools: Record<string, string> | null;
  templatePath: string | null;
  sandboxKind: 'docker' | 'local' | null;
}

export interface ProjectInput {
  projectId: string;
  skippedTaskIds?: string[];
  lastError?: string | null;
}

/** A task actor's committed state, as the host reports it to the project (idempotent). */
export interface LaneEvent {
  type: 'LANE';
  taskId: string;
  title: string;
  attempt: number;
  /** The task actor's leaf state (`active.executing` → `executing`), or a final state: done, skipped, stopped. */
  state: string;
  error: string | null;
  at: string;
  /** A paused task: the step it resumes (`executing`). */
  resumes?: string | null;
}

export type ProjectEvent =
  | { type: 'PAUSE' }
  | { type: 'RESUME' }
  | { type: 'STOP' }
  | { type: 'RETRY' }
  | { type: 'SKIP' }
  | { type: 'REPO_UPDATED' }
  | { type: 'TASKS_CHANGED' }
  | LaneEvent
  /** A lane ended or a task merged: room for the dispatcher to start more. */
  | { type: 'LANE_FREED' };

/** What the project tells the host (XState `emit`; received with `actor.on`). */
export type ProjectEmitted =
  | { type: 'lane.start'; taskId: string; title: string; attempt: number }
  | { type: 'task.merged'; taskId: string; attempt: number }
  | { type: 'task.rework'; taskId: string; attempt: number; reason: string }
  | { type: 'task.skipped'; taskId: string };

export interface StepInput {
  projectId: string;
}
export interface SelectInput extends StepInput {
  /** Tasks in flight (lanes, including halted ones, and the queue). */
  inFlight: string[];
  skippedTaskIds: string[];
}
/** The merge train's step input: the task at the head of the queue. */
export interface MergeInput extends StepInput {
  taskId: string;
  title: string;
  attempt: number;
}

export interface SyncOutput {
  headOid: string;
}
export interface ProvisionOutput {
  kind: 'docker' | 'local';
}
export interface ToolsOutput {
  tools: Record<string, string>;
}
interface Progress {
  completedTaskIds: string[];
  blockedTaskIds: string[];
  counts: TaskCounts;
}
export interface Selection extends Progress {
  kind: 'tasks';
  /** Tasks to start now (possibly none), each with its next attempt number. */
  start: Array<{ id: string; title: string; attempt: number }>;
  /** When the selection was made (ISO 8601): the new lanes' `since`. */
  at: string;
}
export interface NoTaskList {
  kind: 'noTaskList';
  templatePath: string;
}
export type SelectOutput = Selection | NoTaskList;

export type IntegrateOutput =
  | { kind: 'merged'; targetOid: string; alreadyIntegrated: boolean }
  /** Not mergeable as it is (a conflict with the new target head, or the merged tree fails verify): the task runs again with this feedback. */
  | { kind: 'rework'; reason: string; feedback: string };
export interface RecordOutput {
  pushed: boolean;
}
