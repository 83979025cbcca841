/**
 * `npm start` / `devteam serve`: load config (exit 2 on invalid), open the database (embedded
 * PGlite unless DATABASE_URL), restore projects, serve HTTP + WebSocket; SIGTERM/SIGINT shut
 * down cleanly (stop accepting, cancel steps, flush writes, exit 0).
 */
import { loadConfigOrExit, type Config } from './infra/config.ts';
import { createLogger } from './infra/logger.ts';
import { watchLauncher } from './infra/process/parent.ts';
import { createRuntime, type Runtime } from './actors/runtime.ts';
import { createProjectSteps } from './actors/projectSteps.ts';
import { detectDocker } from './infra/sandbox/detect.ts';
import type { Cluster } from './actors/cluster/index.ts';
import type { RedisHandle } from './infra/redis.ts';
import { createMetrics } from './infra/metrics.ts';

/** The sandbox kind is chosen once, at initialize: as configured, else docker if an engine answers now, else local. */
export async function resolveSandboxKind(c: Record<string, unknown>): Promise<Record<string, unknown>> {
  const sb = (c.sandbox ?? {}) as { kind?: string };
  if (sb.kind) return c;
  return { ...c, sandbox: { ...sb, kind: (await detectDocker()) ? 'docker' : 'local' } };
}

export async function main(argv = process.argv.slice(2), env = process.env): Promise<void> {
  const config: Config = loadConfigOrExit(env);
  const logger = createLogger({ level: config.LOG_LEVEL });
  const worker = argv.includes('--worker');
  let runtime: Runtime | undefined;
  let stopServer: (() => Promise<void>) | undefined;
  // A cluster member when Redis + Postgres are configured (DEVTEAM_CLUSTER=false opts out).
  const clustered = !!(config.REDIS_URL && config.DATABASE_URL && config.DEVTEAM_CLUSTER);
  let cluster: Cluster | undefined;
  let redis: RedisHandle | undefined;
  let stopWorker: (() => Promise<void>) | undefined;
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
    await stopWorker?.();
    await cluster?.close(); // hand shards over before closing the runtime
    await runtime?.close();
    await redis?.close();
    logger.info('shutdown complete');
    logger.flush?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGHUP', () => void shutdown('SIGHUP'));
  watchLauncher(env, (why) => void shutdown(why));

  const metrics = createMetrics();
  if (clustered) {
    const { createRedis } = await import('./infra/redis.ts');
    redis = await createRedis(config.REDIS_URL!, logger);
  }
  runtime = await createRuntime({
    config,
    logger,
    // In a cluster only the projects of the shards this node gains are restored (by the cluster).
    boot: !clustered,
    fence: clustered ? (id) => cluster?.fence(id) ?? 0 : undefined,
    makeSteps: (project, rt) =>
      createProjectSteps({
        project,
        ...rt,
        onVerify: (seconds) => metrics.verifyDuration.observe(seconds),
        // Never push for a project whose shard lease this node no longer holds.
        beforePush: clustered ? () => cluster!.checkLease(project.id) : undefined,
      }),
    resolveConfig: resolveSandboxKind,
  });
  const rt = runtime;
  /** DELETE: the project's files are removed by the server; its container goes here. */
  const purge = async (projectId: string) => {
    if (!(await detectDocker())) return;
    const { createDockerSandbox } = await import('./infra/sandbox/docker.ts');
    await createDockerSandbox({
      kind: 'docker',
      projectId,
      workspaceDir: `${rt.config.DEVTEAM_DATA_DIR}/repos/${projectId}`,
      defaultImage: rt.config.DEVTEAM_SANDBOX_IMAGE,
      logger: logger.child({ projectId }),
    }).remove();
  };
  if (clustered) {
    const { startCluster } = await import('./actors/cluster/index.ts');
    cluster = await startCluster({ runtime: rt, redis: redis!, purge });
  }
  const served = cluster ? cluster.view() : rt;
  if (!worker) {
    const { startServer } = await import('./server/index.ts');
    const { webSocketPlugin } = await import('./server/ws/index.ts');
    const { eventsPlugin } = await import('./server/events/index.ts');
    const server = await startServer(served, {
      metrics,
      redis,
      plugins: [webSocketPlugin(cluster ? { hub: cluster.clusterHub } : {}), eventsPlugin()],
      purge,
    });
    stopServer = server.close;
    logger.info({ url: server.url, nodeId: cluster?.nodeId }, 'DevTeam Runner listening');
  } else {
    // `npm run worker`: owns shards (in a cluster) and consumes ingested events, no HTTP.
    const { createEventPipeline } = await import('./actors/events/index.ts');
    const pipeline = createEventPipeline({
      db: rt.db,
      effects: served.projects,
      logger,
      metrics,
      clock: rt.clock,
      redis,
      claimIdleMs: config.DEVTEAM_EVENTS_CLAIM_IDLE_MS,
      maxDeliveries: config.DEVTEAM_EVENTS_MAX_DELIVERIES,
      redeliverSec: config.DEVTEAM_EVENTS_REDELIVER_SEC,
    });
    stopWorker = () => pipeline.close();
    logger.info({ nodeId: cluster?.nodeId }, 'DevTeam Runner worker started');
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err) => {
    process.stderr.write(`fatal: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
