/**
 * Idempotency-Key through the server's HTTP pipeline, with both stores: Redis (REDIS_URL set) and
 * the Postgres fallback. Requests are injected in-process (the same pipeline the socket uses);
 * concurrency is real (50 requests in parallel against the store); in-flight states are held with
 * step gates, expiry is simulated by moving the record's expiry into the past (no sleeps). A
 * replay over a real socket checks the wire.
 */
import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createLogger } from '../../src/infra/logger.ts';
import type { Handler } from '../../src/server/http/types.ts';
import { requestFingerprint } from '../../src/server/idempotency/key.ts';
import { requirePostgres } from '../support/db.ts';
import { projectBody, requireRedis, startTestServer, type TestServer } from '../support/server.ts';

const A = '/api/devteam/automation';
const noPg = await requirePostgres();
const noRedis = noPg ? 'no Postgres' : await requireRedis();

describe.each([
  { store: 'postgres' as const, skip: noPg },
  { store: 'redis' as const, skip: noRedis },
])('Idempotency-Key ($store store)', ({ store, skip }) => {
  let s: TestServer;
  let flakyCalls = 0;
  const flaky: Handler = async () => {
    flakyCalls++;
    if (flakyCalls === 1) throw new Error('transient failure');
    return { status: 200, body: { calls: flakyCalls } };
  };
  let brokenCalls = 0;
  const broken: Handler = async () => {
    brokenCalls++;
    throw new Error('database exploded');
  };
  /** Every line the runtime and server logged (warn and above), parsed. */
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(c, _e, cb) {
      for (const l of String(c).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  beforeAll(async () => {
    if (skip) return;
    s = await startTestServer({
      inProcess: true,
      redis: store === 'redis',
      tasks: ['1.1'],
      logger: createLogger({ level: 'warn' }, sink),
      server: {
        extraRoutes: [
          { method: 'POST', pattern: '/api/flaky', handler: flaky },
          { method: 'POST', pattern: '/api/broken', handler: broken },
        ],
      },
    });
  });
  afterAll(async () => s?.close());

  const post = (path: string, key: string | undefined, json?: unknown) =>
    s.call(path, { method: 'POST', json, headers: key === undefined ? {} : { 'idempotency-key': key } });

  test.skipIf(!!skip)('uses the expected store', () => {
    expect(s.server.idempotency.kind).toBe(store);
  });

  test.skipIf(!!skip)('50 concurrent initialize with one key: exactly one effect, the rest in-flight 409 or replays', async () => {
    const key = randomUUID();
    const body = projectBody(`idem-${store}-50`);
    const rs = await Promise.all(Array.from({ length: 50 }, () => post(`${A}/initialize`, key, body)));
    const executed = rs.filter((r) => r.status === 201 && !r.headers.has('idempotent-replayed'));
    expect(executed).toHaveLength(1);
    for (const r of rs) {
      if (r === executed[0]) continue;
      if (r.status === 409) {
        expect(r.headers.get('retry-after')).toBe('1');
        expect((await r.json()).type).toMatch(/idempotency-in-flight$/);
      } else {
        expect(r.status).toBe(201);
        expect(r.headers.get('idempotent-replayed')).toBe('true');
      }
    }
    expect(s.steps.calls.filter((c) => c.projectId === body.projectId && c.step === 'syncRepo')).toHaveLength(1);
  });

  test.skipIf(!!skip)('50 concurrent RETRY with one key: the command is applied once', async () => {
    const id = `idem-${store}-retry`;
    expect((await post(`${A}/initialize`, undefined, projectBody(id))).status).toBe(201);
    await s.waitFor(id, (x) => x.state === 'idle');
    s.steps.failNext(id, 'runAgent');
    s.steps.tasks.push(`t-${id}`);
    s.runtime.registry.wake(id, 'TASKS_CHANGED');
    await s.waitFor(id, (x) => x.state === 'halted');
    const key = randomUUID();
    const rs = await Promise.all(Array.from({ length: 50 }, () => post(`${A}/retry/${id}`, key)));
    expect(rs.filter((r) => r.status === 200 && !r.headers.has('idempotent-replayed'))).toHaveLength(1);
    for (const r of rs) expect(r.status === 200 || (r.status === 409 && r.headers.get('retry-after') === '1')).toBe(true);
    // Without the key, 49 more RETRYs would have been 409 state conflicts; with it, one attempt 2 ran.
    expect(s.steps.calls.filter((c) => c.projectId === id && c.step === 'prepareTask' && c.attempt === 2)).toHaveLength(1);
  });

  test.skipIf(!!skip)('in flight → 409 Retry-After; other body → 422; after completion → replay with the header', async () => {
    const id = `idem-${store}-flight`;
    expect((await post(`${A}/initialize`, undefined, projectBody(id))).status).toBe(201);
    await s.waitFor(id, (x) => x.state === 'idle');
    // STOP answers once cleanup finished: a blocked cleanup holds the first request in flight.
    s.steps.block(id, 'cleanup');
    const key = randomUUID();
    const first = post(`${A}/stop/${id}`, key);
    await s.steps.waitingAt(id, 'cleanup');
    const second = await post(`${A}/stop/${id}`, key);
    expect(second.status).toBe(409);
    expect(second.headers.get('retry-after')).toBe('1');
    expect(second.headers.get('content-type')).toBe('application/problem+json');
    expect((await post(`${A}/stop/${id}`, key, { force: true })).status).toBe(422);
    s.steps.release(id, 'cleanup');
    const done = await first;
    expect(done.status).toBe(200);
    expect(done.headers.has('idempotent-replayed')).toBe(false);
    const text = await done.text();
    expect(JSON.parse(text).state).toBe('stopped');
    const replay = await post(`${A}/stop/${id}`, key);
    expect(replay.status).toBe(200);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('devteam-noop')).toBe('false');
    expect(await replay.text()).toBe(text);
    // A replayed initialize; key order does not change the fingerprint.
    const k2 = randomUUID();
    const body = projectBody(`${id}-2`);
    const created = await post(`${A}/initialize`, k2, body);
    expect(created.status).toBe(201);
    const { verify, agent, repo, projectId } = body as Record<string, unknown>;
    const again = await post(`${A}/initialize`, k2, { agent, verify, projectId, repo });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.headers.get('devteam-initialize')).toBe('created');
    expect((await post(`${A}/initialize`, k2, projectBody(`${id}-2`, { git: { authorName: 'X' } }))).status).toBe(422);
  });

  test.skipIf(!!skip)('malformed keys → 400; scope is per route; the same key on another project → 422', async () => {
    for (const bad of ['', 'x'.repeat(256), 'a\tb']) {
      const r = await post(`${A}/pause/nothing`, bad);
      expect(r.status).toBe(400);
      expect((await r.json()).type).toMatch(/idempotency-malformed$/);
    }
    expect((await post(`${A}/pause/nothing`, 'k'.repeat(255))).status).toBe(404);
    const key = randomUUID();
    expect((await post(`${A}/pause/ghost-a`, key)).status).toBe(404);
    expect((await post(`${A}/pause/ghost-a`, key)).headers.get('idempotent-replayed')).toBe('true');
    expect((await post(`${A}/pause/ghost-b`, key)).status).toBe(422);
    const resume = await post(`${A}/resume/ghost-a`, key);
    expect(resume.status).toBe(404);
    expect(resume.headers.has('idempotent-replayed')).toBe(false);
  });

  test.skipIf(!!skip)('a 5xx releases the claim so the retry executes', async () => {
    const key = randomUUID();
    expect((await post('/api/flaky', key, { a: 1 })).status).toBe(500);
    const ok = await post('/api/flaky', key, { a: 1 });
    expect(ok.status).toBe(200);
    expect(ok.headers.has('idempotent-replayed')).toBe(false);
    const replay = await post('/api/flaky', key, { a: 1 });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(await replay.json()).toEqual({ calls: 2 });
    expect(flakyCalls).toBe(2);
  });

  test.skipIf(!!skip)('a 5xx under an Idempotency-Key is logged exactly once, with its correlationId and route', async () => {
    const key = randomUUID();
    const cid = `idem-5xx-${store}`;
    const r = await s.call('/api/broken', { method: 'POST', json: { a: 1 }, headers: { 'idempotency-key': key, 'x-correlation-id': cid } });
    expect(r.status).toBe(500);
    expect(r.headers.get('x-correlation-id')).toBe(cid);
    expect(await r.text()).not.toContain('database exploded');
    const logged = () => lines.filter((l) => l.correlationId === cid);
    expect(logged()).toEqual([
      expect.objectContaining({ level: 50, msg: 'request failed', component: 'server', route: '/api/broken', method: 'POST', status: 500, err: expect.objectContaining({ message: 'database exploded' }) }),
    ]);
    // The claim was released: the retry executes (and fails, and is logged) again.
    const again = await s.call('/api/broken', { method: 'POST', json: { a: 1 }, headers: { 'idempotency-key': key, 'x-correlation-id': `${cid}-2` } });
    expect(again.status).toBe(500);
    expect(again.headers.has('idempotent-replayed')).toBe(false);
    expect(brokenCalls).toBe(2);
    expect(lines.filter((l) => l.correlationId === `${cid}-2`)).toHaveLength(1);
    expect(logged()).toHaveLength(1);
  });

  test.skipIf(!!skip)('a claim left in flight by a killed runner is a 120 s lease: once it lapses the retry executes', async () => {
    const key = randomUUID();
    const path = `${A}/pause/ghost-killed`;
    // The claim a runner took right before kill -9: never completed, never released.
    const scope = `POST ${A}/pause/:projectId anonymous`;
    expect(await s.server.idempotency.claim(scope, key, requestFingerprint(path, undefined))).toEqual({ kind: 'claimed' });
    const held = await post(path, key);
    expect(held.status).toBe(409);
    expect(await held.text()).toContain('idempotency-in-flight');
    if (store === 'postgres') {
      const [row] = await s.runtime.db.query<{ ttl: number }>(`select extract(epoch from expires_at - created_at)::int as ttl from idempotency_key where key = $1`, [key]);
      expect(row!.ttl).toBe(120);
      await s.runtime.db.query(`update idempotency_key set expires_at = now() - interval '1 second' where key = $1`, [key]);
    } else {
      const client = s.server.redis!.client;
      const [name] = await client.keys(`devteam:idem:*:${key}`);
      const ttl = await client.ttl(name!);
      expect(ttl).toBeGreaterThan(0);
      expect(ttl).toBeLessThanOrEqual(120);
      await client.del(name!); // what EX does when the lease runs out
    }
    const retried = await post(path, key);
    expect(retried.status).toBe(404); // executed (the project does not exist), not 409
    expect(retried.headers.has('idempotent-replayed')).toBe(false);
  });

  test.skipIf(!!skip)('keys expire 6 h after creation; an expired key executes again', async () => {
    const key = randomUUID();
    const pause = `${A}/pause/ghost-exp`;
    expect((await post(pause, key)).status).toBe(404);
    expect((await post(pause, key)).headers.get('idempotent-replayed')).toBe('true');
    if (store === 'postgres') {
      const [row] = await s.runtime.db.query<{ ttl: number }>(`select extract(epoch from expires_at - created_at)::int as ttl from idempotency_key where key = $1`, [key]);
      expect(row!.ttl).toBe(6 * 3600);
      await s.runtime.db.query(`update idempotency_key set expires_at = now() - interval '1 second' where key = $1`, [key]);
    } else {
      const client = s.server.redis!.client;
      const [name] = await client.keys(`devteam:idem:*:${key}`);
      const ttl = await client.ttl(name!);
      expect(ttl).toBeGreaterThan(6 * 3600 - 600);
      expect(ttl).toBeLessThanOrEqual(6 * 3600);
      await client.expireAt(name!, Math.floor(Date.now() / 1000) - 10);
    }
    const again = await post(pause, key);
    expect(again.status).toBe(404);
    expect(again.headers.has('idempotent-replayed')).toBe(false);
    expect((await post(pause, key)).headers.get('idempotent-replayed')).toBe('true');
  });
});

describe.skipIf(!!noPg)('Idempotency-Key over the socket', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer({ tasks: ['1.1'] });
  });
  afterAll(async () => s?.close());

  test('a replay carries the stored status, headers and bytes, with this request\'s correlation id', async () => {
    const key = randomUUID();
    const body = projectBody('idem-wire');
    const first = await s.call(`${A}/initialize`, { method: 'POST', json: body, headers: { 'idempotency-key': key, 'x-correlation-id': 'wire-a' } });
    expect(first.status).toBe(201);
    const text = await first.text();
    const replay = await s.call(`${A}/initialize`, { method: 'POST', json: body, headers: { 'idempotency-key': key, 'x-correlation-id': 'wire-b' } });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('devteam-initialize')).toBe('created');
    expect(replay.headers.get('content-type')).toBe(first.headers.get('content-type'));
    expect(replay.headers.get('x-correlation-id')).toBe('wire-b');
    expect(await replay.text()).toBe(text);
  });
});
