/**
 * task_run rows (one per task attempt) and task envelopes, built from what a task actor emitted
 * (`task.attemptStarted` / `task.attemptEnded` / `task.halted`) and its current run — written in
 * the same transaction as the snapshot, published only after commit.
 */
import type { RunInfo } from '../machines/task.machine.ts';
import type { TaskRunRow } from './writer.ts';

export type TaskEvent = { taskId: string; event: 'started' | 'completed' | 'skipped' | 'failed'; attempt: number };

/** One attempt's row: its state, what was recorded for it, and how it ended (when it did). */
export function taskRunRow(taskId: string, attempt: number, state: string, run: RunInfo, outcome: string | null, finished: boolean): TaskRunRow {
  return {
    taskId,
    attempt,
    state,
    promptSha256: run.promptSha256,
    branch: run.branch,
    verify: run.verify,
    agent: run.usage ? { ...run.agent, usage: run.usage } : run.agent,
    artifacts: run.artifacts,
    outcome,
    finished,
  };
}
