/**
 * A real DevTeam Runner server in a child process for client/CLI tests: the real runtime
 * (embedded PGlite under SC_DATA_DIR, or SC_DB_URL), the real uWS server with the WebSocket
 * plugin, on a fixed port so a test can SIGKILL it and start it again at the same address.
 * Steps are in-process stand-ins that walk a synthetic task list quickly — many transitions —
 * and can block forever in runAgent for chosen tasks, so a test knows the project is mid-run.
 *
 * env: SC_PORT, SC_DATA_DIR, SC_DB_URL?, SC_TOKEN?, SC_TASKS (count, default 8),
 *      SC_BLOCK ("project:taskId:attempt,…"), SC_BLOCK_ONCE (same, until aborted once), SC_FAIL ("project:taskId" — verify always fails → halt)
 * stdout (JSON lines): {ev:'ready', url, port} {ev:'closed'}
 */
import { createRuntime } from '../../src/actors/runtime.ts';
import type { ProjectSteps } from '../../src/actors/steps.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { FakeSteps, untilAborted } from './fakeSteps.ts';
import { eventsPlugin } from '../../src/server/events/index.ts';
import { startServer } from '../../src/server/index.ts';
import { webSocketPlugin } from '../../src/server/ws/index.ts';

const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
const env = process.env;
const count = Number(env.SC_TASKS ?? 8);
const tasks = Array.from({ length: count }, (_, i) => `1.${i + 1}`);
const blocks = new Set((env.SC_BLOCK ?? '').split(',').filter(Boolean));
/** Like SC_BLOCK, but only until the blocked step is aborted (PAUSE): the re-run after RESUME passes. */
const blockOnce = new Set((env.SC_BLOCK_ONCE ?? '').split(',').filter(Boolean));
const fails = new Set((env.SC_FAIL ?? '').split(',').filter(Boolean));
const config = loadConfig({
  DATABASE_URL: env.SC_DB_URL,
  DEVTEAM_DATA_DIR: env.SC_DATA_DIR,
  DEVTEAM_PORT: env.SC_PORT ?? '0',
  DEVTEAM_API_TOKEN: env.SC_TOKEN,
  LOG_LEVEL: 'warn',
});
const logger = createLogger({ level: 'warn' }, process.stderr as never);

const rt = await createRuntime({
  config,
  logger,
  makeSteps: (project, { db }): ProjectSteps => {
    const base = new FakeSteps({ tasks, db, title: (id) => `Synthetic task ${id}` }).make(project);
    return {
      ...base,
      async runAgent(i, ctx) {
        const key = `${project.id}:${i.taskId}:${i.attempt}`;
        if (blocks.has(key)) await untilAborted(ctx.signal);
        if (blockOnce.delete(key)) await untilAborted(ctx.signal);
        return { ok: true, agent: { kind: 'script', exitCode: 0, durationMs: 1, diffstat: '' } };
      },
      async runVerify(i) {
        if (fails.has(`${project.id}:${i.taskId}`)) {
          const why = `verify of ${i.taskId} fails on purpose`;
          return { ok: false, verify: { ok: false, exitCode: 1, durationMs: 1, outputTail: why, timedOut: false }, error: why, feedback: why };
        }
        return { ok: true, verify: { ok: true, exitCode: 0, durationMs: 1, outputTail: '', timedOut: false } };
      },
    };
  },
});
const server = await startServer(rt, { plugins: [webSocketPlugin(), eventsPlugin()], stopTimeoutMs: 5000 });
out({ ev: 'ready', url: server.url, port: server.port });
process.on('SIGTERM', () => {
  void server
    .close()
    .then(() => rt.close())
    .then(() => {
      out({ ev: 'closed' });
      process.exit(0);
    });
});
