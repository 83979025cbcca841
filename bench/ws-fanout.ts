/**
 * WebSocket fan-out bench: 100 projects × 20 subscribers (2,000 sockets; the load generator is
 * bench/ws-loadgen.ts in a second process), transitions published at increasing rates. For
 * each server — the real gateway (hub → envelope → replay ring → app.publish), a bare uWS
 * server publishing the same envelopes with app.publish, and a plain `ws` server looping over
 * its sockets — it reports the highest rate whose end-to-end p99 ≤ 50 ms, deliveries/s there,
 * server CPU per delivery (process.cpuUsage) and memory per idle connection (RSS delta).
 *
 *   node --expose-gc --import tsx bench/ws-fanout.ts [--seconds 2] [--rates 1000,2000,...]
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import uWS from 'uWebSockets.js';
import { WebSocketServer, type WebSocket } from 'ws';
import { Hub } from '../src/actors/hub.ts';
import { createStatusProjection } from '../src/actors/projection.ts';
import type { ProjectStatus } from '../src/domain/status.ts';
import { systemClock } from '../src/infra/clock.ts';
import { silentLogger } from '../src/infra/logger.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { Gateway } from '../src/server/ws/gateway.ts';

const PROJECTS = 100;
const SUBS = 20;
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const SECONDS = Number(arg('seconds', '2'));
const RATES = arg('rates', '1000,2000,3000,4000,5000,6000,7000,8000,9000,10000,12000,14000').split(',').map(Number);
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const gc = () => (globalThis as { gc?: () => void }).gc?.();

interface Server {
  name: string;
  port: number;
  publish(project: number, seq: number, ts: string, event: string): void;
  close(): Promise<void> | void;
}

const payload = (event: string) => ({ from: 'active.executing', to: 'active.verifying', event });
const envelope = (project: number, seq: number, ts: string, event: string) =>
  JSON.stringify({ type: 'transition', ts, projectId: `p${project}`, seq, payload: payload(event) });

function listen(app: uWS.TemplatedApp): Promise<{ port: number; socket: uWS.us_listen_socket }> {
  return new Promise((resolve, reject) =>
    app.listen('127.0.0.1', 0, (s) => (s ? resolve({ port: uWS.us_socket_local_port(s as unknown as uWS.us_socket), socket: s }) : reject(new Error('listen failed')))),
  );
}

function status(i: number): ProjectStatus {
  return {
    projectId: `p${i}`,
    state: 'executing',
    substate: 'active.executing',
    currentTask: { id: '1.1', title: 'Task', attempt: 1 },
    lanes: [],
    mergeQueue: [],
    completedTaskIds: [],
    skippedTaskIds: [],
    blockedTaskIds: [],
    taskCounts: { total: 3, done: 0, skipped: 0, remaining: 3 },
    lastError: null,
    tools: null,
    templatePath: null,
    acceptedCommands: ['PAUSE', 'STOP'],
    seq: 0,
    updatedAt: new Date().toISOString(),
  };
}

async function gatewayServer(): Promise<Server> {
  const app = uWS.App();
  const hub = new Hub();
  const projection = createStatusProjection();
  for (let i = 0; i < PROJECTS; i++) projection.upsert(status(i));
  const gw = new Gateway(
    { app, hub, projection, logger: silentLogger(), metrics: createMetrics({ defaultMetrics: false }), clock: systemClock, allowedOrigins: new Set(), tokenRequired: false, checkToken: () => true },
    { maxInboundBytes: 64 * 1024, maxOutboundBytes: 256 * 1024, maxBackpressureBytes: 1024 * 1024, replayEnvelopes: 1000, replayBytesPerProject: 16 << 20, heartbeatMs: 25_000, lagCheckMs: 250 },
  );
  gw.attach();
  const { port, socket } = await listen(app);
  return {
    name: 'gateway (hub → envelope → ring → app.publish)',
    port,
    publish: (p, seq, ts, event) => hub.publish({ type: 'transition', projectId: `p${p}`, seq, ts, payload: payload(event) }),
    close: () => {
      gw.close();
      uWS.us_listen_socket_close(socket);
    },
  };
}

async function bareUws(): Promise<Server> {
  const app = uWS.App();
  const sockets = new Set<uWS.WebSocket<unknown>>();
  app.ws('/ws/devteam', {
    maxBackpressure: 1024 * 1024,
    closeOnBackpressureLimit: 0,
    upgrade: (res, req, ctx) =>
      res.upgrade({}, req.getHeader('sec-websocket-key'), 'devteam', req.getHeader('sec-websocket-extensions'), ctx),
    open: (ws) => void sockets.add(ws),
    close: (ws) => void sockets.delete(ws),
    message: (ws, m) => {
      const msg = JSON.parse(Buffer.from(m).toString());
      for (const id of msg.projectIds) ws.subscribe(`p/${id}`);
    },
  });
  const { port, socket } = await listen(app);
  return {
    name: 'bare uWS app.publish',
    port,
    publish: (p, seq, ts, event) => app.publish(`p/p${p}`, envelope(p, seq, ts, event), false),
    close: () => {
      for (const ws of [...sockets]) ws.end(1001);
      uWS.us_listen_socket_close(socket);
    },
  };
}

async function plainWs(): Promise<Server> {
  const topics = new Map<string, Set<WebSocket>>();
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws/devteam', perMessageDeflate: false, handleProtocols: () => 'devteam' });
  await once(wss, 'listening');
  wss.on('connection', (ws) => {
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString());
      for (const id of msg.projectIds) {
        let set = topics.get(id);
        if (!set) topics.set(id, (set = new Set()));
        set.add(ws);
      }
    });
    ws.on('close', () => topics.forEach((s) => s.delete(ws)));
  });
  return {
    name: 'plain ws, loop over sockets',
    port: (wss.address() as { port: number }).port,
    publish: (p, seq, ts, event) => {
      const text = envelope(p, seq, ts, event);
      for (const ws of topics.get(`p${p}`) ?? []) ws.send(text);
    },
    close: () => new Promise<void>((r) => {
      for (const ws of wss.clients) ws.terminate();
      wss.close(() => r());
    }),
  };
}

function ask(child: ChildProcess, msg: object, key: string): Promise<any> {
  return new Promise((resolve) => {
    const on = (m: any) => {
      if (key in m) {
        child.off('message', on);
        resolve(m);
      }
    };
    child.on('message', on);
    child.send(msg);
  });
}

interface Step {
  rate: number;
  expected: number;
  got: number;
  deliveriesPerSec: number;
  p50: number;
  p99: number;
  cpuUsPerDelivery: number;
  serverCpuMs: number;
  loadgenCpuMs: number;
}

interface Subject {
  server: Server;
  child: ChildProcess;
  bytesPerIdleConnection: number;
  seqs: number[];
  steps: Step[];
  failures: number;
}

async function settle() {
  gc();
  await sleep(300);
  gc();
  await sleep(100);
}

/** Start a server and its load generator; RSS delta over the 2,000 idle subscribed sockets. */
async function open(make: () => Promise<Server>): Promise<Subject> {
  const server = await make();
  const child = fork(join(import.meta.dirname, 'ws-loadgen.ts'), [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await once(child, 'message');
  await settle();
  const rss0 = process.memoryUsage().rss;
  const { sockets } = await ask(child, { cmd: 'connect', url: `ws://127.0.0.1:${server.port}/ws/devteam`, projects: PROJECTS, subs: SUBS }, 'ready');
  await sleep(500);
  await settle();
  const bytesPerIdleConnection = Math.round((process.memoryUsage().rss - rss0) / sockets);
  process.stderr.write(`  ${server.name}: ${sockets} sockets, ${bytesPerIdleConnection} B RSS per idle connection\n`);
  return { server, child, bytesPerIdleConnection, seqs: new Array(PROJECTS).fill(0), steps: [], failures: 0 };
}

async function step(s: Subject, rate: number): Promise<Step> {
  await ask(s.child, { cmd: 'reset' }, 'reset');
  const cpu0 = process.cpuUsage();
  const start = now();
  let sent = 0;
  for (;;) {
    const elapsed = now() - start;
    if (elapsed >= SECONDS * 1000) break;
    const due = Math.floor((rate * elapsed) / 1000);
    const ts = new Date().toISOString();
    while (sent < due) {
      const p = sent % PROJECTS;
      s.server.publish(p, ++s.seqs[p], ts, `bench:${now()}`);
      sent++;
    }
    await sleep(1);
  }
  await sleep(300); // let the tail arrive
  const cpu = process.cpuUsage(cpu0);
  const r = await ask(s.child, { cmd: 'report' }, 'count');
  return {
    rate,
    expected: sent * SUBS,
    got: r.count,
    deliveriesPerSec: Math.round(r.count / SECONDS),
    p50: +r.p50.toFixed(2),
    p99: +r.p99.toFixed(2),
    cpuUsPerDelivery: +((cpu.user + cpu.system) / Math.max(1, r.count)).toFixed(2),
    serverCpuMs: Math.round((cpu.user + cpu.system) / 1000),
    loadgenCpuMs: r.loadgenCpuMs as number,
  };
}

const passed = (x: Step) => x.p99 <= 50 && x.got >= x.expected * 0.98;

const ONLY = arg('only', '');
const makers = [bareUws, gatewayServer, plainWs].filter((m) => !ONLY || m.name.toLowerCase().includes(ONLY.toLowerCase()));
const subjects: Subject[] = [];
for (const make of makers) subjects.push(await open(make));
// Interleaved: at each rate every server takes its turn, so load from other processes on this
// shared machine hits all of them alike. A server stops after two failed rates in a row.
await Promise.all(subjects.map((s) => step(s, 200))); // warm-up (JIT), not reported
for (const rate of RATES) {
  for (const s of subjects) {
    if (s.failures >= 2) continue;
    const st = await step(s, rate);
    s.steps.push(st);
    s.failures = passed(st) ? 0 : s.failures + 1;
    process.stderr.write(`  ${s.server.name}: ${JSON.stringify(st)}\n`);
  }
  if (subjects.every((s) => s.failures >= 2)) break;
}
for (const s of subjects) {
  s.child.send({ cmd: 'close' });
  await once(s.child, 'exit');
  await s.server.close();
}

const best = (s: Subject) => s.steps.filter(passed).at(-1);
const byName = (n: string) => subjects.find((s) => s.server.name.startsWith(n));
const ratio = (a?: number, b?: number) => (a && b ? +(a / b).toFixed(2) : null);
const gateway = byName('gateway');
const bare = byName('bare');
const ws = byName('plain');
// CPU per delivery compared at the highest rate every server passed.
const common = Math.max(0, ...RATES.filter((r) => subjects.every((s) => s.steps.some((x) => x.rate === r && passed(x)))));
const at = (s: Subject | undefined) => s?.steps.find((x) => x.rate === common);
const summary = {
  machine: { node: process.version, cpus: (await import('node:os')).cpus().length, loadavg: (await import('node:os')).loadavg().map((l) => +l.toFixed(1)) },
  sockets: PROJECTS * SUBS,
  secondsPerStep: SECONDS,
  results: subjects.map((s) => ({ name: s.server.name, bytesPerIdleConnection: s.bytesPerIdleConnection, best: best(s) ?? null })),
  commonRate: common,
  ratios: {
    gatewayDeliveriesVsBareUws: ratio(best(gateway!)?.deliveriesPerSec, best(bare!)?.deliveriesPerSec),
    gatewayCpuPerDeliveryVsBareUwsAtCommonRate: ratio(at(gateway)?.cpuUsPerDelivery, at(bare)?.cpuUsPerDelivery),
    gatewayMemoryPerConnectionVsBareUws: ratio(gateway?.bytesPerIdleConnection, bare?.bytesPerIdleConnection),
    bareUwsDeliveriesVsWs: ratio(best(bare!)?.deliveriesPerSec, best(ws!)?.deliveriesPerSec),
    gatewayDeliveriesVsWs: ratio(best(gateway!)?.deliveriesPerSec, best(ws!)?.deliveriesPerSec),
    wsCpuPerDeliveryVsGatewayAtCommonRate: ratio(at(ws)?.cpuUsPerDelivery, at(gateway)?.cpuUsPerDelivery),
  },
};
process.stdout.write(JSON.stringify(summary, null, 2) + '\n');
process.exit(0);
