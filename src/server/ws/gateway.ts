/**
 * The /ws/devteam gateway on uWS. Fan-out is hub.all$ → one serialized string per event →
 * `app.publish(topic)` to the project's topic; uWS copies it into each subscriber's buffer in
 * C++, so no JavaScript ever loops over sockets per event.
 *
 * Gap-free resume: uWS is single-threaded and runs our handlers on the same thread as the hub,
 * so "send the replay, then subscribe the topic" inside one synchronous message handler is
 * atomic — no publish can land between the two (no gap) and nothing replayed is published
 * again (no duplicate). Direct sends also flush a socket's pending topic messages first (uWS
 * v20 orders them), so per-socket order is publish order.
 *
 * Slow consumers: uWS skips a subscriber whose buffer is over maxBackpressure (never closes it,
 * never grows it). uWS reports no per-socket drop for publish, so a socket is marked lagging
 * when it is seen over the limit (a cheap periodic sweep of getBufferedAmount, a drain callback,
 * or a direct send answering 2); envelopes published to its topics while it was over the limit
 * are counted as dropped; once drained it gets a fresh `snapshot` per subscribed project.
 */
import type uWS from 'uWebSockets.js';
import type { Subscription } from 'rxjs';
import type { Observable } from 'rxjs';
import type { HubEvent } from '../../actors/hub.ts';
import type { StatusProjection } from '../../actors/projection.ts';
import { clientMessageSchema, type ClientMessage } from '../../domain/envelope.ts';
import type { Clock } from '../../infra/clock.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import { encodeHeartbeat, encodeHubEvent, encodeProtocolError, encodeSnapshot } from './encode.ts';
import { decide, type HandshakeInput } from './handshake.ts';
import { planSubscribe } from './plan.ts';
import { ReplayBuffers } from './replay.ts';

export interface GatewayLimits {
  /** Inbound message limit; uWS closes a socket that sends more. */
  maxInboundBytes: number;
  /** Outbound envelope limit; larger payloads are truncated. */
  maxOutboundBytes: number;
  /** Per-socket send buffer limit; over it, envelopes for that socket are dropped (counted). */
  maxBackpressureBytes: number;
  replayEnvelopes: number;
  replayBytesPerProject: number;
  heartbeatMs: number;
  /** How often buffered amounts are sampled to detect lagging sockets. */
  lagCheckMs: number;
}

export interface GatewayDeps {
  app: uWS.TemplatedApp;
  hub: { readonly all$: Observable<HubEvent> };
  projection: StatusProjection;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  allowedOrigins: Set<string>;
  tokenRequired: boolean;
  checkToken(presented: string | undefined): boolean;
}

interface SocketData {
  id: number;
  projects: Set<string>;
  /** Seen over maxBackpressure: envelopes may have been dropped; snapshot on drain. */
  lagging: boolean;
  /** While the drop window is open: each project's publish count when it opened. */
  marks: Map<string, number> | null;
  open: boolean;
}

interface ProjectState {
  topic: string;
  published: number;
  subscribers: number;
}

type Ws = uWS.WebSocket<SocketData>;

const HEARTBEAT_TOPIC = 'hb';

export class Gateway {
  readonly #d: GatewayDeps;
  readonly #l: GatewayLimits;
  readonly #replay: ReplayBuffers;
  readonly #projects = new Map<string, ProjectState>();
  readonly #sockets = new Set<Ws>();
  readonly #timers: NodeJS.Timeout[] = [];
  #hubSub: Subscription | undefined;
  #nextId = 1;
  /** Counters for tests and benches (the same numbers feed the Prometheus metrics). */
  readonly counters = { sent: 0, dropped: 0, lagEvents: 0, snapshotsAfterDrain: 0 };

  constructor(deps: GatewayDeps, limits: GatewayLimits) {
    this.#d = deps;
    this.#l = limits;
    this.#replay = new ReplayBuffers(limits.replayEnvelopes, limits.replayBytesPerProject);
  }

  /** Register the route and start fan-out, heartbeats and lag sampling. */
  attach(pattern = '/ws/devteam'): void {
    const { app } = this.#d;
    app.ws<SocketData>(pattern, {
      maxPayloadLength: this.#l.maxInboundBytes,
      maxBackpressure: this.#l.maxBackpressureBytes,
      closeOnBackpressureLimit: 0,
      // uWS caps idleTimeout at 960 s; pings keep healthy idle clients alive.
      idleTimeout: Math.min(960, Math.max(16, Math.ceil((this.#l.heartbeatMs * 4) / 1000))),
      sendPingsAutomatically: true,
      upgrade: (res, req, context) => this.#upgrade(res, req, context),
      open: (ws) => this.#open(ws),
      message: (ws, message, isBinary) => this.#message(ws, message, isBinary),
      drain: (ws) => this.#drain(ws),
      close: (ws) => this.#close(ws),
    });
    this.#hubSub = this.#d.hub.all$.subscribe({
      next: (e) => {
        const enc = encodeHubEvent(e, this.#l.maxOutboundBytes);
        if (!enc) return;
        this.#replay.push(e.projectId, enc, e.type === 'transition');
        const p = this.#project(e.projectId);
        p.published++;
        if (p.subscribers === 0) return;
        app.publish(p.topic, enc.text, false);
        this.#sent(p.subscribers);
      },
      error: (err) => this.#d.logger.error({ err }, 'hub stream failed; WebSocket fan-out stopped'),
    });
    const every = (ms: number, fn: () => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      this.#timers.push(t);
    };
    every(this.#l.heartbeatMs, () => {
      if (this.#sockets.size === 0) return;
      app.publish(HEARTBEAT_TOPIC, encodeHeartbeat(this.#now()), false);
      this.#sent(this.#sockets.size);
    });
    every(this.#l.lagCheckMs, () => this.sampleLag());
  }

  /** Mark sockets that are over the backpressure limit (uWS is dropping their envelopes). */
  sampleLag(): void {
    for (const ws of this.#sockets) {
      const ud = ws.getUserData();
      if (!ud.marks && ws.getBufferedAmount() > this.#l.maxBackpressureBytes) this.#markLagging(ws, ud);
    }
  }

  /** Connections, lagging sockets and buffered bytes right now (a loop over sockets: stats only). */
  stats(): { connections: number; lagging: number; bufferedBytes: number; maxBufferedBytes: number } {
    let lagging = 0;
    let bufferedBytes = 0;
    let maxBufferedBytes = 0;
    for (const ws of this.#sockets) {
      const b = ws.getBufferedAmount();
      bufferedBytes += b;
      maxBufferedBytes = Math.max(maxBufferedBytes, b);
      if (ws.getUserData().lagging) lagging++;
    }
    return { connections: this.#sockets.size, lagging, bufferedBytes, maxBufferedBytes };
  }

  /** Stop fan-out and timers and close every socket (1001 going away). */
  close(): void {
    this.#hubSub?.unsubscribe();
    for (const t of this.#timers.splice(0)) clearInterval(t);
    for (const ws of [...this.#sockets]) ws.end(1001, 'server shutting down');
  }

  #upgrade(res: uWS.HttpResponse, req: uWS.HttpRequest, context: uWS.us_socket_context_t): void {
    // Everything from req must be read now: it is invalid after this handler returns.
    const input: HandshakeInput = {
      host: req.getHeader('host'),
      origin: req.getHeader('origin'),
      protocols: req.getHeader('sec-websocket-protocol'),
      authorization: req.getHeader('authorization'),
      query: req.getQuery() ?? '',
    };
    const key = req.getHeader('sec-websocket-key');
    const extensions = req.getHeader('sec-websocket-extensions');
    const verdict = decide(input, this.#d.allowedOrigins, this.#d.checkToken, this.#d.tokenRequired);
    if (!verdict.ok) {
      this.#d.logger.warn({ status: verdict.status, reason: verdict.reason, origin: input.origin || undefined }, 'WebSocket upgrade refused');
      res.cork(() => res.writeStatus(verdict.status).writeHeader('content-type', 'text/plain').end(verdict.reason, true));
      return;
    }
    const data: SocketData = { id: this.#nextId++, projects: new Set(), lagging: false, marks: null, open: true };
    res.cork(() => res.upgrade<SocketData>(data, key, verdict.protocol, extensions, context));
  }

  #open(ws: Ws): void {
    this.#sockets.add(ws);
    this.#d.metrics.wsConnections.inc();
    ws.subscribe(HEARTBEAT_TOPIC);
  }

  #close(ws: Ws): void {
    const ud = ws.getUserData();
    ud.open = false;
    this.#sockets.delete(ws);
    this.#d.metrics.wsConnections.dec();
    for (const id of ud.projects) this.#project(id).subscribers--;
    ud.projects.clear();
  }

  #message(ws: Ws, raw: ArrayBuffer, isBinary: boolean): void {
    if (isBinary) {
      this.#send(ws, encodeProtocolError(this.#now(), 'binary frames are not accepted; send UTF-8 JSON text'));
      ws.end(1003, 'text frames only');
      return;
    }
    let msg: ClientMessage;
    try {
      const parsed = clientMessageSchema.safeParse(JSON.parse(Buffer.from(raw).toString('utf8')));
      if (!parsed.success) {
        this.#send(ws, encodeProtocolError(this.#now(), `invalid message: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`));
        return;
      }
      msg = parsed.data;
    } catch {
      this.#send(ws, encodeProtocolError(this.#now(), 'invalid message: not JSON'));
      return;
    }
    if (msg.type === 'ping') this.#send(ws, encodeHeartbeat(this.#now()));
    else if (msg.type === 'unsubscribe') for (const id of msg.projectIds) this.#unsubscribe(ws, id);
    else ws.cork(() => { for (const id of msg.projectIds) this.#subscribe(ws, id, msg.lastSeq?.[id]); });
  }

  /** Replay-or-snapshot then subscribe, in one synchronous block (see the file comment). */
  #subscribe(ws: Ws, projectId: string, lastSeq: number | undefined): void {
    this.#unsubscribe(ws, projectId); // a repeated subscribe is a resync from the given lastSeq
    const plan = planSubscribe(lastSeq, this.#replay.get(projectId), this.#d.projection.get(projectId));
    if (plan.kind === 'replay') for (const text of plan.items) this.#send(ws, text);
    else if (plan.kind === 'snapshot') this.#send(ws, encodeSnapshot(plan.status, this.#now(), this.#l.maxOutboundBytes));
    const p = this.#project(projectId);
    ws.subscribe(p.topic);
    p.subscribers++;
    const ud = ws.getUserData();
    ud.projects.add(projectId);
    if (ud.marks && !ud.marks.has(projectId)) ud.marks.set(projectId, p.published);
  }

  #unsubscribe(ws: Ws, projectId: string): void {
    const ud = ws.getUserData();
    if (!ud.projects.delete(projectId)) return;
    const p = this.#project(projectId);
    ws.unsubscribe(p.topic);
    p.subscribers--;
    ud.marks?.delete(projectId);
  }

  #drain(ws: Ws): void {
    const ud = ws.getUserData();
    const buffered = ws.getBufferedAmount();
    if (!ud.marks && buffered > this.#l.maxBackpressureBytes) this.#markLagging(ws, ud);
    if (ud.marks && buffered <= this.#l.maxBackpressureBytes) this.#closeDropWindow(ud);
    if (ud.lagging && buffered <= this.#lowWater()) {
      ud.lagging = false;
      ws.cork(() => {
        for (const id of ud.projects) {
          const status = this.#d.projection.get(id);
          if (status) this.#send(ws, encodeSnapshot(status, this.#now(), this.#l.maxOutboundBytes));
        }
      });
      this.counters.snapshotsAfterDrain++;
    }
  }

  #markLagging(ws: Ws, ud: SocketData): void {
    ud.lagging = true;
    ud.marks = new Map([...ud.projects].map((id) => [id, this.#project(id).published]));
    this.counters.lagEvents++;
    this.#d.logger.debug({ socket: ud.id, buffered: ws.getBufferedAmount() }, 'WebSocket client lagging; dropping its envelopes');
  }

  /** Count what was published to the socket's projects while it was over the limit. */
  #closeDropWindow(ud: SocketData): void {
    let dropped = 0;
    for (const [id, mark] of ud.marks!) dropped += this.#project(id).published - mark;
    ud.marks = null;
    this.#dropped(dropped);
  }

  #send(ws: Ws, text: string): void {
    const ud = ws.getUserData();
    if (!ud.open) return;
    const r = ws.send(text, false);
    if (r === 2) {
      if (!ud.lagging) {
        ud.lagging = true;
        this.counters.lagEvents++;
      }
      this.#dropped(1);
    } else this.#sent(1);
  }

  #sent(n: number): void {
    this.counters.sent += n;
    this.#d.metrics.wsMessagesSent.inc(n);
  }

  #dropped(n: number): void {
    if (n <= 0) return;
    this.counters.dropped += n;
    this.#d.metrics.wsMessagesDropped.inc(n);
  }

  #lowWater(): number {
    return Math.floor(this.#l.maxBackpressureBytes / 16);
  }

  #project(id: string): ProjectState {
    let p = this.#projects.get(id);
    if (!p) this.#projects.set(id, (p = { topic: `p/${id}`, published: 0, subscribers: 0 }));
    return p;
  }

  #now(): string {
    return new Date(this.#d.clock.now()).toISOString();
  }
}
