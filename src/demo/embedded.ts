/**
 * An in-process runner for the demo: the same runtime and server `npm start` builds, on the
 * embedded defaults regardless of the environment (PGlite under the demo's data dir, no Redis,
 * loopback), with the same plug-ins as src/main.ts (WebSocket stream, event ingest). Logs go to a file so the demo's own output
 * stays readable.
 */
import { join } from 'node:path';
import { pino } from 'pino';
import { createProjectSteps } from '../actors/projectSteps.ts';
import { createRuntime, type Runtime } from '../actors/runtime.ts';
import { loadConfig } from '../infra/config.ts';
import { createLogger } from '../infra/logger.ts';
import { createMetrics } from '../infra/metrics.ts';
import { eventsPlugin } from '../server/events/index.ts';
import { startServer, type RunningServer } from '../server/index.ts';
import { webSocketPlugin } from '../server/ws/index.ts';

export interface EmbeddedRunner {
  url: string;
  runtime: Runtime;
  server: RunningServer;
  logFile: string;
  close(): Promise<void>;
}

export async function startEmbeddedRunner(o: { dataDir: string; port: number; token?: string }): Promise<EmbeddedRunner> {
  const config = loadConfig({
    DEVTEAM_DATA_DIR: o.dataDir,
    DEVTEAM_PORT: String(o.port),
    DEVTEAM_HOST: '127.0.0.1',
    DEVTEAM_API_TOKEN: o.token,
    LOG_LEVEL: 'info',
  });
  const logFile = join(o.dataDir, 'runner.log');
  const logger = createLogger({ level: config.LOG_LEVEL }, pino.destination({ dest: logFile, mkdir: true, sync: false }));
  const metrics = createMetrics();
  const runtime = await createRuntime({
    config,
    logger,
    makeSteps: (project, base) => createProjectSteps({ project, ...base, onVerify: (seconds) => metrics.verifyDuration.observe(seconds) }),
  });
  let server: RunningServer;
  try {
    server = await startServer(runtime, { metrics, plugins: [webSocketPlugin(), eventsPlugin()] });
  } catch (err) {
    await runtime.close();
    throw err;
  }
  let closed: Promise<void> | undefined;
  return {
    url: server.url,
    runtime,
    server,
    logFile,
    close: () =>
      (closed ??= (async () => {
        await server.close();
        await runtime.close();
        logger.flush?.();
      })()),
  };
}
