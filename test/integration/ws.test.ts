/**
 * /ws/devteam against the real uWS server, a real `ws` client, real Postgres and real project
 * actors (in-process steps the test releases one by one): ordered transitions, an exact gap
 * fill on reconnect, snapshots when the gap cannot be served, inbound/outbound limits, a slow
 * consumer whose drops are counted and followed by a snapshot, token and Origin checks.
 */
import { filter, firstValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import type { HubEvent } from '../../src/actors/hub.ts';
import { createRuntime, type Runtime } from '../../src/actors/runtime.ts';
import { envelopeSchema } from '../../src/domain/envelope.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { startServer, type RunningServer } from '../../src/server/index.ts';
import { webSocketPlugin, type WebSocketPluginOptions } from '../../src/server/ws/index.ts';
import { createTestDatabase, requirePostgres, tempDir } from '../support/db.ts';
import { FakeSteps } from '../support/fakeSteps.ts';

interface Client {
  ws: WebSocket;
  messages: any[];
  sizes: number[];
  waitFor(pred: (m: any, i: number) => boolean, what?: string): Promise<any>;
  /** Ping and wait for its answer: every envelope the server sent before it has arrived. */
  sync(): Promise<void>;
  send(msg: unknown): void;
  closed: Promise<{ code: number }>;
}

function connect(url: string, opts: { protocols?: string[]; origin?: string } = {}): Promise<Client> {
  const ws = new WebSocket(url, opts.protocols ?? [], opts.origin ? { origin: opts.origin } : {});
  const messages: any[] = [];
  const sizes: number[] = [];
  const waiters: Array<{ pred: (m: any, i: number) => boolean; resolve: (m: any) => void; reject: (e: Error) => void; what: string }> = [];
  let closedWith: number | undefined;
  const closed = new Promise<{ code: number }>((resolve) =>
    ws.on('close', (code) => {
      closedWith = code;
      for (const w of waiters.splice(0)) w.reject(new Error(`socket closed (${code}) before ${w.what}`));
      resolve({ code });
    }),
  );
  ws.on('message', (data: Buffer) => {
    const m = JSON.parse(data.toString('utf8'));
    const i = messages.push(m) - 1;
    sizes.push(data.length);
    for (const w of [...waiters]) if (w.pred(m, i)) (waiters.splice(waiters.indexOf(w), 1), w.resolve(m));
  });
  const c: Client = {
    ws,
    messages,
    sizes,
    closed,
    send: (msg) => ws.send(JSON.stringify(msg)),
    waitFor(pred, what = 'message') {
      const i = messages.findIndex(pred);
      if (i >= 0) return Promise.resolve(messages[i]);
      if (closedWith !== undefined) return Promise.reject(new Error(`socket closed (${closedWith}) before ${what}`));
      return new Promise((resolve, reject) => waiters.push({ pred, resolve, reject, what }));
    },
    async sync() {
      const from = messages.length;
      c.send({ type: 'ping' });
      await c.waitFor((m, i) => i >= from && m.type === 'heartbeat', 'ping answer');
    },
  };
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(c));
    ws.once('unexpected-response', (_req, res) => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode}`), { status: res.statusCode })));
    ws.once('error', reject);
  });
}

const key = (m: any): string => `${m.type}:${m.seq}:${m.payload.n ?? '-'}`;
const isEnvelope = (m: any) => m.type !== 'heartbeat';

const skip = await requirePostgres();

describe.skipIf(!!skip)('WebSocket /ws/devteam', () => {
  const steps = new FakeSteps();
  const hubLog: HubEvent[] = [];
  const cleanups: Array<() => Promise<unknown>> = [];
  let rt: Runtime;
  let server: RunningServer;
  let url: string;

  const start = async (opts: WebSocketPluginOptions, runtime: Runtime = rt) => {
    const plugin = webSocketPlugin({ heartbeatMs: 3_600_000, ...opts });
    const s = await startServer(runtime, { port: 0, host: '127.0.0.1', plugins: [plugin] });
    cleanups.push(() => s.close());
    return { server: s, plugin, url: `ws://127.0.0.1:${s.port}/ws/devteam` };
  };
  /** What the hub published for a project after `afterSeq`, as the stream should carry it. */
  const expected = (projectId: string, afterSeq: number) => hubLog.filter((e) => e.projectId === projectId && e.seq > afterSeq).map(key);

  /** Resolves when the project's committed status reaches `state` (hub-driven, no polling). */
  const untilState = (projectId: string, state: string) =>
    firstValueFrom(rt.hub.all$.pipe(filter((e) => e.type === 'status' && e.projectId === projectId && e.payload.state === state)));

  beforeAll(async () => {
    const tdb = await createTestDatabase('ws');
    const dir = await tempDir();
    cleanups.push(tdb.drop, dir.remove);
    const config = loadConfig({ DATABASE_URL: tdb.url, DEVTEAM_DATA_DIR: dir.path, LOG_LEVEL: 'silent' });
    rt = await createRuntime({ config, logger: silentLogger(), makeSteps: steps.make });
    cleanups.push(() => rt.close());
    rt.hub.all$.subscribe((e) => hubLog.push(e));
    ({ server, url } = await start({}));
  });
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('streams committed transitions in seq order while a project runs', async () => {
    const c = await connect(url);
    c.send({ type: 'subscribe', projectIds: ['run1'] });
    await c.sync(); // subscribed before the project exists: nothing sent, live from seq 1
    await rt.registry.initialize({ projectId: 'run1', tasks: ['1.1', '1.2'], logs: 2 });
    await c.waitFor((m) => m.type === 'status' && m.payload.state === 'idle', 'idle');
    const got = c.messages.filter(isEnvelope);
    for (const m of got) expect(envelopeSchema.safeParse(m).success, JSON.stringify(m)).toBe(true);
    const seqs = got.filter((m) => m.type === 'transition').map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(got.map(key)).toEqual(expected('run1', 0));
    expect(got.filter((m) => m.type === 'log').map((m) => m.payload.line)).toEqual(['task 1.1 line 1', 'task 1.1 line 2', 'task 1.2 line 1', 'task 1.2 line 2']);
    expect(got.filter((m) => m.type === 'task').map((m) => `${m.payload.taskId}:${m.payload.event}`)).toContain('1.2:completed');
    expect(got.at(-1)!.ts).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    c.ws.close();
  });

  it('reconnect with lastSeq fills the gap exactly: no gap, no duplicate, then live', async () => {
    await rt.registry.initialize({ projectId: 'gap', tasks: ['a', 'b', 'c'], logs: 3, hold: true });
    const a = await steps.held('gap');
    const c1 = await connect(url);
    c1.send({ type: 'subscribe', projectIds: ['gap'] });
    const snap = await c1.waitFor((m) => m.type === 'snapshot');
    expect(snap.seq).toBe(rt.projection.get('gap')!.seq);
    expect(snap.payload.state).toBe('executing');
    a.release();
    const b = await steps.held('gap'); // task b executing, its logs published
    await c1.sync();
    expect(c1.messages.filter(isEnvelope).slice(1).map(key)).toEqual(expected('gap', snap.seq));
    const lastSeq = Math.max(...c1.messages.filter((m) => m.type === 'transition').map((m) => m.seq));
    c1.ws.close();
    await c1.closed;

    // Missed while disconnected: task b finishes, task c starts (held again).
    const missedFrom = hubLog.length;
    b.release();
    const cTask = await steps.held('gap');
    expect(hubLog.slice(missedFrom).filter((e) => e.projectId === 'gap' && e.type === 'transition').length).toBeGreaterThan(5);

    const c2 = await connect(url);
    c2.send({ type: 'subscribe', projectIds: ['gap'], lastSeq: { gap: lastSeq } });
    await c2.sync();
    const replayed = c2.messages.filter(isEnvelope);
    expect(replayed.map(key)).toEqual(expected('gap', lastSeq));
    expect(replayed[0]).toMatchObject({ type: 'transition', seq: lastSeq + 1 });

    cTask.release(); // live after the replay
    await c2.waitFor((m) => m.type === 'status' && m.payload.state === 'idle', 'idle');
    const all = c2.messages.filter(isEnvelope);
    expect(all.map(key)).toEqual(expected('gap', lastSeq));
    const seqs = all.filter((m) => m.type === 'transition').map((m) => m.seq);
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => lastSeq + 1 + i));
    c2.ws.close();
  });

  it('lastSeq ahead of the server (a restore) or evicted from the ring → a fresh snapshot', async () => {
    const small = await start({ replayEnvelopes: 3 });
    const idle = untilState('old', 'idle');
    await rt.registry.initialize({ projectId: 'old', tasks: ['x'], logs: 4 });
    await idle;
    const status = rt.projection.get('old')!;
    expect(status.state).toBe('idle');

    const ahead = await connect(small.url);
    ahead.send({ type: 'subscribe', projectIds: ['old'], lastSeq: { old: status.seq + 100 } });
    await ahead.sync();
    expect(ahead.messages.filter(isEnvelope)).toEqual([expect.objectContaining({ type: 'snapshot', seq: status.seq, projectId: 'old' })]);
    expect(envelopeSchema.parse(ahead.messages[0]).type).toBe('snapshot');

    const evicted = await connect(small.url);
    evicted.send({ type: 'subscribe', projectIds: ['old'], lastSeq: { old: 2 } });
    await evicted.sync();
    expect(evicted.messages.filter(isEnvelope)).toEqual([expect.objectContaining({ type: 'snapshot', seq: status.seq })]);

    const current = await connect(small.url);
    current.send({ type: 'subscribe', projectIds: ['old'], lastSeq: { old: status.seq } });
    await current.sync();
    expect(current.messages.filter(isEnvelope)).toEqual([]); // up to date: nothing to send
    for (const c of [ahead, evicted, current]) c.ws.close();
  });

  it('an inbound message over 64 KiB closes the socket; an invalid one gets a protocol error', async () => {
    const c = await connect(url);
    c.send({ type: 'subscribe', projectIds: ['Not Valid!'] });
    const err = await c.waitFor((m) => m.type === 'error');
    expect(err.payload.code).toBe('invalid_message');
    await c.sync(); // still open
    c.ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(70 * 1024) }));
    const { code } = await c.closed;
    expect([1006, 1009]).toContain(code);
  });

  it('an outbound payload over 256 KiB is truncated and marked', async () => {
    await rt.registry.initialize({ projectId: 'big', tasks: ['t'], logs: 0, hold: true });
    const h = await steps.held('big');
    const c = await connect(url);
    c.send({ type: 'subscribe', projectIds: ['big'] });
    await c.waitFor((m) => m.type === 'snapshot');
    rt.registry.get('big')!.log('stdout', 'é'.repeat(300 * 1024));
    const log = await c.waitFor((m) => m.type === 'log');
    const i = c.messages.indexOf(log);
    expect(log.payload.truncated).toBe(true);
    expect(log.payload.line.length).toBeGreaterThan(1000);
    expect(c.sizes[i]).toBeLessThanOrEqual(256 * 1024);
    expect(envelopeSchema.safeParse(log).success).toBe(true);
    h.release();
    c.ws.close();
  });

  it('a slow consumer: drops are counted, buffering stays bounded, a snapshot follows the drain', async () => {
    const limit = 64 * 1024;
    const slow = await start({ maxBackpressureBytes: limit, lagCheckMs: 3_600_000 });
    const gateway = slow.plugin.gateway!;
    await rt.registry.initialize({ projectId: 'slow', tasks: ['s'], logs: 0, hold: true });
    const h = await steps.held('slow');
    const c = await connect(slow.url);
    c.send({ type: 'subscribe', projectIds: ['slow'] });
    await c.waitFor((m) => m.type === 'snapshot');
    const host = rt.registry.get('slow')!;
    c.ws.pause(); // stop reading: kernel buffers fill, then uWS's buffer, then uWS drops
    const line = 'y'.repeat(16 * 1024);
    let published = 0;
    let maxBuffered = 0;
    let extra = 0;
    for (let round = 0; round < 5000 && extra < 20; round++) {
      for (let i = 0; i < 10; i++, published++) host.log('stdout', line);
      await new Promise((r) => setImmediate(r)); // let uWS write / buffer
      gateway.sampleLag();
      maxBuffered = Math.max(maxBuffered, gateway.stats().maxBufferedBytes);
      if (gateway.stats().lagging > 0) extra++; // keep publishing a while into the drop zone
    }
    expect(gateway.stats().lagging).toBe(1);
    // uWS accepts a send while at or under the limit, so one envelope may overshoot it.
    expect(maxBuffered).toBeLessThanOrEqual(limit + 17 * 1024);

    const before = c.messages.length;
    c.ws.resume();
    const snap = await c.waitFor((m, i) => i >= before && m.type === 'snapshot', 'snapshot after drain');
    expect(snap.seq).toBe(rt.projection.get('slow')!.seq);
    await c.sync();
    const logsReceived = c.messages.filter((m) => m.type === 'log').length;
    expect(logsReceived).toBeLessThan(published);
    expect(gateway.counters.dropped).toBeGreaterThan(0);
    expect(gateway.counters.dropped).toBeLessThanOrEqual(published);
    expect(gateway.stats().lagging).toBe(0);
    const text = await slow.server.metrics.text();
    expect(Number(/devteam_ws_messages_dropped_total (\d+)/.exec(text)![1])).toBe(gateway.counters.dropped);
    h.release();
    c.ws.close();
  });

  describe('auth and Origin (checked before the upgrade)', () => {
    const TOKEN = 'test-token-0123456789abcdef';
    let tokUrl: string;
    let port: number;
    beforeAll(async () => {
      const guarded: Runtime = { ...rt, config: { ...rt.config, DEVTEAM_API_TOKEN: TOKEN, DEVTEAM_WS_ORIGINS: 'https://dash.example' } };
      const s = await start({}, guarded);
      tokUrl = s.url;
      port = s.server.port;
    });

    it('accepts the token as a subprotocol (echoing only "devteam") or as a query parameter', async () => {
      const viaProtocol = await connect(tokUrl, { protocols: ['devteam', `bearer.${TOKEN}`] });
      expect(viaProtocol.ws.protocol).toBe('devteam');
      await viaProtocol.sync();
      const viaQuery = await connect(`${tokUrl}?token=${TOKEN}`);
      await viaQuery.sync();
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } })).text();
      expect(Number(/devteam_ws_connections (\d+)/.exec(metrics)![1])).toBe(2);
      viaProtocol.ws.close();
      viaQuery.ws.close();
    });

    it('refuses a missing or wrong token with 401', async () => {
      await expect(connect(tokUrl)).rejects.toMatchObject({ status: 401 });
      await expect(connect(tokUrl, { protocols: ['devteam', 'bearer.wrong-token-wrong-token'] })).rejects.toMatchObject({ status: 401 });
      await expect(connect(`${tokUrl}?token=nope`)).rejects.toMatchObject({ status: 401 });
    });

    it('refuses a foreign Origin with 403; allows listed and same-host origins', async () => {
      const auth = { protocols: ['devteam', `bearer.${TOKEN}`] };
      await expect(connect(tokUrl, { ...auth, origin: 'https://evil.example' })).rejects.toMatchObject({ status: 403 });
      const listed = await connect(tokUrl, { ...auth, origin: 'https://dash.example' });
      const sameHost = await connect(tokUrl, { ...auth, origin: `http://127.0.0.1:${port}` });
      await listed.sync();
      await sameHost.sync();
      listed.ws.close();
      sameHost.ws.close();
    });
  });
});
