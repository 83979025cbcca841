/**
 * A runner process for durability tests: the real runtime (Postgres or embedded PGlite, writer,
 * registry) with in-process steps that report each run on stdout and can block forever in
 * runAgent for one task attempt, so the parent can SIGKILL it mid-step.
 *
 * env: DUR_DB_URL?, DUR_DATA_DIR, DUR_PROJECT, DUR_TASKS (comma list), DUR_BLOCK ("taskId:attempt")
 * stdout (JSON lines): {ev:'step',name,taskId,attempt} {ev:'transition',seq,to,taskId} {ev:'status',seq,state} {ev:'ready'}
 */
import { createRuntime } from '../../src/actors/runtime.ts';
import type { ProjectSteps } from '../../src/actors/steps.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { FakeSteps, untilAborted } from './fakeSteps.ts';

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
    const base = new FakeSteps({ tasks, db }).make(project);
    const step = (name: string, i: { taskId?: string; attempt?: number }) => out({ ev: 'step', name, taskId: i.taskId, attempt: i.attempt });
    const reported = <K extends 'prepareTask' | 'runVerify' | 'integrate' | 'recordOutcome'>(name: K) =>
      (async (i: any, ctx: any) => {
        step(name, i);
        return (base[name] as any)(i, ctx);
      }) as ProjectSteps[K];
    return {
      ...base,
      prepareTask: reported('prepareTask'),
      async runAgent(i, ctx) {
        step('runAgent', i);
        if (block === `${i.taskId}:${i.attempt}`) await untilAborted(ctx.signal);
        return base.runAgent(i, ctx);
      },
      runVerify: reported('runVerify'),
      integrate: reported('integrate'),
      recordOutcome: reported('recordOutcome'),
    };
  },
});
rt.hub.all$.subscribe((e) => {
  if (e.type === 'transition') out({ ev: 'transition', seq: e.seq, to: e.payload.to, taskId: e.payload.taskId ?? null, projectId: e.projectId });
  if (e.type === 'status') out({ ev: 'status', seq: e.seq, state: e.payload.state, projectId: e.projectId });
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
