/**
 * What a transition changes in task_run (one row per task attempt) and which task events it
 * emits — derived purely from the previous and next machine context, so the host writes them in
 * the same transaction as the snapshot and publishes them only after commit.
 */
import type { ProjectContext } from '../machines/project.machine.ts';
import type { TaskRunRow } from './writer.ts';

export type TaskEvent = { taskId: string; event: 'started' | 'completed' | 'skipped' | 'failed'; attempt: number };

const same = (a: { id?: string; taskId?: string; attempt: number } | null, id: string, attempt: number) =>
  !!a && (a.id ?? a.taskId) === id && a.attempt === attempt;

export function deriveTaskRuns(
  prev: ProjectContext | null,
  prevState: string | null,
  next: ProjectContext,
  state: string,
): { rows: TaskRunRow[]; events: TaskEvent[] } {
  const rows: TaskRunRow[] = [];
  const events: TaskEvent[] = [];
  const p = prev?.currentTask ?? null;
  const n = next.currentTask;

  if (p && (!n || n.id !== p.id || n.attempt !== p.attempt)) {
    // The previous attempt is over: completed, skipped, or failed (a retry or RETRY started another).
    let outcome: 'completed' | 'skipped' | 'failed' = 'failed';
    let run = prev!.run;
    if (same(next.lastCompleted, p.id, p.attempt)) outcome = 'completed';
    else if (same(next.lastSkipped, p.id, p.attempt)) outcome = 'skipped';
    else if (same(next.lastFailedRun, p.id, p.attempt)) run = next.lastFailedRun!.run;
    rows.push(row(p.id, p.attempt, outcome === 'completed' ? 'done' : outcome, run, outcome, true));
    // A halted attempt already reported 'failed' when it halted.
    if (!(outcome === 'failed' && prevState === 'halted')) events.push({ taskId: p.id, event: outcome, attempt: p.attempt });
  }
  if (n) {
    const halted = state === 'halted';
    const cancelled = state === 'stopped';
    rows.push(row(n.id, n.attempt, state, next.run, halted ? 'failed' : cancelled ? 'cancelled' : null, halted || cancelled));
    if (!p || p.id !== n.id || p.attempt !== n.attempt) events.push({ taskId: n.id, event: 'started', attempt: n.attempt });
    if (halted && prevState !== 'halted') events.push({ taskId: n.id, event: 'failed', attempt: n.attempt });
  }
  return { rows, events };
}

function row(taskId: string, attempt: number, state: string, run: ProjectContext['run'], outcome: string | null, finished: boolean): TaskRunRow {
  return {
    taskId,
    attempt,
    state,
    promptSha256: run.promptSha256,
    branch: run.branch,
    verify: run.verify,
    agent: run.agent,
    artifacts: run.artifacts,
    outcome,
    finished,
  };
}
