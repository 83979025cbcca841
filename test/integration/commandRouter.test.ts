/**
 * The command router on real Redis: entries of one project are applied in stream order even when
 * an earlier entry was read by a node that did not apply it (it had lost the shard, or the project
 * was released or fenced there) — the stale read leaves the entry pending, and the owner applies it
 * before any later entry of the same project.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CommandRouter, NotAppliedHereError, type ClusterCommand } from '../../src/actors/cluster/commandRouter.ts';
import { clusterKeys } from '../../src/actors/cluster/shards.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { createRedis, type RedisHandle } from '../../src/infra/redis.ts';
import { REDIS_TEST_URL, requireRedis } from '../support/server.ts';
import { until } from '../support/runtime.ts';

const skip = await requireRedis();

describe.skipIf(!!skip)('command router (real Redis)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  /** The command's name as the tests record it. */
  const named = (c: ClusterCommand) => (c.kind === 'command' ? c.cmd : c.kind);
  /** An apply that records what it applied, and refuses (NotAppliedHereError) while `refused()` says so. */
  const recorder = (applied: string[], refused: () => boolean) => async (id: string, c: ClusterCommand) => {
    if (refused()) throw new NotAppliedHereError(id);
    applied.push(named(c));
  };

  async function router(prefix: string, apply: (projectId: string, c: ClusterCommand) => Promise<unknown>, owns: () => boolean, sweepMs = 1e9) {
    const redis: RedisHandle = await createRedis(REDIS_TEST_URL, silentLogger());
    const r = new CommandRouter({ redis, keys: clusterKeys(prefix), nodeId: `n-${prefix}`, shards: 1, logger: silentLogger(), apply, owns, sweepMs });
    await r.start();
    cleanups.push(async () => {
      await r.close();
      const keys = [];
      for await (const k of redis.client.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 })) keys.push(...k);
      if (keys.length) await redis.client.del(keys);
      await redis.close();
    });
    return r;
  }

  it('an entry left pending by a stale read is applied before a later entry of the same project', async () => {
    const applied: string[] = [];
    let owner = false;
    const prefix = `routertest${process.pid}${Date.now().toString(36)}`;
    const r = await router(prefix, recorder(applied, () => false), () => owner);
    r.setShards([0]);
    // Read while this node does not own the shard: left pending, like a node that had just lost it.
    await r.send('p1', { kind: 'command', cmd: 'PAUSE' }, 0);
    await until(async () => r.stats.leftForNextOwner === 1, 'the stale read');
    owner = true;
    const reply = await r.send('p1', { kind: 'command', cmd: 'RESUME' }, 60_000);
    expect(reply).toMatchObject({ ok: true });
    expect(applied).toEqual(['PAUSE', 'RESUME']);
    expect(r.stats.reordered).toBe(1);
    await r.idle();
    const keys = clusterKeys(prefix);
    expect(Number((await (await createRedisOnce()).xPending(keys.stream(0), keys.group)).pending)).toBe(0);
  });

  it('an entry the owner could not apply (NotAppliedHereError) is retried by a sweep, without a later entry', async () => {
    const applied: string[] = [];
    let fenced = true;
    const prefix = `routertest${process.pid}${Date.now().toString(36)}b`;
    const r = await router(prefix, recorder(applied, () => fenced), () => true, 50);
    r.setShards([0]);
    const sent = r.send('p1', { kind: 'command', cmd: 'PAUSE' }, 60_000);
    await until(async () => r.stats.leftForNextOwner >= 1, 'the first, refused attempt');
    fenced = false; // the project is hosted here again
    expect(await sent).toMatchObject({ ok: true });
    expect(applied).toEqual(['PAUSE']);
  });

  it('a later entry of a project never overtakes an earlier one that could not be applied yet', async () => {
    const applied: string[] = [];
    let hosted = false;
    const prefix = `routertest${process.pid}${Date.now().toString(36)}c`;
    const r = await router(prefix, recorder(applied, () => !hosted), () => true, 50); // released or fenced here for a moment
    r.setShards([0]);
    const first = r.send('p1', { kind: 'command', cmd: 'STOP' }, 60_000);
    await until(async () => r.stats.leftForNextOwner >= 1, 'STOP left pending');
    const second = r.send('p1', { kind: 'command', cmd: 'RESUME' }, 60_000);
    await until(async () => r.stats.leftForNextOwner >= 3, 'RESUME held back behind STOP');
    expect(applied).toEqual([]);
    hosted = true;
    expect(await first).toMatchObject({ ok: true });
    expect(await second).toMatchObject({ ok: true });
    expect(applied).toEqual(['STOP', 'RESUME']);
  });

  it('a pending entry trimmed from the stream is acknowledged, and the shard keeps consuming', async () => {
    const applied: string[] = [];
    let owner = false;
    const prefix = `routertest${process.pid}${Date.now().toString(36)}d`;
    const r = await router(prefix, recorder(applied, () => false), () => owner, 50);
    r.setShards([0]);
    await r.send('p1', { kind: 'command', cmd: 'PAUSE' }, 0);
    await until(async () => r.stats.leftForNextOwner >= 1, 'the stale read');
    const keys = clusterKeys(prefix);
    const client = await createRedisOnce();
    const [pending] = await client.xPendingRange(keys.stream(0), keys.group, '-', '+', 10);
    await client.xDel(keys.stream(0), pending!.id); // what MAXLEN trimming does to an old entry
    owner = true;
    expect(await r.send('p2', { kind: 'command', cmd: 'RESUME' }, 60_000)).toMatchObject({ ok: true });
    await until(async () => Number((await client.xPending(keys.stream(0), keys.group)).pending) === 0, 'the trimmed entry acknowledged');
    expect(applied).toEqual(['RESUME']);
  });

  let once: RedisHandle | undefined;
  async function createRedisOnce() {
    if (!once) {
      once = await createRedis(REDIS_TEST_URL, silentLogger());
      const h = once;
      cleanups.push(() => h.close());
    }
    return once.client;
  }
});
