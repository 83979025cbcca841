/**
 * A stand-in server for the dashboard benchmark: serves the built dashboard (dist/web), answers
 * the two REST routes the page reads at start (project list, status) for N synthetic projects,
 * and speaks the /ws/devteam protocol (subscribe → snapshots, then a synthetic feed of
 * transition/status/task/log envelopes at a fixed rate spread over all projects, each project in
 * team mode with two lanes and a merge train). The envelopes follow
 * the real contract (src/domain/envelope.ts), so the page runs its real code path end to end.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ProjectStatus } from '../src/domain/status.ts';
import { initialContext, projectMachine, type Lane } from '../src/machines/project.machine.ts';
import { toStatus } from '../src/machines/status.ts';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.json': 'application/json' };

/**
 * One synthetic project in team mode: two lanes walk the task machine's happy path
 * (preparing → waitingForSlot → executing → verifying → ready) and the merge train takes each
 * ready task (integrating → recording → done), then the lane starts the next task. The status of
 * every step is the real projection (src/machines/status.ts) of the project machine in that
 * configuration, so the page gets real states, lanes, merge queue and accepted commands.
 */
const LANE_WALK = ['preparing', 'waitingForSlot', 'executing', 'verifying', 'ready'] as const;
const PARALLELISM = 2;

interface Sim {
  id: string;
  /** The task actors in flight. */
  lanes: Lane[];
  mergeQueue: string[];
  /** The merge train's state: waiting, integrating, recording. */
  train: 'waiting' | 'integrating' | 'recording';
  done: number;
  total: number;
  nextTask: number;
  status: ProjectStatus;
  n: number;
  leaves: string;
}

export interface FakeDashboardServer {
  url: string;
  /** Envelopes sent per second (all sockets count once). */
  setRate(perSecond: number): void;
  readonly sent: number;
  close(): Promise<void>;
}

const now = () => new Date().toISOString();

function value(sim: Sim) {
  return { active: { running: { dispatch: 'watching', train: sim.train } } };
}

function project(sim: Sim, seq: number): { status: ProjectStatus; leaves: string } {
  const context = {
    ...initialContext({ projectId: sim.id }),
    lanes: sim.lanes,
    mergeQueue: sim.mergeQueue,
    taskCounts: { total: sim.total, done: sim.done, skipped: 0, remaining: sim.total - sim.done },
    tools: { git: '2.39.5', sh: 'dash' },
  };
  const snapshot = projectMachine.resolveState({ value: value(sim), context });
  return { status: toStatus(snapshot, { seq, updatedAt: now() }), leaves: `active.running.dispatch.watching,active.running.train.${sim.train}` };
}

function startLane(sim: Sim): Lane {
  const t = sim.nextTask++;
  return { taskId: `${1 + Math.floor(t / 4)}.${1 + (t % 4)}`, title: `Synthetic task ${t + 1} of ${sim.id}`, attempt: 1, state: 'preparing', since: now(), error: null };
}

function initialSim(id: string, i: number): Sim {
  const total = 8 + (i % 7);
  const sim: Sim = { id, lanes: [], mergeQueue: [], train: 'waiting', done: i % total, total, nextTask: i % 5, status: null as unknown as ProjectStatus, n: 0, leaves: '' };
  for (let k = 0; k < PARALLELISM; k++) {
    const lane = startLane(sim);
    lane.state = LANE_WALK[(i + k * 2) % (LANE_WALK.length - 1)]!;
    sim.lanes.push(lane);
  }
  Object.assign(sim, project(sim, 10 + i));
  return sim;
}

type Step = { kind: 'task'; taskId: string; from: string; to: string; event: string } | { kind: 'project'; event: string };

/** Advance the simulation by one transition (a lane's or the train's). */
function advance(sim: Sim, k: number): Step {
  if (sim.train === 'waiting' && sim.mergeQueue.length) {
    sim.train = 'integrating';
    return { kind: 'project', event: 'LANE' };
  }
  if (sim.train === 'integrating') {
    sim.train = 'recording';
    return { kind: 'project', event: 'done.integrating' };
  }
  if (sim.train === 'recording') {
    const head = sim.mergeQueue.shift()!;
    sim.lanes = sim.lanes.filter((l) => l.taskId !== head);
    sim.done = sim.done >= sim.total ? 0 : sim.done + 1;
    sim.train = 'waiting';
    sim.lanes.push(startLane(sim));
    return { kind: 'project', event: 'done.recording' };
  }
  const walking = sim.lanes.filter((l) => l.state !== 'ready');
  const lane = walking[k % Math.max(1, walking.length)] ?? sim.lanes[0]!;
  const i = LANE_WALK.indexOf(lane.state as (typeof LANE_WALK)[number]);
  const from = lane.state;
  const to = LANE_WALK[Math.min(i + 1, LANE_WALK.length - 1)]!;
  sim.lanes = sim.lanes.map((l) => (l === lane ? { ...l, state: to, since: now() } : l));
  if (to === 'ready' && !sim.mergeQueue.includes(lane.taskId)) sim.mergeQueue = [...sim.mergeQueue, lane.taskId];
  return { kind: 'task', taskId: lane.taskId, from: `active.${from}`, to: `active.${to}`, event: `done.${from}` };
}

export async function startFakeDashboardServer(o: { webDir: string; projects: number; rate: number; hotProjectShare?: number }): Promise<FakeDashboardServer> {
  const sims = new Map<string, Sim>();
  const ids: string[] = [];
  for (let i = 0; i < o.projects; i++) {
    const id = `proj-${String(i).padStart(4, '0')}`;
    ids.push(id);
    sims.set(id, initialSim(id, i));
  }
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/api/devteam/automation/projects') {
      const limit = Number(url.searchParams.get('limit') ?? 100);
      const after = url.searchParams.get('cursor') ? Buffer.from(url.searchParams.get('cursor')!, 'base64url').toString() : '';
      const rest = ids.filter((id) => id > after);
      const page = rest.slice(0, limit);
      const nextCursor = rest.length > limit ? Buffer.from(page[page.length - 1]!).toString('base64url') : null;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ items: page.map((id) => sims.get(id)!.status), nextCursor }));
      return;
    }
    const m = /^\/api\/devteam\/automation\/status\/([a-z0-9-]+)$/.exec(url.pathname);
    if (m && sims.has(m[1]!)) {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(sims.get(m[1]!)!.status));
      return;
    }
    const file = url.pathname === '/' ? 'index.html' : normalize(url.pathname).replace(/^\/+/, '');
    if (file.includes('..')) return void res.writeHead(400).end();
    try {
      const body = await readFile(join(o.webDir, file));
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  const wss = new WebSocketServer({ server, path: '/ws/devteam', handleProtocols: (p) => (p.has('devteam') ? 'devteam' : false) });
  const subs = new Map<WebSocket, Set<string>>();
  wss.on('connection', (ws) => {
    const mine = new Set<string>();
    subs.set(ws, mine);
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data)) as { type: string; projectIds?: string[] };
      if (msg.type !== 'subscribe') return;
      for (const id of msg.projectIds ?? []) {
        const s = sims.get(id);
        if (!s) continue;
        mine.add(id);
        ws.send(JSON.stringify({ type: 'snapshot', ts: now(), projectId: id, seq: s.status.seq, payload: s.status }));
      }
    });
    ws.on('close', () => subs.delete(ws));
  });

  let sent = 0;
  let k = 0;
  const hot = o.hotProjectShare ?? 0.1;
  const emit = (e: { type: string; projectId: string; seq: number; payload: unknown }) => {
    const text = JSON.stringify({ ...e, ts: now() });
    for (const [ws, mine] of subs) if (mine.has(e.projectId)) ws.send(text);
    sent++;
  };
  /** One envelope: mostly transitions (lanes and the merge train), with task and log envelopes mixed in. */
  const next = () => {
    k++;
    const id = Math.random() < hot ? ids[0]! : ids[Math.floor(Math.random() * ids.length)]!;
    const sim = sims.get(id)!;
    const s = sim.status;
    if (k % 3 === 0) {
      const lane = s.lanes[k % Math.max(1, s.lanes.length)];
      emit({ type: 'log', projectId: id, seq: s.seq, payload: { stream: k % 2 ? 'stdout' : 'runner', line: `synthetic output line ${k} for ${lane?.taskId ?? '-'}`, taskId: lane?.taskId ?? null, attempt: lane?.attempt ?? null, n: ++sim.n } });
      return;
    }
    const before = sim.leaves;
    const step = advance(sim, k);
    const seq = s.seq + 1;
    sim.n = 0;
    Object.assign(sim, project(sim, seq));
    if (step.kind === 'task') emit({ type: 'transition', projectId: id, seq, payload: { from: step.from, to: step.to, event: step.event, taskId: step.taskId } });
    else emit({ type: 'transition', projectId: id, seq, payload: { from: before, to: sim.leaves, event: step.event } });
    emit({ type: 'status', projectId: id, seq, payload: sim.status });
    if (step.event === 'done.recording') emit({ type: 'task', projectId: id, seq, payload: { taskId: s.mergeQueue[0] ?? '1.1', event: 'completed', attempt: 1, n: ++sim.n } });
  };

  let rate = o.rate;
  let carry = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const t = performance.now();
    // A stalled event loop does not turn into a burst: at most 100 ms of backlog is kept.
    carry = Math.min(carry + ((t - last) / 1000) * rate, rate / 10 + 1);
    last = t;
    while (carry >= 1) {
      carry--;
      next();
    }
  }, 10);

  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    setRate: (r) => void (rate = r),
    get sent() {
      return sent;
    },
    close: async () => {
      clearInterval(timer);
      for (const ws of subs.keys()) ws.terminate();
      wss.close();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
