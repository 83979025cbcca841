/**
 * A runner process for durability tests: the real runtime (Postgres or embedded PGlite, writer,
 * registry) with in-process steps that report each run on stdout and can block forever in
 * runAgent for one task attempt, so the parent can SIGKILL it mid-step.
 *
 * env: DUR_DB_URL?, DUR_DATA_DIR, DUR_PROJECT, DUR_TASKS (comma list), DUR_BLOCK ("taskId:attempt")
 * stdout (JSON lines): {ev:'step',name,taskId,attempt} {ev:'transition',seq,to} {ev:'ready'}
 */
import { createHash } from 'node:crypto';
import { createRuntime } from '../../src/actors/runtime.ts';
import type { ProjectSteps } from '../../src/actors/steps.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';

const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
const env = process.env;
const tasks = (env.DUR_TASKS ?? '1.1,1.2,1.3').split(',');
const block = env.DUR_BLOCK ?? '';
const config = loadConfig({ DATABASE_URL: env.DUR_DB_URL, DEVTEAM_DATA_DIR: env.DUR_DATA_DIR, LOG_LEVEL: 'warn' });
const logger = createLogger({ level: 'warn' }, process.stderr as never);

const rt = await createRuntime({
  config,
  logger,
  makeSteps: (project, { db }): ProjectSteps => {
    const step = (name: string, i: { taskId?: string; attempt?: number }) => out({ ev: 'step', name, taskId: i.taskId, attempt: i.attempt });
    const until = (signal: AbortSignal) => new Promise<never>((_, rej) => signal.addEventListener('abort', () => rej(signal.reason), { once: true }));
    return {
      syncRepo: async () => ({ headOid: 'head' }),
      provisionSandbox: async () => ({ kind: 'local' }),
      checkTools: async () => ({ tools: { sh: '1' } }),
      async selectTask(input) {
        const done = (await db.query<{ task_id: string }>(`select task_id from task_run where project_id = $1 and outcome = 'completed'`, [project.id])).map((r) => r.task_id);
        const left = tasks.filter((t) => !done.includes(t) && !input.skippedTaskIds.includes(t));
        const counts = { total: tasks.length, done: done.length, skipped: 0, remaining: left.length };
        if (!left.length) return { kind: 'none', completedTaskIds: done, blockedTaskIds: [], counts };
        const [{ max }] = await db.query<{ max: number | null }>(`select max(attempt) as max from task_run where project_id = $1 and task_id = $2`, [project.id, left[0]]);
        return { kind: 'task', task: { id: left[0]!, title: `Task ${left[0]}`, nextAttempt: (max ?? 0) + 1 }, completedTaskIds: done, blockedTaskIds: [], counts };
      },
      async prepareTask(i) {
        step('prepareTask', i);
        return { promptSha256: createHash('sha256').update(`${i.taskId}:${i.attempt}`).digest('hex'), branch: `devteam/${i.taskId}` };
      },
      async runAgent(i, ctx) {
        step('runAgent', i);
        if (block === `${i.taskId}:${i.attempt}`) await until(ctx.signal);
        return { ok: true, agent: { kind: 'script', exitCode: 0, durationMs: 1, diffstat: '' } };
      },
      async runVerify(i) {
        step('runVerify', i);
        return { ok: true, verify: { ok: true, exitCode: 0, durationMs: 1, outputTail: '', timedOut: false } };
      },
      async integrate(i) {
        step('integrate', i);
        return { targetOid: 'x', alreadyIntegrated: false };
      },
      async recordOutcome(i) {
        step('recordOutcome', i);
        return { pushed: true };
      },
      cleanup: async () => undefined,
    };
  },
});
rt.hub.all$.subscribe((e) => {
  if (e.type === 'transition') out({ ev: 'transition', seq: e.seq, to: e.payload.to, projectId: e.projectId });
});
if (!rt.registry.get(env.DUR_PROJECT!) && !rt.projection.get(env.DUR_PROJECT!)) {
  await rt.registry.initialize({ projectId: env.DUR_PROJECT!, note: 'durability' });
}
out({ ev: 'ready' });
process.on('SIGTERM', () => {
  void rt.close().then(() => {
    out({ ev: 'closed' });
    process.exit(0);
  });
});
