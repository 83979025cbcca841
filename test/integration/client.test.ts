/**
 * The client library against a real server process (test/support/serverChild.ts: real
 * runtime on embedded PGlite, real uWS REST + /ws/devteam): every REST method and its problem
 * errors; and the stream across a SIGKILL of the server and a restart on the same port and
 * data dir — the reconnect delays follow the linear schedule (observed through an injected
 * clock that records each requested delay and fires it only when the test says so), and the
 * envelopes delivered per project have no gap and no duplicate.
 */
import { createServer } from 'node:net';
import { join } from 'node:path';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  backoffDelay,
  createClient,
  createStream,
  DeliveryOrder,
  DevTeamApiError,
  DevTeamConnectionError,
  stateOfPath,
  type ConnectionState,
  type Delivered,
  type StateInfo,
  type WebSocketCtor,
} from '../../src/client/index.ts';
import type { Envelope } from '../../src/domain/envelope.ts';
import { spawnTs, type Child } from '../support/child.ts';
import { tempDir } from '../support/db.ts';

const CHILD = join(import.meta.dirname, '../support/serverChild.ts');

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const cfg = (projectId: string) => ({
  projectId,
  repo: { url: 'http://127.0.0.1:9/synthetic.git', branch: 'main' },
  verify: { command: ['true'] },
  agent: { kind: 'script' as const },
  sandbox: { kind: 'local' as const },
});

describe('DeliveryOrder (the rule the stream client applies)', () => {
  const ts = '2026-01-01T00:00:00.000Z';
  const tr = (seq: number): Envelope => ({ type: 'transition', ts, projectId: 'p', seq, payload: { from: 'a', to: 'b', event: 'e' } });
  const log = (seq: number, n: number): Envelope => ({ type: 'log', ts, projectId: 'p', seq, payload: { stream: 'stdout', line: 'x', taskId: null, attempt: null, n } });
  it('drops replayed transitions and (seq, n)-older logs, resets on snapshots', () => {
    const o = new DeliveryOrder();
    expect([tr(1), log(1, 1), log(1, 2), tr(2), log(2, 1)].map((e) => o.accept(e))).toEqual(['deliver', 'deliver', 'deliver', 'deliver', 'deliver']);
    // An overlapping replay: everything already seen is a duplicate, the new tail is delivered.
    expect([tr(1), log(1, 2), tr(2), log(2, 1), log(2, 2), tr(3)].map((e) => o.accept(e))).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate', 'deliver', 'deliver']);
    expect(o.lastSeq()).toEqual({ p: 3 });
    const snap = { type: 'snapshot', ts, projectId: 'p', seq: 2, payload: {} } as unknown as Envelope;
    expect(o.accept(snap)).toBe('reset'); // restored from an older state: position goes back
    expect(o.accept(tr(3))).toBe('deliver');
  });
  it('computes linear, capped, jittered delays', () => {
    expect([1, 2, 3, 4, 40].map((a) => backoffDelay(a, { step: 1000, cap: 30_000, jitter: 0 }))).toEqual([1000, 2000, 3000, 4000, 30_000]);
    expect(backoffDelay(2, { step: 100, cap: 1000, jitter: 0.5 }, () => 0)).toBe(100);
    expect(backoffDelay(2, { step: 100, cap: 1000, jitter: 0.5 }, () => 0.75)).toBe(250);
  });
});

describe('client against a real server process', () => {
  let dir: { path: string; remove(): Promise<void> };
  let port: number;
  let child: Child;
  const start = (block: string) => spawnTs(CHILD, { SC_PORT: String(port), SC_DATA_DIR: dir.path, SC_TASKS: '10', SC_BLOCK: block, SC_FAIL: 'halts:1.2' });

  beforeAll(async () => {
    dir = await tempDir('client-');
    port = await freePort();
    child = start('rest:1.1:1,stream:1.6:1');
    await child.waitFor((l) => l.ev === 'ready', 'server ready');
  });
  afterAll(async () => {
    child?.proc.kill('SIGKILL');
    await child?.exited;
    await dir?.remove();
  });

  it('calls every REST route and maps problems to DevTeamApiError', async () => {
    const c = createClient({ baseUrl: `http://127.0.0.1:${port}/` });
    expect(await c.healthz()).toEqual({ ok: true });
    expect(await c.readyz()).toMatchObject({ ok: true, checks: { database: 'ok', redis: 'not_configured' } });
    const doc = await c.openapi();
    expect(Object.keys(doc.paths as object)).toContain('/api/devteam/automation/initialize');

    const created = await c.initialize(cfg('rest'));
    expect(created).toMatchObject({ created: true, outcome: 'created', status: { projectId: 'rest' } });
    expect(await c.initialize(cfg('rest'))).toMatchObject({ created: false, outcome: 'unchanged' });

    // Blocked in runAgent of 1.1 attempt 1: wait for executing through the stream, no polling.
    const stream = createStream({ url: c.baseUrl, WebSocket: WebSocket as unknown as WebSocketCtor });
    const executing = new Promise<void>((resolve) => stream.onEnvelope((e) => ((e.type === 'snapshot' && e.payload.state === 'executing') || (e.type === 'transition' && stateOfPath(e.payload.to) === 'executing')) && resolve()));
    stream.subscribe(['rest']);
    await executing;
    stream.close();
    expect(stream.state).toBe('closed');

    const conflict = await c.retry('rest').catch((e: unknown) => e);
    expect(conflict).toBeInstanceOf(DevTeamApiError);
    expect(conflict).toMatchObject({ status: 409, state: 'executing', title: 'Conflict with the project state' });
    expect((conflict as DevTeamApiError).acceptedCommands).toEqual(expect.arrayContaining(['PAUSE', 'STOP']));

    const paused = await c.pause('rest', { idempotencyKey: 'pause-rest-1' });
    expect(paused).toMatchObject({ noop: false, pending: false, status: { state: 'paused' } });
    expect(await c.pause('rest')).toMatchObject({ noop: true, status: { state: 'paused' } });
    expect((await c.resume('rest')).status.state).not.toBe('paused');
    expect((await c.status('rest')).projectId).toBe('rest');

    await c.initialize(cfg('halts'));
    const page1 = await c.projects({ limit: 1 });
    expect(page1.items.map((s) => s.projectId)).toEqual(['halts']);
    expect(page1.nextCursor).toEqual(expect.any(String));
    const all: string[] = [];
    for await (const s of c.allProjects({ pageSize: 1 })) all.push(s.projectId);
    expect(all).toEqual(['halts', 'rest']);

    // Event ingest: correlationId echoed, the same event id answered with the original.
    const ev = { id: '3f1e5a0c-9b7d-4c2e-8f6a-1d2b3c4d5e6f', type: 'repo.updated', projectId: 'halts', payload: { ref: 'main' } };
    const accepted = await c.ingestEvent(ev, { correlationId: 'corr-client-1' });
    expect(accepted).toMatchObject({ id: ev.id, correlationId: 'corr-client-1', dispatch: 'queued' });
    expect(await c.ingestEvent(ev, { correlationId: 'corr-client-2' })).toMatchObject({ id: ev.id, correlationId: 'corr-client-1' });
    const replayed = await c.ingestEvent({ ...ev, id: undefined }, { idempotencyKey: 'ingest-key-1' });
    expect(await c.ingestEvent({ ...ev, id: undefined }, { idempotencyKey: 'ingest-key-1' })).toEqual(replayed);
    await expect(c.ingestEvent({ ...ev, id: undefined, payload: { ref: 'other' } }, { idempotencyKey: 'ingest-key-1' })).rejects.toMatchObject({ status: 422 });
    await expect(c.ingestEvent({ ...ev, type: 'Bad Type' })).rejects.toMatchObject({ status: 400 });

    const runs = await c.runs('rest');
    expect(runs[0]).toMatchObject({ taskId: '1.1', attempt: 1 });
    await expect(c.artifact('rest', runs[0]!.id, 'prompt.md')).rejects.toMatchObject({ status: 404, detail: `run ${runs[0]!.id} has no artifact named prompt.md` });

    const notFound = await c.status('nope').catch((e: unknown) => e);
    expect(notFound).toMatchObject({ name: 'DevTeamApiError', status: 404, detail: 'project nope not found' });
    const bad = await c.initialize({ ...cfg('Bad Id') }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ status: 400 });
    expect((bad as DevTeamApiError).issues?.length).toBeGreaterThan(0);
    await expect(c.deleteProject('rest')).rejects.toMatchObject({ status: 409 });
    expect((await c.stop('rest')).status.state).toBe('stopped');
    await c.deleteProject('rest');
    await expect(c.status('rest')).rejects.toMatchObject({ status: 404 });

    const down = await createClient({ baseUrl: `http://127.0.0.1:${await freePort()}` }).healthz().catch((e: unknown) => e);
    expect(down).toBeInstanceOf(DevTeamConnectionError);
    expect((down as Error).message).toMatch(/^cannot reach DevTeam Runner at http:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED/);
  });

  it('reconnects on the linear schedule across a SIGKILL + restart; no gap, no duplicate', async () => {
    // A clock whose timers fire only when the test says so; it records every requested delay.
    const timers: Array<{ ms: number; fn: () => void; cleared: boolean }> = [];
    const clock = {
      setTimeout: (fn: () => void, ms: number) => {
        const t = { ms, fn, cleared: false };
        timers.push(t);
        return t;
      },
      clearTimeout: (t: unknown) => void ((t as { cleared: boolean }).cleared = true),
      random: () => 0.75,
    };
    const fireNext = () => {
      const t = timers.find((x) => !x.cleared);
      expect(t, 'a pending reconnect timer').toBeDefined();
      t!.cleared = true;
      t!.fn();
    };
    const stream = createStream({ url: `ws://127.0.0.1:${port}/ws/devteam`, WebSocket: WebSocket as unknown as WebSocketCtor, step: 100, cap: 250, jitter: 0.2, clock, heartbeatTimeout: 0 });
    const states: Array<[ConnectionState, StateInfo]> = [];
    const stateWaiters: Array<{ pred: (s: ConnectionState, i: StateInfo) => boolean; resolve: () => void }> = [];
    stream.onState((s, i) => {
      states.push([s, i]);
      for (const w of [...stateWaiters]) if (w.pred(s, i)) (stateWaiters.splice(stateWaiters.indexOf(w), 1), w.resolve());
    });
    const whenState = (pred: (s: ConnectionState, i: StateInfo) => boolean) =>
      states.some(([s, i]) => pred(s, i)) ? Promise.resolve() : new Promise<void>((resolve) => stateWaiters.push({ pred, resolve }));
    const got: Delivered[] = [];
    const envWaiters: Array<{ pred: (e: Delivered) => boolean; resolve: () => void }> = [];
    stream.onEnvelope((e) => {
      got.push(e);
      for (const w of [...envWaiters]) if (w.pred(e)) (envWaiters.splice(envWaiters.indexOf(w), 1), w.resolve());
    });
    const whenEnvelope = (pred: (e: Delivered) => boolean) => (got.some(pred) ? Promise.resolve() : new Promise<void>((resolve) => envWaiters.push({ pred, resolve })));

    await whenState((s) => s === 'open');
    stream.subscribe(['stream']);
    const c = createClient({ baseUrl: `http://127.0.0.1:${port}` });
    await c.initialize(cfg('stream'));
    // Mid-run: 1.6 attempt 1 blocks forever in runAgent on this server.
    await whenEnvelope((e) => e.type === 'task' && e.payload.taskId === '1.6' && e.payload.event === 'started');
    // Team mode: the task's own actor publishes its transitions (taskId set, `to` its leaf).
    await whenEnvelope((e) => e.type === 'transition' && e.payload.taskId === '1.6' && stateOfPath(e.payload.to) === 'executing' && e.seq > (got.find((x) => x.type === 'task' && x.payload.taskId === '1.6') as { seq: number }).seq);
    const beforeKill = got.length;

    child.proc.kill('SIGKILL');
    await child.exited;
    await whenState((s, i) => s === 'reconnecting' && i.attempt === 1);
    // While the server is down every attempt fails: the delays grow by one step, up to the cap.
    for (const attempt of [2, 3, 4]) {
      fireNext();
      await whenState((s, i) => s === 'reconnecting' && i.attempt === attempt);
    }
    child = start(''); // same port, same data dir; nothing blocks now
    await child.waitFor((l) => l.ev === 'ready', 'restarted server ready');
    const opens = states.filter(([s]) => s === 'open').length;
    fireNext();
    await whenState((s) => s === 'open' && states.filter(([x]) => x === 'open').length > opens);
    // The project's `to` is its active leaves joined by ','; its state comes in the status envelope of the same seq.
    await whenEnvelope((e) => (e.type === 'status' || e.type === 'snapshot') && e.payload.state === 'idle');
    stream.close();

    expect(timers.map((t) => t.ms)).toEqual([110, 220, 275, 275]); // min(250, n × 100) × (1 + 0.2 × (2 × 0.75 − 1))
    expect(states.map(([s, i]) => `${s}:${i.attempt}`)).toEqual(['connecting:0', 'open:0', 'reconnecting:1', 'reconnecting:2', 'reconnecting:3', 'reconnecting:4', 'open:0', 'closed:0']);

    // The per-project sequence: transitions strictly consecutive, except right after a flagged snapshot reset.
    const mine = got.filter((e) => 'projectId' in e && e.projectId === 'stream') as Array<Delivered & { seq: number; payload: object }>;
    expect(got.length).toBeGreaterThan(beforeKill);
    const keys = new Set<string>();
    let last: number | undefined;
    let resets = 0;
    for (const e of mine) {
      const key = `${e.type}:${e.seq}:${'n' in e.payload ? e.payload.n : ''}`;
      expect(keys.has(key), `duplicate ${key}`).toBe(false);
      keys.add(key);
      if (e.type === 'snapshot') {
        expect(e.reset).toBe(true);
        if (last !== undefined) expect(e.seq).toBeGreaterThanOrEqual(last); // only committed transitions were ever sent
        last = e.seq;
        resets++;
      } else if (e.type === 'transition') {
        if (last !== undefined) expect(e.seq, `transition after seq ${last}`).toBe(last + 1);
        last = e.seq;
      } else expect(e.seq).toBeGreaterThanOrEqual(last ?? 0);
    }
    const final = await c.status('stream');
    expect(final.state).toBe('idle');
    expect(last).toBe(final.seq);
    expect(final.taskCounts).toMatchObject({ total: 10, done: 10 });
    expect(resets).toBeLessThanOrEqual(2);
    expect(stream.stats.duplicates).toBe(0);
  });
});
