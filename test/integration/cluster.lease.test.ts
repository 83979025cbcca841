/**
 * The lease check right before a push, made deterministic: the node holds a shard, another
 * owner's token appears on the lease (as after a takeover this node did not notice yet), and
 * checkLease refuses — so no push — and stops the shard's actors on this node.
 */
import { createClient } from 'redis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/actors/runtime.ts';
import { LeaseLostError, startCluster, type Cluster } from '../../src/actors/cluster/index.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { createRedis } from '../../src/infra/redis.ts';
import { instantSteps } from '../../bench/support.ts';
import { createTestDatabase, requirePostgres, tempDir } from '../support/db.ts';
import { until } from '../support/runtime.ts';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const skipPg = await requirePostgres();
const redisUp = await (async () => {
  const c = createClient({ url: REDIS_URL, socket: { reconnectStrategy: false, connectTimeout: 2000 } });
  try {
    await c.connect();
    await c.ping();
    return true;
  } catch {
    return false;
  } finally {
    await c.quit().catch(() => undefined);
  }
})();
if (!redisUp && process.env.CI === 'true') throw new Error(`Redis is not reachable at ${REDIS_URL} (CI=true: a missing service is a failure)`);
if (!redisUp) process.stderr.write(`\n*** SKIPPING lease test: Redis is not reachable at ${REDIS_URL} ***\n`);

describe.skipIf(!!skipPg || !redisUp)('lease check before push', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('refuses when another owner holds the lease, and stops that shard here', async () => {
    const db = await createTestDatabase('lease');
    cleanups.push(db.drop);
    const data = await tempDir();
    cleanups.push(data.remove);
    const prefix = `leasetest${process.pid}${Date.now().toString(36)}`;
    let cluster: Cluster | undefined;
    const rt = await createRuntime({
      config: loadConfig({ DATABASE_URL: db.url, REDIS_URL, DEVTEAM_DATA_DIR: data.path }),
      logger: silentLogger(),
      boot: false,
      fence: (id) => cluster?.fence(id) ?? 0,
      makeSteps: instantSteps(1, { blockIn: 'runAgent' }),
    });
    cleanups.push(() => rt.close());
    const redis = await createRedis(REDIS_URL, silentLogger());
    cleanups.push(() => redis.close());
    cluster = await startCluster({ runtime: rt, redis, prefix, shards: 4, ttlMs: 60_000, nodeId: 'node-under-test' });
    cleanups.push(() => cluster!.close());
    cleanups.push(async () => {
      for (const k of await redis.client.keys(`${prefix}:*`)) await redis.client.del(k);
    });
    await cluster.ready();
    await cluster.initialize({ projectId: 'leased' });
    await until(() => rt.registry.hosts.has('leased') && rt.projection.get('leased')?.state === 'executing', 'project executing here');
    await expect(cluster.checkLease('leased')).resolves.toBeUndefined();
    expect(cluster.fence('leased')).toBeGreaterThan(0);

    // Another node took the shard over (its token on the key) while this one still thinks it owns it.
    const key = `${prefix}:lease:${cluster.shardOf('leased')}`;
    const before = await redis.client.get(key);
    expect(before).toMatch(/^node-under-test\|/);
    await redis.client.set(key, 'other-node|999999|tok', { PX: 60_000 } as never);

    const err = await cluster.checkLease('leased').catch((e) => e);
    expect(err).toBeInstanceOf(LeaseLostError);
    expect(err.message).toContain('not pushing');
    await until(() => !rt.registry.hosts.has('leased'), 'the shard’s actors stopped here');
    expect(cluster.fence('leased')).toBe(0);
  });
});
