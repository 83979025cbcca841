/**
 * Event ingest as a server plug-in: POST /api/events, plus the in-process worker and outbox
 * relay (a separate worker process comes with multi-node). Redis Stream transport when the
 * server has a Redis handle (REDIS_URL), the in-process queue otherwise.
 */
import { createEventPipeline, type EventPipeline, type Route } from '../../actors/events/index.ts';
import { ValidationError } from '../http/errors.ts';
import type { ServerPlugin } from '../http/types.ts';
import { eventIngestSchema } from './schema.ts';

export interface EventsPluginOptions {
  /** Stream key (default `devteam:events`; the dead-letter stream is `<stream>:dead`). */
  stream?: string;
  group?: string;
  consumer?: string;
  /** Overrides of DEVTEAM_EVENTS_* config. */
  claimIdleMs?: number;
  maxDeliveries?: number;
  redeliverSec?: number;
  relayIntervalMs?: number;
  /** Extra or replacement routes by event type. */
  routes?: Record<string, Route>;
  /** Consume at attach (default true); false leaves it to `plugin.pipeline.startWorker()`. */
  startWorker?: boolean;
  /** Force the in-process queue even when the server has Redis. */
  inProcess?: boolean;
}

export interface EventsPlugin extends ServerPlugin {
  /** The running pipeline (after attach). */
  readonly pipeline: EventPipeline | undefined;
}

export function eventsPlugin(opts: EventsPluginOptions = {}): EventsPlugin {
  let pipeline: EventPipeline | undefined;
  return {
    name: 'events',
    get pipeline() {
      return pipeline;
    },
    attach(ctx) {
      const { runtime } = ctx;
      const c = runtime.config;
      const p = createEventPipeline({
        db: runtime.db,
        effects: runtime.projects,
        logger: ctx.logger,
        metrics: ctx.metrics,
        clock: runtime.clock,
        redis: opts.inProcess ? undefined : ctx.redis,
        stream: opts.stream,
        group: opts.group,
        consumer: opts.consumer,
        claimIdleMs: opts.claimIdleMs ?? c.DEVTEAM_EVENTS_CLAIM_IDLE_MS,
        maxDeliveries: opts.maxDeliveries ?? c.DEVTEAM_EVENTS_MAX_DELIVERIES,
        redeliverSec: opts.redeliverSec ?? c.DEVTEAM_EVENTS_REDELIVER_SEC,
        relayIntervalMs: opts.relayIntervalMs,
        routes: opts.routes,
        startWorker: opts.startWorker,
      });
      pipeline = p;
      ctx.route('POST', '/api/events', async (req) => {
        const parsed = eventIngestSchema.safeParse(req.body ?? {});
        if (!parsed.success) throw ValidationError.fromZod(parsed.error);
        const r = await p.ingest({ ...parsed.data, correlationId: req.correlationId });
        // A duplicate answers with the original's correlationId, in the header too.
        return {
          status: 202,
          headers: { 'x-correlation-id': r.correlationId },
          body: { id: r.id, correlationId: r.correlationId, dispatch: r.dispatch },
        };
      });
    },
    async close() {
      await pipeline?.close();
    },
  };
}
