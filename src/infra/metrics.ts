/**
 * Prometheus metrics (prom-client). `createMetrics()` builds its own Registry — never the global
 * default — so tests and several servers in one process do not collide on metric names.
 * Every metric of the runner is declared here, so /metrics documents itself in one file.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Observable, Subscription } from 'rxjs';

/** The part of a hub event metrics reads (structural, so infra does not import the actors layer). */
export interface TransitionLike {
  type: string;
  payload: unknown;
}

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'route' | 'method' | 'status'>;
  transitions: Counter<'state'>;
  queueLatency: Histogram;
  verifyDuration: Histogram;
  wsConnections: Gauge;
  wsMessagesSent: Counter;
  wsMessagesDropped: Counter;
  /** Count transitions from a hub stream; returns the subscription to unsubscribe on close. */
  watchHub(all$: Observable<TransitionLike>): Subscription;
  /** Prometheus text exposition. */
  text(): Promise<string>;
  contentType: string;
}

export function createMetrics(opts: { defaultMetrics?: boolean; prefix?: string } = {}): Metrics {
  const registry = new Registry();
  if (opts.defaultMetrics !== false) collectDefaultMetrics({ register: registry, prefix: opts.prefix });
  const registers = [registry];
  const httpDuration = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request duration by route pattern, method and status',
    labelNames: ['route', 'method', 'status'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers,
  });
  const transitions = new Counter({
    name: 'devteam_transitions_total',
    help: 'Committed project transitions, by the state the project is in after them (the status state)',
    labelNames: ['state'] as const,
    registers,
  });
  const queueLatency = new Histogram({
    name: 'devteam_queue_latency_seconds',
    help: 'Event queue latency from enqueue to consumed',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
    registers,
  });
  const verifyDuration = new Histogram({
    name: 'devteam_verify_duration_seconds',
    help: 'Duration of verification (build check) runs',
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800],
    registers,
  });
  const wsConnections = new Gauge({ name: 'devteam_ws_connections', help: 'Open WebSocket connections', registers });
  const wsMessagesSent = new Counter({ name: 'devteam_ws_messages_sent_total', help: 'WebSocket envelopes sent', registers });
  const wsMessagesDropped = new Counter({
    name: 'devteam_ws_messages_dropped_total',
    help: 'WebSocket envelopes dropped because of backpressure',
    registers,
  });
  return {
    registry,
    httpDuration,
    transitions,
    queueLatency,
    verifyDuration,
    wsConnections,
    wsMessagesSent,
    wsMessagesDropped,
    watchHub(all$) {
      return all$.subscribe({
        next: (e) => {
          // The status each committed transition publishes names the state (src/machines/status.ts).
          const state = (e.payload as { state?: unknown } | null)?.state;
          if (e.type === 'status' && typeof state === 'string') transitions.inc({ state });
        },
        // A hub error must never crash the process through an unhandled subscriber error.
        error: () => undefined,
      });
    },
    text: () => registry.metrics(),
    contentType: registry.contentType,
  };
}
