/**
 * One cluster node for the multi-node tests: the real runtime on Postgres, cluster membership on
 * Redis (unique prefix per test), in-process steps that record what they did into Postgres
 * (`exec_log`: runAgent intervals per node; `pushes`: the "push" of recordOutcome, made only after
 * the lease check, skipped when the remote already has it — like the real publish step).
 *
 * env: NODE_DB_URL, REDIS_URL, NODE_PREFIX, NODE_ID, NODE_TTL_MS, NODE_SHARDS, NODE_TASKS (count),
 *      NODE_AGENT_MS (runAgent duration), NODE_RECORD_MS (delay before the push), NODE_HTTP=1 (REST + WS on port 0)
 * stdin (JSON lines): {op:'init', ids} {op:'cmd', req, id, cmd, timeoutMs} {op:'hubcheck', req}
 *                     {op:'staleWrite', req, id} {op:'stats', req}
 * stdout (JSON lines): {ev:'ready', nodeId, url?} {ev:'owned', shards} {ev:'initDone', n} {ev:'reply', req, ...}
 *                     {ev:'leaseLost', projectId} {ev:'closing', stage} (each SIGTERM shutdown stage) {ev:'closed'}
 */
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';
import { createRuntime } from '../../src/actors/runtime.ts';
import { FakeSteps } from './fakeSteps.ts';
import type { ProjectSteps } from '../../src/actors/steps.ts';
import { FencedWriteError } from '../../src/actors/writer.ts';
import { LeaseLostError, startCluster, type Cluster } from '../../src/actors/cluster/index.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { createRedis } from '../../src/infra/redis.ts';

const out = (o: unknown) => process.stdout.write(JSON.stringify(o) + '\n');
const env = process.env;
const nodeId = env.NODE_ID!;
const tasks = Array.from({ length: Number(env.NODE_TASKS ?? 3) }, (_, i) => `1.${i + 1}`);
const agentMs = Number(env.NODE_AGENT_MS ?? 20);
const recordMs = Number(env.NODE_RECORD_MS ?? 0);
const config = loadConfig({
  DATABASE_URL: env.NODE_DB_URL,
  REDIS_URL: env.REDIS_URL,
  DEVTEAM_DATA_DIR: env.NODE_DATA_DIR ?? '/tmp/devteam-node-test',
  LOG_LEVEL: env.NODE_LOG_LEVEL ?? 'warn',
  DEVTEAM_SHARDS: env.NODE_SHARDS ?? '64',
  DEVTEAM_NODE_ID: nodeId,
  DEVTEAM_CLUSTER_PREFIX: env.NODE_PREFIX,
  DEVTEAM_LEASE_TTL_MS: env.NODE_TTL_MS ?? '1500',
  DEVTEAM_COMMAND_TIMEOUT_MS: env.NODE_CMD_TIMEOUT_MS ?? '3000',
  DEVTEAM_MAX_CONCURRENT_STEPS: '64',
});
const logger = createLogger({ level: config.LOG_LEVEL }, process.stderr as never);
let cluster: Cluster | undefined;
/** The fence each hosted project was created with (for the stale-write probe). */
const fenceOf = new Map<string, number>();
const wall = () => performance.timeOrigin + performance.now();

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });

const rt = await createRuntime({
  config,
  logger,
  boot: false,
  fence: (id) => {
    const f = cluster?.fence(id) ?? 0;
    fenceOf.set(id, f);
    return f;
  },
  makeSteps: (project, { db }): ProjectSteps => {
    const id = project.id;
    return {
      ...new FakeSteps({ tasks, db }).make(project),
      prepareTask: async (i) => ({ promptSha256: `${i.taskId}:${i.attempt}`.padEnd(64, '0'), branch: `devteam/${i.taskId}` }),
      async runAgent(i, ctx) {
        const started = wall();
        let completed = false;
        try {
          await sleep(agentMs, ctx.signal);
          completed = true;
        } finally {
          await db
            .query(`insert into exec_log (project_id, task_id, attempt, node, started, ended, completed) values ($1, $2, $3, $4, $5, $6, $7)`, [id, i.taskId, i.attempt, nodeId, started, wall(), completed])
            .catch(() => undefined);
        }
        return { ok: true, agent: { kind: 'script', exitCode: 0, durationMs: agentMs, diffstat: '' } };
      },
      runVerify: async () => ({ ok: true, verify: { ok: true, exitCode: 0, durationMs: 1, outputTail: '', timedOut: false } }),
      integrate: async () => ({ kind: 'merged', targetOid: 'x', alreadyIntegrated: false }),
      async recordOutcome(i, ctx) {
        if (recordMs) await sleep(recordMs, ctx.signal);
        try {
          await cluster!.checkLease(id); // beforePush
        } catch (err) {
          if (err instanceof LeaseLostError) out({ ev: 'leaseLost', projectId: id, taskId: i.taskId });
          throw err;
        }
        // The "push": idempotent like the real one (skipped when the remote already has it).
        await db.query(
          `insert into pushes (project_id, task_id, node, fence) select $1, $2, $3, $4
           where not exists (select 1 from pushes where project_id = $1 and task_id = $2)`,
          [id, i.taskId, nodeId, cluster!.fence(id)],
        );
        return { pushed: true };
      },
      cleanup: async () => undefined,
    };
  },
});

const redis = await createRedis(config.REDIS_URL!, logger);
cluster = await startCluster({ runtime: rt, redis });
const c = cluster;

// Hub check: transitions per project seen on the cluster-wide stream, gaps and flagged resets.
const lastSeq = new Map<string, number>();
const gaps: Array<{ projectId: string; from: number; to: number }> = [];
const resets: Array<{ projectId: string; from: number; to: number }> = [];
let transitionsSeen = 0;
c.clusterHub.resets$.subscribe((r) => resets.push({ projectId: r.projectId, from: r.from, to: r.to }));
c.clusterHub.all$.subscribe((e) => {
  if (e.type !== 'transition' && e.type !== 'status') return;
  const last = lastSeq.get(e.projectId);
  if (e.type === 'transition') {
    transitionsSeen++;
    if (last !== undefined && e.seq > last + 1 && !resets.some((r) => r.projectId === e.projectId && r.to === e.seq)) gaps.push({ projectId: e.projectId, from: last, to: e.seq });
  }
  if (last === undefined || e.seq > last) lastSeq.set(e.projectId, e.seq);
});

// Delivery delay (event ts → seen here) for local events and for events relayed from other nodes.
const localSet = new WeakSet<object>();
const delays = { local: [] as number[], remote: [] as number[] };
const keep = (a: number[], v: number) => (a.length < 200_000 ? a.push(v) : (a[Math.floor(Math.random() * a.length)] = v));
rt.hub.all$.subscribe((e) => {
  localSet.add(e);
  if (e.type === 'transition') keep(delays.local, Date.now() - Date.parse(e.ts));
});
c.clusterHub.all$.subscribe((e) => {
  if (e.type === 'transition' && !localSet.has(e)) keep(delays.remote, Date.now() - Date.parse(e.ts));
});

let lastOwned = '';
setInterval(() => {
  const owned = c.manager.owned();
  const k = owned.join(',');
  if (k !== lastOwned) {
    lastOwned = k;
    out({ ev: 'owned', nodeId, shards: owned, hosted: rt.registry.hosts.size });
  }
}, 50).unref();

let url: string | undefined;
let stopServer: (() => Promise<void>) | undefined;
if (env.NODE_HTTP === '1') {
  const { startServer } = await import('../../src/server/index.ts');
  const server = await startServer(c.view(), { port: 0, host: '127.0.0.1', redis });
  url = server.url;
  stopServer = server.close;
}
await c.ready();
out({ ev: 'ready', nodeId, url });

createInterface({ input: process.stdin }).on('line', (raw) => {
  let m: any;
  try {
    m = JSON.parse(raw);
  } catch {
    return;
  }
  void (async () => {
    try {
      if (m.op === 'init') {
        await Promise.all((m.ids as string[]).map((id) => c.initialize({ projectId: id, note: 'cluster' })));
        out({ ev: 'reply', req: m.req, ok: true });
      } else if (m.op === 'cmd') {
        const r = await c.routeCommand(m.id, m.cmd, { timeoutMs: m.timeoutMs });
        out({ ev: 'reply', req: m.req, result: r });
      } else if (m.op === 'hubcheck') {
        out({ ev: 'reply', req: m.req, lastSeq: Object.fromEntries(lastSeq), gaps, resets, transitionsSeen, relay: c.relay.stats });
      } else if (m.op === 'staleWrite') {
        const fence = fenceOf.get(m.id) ?? 0;
        const st = rt.projection.get(m.id);
        try {
          const seq = (st?.seq ?? 0) + 1_000_000;
          await rt.writer.write({ projectId: m.id, seq, actor: { actorId: 'project', seq, machineVersion: 'stale', snapshot: {} }, status: st!, taskRuns: [], history: [], fence });
          out({ ev: 'reply', req: m.req, rejected: false, fence });
        } catch (err) {
          out({ ev: 'reply', req: m.req, rejected: err instanceof FencedWriteError, error: (err as Error).name, fence });
        }
      } else if (m.op === 'delays') {
        out({ ev: 'reply', req: m.req, local: delays.local, remote: delays.remote, transitionsSeen });
        delays.local = [];
        delays.remote = [];
      } else if (m.op === 'stats') {
        out({ ev: 'reply', req: m.req, owned: c.manager.owned(), hosted: [...rt.registry.hosts.keys()], manager: c.manager.stats, router: c.router.stats, relay: c.relay.stats });
      }
    } catch (err) {
      out({ ev: 'reply', req: m.req, error: (err as Error).message });
    }
  })();
});

process.on('SIGTERM', () => {
  void (async () => {
    out({ ev: 'closing', stage: 'server' });
    await stopServer?.();
    out({ ev: 'closing', stage: 'cluster' });
    await c.close();
    out({ ev: 'closing', stage: 'runtime' });
    await rt.close();
    out({ ev: 'closing', stage: 'redis' });
    await redis.close();
    out({ ev: 'closed' });
    process.exit(0);
  })();
});
