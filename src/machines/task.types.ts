/** Types of the task machine: context, input, events, emitted events and each actor slot's input/output. */

export type TaskStepName = 'preparing' | 'waitingForSlot' | 'executing' | 'verifying' | 'merging';

export interface VerifyInfo {
  ok: boolean;
  exitCode: number | null;
  durationMs: number;
  /** Tail of the output (capped). */
  outputTail: string;
  timedOut: boolean;
}

export interface AgentInfo {
  kind: string;
  exitCode: number | null;
  durationMs: number;
  diffstat: string;
  /** Paths the attempt changed (repository-relative): what the task really touches. */
  changedFiles?: string[];
}

/** Tokens and cost an agent reported for one attempt (null cost: the agent reported no price). */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  costUsd: number | null;
}

export interface RunInfo {
  promptSha256: string | null;
  branch: string | null;
  agent: AgentInfo | null;
  verify: VerifyInfo | null;
  /** Artifact names written for this attempt (prompt, agent log, diff, verify log). */
  artifacts: string[];
  usage: Usage | null;
}

export interface TaskContext {
  projectId: string;
  taskId: string;
  title: string;
  attempt: number;
  /** First attempt number of the current budget (1 + 2 retries). */
  budgetStart: number;
  /** Failure output (or review / merge conflict) fed back into the next attempt's prompt. */
  feedback: string | null;
  run: RunInfo;
  lastError: string | null;
  haltedFrom: TaskStepName | null;
  /** Dotted leaf path the task resumes to (set while paused). */
  pausedFrom: string | null;
}

export interface TaskInput {
  projectId: string;
  taskId: string;
  title: string;
  /** The attempt number to start with (attempt numbers of a task never repeat). */
  attempt: number;
  feedback?: string | null;
}

export type TaskEvent =
  | { type: 'PAUSE' }
  | { type: 'RESUME' }
  | { type: 'STOP' }
  | { type: 'RETRY' }
  | { type: 'SKIP' }
  /** The merge train integrated and pushed this task. */
  | { type: 'MERGED' }
  /** The merge train could not take it (conflict, the merged build broke): run again on the new head. */
  | { type: 'REWORK'; reason: string; feedback: string };

/** What the task tells the host (XState `emit`; received with `actor.on`). */
export type TaskEmitted =
  | { type: 'task.attemptStarted'; attempt: number }
  | { type: 'task.attemptEnded'; attempt: number; outcome: 'completed' | 'failed' | 'skipped' | 'cancelled'; run: RunInfo; error: string | null }
  | { type: 'task.ready'; attempt: number }
  | { type: 'task.halted'; attempt: number; error: string };

export interface TaskStepInput {
  projectId: string;
  taskId: string;
  title: string;
  attempt: number;
  feedback: string | null;
}

export interface PrepareOutput {
  promptSha256: string;
  branch: string;
  artifacts?: string[];
}
export type AgentOutput =
  | { ok: true; agent: AgentInfo; promptSha256?: string; artifacts?: string[]; usage?: Usage }
  | {
      ok: false;
      agent: AgentInfo;
      promptSha256?: string;
      artifacts?: string[];
      usage?: Usage;
      error: string;
      feedback: string;
      /** Retrying cannot help until a person acts (bad API key, quota, unknown model): halt now, spend no attempts. */
      permanent?: boolean;
    };
export type VerifyOutput =
  | { ok: true; verify: VerifyInfo; artifacts?: string[] }
  | { ok: false; verify: VerifyInfo; artifacts?: string[]; error: string; feedback: string };
