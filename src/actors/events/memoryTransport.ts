/**
 * The in-process queue used when REDIS_URL is unset: fed from the outbox (ingest and relay),
 * consumed by the same worker with the same verdicts. A 'retry' is handed out again after
 * `retryMs` (the in-process stand-in for XAUTOCLAIM); 'dead' entries are dropped here — the
 * worker has already marked them dead in the database, which is the dead-letter record.
 * Nothing is lost on a crash: unacknowledged outbox rows are dispatched again by the relay.
 */
import type { Logger } from '../../infra/logger.ts';
import type { Delivery, DeliveryHandler, QueueMessage, Transport } from './types.ts';

export class MemoryTransport implements Transport {
  readonly kind = 'memory' as const;
  readonly available = true;
  #queue: Delivery[] = [];
  #handler: DeliveryHandler | undefined;
  #settled: ((batch: Delivery[]) => void) | undefined;
  #running: Promise<void> | null = null;
  #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(
    private readonly logger: Logger,
    private readonly retryMs: number,
    private readonly batchSize = 100,
  ) {}

  async enqueue(msgs: QueueMessage[]): Promise<boolean> {
    if (this.#closed) return false;
    for (const msg of msgs) this.#queue.push({ msg, deliveries: 0 });
    this.#kick();
    return true;
  }

  onAvailable(): void {
    // Always available.
  }

  start(handler: DeliveryHandler, settled?: (batch: Delivery[]) => void): void {
    this.#handler ??= handler;
    this.#settled ??= settled;
    this.#kick();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
    while (this.#running) await this.#running;
  }

  #kick(): void {
    if (this.#handler && !this.#closed && this.#queue.length) this.#running ??= this.#loop();
  }

  async #loop(): Promise<void> {
    // Yield first: a loop that finished synchronously would clear #running before `??=` set it.
    await Promise.resolve();
    try {
      while (this.#queue.length && !this.#closed) {
        const batch = this.#queue.splice(0, this.batchSize);
        for (const d of batch) d.deliveries++;
        let verdicts: string[];
        try {
          verdicts = await this.#handler!(batch);
        } catch (err) {
          this.logger.error({ err }, 'event handler failed; retrying batch');
          verdicts = batch.map(() => 'retry');
        }
        batch.forEach((d, i) => {
          if (verdicts[i] === 'retry') this.#later(d);
        });
        this.#settled?.(batch);
      }
    } finally {
      this.#running = null;
    }
  }

  #later(d: Delivery): void {
    if (this.#closed) return;
    const t = setTimeout(() => {
      this.#timers.delete(t);
      this.#queue.push(d);
      this.#kick();
    }, this.retryMs);
    t.unref();
    this.#timers.add(t);
  }
}
