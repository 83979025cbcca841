/**
 * `npm start` / `devteam serve`: load config (exit 2 on invalid), open the database (embedded
 * PGlite unless DATABASE_URL), restore projects, serve HTTP + WebSocket; SIGTERM/SIGINT shut
 * down cleanly (stop accepting, cancel steps, flush writes, exit 0).
 */
import { ConfigError, loadConfig, type Config } from './infra/config.ts';
import { createLogger, type Logger } from './infra/logger.ts';
import { createRuntime, type Runtime } from './actors/runtime.ts';
import { createProjectActors } from './actors/projectActors.ts';
import { detectDocker } from './infra/sandbox/detect.ts';
import { createMetrics } from './infra/metrics.ts';

/** The sandbox kind is chosen once, at initialize: as configured, else docker if an engine answers now, else local. */
export async function resolveSandboxKind(c: Record<string, unknown>): Promise<Record<string, unknown>> {
  const sb = (c.sandbox ?? {}) as { kind?: string };
  if (sb.kind) return c;
  return { ...c, sandbox: { ...sb, kind: (await detectDocker()) ? 'docker' : 'local' } };
}

export async function main(argv = process.argv.slice(2), env = process.env): Promise<void> {
  let config: Config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger({ level: config.LOG_LEVEL });
  const worker = argv.includes('--worker');
  let runtime: Runtime | undefined;
  let stopServer: (() => Promise<void>) | undefined;
  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error('shutdown timed out; exiting');
      process.exit(1);
    }, config.DEVTEAM_SHUTDOWN_TIMEOUT_MS);
    force.unref();
    await stopServer?.();
    await runtime?.close();
    logger.info('shutdown complete');
    logger.flush?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));

  const metrics = createMetrics();
  runtime = await createRuntime({
    config,
    logger,
    makeSteps: (project, rt) =>
      createProjectActors({ project, ...rt, onVerify: (seconds) => metrics.verifyDuration.observe(seconds) }),
    resolveConfig: resolveSandboxKind,
  });
  if (!worker) {
    const { startServer } = await import('./server/index.ts');
    const { webSocketPlugin } = await import('./server/ws/index.ts');
    const { eventsPlugin } = await import('./server/events/index.ts');
    const rt = runtime;
    const server = await startServer(rt, {
      metrics,
      plugins: [webSocketPlugin(), eventsPlugin()],
      // DELETE: the project's files are removed by the server; its container goes here.
      purge: async (projectId) => {
        if (!(await detectDocker())) return;
        const { createDockerSandbox } = await import('./infra/sandbox/docker.ts');
        await createDockerSandbox({
          kind: 'docker',
          projectId,
          workspaceDir: `${rt.config.DEVTEAM_DATA_DIR}/repos/${projectId}`,
          defaultImage: rt.config.DEVTEAM_SANDBOX_IMAGE,
          logger: logger.child({ projectId }),
        }).remove();
      },
    });
    stopServer = server.close;
    logger.info({ url: server.url }, 'DevTeam Runner listening');
  }
}

export function fatal(logger: Logger, err: unknown): never {
  logger.fatal({ err }, 'fatal error');
  process.exit(1);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    process.stderr.write(`fatal: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
