/**
 * A stand-in server for the dashboard benchmark: serves the built dashboard (dist/web), answers
 * the two REST routes the page reads at start (project list, status) for N synthetic projects,
 * and speaks the /ws/devteam protocol (subscribe → snapshots, then a synthetic feed of
 * transition/task/log envelopes at a fixed rate spread over all projects). The envelopes follow
 * the real contract (src/domain/envelope.ts), so the page runs its real code path end to end.
 */
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ProjectStatus } from '../src/domain/status.ts';
import { commandsForPath } from '../src/web/commands.ts';

const CYCLE = ['active.selecting', 'active.preparing', 'active.waitingForSlot', 'active.executing', 'active.verifying', 'active.integrating', 'active.recording'];
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.json': 'application/json' };

interface Sim {
  status: ProjectStatus;
  step: number;
  n: number;
}

export interface FakeDashboardServer {
  url: string;
  /** Envelopes sent per second (all sockets count once). */
  setRate(perSecond: number): void;
  readonly sent: number;
  close(): Promise<void>;
}

const now = () => new Date().toISOString();

function initialStatus(id: string, i: number): ProjectStatus {
  const total = 8 + (i % 7);
  const done = i % total;
  const path = CYCLE[i % CYCLE.length]!;
  return {
    projectId: id,
    state: path.split('.')[1] as ProjectStatus['state'],
    substate: path.split('.')[1]!,
    currentTask: { id: `${1 + (done % 5)}.${1 + (i % 3)}`, title: `Synthetic task ${done + 1} of ${id}`, attempt: 1 },
    lanes: [],
    mergeQueue: [],
    completedTaskIds: [],
    skippedTaskIds: [],
    blockedTaskIds: [],
    taskCounts: { total, done, skipped: 0, remaining: total - done },
    lastError: null,
    tools: { git: '2.39.5', sh: 'dash' },
    templatePath: null,
    acceptedCommands: commandsForPath(path, true),
    seq: 10 + i,
    updatedAt: now(),
  };
}

export async function startFakeDashboardServer(o: { webDir: string; projects: number; rate: number; hotProjectShare?: number }): Promise<FakeDashboardServer> {
  const sims = new Map<string, Sim>();
  const ids: string[] = [];
  for (let i = 0; i < o.projects; i++) {
    const id = `proj-${String(i).padStart(4, '0')}`;
    ids.push(id);
    sims.set(id, { status: initialStatus(id, i), step: i % CYCLE.length, n: 0 });
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
  /** One envelope: mostly transitions along the happy path, with task and log envelopes mixed in. */
  const next = () => {
    k++;
    const id = Math.random() < hot ? ids[0]! : ids[Math.floor(Math.random() * ids.length)]!;
    const sim = sims.get(id)!;
    const s = sim.status;
    if (k % 3 === 0) {
      emit({ type: 'log', projectId: id, seq: s.seq, payload: { stream: k % 2 ? 'stdout' : 'runner', line: `synthetic output line ${k} for ${s.currentTask?.id ?? '-'}`, taskId: s.currentTask?.id ?? null, attempt: s.currentTask?.attempt ?? null, n: ++sim.n } });
      return;
    }
    const from = CYCLE[sim.step]!;
    sim.step = (sim.step + 1) % CYCLE.length;
    const to = CYCLE[sim.step]!;
    const seq = s.seq + 1;
    sim.n = 0;
    const c = { ...s.taskCounts };
    if (to === 'active.selecting') {
      c.done = c.done >= c.total ? 0 : c.done + 1;
      c.remaining = c.total - c.done;
    }
    sim.status = { ...s, state: to.split('.')[1] as ProjectStatus['state'], substate: to.split('.')[1]!, seq, updatedAt: now(), taskCounts: c, acceptedCommands: commandsForPath(to, true) };
    emit({ type: 'transition', projectId: id, seq, payload: { from, to, event: `done.${from.split('.')[1]}` } });
    if (to === 'active.selecting') emit({ type: 'task', projectId: id, seq, payload: { taskId: s.currentTask?.id ?? '1.1', event: 'completed', attempt: 1, n: ++sim.n } });
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
