/**
 * The event worker: policy on top of a transport. For each delivery it de-duplicates by event
 * id (a final status in the database means "already handled": ack and skip), routes the event
 * to the project's actor, stores the outcome (event status + outbox acked_at), and only then
 * tells the transport to ack. Events of one project are handled in order; projects in parallel.
 * A failing event is left for redelivery; after `maxDeliveries` failed deliveries it is dead.
 * Each handled event logs one structured line with its correlationId.
 */
import { Subject } from 'rxjs';
import type { Command } from '../../domain/status.ts';
import type { Clock } from '../../infra/clock.ts';
import type { Logger } from '../../infra/logger.ts';
import type { Metrics } from '../../infra/metrics.ts';
import type { CommandResult } from '../host.ts';
import { ProjectNotFoundError } from '../errors.ts';
import type { EventRepository as EventStore, StoredEvent } from '../../infra/db/eventRepository.ts';
import type { Delivery, EventStatus, Verdict } from './types.ts';

/** What events act on (the Registry satisfies it). */
export interface EventEffects {
  wake(projectId: string, type: 'REPO_UPDATED' | 'TASKS_CHANGED'): boolean | Promise<boolean>;
  command(projectId: string, cmd: Command): Promise<CommandResult>;
}

export type RouteOutcome = 'processed' | 'ignored' | 'rejected';
export type Route = (e: StoredEvent, effects: EventEffects, log: Logger) => Promise<RouteOutcome>;

const command = (cmd: Command): Route => async (e, fx, log) => {
  try {
    const r = await fx.command(e.projectId, cmd);
    if (!r.ok) log.info({ state: r.state }, `${cmd} not accepted in the project's state`);
    return r.ok ? 'processed' : 'rejected';
  } catch (err) {
    if (err instanceof ProjectNotFoundError) return 'rejected';
    throw err;
  }
};
const wake = (type: 'REPO_UPDATED' | 'TASKS_CHANGED'): Route => async (e, fx) => ((await fx.wake(e.projectId, type)) ? 'processed' : 'rejected');

export const DEFAULT_ROUTES: Record<string, Route> = {
  'repo.updated': wake('REPO_UPDATED'),
  'tasks.changed': wake('TASKS_CHANGED'),
  'automation.pause': command('PAUSE'),
  'automation.resume': command('RESUME'),
  'automation.stop': command('STOP'),
};

export interface HandledEvent {
  id: string;
  type: string;
  projectId: string;
  correlationId: string;
  /** The final status stored, 'duplicate' (already handled: acked, skipped) or 'retry' (failed, left for redelivery). */
  outcome: Exclude<EventStatus, 'received'> | 'duplicate' | 'retry';
  deliveries: number;
}

export interface WorkerOptions {
  store: EventStore;
  effects: EventEffects;
  logger: Logger;
  metrics: Metrics;
  clock: Clock;
  /** Failed deliveries after which an event is dead (dead-letter stream, status 'dead'). */
  maxDeliveries: number;
  /** Extra or replacement routes by event type. */
  routes?: Record<string, Route>;
}

export class EventWorker {
  /**
   * Every handled delivery, emitted once the transport has carried out its verdict (XACK done,
   * dead-lettered, or left pending) — tests and operators wait on this instead of polling.
   */
  readonly handled$ = new Subject<HandledEvent>();
  readonly #results = new WeakMap<Delivery, HandledEvent>();
  readonly #o: WorkerOptions;
  readonly #routes: Record<string, Route>;
  readonly #inflight = new Set<string>();

  constructor(o: WorkerOptions) {
    this.#o = o;
    this.#routes = { ...DEFAULT_ROUTES, ...o.routes };
  }

  /** The transport's DeliveryHandler. */
  readonly handle = async (batch: Delivery[]): Promise<Verdict[]> => {
    const now = this.#o.clock.now();
    for (const d of batch) if (d.deliveries === 1 && d.msg.enqueuedAt > 0) this.#o.metrics.queueLatency.observe(Math.max(0, now - d.msg.enqueuedAt) / 1000);
    const verdicts: Verdict[] = batch.map(() => 'retry');
    // A copy of an event already being handled here (relay duplicate, reclaimed) waits its turn.
    const mine = batch.map((d, i) => ({ d, i })).filter(({ d }) => !this.#inflight.has(d.msg.id));
    for (const { d } of mine) this.#inflight.add(d.msg.id);
    try {
      const rows = await this.#o.store.load([...new Set(mine.map(({ d }) => d.msg.id))]);
      const byProject = new Map<string, Array<{ d: Delivery; i: number }>>();
      for (const x of mine) {
        const list = byProject.get(x.d.msg.projectId);
        if (list) list.push(x);
        else byProject.set(x.d.msg.projectId, [x]);
      }
      // Effects run in order per project; their outcome writes overlap (and share transactions
      // through the batcher), so a batch costs a couple of commits, not one per event.
      const finals: Promise<void>[] = [];
      await Promise.all(
        [...byProject.values()].map(async (list) => {
          for (const { d, i } of list) {
            let applied!: () => void;
            const effect = new Promise<void>((r) => (applied = r));
            finals.push(this.#one(d, rows.get(d.msg.id), now, applied).then((v) => void ((verdicts[i] = v), applied())));
            await effect;
          }
        }),
      );
      await Promise.all(finals);
    } catch (err) {
      this.#o.logger.warn({ err: (err as Error).message, events: mine.length }, 'event batch failed; left for redelivery');
    } finally {
      for (const { d } of mine) this.#inflight.delete(d.msg.id);
    }
    return verdicts;
  };

  /** The transport's settled callback: publish what each delivery of the batch came to. */
  readonly settled = (batch: Delivery[]): void => {
    for (const d of batch) {
      const h = this.#results.get(d);
      if (!h) continue;
      this.#results.delete(d);
      this.handled$.next(h);
    }
  };

  /** Handle one delivery; `applied` is called once its effect is done (before the outcome write). */
  async #one(d: Delivery, row: StoredEvent | undefined, now: number, applied: () => void): Promise<Verdict> {
    const { msg } = d;
    const log = this.#o.logger.child({ correlationId: msg.correlationId, projectId: msg.projectId, eventType: msg.type });
    const done = (outcome: HandledEvent['outcome'], verdict: Verdict, extra: Record<string, unknown> = {}) => {
      const line = { eventId: msg.id, outcome, deliveries: d.deliveries, latencyMs: now - msg.enqueuedAt, ...extra };
      if (outcome === 'retry' || outcome === 'dead') log.warn(line, 'event not handled');
      else log.info(line, 'event handled');
      this.#results.set(d, { id: msg.id, type: msg.type, projectId: msg.projectId, correlationId: msg.correlationId, outcome, deliveries: d.deliveries });
      return verdict;
    };
    if (!row) return done('duplicate', 'ack', { reason: 'no such event row' });
    if (row.status !== 'received') return done('duplicate', 'ack');
    if (d.deliveries > this.#o.maxDeliveries) {
      try {
        await this.#o.store.record({ id: msg.id, status: 'dead', deliveries: d.deliveries });
      } catch (err) {
        return done('retry', 'retry', { err: (err as Error).message });
      }
      return done('dead', 'dead');
    }
    let outcome: RouteOutcome;
    try {
      const route = this.#routes[row.type];
      outcome = route ? await route(row, this.#o.effects, log) : 'ignored';
    } catch (err) {
      return done('retry', 'retry', { err: (err as Error).message });
    }
    applied();
    // The effect happened; store that before the ack. If this write fails the entry stays
    // pending and is redelivered: the effect may run again (at-least-once) but is never lost.
    try {
      const fresh = await this.#o.store.record({ id: msg.id, status: outcome, deliveries: d.deliveries });
      return done(fresh ? outcome : 'duplicate', 'ack');
    } catch (err) {
      return done('retry', 'retry', { err: (err as Error).message, effectApplied: outcome });
    }
  }
}
