/**
 * Cluster bench (real processes on this machine: N runner nodes, one Redis, one Postgres).
 *
 *  1. Throughput with 1, 2, 3 nodes: P projects with instant steps and many tasks; persisted
 *     transitions/s (sum of project.seq growth in Postgres over a window) and hub deliveries/s
 *     (transitions seen on every node's cluster-wide stream — what each node's WebSocket gateway
 *     would fan out; every node sees every project).
 *  2. Cross-node added latency: p99 of (seen on another node − event ts) minus p99 of (seen on
 *     the owner − event ts), i.e. what the Redis relay adds.
 *  3. Takeover: 1,000 idle projects on 2 nodes, SIGKILL one; time until the survivor hosts all
 *     1,000 (lease TTL + restore).
 *
 * Usage: npx tsx bench/cluster.ts [--projects 300] [--window 8] [--ttl 3000]
 */
import { createTestDatabase } from '../test/support/db.ts';
import { deletePrefix, kill, prepareTables, projectIds, redisClient, startNode, until, type Node } from '../test/integration/cluster.harness.ts';

const arg = (k: string, d: number) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const PROJECTS = arg('projects', 300);
const WINDOW = arg('window', 8);
const TTL = arg('ttl', 3000);
const pct = (a: number[], p: number) => {
  if (!a.length) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const redis = await redisClient();

async function throughput(n: number) {
  const db = await createTestDatabase('bench_cluster');
  const pgc = await prepareTables(db.url);
  const prefix = `bench:${process.pid}:${n}:${Date.now()}`;
  const env = { NODE_DB_URL: db.url, NODE_PREFIX: prefix, NODE_SHARDS: '64', NODE_TTL_MS: String(TTL), NODE_TASKS: '100000', NODE_AGENT_MS: '0', NODE_LOG_LEVEL: 'error' };
  const nodes: Node[] = [];
  try {
    for (let i = 0; i < n; i++) nodes.push(await startNode(`bench-${i}`, env));
    await until(async () => {
      const v = await redis.mGet(Array.from({ length: 64 }, (_, i) => `${prefix}:lease:${i}`));
      return v.every((x) => x) && nodes.every((nd) => v.some((x) => x?.startsWith(`${nd.id}|`)));
    }, 'shards spread');
    await nodes[0]!.request({ op: 'init', ids: projectIds(PROJECTS, 'b') });
    await new Promise((r) => setTimeout(r, 2000)); // warm-up
    const seqSum = async () => Number((await pgc.query(`select coalesce(sum(seq), 0)::bigint as s from project`)).rows[0].s);
    for (const nd of nodes) await nd.request({ op: 'delays' });
    const seen0 = await Promise.all(nodes.map(async (nd) => (await nd.request({ op: 'delays' })).transitionsSeen as number));
    const s0 = await seqSum();
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, WINDOW * 1000));
    const s1 = await seqSum();
    const secs = (performance.now() - t0) / 1000;
    const d = await Promise.all(nodes.map((nd) => nd.request({ op: 'delays' })));
    const seen = d.reduce((k, x, i) => k + (x.transitionsSeen - seen0[i]!), 0);
    const local = d.flatMap((x) => x.local);
    const remote = d.flatMap((x) => x.remote);
    return {
      nodes: n,
      persistedPerSec: Math.round((s1 - s0) / secs),
      hubDeliveriesPerSec: Math.round(seen / secs),
      p99LocalMs: pct(local, 99),
      p99RemoteMs: pct(remote, 99),
      addedP99Ms: n > 1 ? pct(remote, 99) - pct(local, 99) : null,
      p50AddedMs: n > 1 ? pct(remote, 50) - pct(local, 50) : null,
    };
  } finally {
    for (const nd of nodes) kill(nd);
    await Promise.all(nodes.map((nd) => nd.exited));
    await pgc.end();
    await db.drop();
    await deletePrefix(redis, prefix);
  }
}

async function takeover() {
  const db = await createTestDatabase('bench_takeover');
  const pgc = await prepareTables(db.url);
  const prefix = `bench:${process.pid}:takeover:${Date.now()}`;
  const env = { NODE_DB_URL: db.url, NODE_PREFIX: prefix, NODE_SHARDS: '64', NODE_TTL_MS: String(TTL), NODE_TASKS: '1', NODE_AGENT_MS: '0', NODE_LOG_LEVEL: 'error' };
  const nodes: Node[] = [];
  try {
    nodes.push(await startNode('tk-a', env), await startNode('tk-b', env));
    await until(async () => {
      const v = await redis.mGet(Array.from({ length: 64 }, (_, i) => `${prefix}:lease:${i}`));
      return v.every((x) => x) && v.some((x) => x?.startsWith('tk-b|'));
    }, 'shards spread');
    await nodes[0]!.request({ op: 'init', ids: projectIds(1000, 't') });
    await until(async () => (await pgc.query(`select count(*)::int as n from project where state = 'idle'`)).rows[0].n === 1000, 'all idle', 1200);
    const before = (await nodes[1]!.request({ op: 'stats' })).hosted.length;
    const t0 = performance.now();
    kill(nodes[1]!);
    await until(async () => (await nodes[0]!.request({ op: 'stats' })).hosted.length === 1000, 'survivor hosts all', 2000, 20);
    return { projects: 1000, movedProjects: before, ttlMs: TTL, takeoverMs: Math.round(performance.now() - t0) };
  } finally {
    for (const nd of nodes) kill(nd);
    await Promise.all(nodes.map((nd) => nd.exited));
    await pgc.end();
    await db.drop();
    await deletePrefix(redis, prefix);
  }
}

const results = [];
for (const n of [1, 2, 3]) {
  const r = await throughput(n);
  results.push(r);
  console.log(JSON.stringify(r));
}
const t = await takeover();
console.log(JSON.stringify(t));
await redis.quit();
