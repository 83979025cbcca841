/** Types of the project machine: context, input, events and each actor slot's input/output. */
import type { TaskCounts } from '../domain/status.ts';

export type StepName =
  | 'syncingRepo'
  | 'provisioningSandbox'
  | 'checkingTools'
  | 'selecting'
  | 'preparing'
  | 'waitingForSlot'
  | 'executing'
  | 'verifying'
  | 'integrating'
  | 'recording';

export interface CurrentTask {
  id: string;
  title: string;
  attempt: number;
}

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
}

export interface RunInfo {
  promptSha256: string | null;
  branch: string | null;
  agent: AgentInfo | null;
  verify: VerifyInfo | null;
  /** Artifact names written for this attempt (prompt, agent log, diff, verify log). */
  artifacts: string[];
}

/** A finished attempt of the current task, kept so the host can record it after the next one starts. */
export interface FinishedAttempt {
  taskId: string;
  attempt: number;
  run: RunInfo;
}

export interface ProjectContext {
  projectId: string;
  currentTask: CurrentTask | null;
  /** First attempt number of the current budget (1 + 2 retries). */
  budgetStart: number;
  /** Failure output fed back into the next attempt's prompt. */
  feedback: string | null;
  completedTaskIds: string[];
  skippedTaskIds: string[];
  blockedTaskIds: string[];
  taskCounts: TaskCounts;
  lastError: string | null;
  haltedFrom: StepName | null;
  /** Dotted leaf path the project will resume to (set while paused). */
  pausedFrom: string | null;
  tools: Record<string, string> | null;
  templatePath: string | null;
  sandboxKind: 'docker' | 'local' | null;
  run: RunInfo;
  lastCompleted: CurrentTask | null;
  lastSkipped: CurrentTask | null;
  lastFailedRun: FinishedAttempt | null;
}

export interface ProjectInput {
  projectId: string;
  skippedTaskIds?: string[];
  lastError?: string | null;
}

export type ProjectEvent =
  | { type: 'PAUSE' }
  | { type: 'RESUME' }
  | { type: 'STOP' }
  | { type: 'RETRY' }
  | { type: 'SKIP' }
  | { type: 'REPO_UPDATED' }
  | { type: 'TASKS_CHANGED' };

export interface StepInput {
  projectId: string;
}
export interface SelectInput extends StepInput {
  skippedTaskIds: string[];
}
export interface TaskStepInput extends StepInput {
  taskId: string;
  title: string;
  attempt: number;
  feedback: string | null;
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
export interface SelectedTask extends Progress {
  kind: 'task';
  task: { id: string; title: string; nextAttempt?: number };
}
export interface NothingSelected extends Progress {
  kind: 'none';
}
export interface NoTaskList {
  kind: 'noTaskList';
  templatePath: string;
}
export type SelectOutput = SelectedTask | NothingSelected | NoTaskList;

export interface PrepareOutput {
  promptSha256: string;
  branch: string;
  artifacts?: string[];
}
export type AgentOutput =
  | { ok: true; agent: AgentInfo; promptSha256?: string; artifacts?: string[] }
  | {
      ok: false;
      agent: AgentInfo;
      promptSha256?: string;
      artifacts?: string[];
      error: string;
      feedback: string;
      /** Retrying cannot help until a person acts (bad API key, quota, unknown model): halt now, spend no attempts. */
      permanent?: boolean;
    };
export type VerifyOutput =
  | { ok: true; verify: VerifyInfo; artifacts?: string[] }
  | { ok: false; verify: VerifyInfo; artifacts?: string[]; error: string; feedback: string };
export interface IntegrateOutput {
  targetOid: string;
  alreadyIntegrated: boolean;
}
export interface RecordOutput {
  pushed: boolean;
}
