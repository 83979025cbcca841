/**
 * The outbox relay: dispatches outbox rows that were never dispatched (the queue was down at
 * ingest: "deferred") or not acknowledged within `redeliverSec` (lost XADD, crashed process).
 * Runs on an interval and at once when the queue becomes reachable again. A re-dispatch may
 * duplicate an entry that is still pending somewhere; the worker's dedupe by event id makes
 * that harmless.
 */
import type { Logger } from '../../infra/logger.ts';
import type { EventRepository as EventStore } from '../../infra/db/eventRepository.ts';
import type { Transport } from './types.ts';

export interface RelayOptions {
  store: EventStore;
  transport: Transport;
  logger: Logger;
  redeliverSec: number;
  intervalMs: number;
  batch?: number;
}

export class OutboxRelay {
  #o: RelayOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<number> | null = null;
  #again = false;
  #closed = false;
  /** Rows dispatched by the relay so far. */
  relayed = 0;

  constructor(o: RelayOptions) {
    this.#o = o;
  }

  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => void this.tick(), this.#o.intervalMs);
    this.#timer.unref();
    this.#o.transport.onAvailable(() => void this.tick());
    void this.tick();
  }

  /** One pass (coalesced: a call during a pass runs one more pass after it). Returns rows dispatched. */
  tick(): Promise<number> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    const run = async () => {
      let total = 0;
      try {
        do {
          this.#again = false;
          total += await this.#pass();
        } while (this.#again && !this.#closed);
      } finally {
        this.#running = null;
      }
      return total;
    };
    return (this.#running = run());
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#running?.catch(() => undefined);
  }

  async #pass(): Promise<number> {
    const limit = this.#o.batch ?? 500;
    let total = 0;
    try {
      while (!this.#closed && this.#o.transport.available) {
        const claimed = await this.#o.store.claimDue(this.#o.redeliverSec, limit);
        if (!claimed.length) break;
        const now = Date.now();
        const due = claimed.map((m) => ({ ...m, enqueuedAt: now }));
        if (!(await this.#o.transport.enqueue(due))) {
          await this.#o.store.undispatched(due.map((m) => m.id));
          break;
        }
        total += due.length;
        this.relayed += due.length;
        this.#o.logger.info({ events: due.length }, 'outbox relay dispatched events');
        if (due.length < limit) break;
      }
    } catch (err) {
      this.#o.logger.warn({ err: (err as Error).message }, 'outbox relay pass failed');
    }
    return total;
  }
}
