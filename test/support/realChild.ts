/**
 * A runner process with the real steps (git, local sandbox, script agent) for crash tests.
 * env: RC_DB_URL, RC_DATA_DIR, RC_CONFIG (project config JSON), RC_TOKEN,
 *      RC_KILL_AFTER_PUSH=1 → SIGKILL itself right after the push succeeded, before the
 *      machine sees the step's result (so before the transition is written).
 * stdout (JSON lines): {ev:'transition', seq, to, taskId} {ev:'status', seq, state, lanes} {ev:'pushed', taskId}
 */
import { createProjectSteps } from '../../src/actors/projectSteps.ts';
import { createRuntime } from '../../src/actors/runtime.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';

const env = process.env;
const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
const project = JSON.parse(env.RC_CONFIG!);
const rt = await createRuntime({
  config: loadConfig({ DATABASE_URL: env.RC_DB_URL, DEVTEAM_DATA_DIR: env.RC_DATA_DIR, DEVTEAM_IDLE_FETCH_SEC: '3600' }),
  logger: createLogger({ level: 'warn' }, process.stderr as never),
  makeSteps: (p, base) => {
    const steps = createProjectSteps({ project: p, ...base, env: { ...process.env, GIT_TOKEN: env.RC_TOKEN } });
    const record = steps.recordOutcome.bind(steps);
    steps.recordOutcome = async (i, ctx) => {
      const r = await record(i, ctx);
      out({ ev: 'pushed', taskId: i.taskId, pushed: r.pushed });
      if (env.RC_KILL_AFTER_PUSH === '1') process.kill(process.pid, 'SIGKILL');
      return r;
    };
    return steps;
  },
});
rt.hub.all$.subscribe((e) => {
  if (e.type === 'transition') out({ ev: 'transition', seq: e.seq, to: e.payload.to, taskId: e.payload.taskId ?? null });
  if (e.type === 'status') out({ ev: 'status', seq: e.seq, state: e.payload.state, lanes: e.payload.lanes?.length ?? 0 });
});
if (!rt.registry.get(project.projectId)) await rt.registry.initialize(project);
out({ ev: 'ready' });
process.on('SIGTERM', () => void rt.close().then(() => process.exit(0)));
