/**
 * The event pipeline on one node: store (event + outbox rows, group-committed), transport
 * (Redis Stream consumer group, or an in-process queue without REDIS_URL), worker and outbox
 * relay. `ingest` answers once the rows are committed and the dispatch was attempted:
 * 'queued' when the queue took it, 'deferred' when it did not (the relay sends it later).
 */
import { hostname } from 'node:os';
import type { Clock } from '../../infra/clock.ts';
import type { Database } from '../../infra/db/orm.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import type { RedisHandle } from '../../infra/redis.ts';
import { MemoryTransport } from './memoryTransport.ts';
import { RedisTransport } from './redisTransport.ts';
import { OutboxRelay } from './relay.ts';
import { EventRepository as EventStore } from '../../infra/db/eventRepository.ts';
import type { IngestInput, IngestResult, Transport } from './types.ts';
import { EventWorker, type EventEffects, type Route } from './worker.ts';

export const EVENTS_STREAM = 'devteam:events';
export const EVENTS_GROUP = 'devteam-workers';

export interface EventPipelineOptions {
  db: Database;
  effects: EventEffects;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** Redis Stream transport when given, else the in-process queue. */
  redis?: RedisHandle;
  stream?: string;
  group?: string;
  consumer?: string;
  claimIdleMs: number;
  maxDeliveries: number;
  redeliverSec: number;
  /** Relay interval (default min(1 s, redeliverSec)). */
  relayIntervalMs?: number;
  routes?: Record<string, Route>;
  /** Start consuming at once (default true); false leaves it to `startWorker()`. */
  startWorker?: boolean;
}

export interface EventPipeline {
  store: EventStore;
  transport: Transport;
  worker: EventWorker;
  relay: OutboxRelay;
  stream: string;
  deadStream: string;
  group: string;
  ingest(e: IngestInput): Promise<IngestResult>;
  startWorker(): void;
  close(): Promise<void>;
}

export function createEventPipeline(o: EventPipelineOptions): EventPipeline {
  const logger = o.logger.child({ component: 'events' });
  const stream = o.stream ?? EVENTS_STREAM;
  const deadStream = `${stream}:dead`;
  const group = o.group ?? EVENTS_GROUP;
  const store = new EventStore(o.db);
  const transport: Transport = o.redis
    ? new RedisTransport({
        redis: o.redis,
        logger,
        clock: o.clock,
        stream,
        deadStream,
        group,
        consumer: o.consumer ?? `${hostname()}-${process.pid}`,
        claimIdleMs: o.claimIdleMs,
      })
    : new MemoryTransport(logger, o.claimIdleMs);
  const worker = new EventWorker({ store, effects: o.effects, logger, metrics: o.metrics, clock: o.clock, maxDeliveries: o.maxDeliveries, routes: o.routes });
  const relay = new OutboxRelay({
    store,
    transport,
    logger,
    redeliverSec: o.redeliverSec,
    intervalMs: o.relayIntervalMs ?? Math.min(1000, o.redeliverSec * 1000),
  });
  let closed: Promise<void> | undefined;
  const pipeline: EventPipeline = {
    store,
    transport,
    worker,
    relay,
    stream,
    deadStream,
    group,
    async ingest(e) {
      const stored = await store.ingest(e);
      if (!stored.inserted) {
        return { id: stored.id, correlationId: stored.correlationId, dispatch: stored.dispatched ? 'queued' : 'deferred', duplicate: true };
      }
      const msg = { id: stored.id, correlationId: stored.correlationId, projectId: e.projectId, type: e.type, enqueuedAt: o.clock.now() };
      if (await transport.enqueue([msg])) return { id: stored.id, correlationId: stored.correlationId, dispatch: 'queued', duplicate: false };
      // Stored but not on the queue: clear the dispatch mark so the relay sends it once the
      // queue is back. Should even that fail, the relay re-sends it after redeliverSec.
      await store.undispatched([stored.id]).catch((err) => logger.warn({ err: (err as Error).message, eventId: stored.id }, 'could not mark event deferred'));
      return { id: stored.id, correlationId: stored.correlationId, dispatch: 'deferred', duplicate: false };
    },
    startWorker() {
      transport.start(worker.handle, worker.settled);
      relay.start();
    },
    close: () =>
      (closed ??= (async () => {
        await relay.close();
        await transport.close();
        await store.close();
        worker.handled$.complete();
      })()),
  };
  if (o.startWorker !== false) pipeline.startWorker();
  return pipeline;
}

export type { IngestInput, IngestResult } from './types.ts';
export type { EventEffects, HandledEvent, Route } from './worker.ts';
