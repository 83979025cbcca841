/**
 * In-process steps for child-process tests: a fixed list of task ids, progress read back from
 * the project's committed task_run rows (so it survives kill -9), every other step immediate.
 * Callers override the steps they need to observe, block or fail.
 */
import { createHash } from 'node:crypto';
import type { ProjectSteps } from '../../src/actors/steps.ts';
import type { Database } from '../../src/infra/db/orm.ts';

/** A promise that only settles (rejects) when the step is cancelled. */
export const untilAborted = (signal: AbortSignal) =>
  new Promise<never>((_, rej) => signal.addEventListener('abort', () => rej(signal.reason), { once: true }));

export function dbBackedSteps(projectId: string, db: Database, tasks: string[], title = (id: string) => `Task ${id}`): ProjectSteps {
  return {
    syncRepo: async () => ({ headOid: 'head' }),
    provisionSandbox: async () => ({ kind: 'local' }),
    checkTools: async () => ({ tools: { sh: '1' } }),
    async selectTask(input) {
      const done = (await db.query<{ task_id: string }>(`select task_id from task_run where project_id = $1 and outcome = 'completed'`, [projectId])).map((r) => r.task_id);
      const left = tasks.filter((t) => !done.includes(t) && !input.skippedTaskIds.includes(t));
      const counts = { total: tasks.length, done: done.length, skipped: input.skippedTaskIds.length, remaining: left.length };
      if (!left.length) return { kind: 'none', completedTaskIds: done, blockedTaskIds: [], counts };
      const [row] = await db.query<{ max: number | null }>(`select max(attempt) as max from task_run where project_id = $1 and task_id = $2`, [projectId, left[0]]);
      return { kind: 'task', task: { id: left[0]!, title: title(left[0]!), nextAttempt: (row?.max ?? 0) + 1 }, completedTaskIds: done, blockedTaskIds: [], counts };
    },
    prepareTask: async (i) => ({ promptSha256: createHash('sha256').update(`${i.taskId}:${i.attempt}`).digest('hex'), branch: `devteam/${i.taskId}` }),
    runAgent: async () => ({ ok: true, agent: { kind: 'script', exitCode: 0, durationMs: 1, diffstat: '' } }),
    runVerify: async () => ({ ok: true, verify: { ok: true, exitCode: 0, durationMs: 1, outputTail: '', timedOut: false } }),
    integrate: async () => ({ targetOid: 'x', alreadyIntegrated: false }),
    recordOutcome: async () => ({ pushed: true }),
    cleanup: async () => undefined,
  };
}
