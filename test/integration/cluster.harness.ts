/**
 * Harness for the multi-node tests: spawn cluster nodes (test/support/nodeChild.ts) with stdin
 * control, wait on their JSON lines, sample leases, and poll conditions in bounded loops.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { spawnTs } from '../support/child.ts';
import pg from 'pg';
import { createClient } from 'redis';

const CHILD = join(import.meta.dirname, '../support/nodeChild.ts');
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface Node {
  id: string;
  proc: ChildProcess;
  lines: any[];
  url?: string;
  waitFor(pred: (l: any) => boolean, what?: string): Promise<any>;
  request(m: Record<string, unknown>): Promise<any>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export function spawnNode(id: string, env: Record<string, string>): Node {
  const child = spawnTs(CHILD, { ...env, NODE_ID: id, REDIS_URL }, { stdin: true });
  const node: Node = {
    id,
    proc: child.proc,
    lines: child.lines,
    exited: child.exited,
    stderr: child.stderr,
    waitFor: (pred, what = 'line') => child.waitFor(pred, `${what} from node ${id}`),
    request(m) {
      const req = randomUUID();
      child.proc.stdin!.write(JSON.stringify({ ...m, req }) + '\n');
      return node.waitFor((l) => l.ev === 'reply' && l.req === req, `reply to ${m.op}`);
    },
  };
  return node;
}

export async function startNode(id: string, env: Record<string, string>): Promise<Node> {
  const n = spawnNode(id, env);
  const ready = await n.waitFor((l) => l.ev === 'ready', 'ready');
  n.url = ready.url;
  return n;
}

/** Poll `cond` until true; bounded by `limit` rounds of `everyMs` (sampling, not a timing assertion). */
/**
 * Polls `cond` every `everyMs` until it returns a truthy value. `limitSec` is a safety net against a
 * hang (generous: a loaded machine must never fail a test by being slow), not a pass criterion.
 */
export async function until<T>(cond: () => Promise<T | false | undefined | null> | T | false | undefined | null, what: string, limitSec = 600, everyMs = 100): Promise<T> {
  let last: unknown;
  const deadline = Date.now() + limitSec * 1000;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as T;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(`timed out after ${limitSec}s waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

export async function redisClient() {
  const c = createClient({ url: REDIS_URL });
  await c.connect();
  return c;
}

/** Lease holders per shard (node id or null). */
export async function leaseHolders(r: Awaited<ReturnType<typeof redisClient>>, prefix: string, shards: number): Promise<Array<string | null>> {
  const vals = await r.mGet(Array.from({ length: shards }, (_, i) => `${prefix}:lease:${i}`));
  return vals.map((v) => (v ? v.slice(0, v.lastIndexOf('|')) : null));
}

export async function leaseTokens(r: Awaited<ReturnType<typeof redisClient>>, prefix: string, shards: number): Promise<Array<string | null>> {
  return (await r.mGet(Array.from({ length: shards }, (_, i) => `${prefix}:lease:${i}`))) as Array<string | null>;
}

export async function deletePrefix(r: Awaited<ReturnType<typeof redisClient>>, prefix: string): Promise<void> {
  for await (const keys of r.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 })) if (keys.length) await r.del(keys);
}

export async function prepareTables(url: string): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`create table if not exists exec_log (project_id text, task_id text, attempt int, node text, started double precision, ended double precision, completed boolean)`);
  await c.query(`create table if not exists pushes (project_id text, task_id text, node text, fence bigint, at timestamptz default now())`);
  return c;
}

/** Pairs of runAgent executions of one project by different nodes whose intervals overlap. */
export async function overlaps(db: pg.Client): Promise<any[]> {
  const { rows } = await db.query(
    `select a.project_id, a.node as a_node, b.node as b_node, a.started as a_start, a.ended as a_end, b.started as b_start, b.ended as b_end
     from exec_log a join exec_log b on a.project_id = b.project_id and a.node < b.node
     where a.started < b.ended and b.started < a.ended`,
  );
  return rows;
}

export async function doublePushes(db: pg.Client): Promise<any[]> {
  const { rows } = await db.query(`select project_id, task_id, count(*)::int as n from pushes group by 1, 2 having count(*) > 1`);
  return rows;
}

export const projectIds = (n: number, tag = 'p') => Array.from({ length: n }, (_, i) => `${tag}-${String(i).padStart(4, '0')}`);

export function kill(n: Node, signal: NodeJS.Signals = 'SIGKILL') {
  if (n.proc.exitCode === null && n.proc.signalCode === null) n.proc.kill(signal);
}

/**
 * One cluster test's world: a fresh database with the probe tables, a unique Redis key prefix,
 * and a `start(id)` that spawns nodes; everything is torn down through `cleanups`.
 */
export async function clusterFixture(
  redis: Awaited<ReturnType<typeof redisClient>>,
  cleanups: Array<() => Promise<unknown>>,
  o: { tag: string; shards: number; ttlMs: number; extra?: Record<string, string> },
) {
  const { createTestDatabase } = await import('../support/db.ts');
  const db = await createTestDatabase(`cluster_${o.tag}`);
  const client = await prepareTables(db.url);
  // A node frozen (SIGSTOP) inside a transaction holds row locks; Postgres ends such a session so
  // the new owner's fence stamp is not blocked (production: see docs/operations.md).
  await client.query(`alter database "${new URL(db.url).pathname.slice(1)}" set idle_in_transaction_session_timeout = '1s'`);
  const prefix = `test:${o.tag}:${process.pid}:${Date.now()}`;
  const nodes: Node[] = [];
  cleanups.push(async () => {
    for (const n of nodes) {
      if (n.proc.signalCode === null && n.proc.exitCode === null) n.proc.kill('SIGCONT');
      kill(n);
    }
    await Promise.all(nodes.map((n) => n.exited));
    await client.end();
    await db.drop();
    await deletePrefix(redis, prefix);
  });
  const env = { NODE_DB_URL: db.url, NODE_PREFIX: prefix, NODE_SHARDS: String(o.shards), NODE_TTL_MS: String(o.ttlMs), ...o.extra };
  const start = async (id: string) => {
    const n = await startNode(id, env);
    nodes.push(n);
    return n;
  };
  return { db: client, prefix, nodes, start, env };
}
