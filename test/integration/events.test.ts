/**
 * POST /api/events end to end: real uWS server, real Postgres (event + outbox rows), real Redis
 * Streams (consumer group, XAUTOCLAIM, dead letter) and real project actors as the effect.
 * A crashed consumer's entry is reclaimed and applied once; a Redis that is down during ingest
 * (a redis-server this test starts and kills itself) yields 202 deferred and delivery after it
 * is back; a poison event lands in the dead-letter stream. Waits are on worker events, not time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import { createClient } from 'redis';
import { filter, firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HandledEvent } from '../../src/actors/events/index.ts';
import type { HubEvent } from '../../src/actors/hub.ts';
import { createRuntime, type Runtime } from '../../src/actors/runtime.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { eventsPlugin, type EventsPlugin, type EventsPluginOptions } from '../../src/server/events/index.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { createTestDatabase, requirePostgres, tempDir } from '../support/db.ts';
import { FakeSteps } from '../support/fakeSteps.ts';
import { REDIS_TEST_URL, requireRedis } from '../support/server.ts';

const REDIS_URL = REDIS_TEST_URL;


const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** A private redis-server (no persistence) on `port`; resolves once it accepts connections. */
function startRedis(port: number): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('Ready to accept connections')) resolve(proc);
    });
    proc.once('error', reject);
    proc.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out.slice(-500)}`)));
  });
}

const skip = (await requirePostgres()) ?? (await requireRedis());

describe.skipIf(!!skip)('event ingest → Redis Stream → worker', () => {
  const steps = new FakeSteps();
  const hubLog: HubEvent[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  const run = randomUUID().slice(0, 8);
  let rt: Runtime;
  let main: { server: RunningServer; plugin: EventsPlugin; base: string };
  let redis: ReturnType<typeof createClient>;
  const started: RunningServer[] = [];

  const start = async (opts: EventsPluginOptions, runtime: Runtime = rt) => {
    const plugin = eventsPlugin({ claimIdleMs: 100, maxDeliveries: 2, relayIntervalMs: 200, ...opts });
    const server = await startServer(runtime, { port: 0, host: '127.0.0.1', plugins: [plugin] });
    cleanups.push(() => server.close());
    started.push(server);
    return { server, plugin, base: `http://127.0.0.1:${server.port}` };
  };
  const post = async (base: string, body: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}/api/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
    return { status: res.status, headers: res.headers, body: (await res.json()) as any };
  };
  const handled = (plugin: EventsPlugin, id: string, outcome: HandledEvent['outcome']) =>
    firstValueFrom(plugin.pipeline!.worker.handled$.pipe(filter((h) => h.id === id && h.outcome === outcome)));
  const wakes = (projectId: string) => hubLog.filter((e) => e.projectId === projectId && e.type === 'transition' && e.payload.event === 'TASKS_CHANGED').length;
  const row = async (id: string) =>
    (await rt.db.query<any>(`select e.status, e.correlation_id, e.deliveries, o.acked_at, o.dispatched_at from event e join outbox o on o.event_id = e.id where e.id = $1`, [id]))[0];
  /** An idle project (no tasks) that TASKS_CHANGED wakes into selecting → idle. */
  const idleProject = async (projectId: string) => {
    const idle = firstValueFrom(rt.hub.all$.pipe(filter((e) => e.type === 'status' && e.projectId === projectId && e.payload.state === 'idle')));
    await rt.registry.initialize({ projectId, tasks: [] });
    await idle;
  };

  beforeAll(async () => {
    const tdb = await createTestDatabase('events');
    const dir = await tempDir();
    cleanups.push(tdb.drop, dir.remove);
    const config = loadConfig({ DATABASE_URL: tdb.url, REDIS_URL, DEVTEAM_DATA_DIR: dir.path, LOG_LEVEL: 'silent' });
    rt = await createRuntime({ config, logger: silentLogger(), makeSteps: steps.make });
    cleanups.push(() => rt.close());
    rt.hub.all$.subscribe((e) => hubLog.push(e));
    redis = createClient({ url: REDIS_URL });
    await redis.connect();
    cleanups.push(() => redis.close());
    main = await start({
      stream: `devteam:events:test:${run}`,
      routes: { 'test.poison': async () => Promise.reject(new Error('handler always fails')) },
    });
    cleanups.push(() => redis.del([`devteam:events:test:${run}`, `devteam:events:test:${run}:dead`, `devteam:events:test:${run}:crash`]));
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('202 with the correlationId echoed; the worker routes the event and acks after storing', async () => {
    await idleProject('ev1');
    const id = randomUUID();
    const done = handled(main.plugin, id, 'processed');
    const r = await post(main.base, { id, type: 'tasks.changed', projectId: 'ev1', payload: { ref: 'main' } }, { 'x-correlation-id': 'hook-42' });
    expect(r.status).toBe(202);
    expect(r.headers.get('x-correlation-id')).toBe('hook-42');
    expect(r.body).toEqual({ id, correlationId: 'hook-42', dispatch: 'queued' });
    expect(await done).toMatchObject({ correlationId: 'hook-42', projectId: 'ev1', type: 'tasks.changed', deliveries: 1 });
    await rt.registry.get('ev1')!.settled();
    expect(wakes('ev1')).toBe(1);
    expect(await row(id)).toMatchObject({ status: 'processed', correlation_id: 'hook-42', acked_at: expect.anything() });
    expect(Number((await redis.xPending(main.plugin.pipeline!.stream, main.plugin.pipeline!.group)).pending)).toBe(0);

    // No (or an unsafe) X-Correlation-Id → a generated one, echoed; unknown types are recorded as ignored.
    const id2 = randomUUID();
    const ignored = handled(main.plugin, id2, 'ignored');
    const r2 = await post(main.base, { id: id2, type: 'something.else', projectId: 'ev1', payload: {} }, { 'x-correlation-id': 'bad id with spaces' });
    expect(r2.status).toBe(202);
    expect(r2.body.correlationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(r2.headers.get('x-correlation-id')).toBe(r2.body.correlationId);
    await ignored;
    expect((await row(id2)).status).toBe('ignored');
    const metrics = await main.server.metrics.text();
    expect(Number(/devteam_queue_latency_seconds_count (\d+)/.exec(metrics)![1])).toBeGreaterThanOrEqual(2);
  });

  it('validation: 400 problem+json for a bad body, nothing stored', async () => {
    const bad = [
      {},
      { type: 'tasks.changed' },
      { type: 'Tasks Changed', projectId: 'ev1', payload: {} },
      { type: 'tasks.changed', projectId: 'EV_1', payload: {} },
      { id: 'not-a-uuid', type: 'tasks.changed', projectId: 'ev1', payload: {} },
      { type: 'tasks.changed', projectId: 'ev1', payload: {}, extra: true },
      { type: 'tasks.changed', projectId: 'ev1', payload: [1, 2] },
    ];
    const [{ n: before }] = await rt.db.query<{ n: string }>(`select count(*) as n from event`);
    for (const body of bad) {
      const r = await post(main.base, body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.headers.get('content-type')).toContain('application/problem+json');
      expect(r.body.issues.length).toBeGreaterThan(0);
    }
    const [{ n: after }] = await rt.db.query<{ n: string }>(`select count(*) as n from event`);
    expect(after).toBe(before);
  });

  it('a duplicate id → 202 with the original, one row, one effect', async () => {
    await idleProject('dup');
    const id = randomUUID();
    const first = handled(main.plugin, id, 'processed');
    const body = { id, type: 'tasks.changed', projectId: 'dup', payload: {} };
    const [a, b] = await Promise.all([post(main.base, body, { 'x-correlation-id': 'first' }), post(main.base, body, { 'x-correlation-id': 'second' })]);
    await first;
    const c = await post(main.base, body, { 'x-correlation-id': 'third' });
    const original = a.body.correlationId === 'first' || b.body.correlationId === 'first' ? 'first' : 'second';
    for (const r of [a, b, c]) expect(r).toMatchObject({ status: 202, body: { id, correlationId: original, dispatch: 'queued' } });
    await rt.registry.get('dup')!.settled();
    expect(wakes('dup')).toBe(1);
    expect((await rt.db.query(`select 1 from event where id = $1`, [id])).length).toBe(1);
  });

  it('a consumer crashing between XADD and XACK: the entry is reclaimed (XAUTOCLAIM) and applied once', async () => {
    const stream = `devteam:events:test:${run}:crash`;
    const b = await start({ stream, startWorker: false });
    await idleProject('crash');
    const id = randomUUID();
    const r = await post(b.base, { id, type: 'tasks.changed', projectId: 'crash', payload: {} });
    expect(r.body.dispatch).toBe('queued');

    // A consumer reads the entry, then dies without XACK (its connection is dropped).
    const doomed = createClient({ url: REDIS_URL });
    await doomed.connect();
    await doomed.xGroupCreate(stream, b.plugin.pipeline!.group, '0', { MKSTREAM: true }).catch(() => undefined);
    const read = (await doomed.xReadGroup(b.plugin.pipeline!.group, 'doomed', { key: stream, id: '>' }, { COUNT: 10 })) as any[];
    expect(read[0].messages.map((m: any) => m.message.id)).toEqual([id]);
    doomed.destroy();
    expect(await row(id)).toMatchObject({ status: 'received', acked_at: null });

    const reclaimed = handled(b.plugin, id, 'processed');
    b.plugin.pipeline!.startWorker();
    expect((await reclaimed).deliveries).toBe(2);
    await rt.registry.get('crash')!.settled();
    expect(wakes('crash')).toBe(1);
    expect(Number((await redis.xPending(stream, b.plugin.pipeline!.group)).pending)).toBe(0);

    // The same event delivered again (e.g. a relay re-dispatch): recognised, acked, not re-applied.
    const again = handled(b.plugin, id, 'duplicate');
    await redis.xAdd(stream, '*', { id, correlationId: r.body.correlationId, projectId: 'crash', type: 'tasks.changed', enqueuedAt: String(Date.now()) });
    await again;
    await rt.registry.get('crash')!.settled();
    expect(wakes('crash')).toBe(1);
    expect(Number((await redis.xPending(stream, b.plugin.pipeline!.group)).pending)).toBe(0);
    await b.server.close();
  });

  it('a poison event is retried, then moved to the dead-letter stream and marked dead', async () => {
    await idleProject('poison');
    const id = randomUUID();
    const dead = handled(main.plugin, id, 'dead');
    const retries: HandledEvent[] = [];
    const sub = main.plugin.pipeline!.worker.handled$.pipe(filter((h) => h.id === id && h.outcome === 'retry')).subscribe((h) => retries.push(h));
    expect((await post(main.base, { id, type: 'test.poison', projectId: 'poison', payload: {} })).status).toBe(202);
    expect((await dead).deliveries).toBe(3);
    sub.unsubscribe();
    expect(retries.map((h) => h.deliveries)).toEqual([1, 2]);
    expect(await row(id)).toMatchObject({ status: 'dead', acked_at: expect.anything() });
    const p = main.plugin.pipeline!;
    const letters = await redis.xRange(p.deadStream, '-', '+');
    expect(letters.filter((l) => l.message.id === id)).toEqual([expect.objectContaining({ message: expect.objectContaining({ id, type: 'test.poison', reason: expect.stringContaining('poison') }) })]);
    expect(Number((await redis.xPending(p.stream, p.group)).pending)).toBe(0);
  });

  it('without Redis: the in-process queue fed from the outbox delivers the same way', async () => {
    const d = await start({ inProcess: true });
    await idleProject('local');
    const id = randomUUID();
    const done = handled(d.plugin, id, 'processed');
    const r = await post(d.base, { id, type: 'tasks.changed', projectId: 'local', payload: {} });
    expect(r.body.dispatch).toBe('queued');
    await done;
    await rt.registry.get('local')!.settled();
    expect(wakes('local')).toBe(1);
    expect((await row(id)).status).toBe('processed');
    await d.server.close();
  });
  it('Redis down during ingest → 202 deferred (stored), delivered once Redis is back', async () => {
    const port = await freePort();
    let child = await startRedis(port);
    cleanups.push(async () => child.kill('SIGKILL'));
    const url = `redis://127.0.0.1:${port}`;
    // One relay per outbox (as in production): the other servers on this database stop first.
    for (const s of started) await s.close();
    const own: Runtime = { ...rt, config: { ...rt.config, REDIS_URL: url } };
    const c = await start({ stream: 'devteam:events' }, own);
    await idleProject('outage');

    const okId = randomUUID();
    const ok = handled(c.plugin, okId, 'processed');
    expect((await post(c.base, { id: okId, type: 'tasks.changed', projectId: 'outage', payload: {} })).body.dispatch).toBe('queued');
    await ok;

    const lost = new Promise((r) => c.server.redis!.client.once('error', r));
    child.kill('SIGKILL');
    await lost; // the server's client has seen the connection go
    const id = randomUUID();
    const r = await post(c.base, { id, type: 'tasks.changed', projectId: 'outage', payload: {} }, { 'x-correlation-id': 'during-outage' });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ id, correlationId: 'during-outage', dispatch: 'deferred' });
    expect(await row(id)).toMatchObject({ status: 'received', dispatched_at: null, acked_at: null });

    const delivered = handled(c.plugin, id, 'processed');
    child = await startRedis(port); // empty: no stream, no group — both are recreated
    expect(await delivered).toMatchObject({ correlationId: 'during-outage' });
    await rt.registry.get('outage')!.settled();
    expect(wakes('outage')).toBe(2);
    expect(await row(id)).toMatchObject({ status: 'processed', acked_at: expect.anything() });
  });
});
