/**
 * Multi-node failure modes, all real (three runner processes, one Redis, one Postgres):
 *
 *  - A stale owner: node-a is frozen (SIGSTOP) while its projects sit in the step before a push,
 *    past its lease TTL; the others take its shards over and finish those tasks. After SIGCONT,
 *    node-a cannot write a snapshot (Postgres rejects its stale fence: FencedWriteError) and does
 *    not push (the lease is re-checked right before any push), so no task reaches the remote twice.
 *  - Rolling restart of all three nodes, one by one (SIGTERM → clean hand-over → start again),
 *    under steady REST command traffic (PAUSE/RESUME on every project, sent to any live node):
 *    every command is answered (200, or 202 with the current status), every stream entry is
 *    applied exactly once (one result record per entry, nothing pending), and each project ends
 *    in the state its last command asked for.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../src/actors/cluster/shards.ts';
import { requirePostgres } from '../support/db.ts';
import { clusterFixture, doublePushes, leaseTokens, projectIds, redisClient, until } from './cluster.harness.ts';

const skipPg = await requirePostgres();
const SHARDS = 32;

describe.skipIf(!!skipPg)('cluster failover', () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  let redis: Awaited<ReturnType<typeof redisClient>>;
  beforeAll(async () => {
    redis = await redisClient();
    cleanups.push(() => redis.quit());
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  const setup = (tag: string, extra: Record<string, string>) => clusterFixture(redis, cleanups, { tag, shards: SHARDS, ttlMs: 1500, extra });


  it('a stale owner (SIGSTOP past its lease, then SIGCONT) cannot write a snapshot and does not push', async () => {
    const TASKS = 2;
    const { db, prefix, start } = await setup('stale', { NODE_TASKS: String(TASKS), NODE_AGENT_MS: '20', NODE_RECORD_MS: '2500' });
    const a = await start('node-a');
    const b = await start('node-b');
    const c = await start('node-c');
    await until(async () => {
      const t = await leaseTokens(redis, prefix, SHARDS);
      return t.every((x) => x) && [a, b, c].every((n) => t.some((x) => x?.startsWith(`${n.id}|`)));
    }, 'all nodes hold shards', 300);
    const ids = projectIds(30, 's');
    expect(await b.request({ op: 'init', ids })).toMatchObject({ ok: true });

    // Freeze node-a while some of its projects wait right before their push.
    const before = await leaseTokens(redis, prefix, SHARDS);
    const aShards = new Set(before.map((t, i) => (t?.startsWith('node-a|') ? i : -1)).filter((i) => i >= 0));
    const recording = await until(async () => {
      const { rows } = await db.query(`select id, current_task_id from project where state = 'recording'`);
      const mine = rows.filter((r) => aShards.has(shardOf(r.id, SHARDS)));
      return mine.length >= 2 && mine;
    }, 'node-a projects about to push', 300, 20);
    a.proc.kill('SIGSTOP');
    const frozen = recording.map((r: any) => ({ id: r.id as string, task: r.current_task_id as string }));

    // The others take node-a's shards (larger epochs) and push the frozen tasks themselves.
    await until(async () => {
      const t = await leaseTokens(redis, prefix, SHARDS);
      return [...aShards].every((s) => t[s] && !t[s]!.startsWith('node-a|') && Number(t[s]!.split('|')[1]) > Number(before[s]!.split('|')[1]));
    }, 'takeover of the frozen node shards', 300);
    await until(async () => {
      const { rows } = await db.query(`select project_id, task_id from pushes where project_id = any($1)`, [frozen.map((f) => f.id)]);
      return frozen.every((f) => rows.some((r) => r.project_id === f.id && r.task_id === f.task));
    }, 'the new owners pushed the frozen tasks', 300);

    a.proc.kill('SIGCONT');
    // Postgres rejects the stale owner's snapshot write (its fence is below the stamped epoch).
    const probe = await a.request({ op: 'staleWrite', id: frozen[0]!.id });
    expect(probe).toMatchObject({ rejected: true, error: 'FencedWriteError' });
    // node-a lets go of the frozen projects without pushing.
    await until(async () => {
      const s = await a.request({ op: 'stats' });
      return frozen.every((f) => !s.hosted.includes(f.id)) && s;
    }, 'node-a released the frozen projects', 300);
    await until(async () => (await db.query(`select count(*)::int as n from task_run where outcome = 'completed'`)).rows[0].n >= ids.length * TASKS, 'all tasks completed', 600);
    expect(await doublePushes(db)).toEqual([]);
    const { rows: byA } = await db.query(`select project_id, task_id from pushes where node = 'node-a' and project_id = any($1)`, [frozen.map((f) => f.id)]);
    expect(byA.filter((r) => frozen.some((f) => f.id === r.project_id && f.task === r.task_id))).toEqual([]);
    const { rows: runs } = await db.query(`select project_id, task_id from task_run where outcome = 'completed' group by 1, 2 having count(*) > 1`);
    expect(runs).toEqual([]);
    // How node-a stopped: a push refused by the lease check, or the watchdog dropped the shards first.
    const refused = a.lines.filter((l) => l.ev === 'leaseLost').length;
    process.stderr.write(`stale owner: ${refused} push(es) refused by the lease check after SIGCONT\n`);
  }, 1_200_000);

  it('rolling restart of all three nodes under steady REST command traffic: nothing lost', async () => {
    const { db, prefix, start, nodes } = await setup('rolling', { NODE_TASKS: '100000', NODE_AGENT_MS: '50', NODE_HTTP: '1', NODE_CMD_TIMEOUT_MS: '3000' });
    await start('node-a');
    await start('node-b');
    await start('node-c');
    const ids = projectIds(24, 'r');
    expect(await nodes[0]!.request({ op: 'init', ids })).toMatchObject({ ok: true });
    const up = new Set(nodes.map((n) => n.id));
    const live = () => nodes.filter((n) => up.has(n.id) && n.proc.exitCode === null && n.proc.signalCode === null);

    let running = true;
    const sent: Record<string, string[]> = {};
    const answers: number[] = [];
    /** Unexpected answers with their problem body and node, so a failure says what happened. */
    const unexpected: string[] = [];
    const retried = { network: 0, inFlight: 0 };
    /** One command with an Idempotency-Key; a connection cut by a restarting node is retried (same key) on another node. */
    const send = async (id: string, cmd: string, i: number): Promise<number> => {
      const key = randomUUID();
      const deadline = Date.now() + 300_000; // a safety net; a slow machine only makes this take longer
      for (let attempt = 0; Date.now() < deadline; attempt++) {
        const pool = live();
        const n = pool[(i + attempt) % pool.length]!;
        try {
          const res = await fetch(`${n.url}/api/devteam/automation/${cmd}/${id}`, { method: 'POST', headers: { 'idempotency-key': key } });
          const body = await res.text();
          if (res.status === 409 && body.includes('idempotency')) {
            retried.inFlight++;
          } else {
            if (res.status !== 200 && res.status !== 202) unexpected.push(`${cmd} ${id} #${i} on ${n.id}: ${res.status} ${body}`);
            return res.status;
          }
        } catch {
          retried.network++;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no answer for ${cmd} ${id}`);
    };
    const traffic = ids.map(async (id, i) => {
      sent[id] = [];
      for (let k = 0; running; k++) {
        const cmd = k % 2 === 0 ? 'pause' : 'resume';
        answers.push(await send(id, cmd, i + k));
        sent[id]!.push(cmd);
      }
    });

    for (const name of ['node-a', 'node-b', 'node-c']) {
      const old = nodes.find((n) => n.id === name && n.proc.exitCode === null)!;
      up.delete(name);
      old.proc.kill('SIGTERM');
      // A safety net with a diagnosis: a shutdown that hangs names the stage it hangs in.
      const hung = new Promise<'hung'>((r) => setTimeout(() => r('hung'), 240_000).unref());
      const exit = await Promise.race([old.exited, hung]);
      if (exit === 'hung') throw new Error(`${name} did not exit after SIGTERM; last stage ${JSON.stringify(old.lines.filter((l) => l.ev === 'closing').at(-1))}; stderr:\n${old.stderr().slice(-3000)}`);
      expect(exit.code).toBe(0);
      nodes.splice(nodes.indexOf(old), 1);
      await start(name);
      up.add(name);
      await until(async () => (await leaseTokens(redis, prefix, SHARDS)).some((t) => t?.startsWith(`${name}|`)), `${name} holds shards again`, 300);
    }
    running = false;
    await Promise.all(traffic);

    expect(answers.length).toBeGreaterThan(ids.length * 4);
    expect(unexpected).toEqual([]);
    expect(answers.filter((s) => s !== 200 && s !== 202)).toEqual([]);
    process.stderr.write(`rolling restart: ${answers.length} commands (${answers.filter((s) => s === 202).length} answered 202), retries after a cut connection: ${retried.network}, in-flight retries: ${retried.inFlight}\n`);
    // Every entry of every shard stream applied once: nothing pending, one result record per entry.
    await until(async () => {
      let pending = 0;
      for (let s = 0; s < SHARDS; s++) {
        const info = await redis.xPending(`${prefix}:shard:${s}`, 'owner').catch(() => ({ pending: 0 }));
        pending += Number(info.pending);
      }
      return pending === 0;
    }, 'all stream entries acknowledged', 300);
    let entries = 0;
    for (let s = 0; s < SHARDS; s++) entries += Number(await redis.xLen(`${prefix}:shard:${s}`));
    let records = 0;
    for await (const keys of redis.scanIterator({ MATCH: `${prefix}:cmd:*`, COUNT: 1000 })) records += keys.length;
    const commands = Object.values(sent).reduce((n, l) => n + l.length, 0);
    expect(entries).toBe(commands + ids.length); // + one initialize per project
    expect(records).toBe(entries);
    // Applied in order: each project ends as its last command asked.
    for (const id of ids) {
      const last = sent[id]!.at(-1);
      const { rows } = await db.query(`select state from project where id = $1`, [id]);
      if (last === 'pause') expect(rows[0].state).toBe('paused');
      else expect(rows[0].state).not.toBe('paused');
    }
  }, 1_800_000);
});
