/**
 * Stream client for /ws/devteam. One socket, any number of subscribed projects. When the
 * socket drops it reconnects on a linear schedule (backoff.ts; the attempt counter resets once
 * a socket opens), resubscribes every project with the last seq it delivered, and filters what
 * the server sends through DeliveryOrder, so listeners never see an envelope twice or out of
 * order — even when a replay overlaps what was already delivered. A `snapshot` is delivered
 * with `reset: true`: the project's position starts over from it.
 *
 * Works with the browser's WebSocket and with `ws` in Node (pass it as `WebSocket`; Node 20
 * has no global one). The token travels as the subprotocol `bearer.<token>` next to `devteam`,
 * because browsers cannot set headers on a WebSocket. All timers go through `clock`, so tests
 * can observe and fire the reconnect schedule deterministically.
 */
import { MAX_PROJECTS_PER_MESSAGE, type Envelope } from '../domain/envelope.ts';
import { backoffDelay, type BackoffOptions } from './backoff.ts';
import { DeliveryOrder } from './order.ts';
import { streamUrl, textOf } from './wire.ts';

export { streamUrl, WS_PATH } from './wire.ts';

export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed';

/** A delivered envelope; `reset` marks a snapshot that replaced the project's position. */
export type Delivered = Envelope & { reset?: true };

export interface StreamClock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  random(): number;
}

/** The subset of the WHATWG WebSocket both browsers and `ws` implement. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: any) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
  onerror: ((ev: any) => void) | null;
}
export type WebSocketCtor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export interface StreamOptions extends BackoffOptions {
  /** `ws(s)://host/ws/devteam`, or the server's http(s) base URL (the path is added). */
  url: string;
  token?: string;
  /** WebSocket implementation; default the global one. */
  WebSocket?: WebSocketCtor;
  clock?: StreamClock;
  /**
   * Reconnect when nothing (not even a heartbeat) arrived for this long; the server sends a
   * heartbeat every 25 s by default. 0 disables. Default 60000.
   */
  heartbeatTimeout?: number;
}

export interface StateInfo {
  /** Consecutive failed attempts so far (0 once open). */
  attempt: number;
  /** For 'reconnecting': the delay before the next attempt. */
  delay?: number;
  error?: Error;
}

export interface DevTeamStream {
  readonly state: ConnectionState;
  subscribe(projectIds: string[]): void;
  unsubscribe(projectIds: string[]): void;
  /** Listen to delivered envelopes (heartbeats excluded); returns an unsubscribe function. */
  onEnvelope(fn: (e: Delivered) => void): () => void;
  /** Listen to connection state changes; called at once with the current state. */
  onState(fn: (state: ConnectionState, info: StateInfo) => void): () => void;
  /** Transport/protocol problems that do not end the stream (it keeps reconnecting). */
  onError(fn: (err: Error) => void): () => void;
  /** Per project, the last transition seq delivered (what a resubscribe resumes from). */
  lastSeq(): Record<string, number>;
  readonly stats: { delivered: number; duplicates: number; opens: number; heartbeats: number };
  /** Stop for good: close the socket, cancel timers, state 'closed'. */
  close(): void;
}

const systemClock: StreamClock = {
  setTimeout: (fn, ms) => globalThis.setTimeout(fn, ms),
  clearTimeout: (h) => globalThis.clearTimeout(h as ReturnType<typeof setTimeout>),
  random: () => Math.random(),
};

const OPEN = 1;

export function createStream(o: StreamOptions): DevTeamStream {
  const Impl = o.WebSocket ?? (globalThis as { WebSocket?: WebSocketCtor }).WebSocket;
  if (!Impl) throw new Error('createStream: no global WebSocket; pass { WebSocket } (e.g. the `ws` package)');
  const Ctor: WebSocketCtor = Impl;
  const url = streamUrl(o.url);
  const clock = o.clock ?? systemClock;
  const heartbeatTimeout = o.heartbeatTimeout ?? 60_000;
  const protocols = o.token ? ['devteam', `bearer.${o.token}`] : ['devteam'];
  const order = new DeliveryOrder();
  const subscribed = new Set<string>();
  const envListeners = new Set<(e: Delivered) => void>();
  const stateListeners = new Set<(s: ConnectionState, i: StateInfo) => void>();
  const errorListeners = new Set<(e: Error) => void>();
  const stats = { delivered: 0, duplicates: 0, opens: 0, heartbeats: 0 };
  let state: ConnectionState = 'connecting';
  let info: StateInfo = { attempt: 0 };
  let socket: WebSocketLike | null = null;
  let attempt = 0;
  let retryTimer: unknown = null;
  let liveTimer: unknown = null;
  /** Messages are parsed asynchronously (Blob data); this chain keeps them in arrival order. */
  let inbox: Promise<void> = Promise.resolve();

  const setState = (s: ConnectionState, i: StateInfo) => {
    state = s;
    info = i;
    for (const fn of stateListeners) fn(s, i);
  };
  const emitError = (err: Error) => {
    for (const fn of errorListeners) fn(err);
  };
  const send = (msg: unknown) => {
    if (socket && socket.readyState === OPEN) socket.send(JSON.stringify(msg));
  };
  const sendSubscribe = (ids: string[]) => {
    const last = order.lastSeq();
    for (let i = 0; i < ids.length; i += MAX_PROJECTS_PER_MESSAGE) {
      const chunk = ids.slice(i, i + MAX_PROJECTS_PER_MESSAGE);
      const lastSeq: Record<string, number> = {};
      for (const id of chunk) if (last[id] !== undefined) lastSeq[id] = last[id]!;
      send({ type: 'subscribe', projectIds: chunk, ...(Object.keys(lastSeq).length ? { lastSeq } : {}) });
    }
  };
  const armLiveness = () => {
    if (liveTimer !== null) clock.clearTimeout(liveTimer);
    liveTimer = null;
    if (heartbeatTimeout > 0 && state === 'open') {
      const s = socket;
      liveTimer = clock.setTimeout(() => {
        liveTimer = null;
        if (s === socket) drop(s, new Error(`no message from the server for ${heartbeatTimeout} ms`));
      }, heartbeatTimeout);
    }
  };

  function connect() {
    retryTimer = null;
    let ws: WebSocketLike;
    try {
      ws = new Ctor(url, protocols);
    } catch (err) {
      socket = null;
      scheduleRetry(err as Error);
      return;
    }
    socket = ws;
    let lastError: Error | undefined;
    ws.onopen = () => {
      if (ws !== socket) return;
      attempt = 0;
      stats.opens++;
      setState('open', { attempt: 0 });
      armLiveness();
      if (subscribed.size) sendSubscribe([...subscribed]);
    };
    ws.onmessage = (ev) => {
      if (ws !== socket) return;
      armLiveness();
      inbox = inbox.then(async () => {
        if (ws !== socket) return;
        handle(await textOf(ev.data));
      });
    };
    ws.onerror = (ev) => {
      const msg = ev?.message ?? ev?.error?.message;
      lastError = new Error(msg ? String(msg) : 'WebSocket error');
    };
    ws.onclose = (ev) => {
      if (ws !== socket) return;
      const why = lastError ?? new Error(`connection closed${ev?.code ? ` (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})` : ''}`);
      if (/Unexpected server response: 40[13]/.test(why.message)) {
        socket = null;
        emitError(why);
        close(why);
        return;
      }
      drop(ws, why);
    };
  }

  function handle(text: string) {
    let e: Delivered;
    try {
      e = JSON.parse(text) as Delivered;
    } catch {
      emitError(new Error('received a frame that is not JSON'));
      return;
    }
    if (!e || typeof e !== 'object' || typeof e.type !== 'string') return;
    if (e.type === 'heartbeat') {
      stats.heartbeats++;
      return;
    }
    if ('projectId' in e && e.projectId && !subscribed.has(e.projectId)) return; // unsubscribed while in flight
    const verdict = order.accept(e);
    if (verdict === 'duplicate') {
      stats.duplicates++;
      return;
    }
    const out: Delivered = verdict === 'reset' ? { ...e, reset: true } : e;
    stats.delivered++;
    for (const fn of envListeners) fn(out);
  }

  /** The current socket is gone (closed, failed, or silent): detach it and reconnect later. */
  function drop(ws: WebSocketLike | null, err: Error) {
    if (ws && ws === socket) {
      socket = null;
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      try {
        const t = (ws as { terminate?: () => void }).terminate;
        if (typeof t === 'function') t.call(ws);
        else ws.close(4000, 'reconnecting');
      } catch {
        /* already closed */
      }
    }
    if (liveTimer !== null) clock.clearTimeout(liveTimer);
    liveTimer = null;
    if (state === 'closed') return;
    scheduleRetry(err);
  }

  function scheduleRetry(err: Error) {
    attempt++;
    const delay = backoffDelay(attempt, o, () => clock.random());
    setState('reconnecting', { attempt, delay, error: err });
    retryTimer = clock.setTimeout(connect, delay);
  }

  function close(err?: Error) {
    if (state === 'closed') return;
    if (retryTimer !== null) clock.clearTimeout(retryTimer);
    if (liveTimer !== null) clock.clearTimeout(liveTimer);
    retryTimer = liveTimer = null;
    const ws = socket;
    socket = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onerror = ws.onclose = null;
      try {
        ws.close(1000, 'client closed');
      } catch {
        /* not open yet */
      }
    }
    setState('closed', { attempt, ...(err ? { error: err } : {}) });
  }

  const stream: DevTeamStream = {
    get state() {
      return state;
    },
    stats,
    subscribe(ids) {
      const fresh = ids.filter((id) => !subscribed.has(id));
      for (const id of fresh) subscribed.add(id);
      if (fresh.length && state === 'open') sendSubscribe(fresh);
    },
    unsubscribe(ids) {
      const gone = ids.filter((id) => subscribed.delete(id));
      for (let i = 0; i < gone.length; i += MAX_PROJECTS_PER_MESSAGE) send({ type: 'unsubscribe', projectIds: gone.slice(i, i + MAX_PROJECTS_PER_MESSAGE) });
    },
    onEnvelope(fn) {
      envListeners.add(fn);
      return () => envListeners.delete(fn);
    },
    onState(fn) {
      stateListeners.add(fn);
      fn(state, info);
      return () => stateListeners.delete(fn);
    },
    onError(fn) {
      errorListeners.add(fn);
      return () => errorListeners.delete(fn);
    },
    lastSeq: () => order.lastSeq(),
    close: () => close(),
  };
  connect();
  return stream;
}
