/**
 * Group commit for independent items: while one flush runs, new items accumulate and go
 * together in the next one. Under load many concurrent callers share one database transaction
 * (one Postgres transaction per event tops out near 2,800/s here); with a single caller a
 * flush starts at once, so an idle system pays no batching delay.
 */
export class Batcher<T, R> {
  #pending: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  #running: Promise<void> | null = null;
  #closed = false;
  batches = 0;

  constructor(
    private readonly flush: (items: T[]) => Promise<R[]>,
    private readonly maxBatch = 500,
  ) {}

  add(item: T): Promise<R> {
    if (this.#closed) return Promise.reject(new Error('batcher closed'));
    return new Promise<R>((resolve, reject) => {
      this.#pending.push({ item, resolve, reject });
      this.#running ??= this.#loop();
    });
  }

  /** Resolves when everything added so far has been flushed (or failed). */
  async idle(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.idle();
  }

  async #loop(): Promise<void> {
    try {
      while (this.#pending.length) {
        const batch = this.#pending.splice(0, this.maxBatch);
        try {
          const results = await this.flush(batch.map((b) => b.item));
          this.batches++;
          batch.forEach((b, i) => b.resolve(results[i]!));
        } catch (err) {
          // Fail this batch's callers (they answer 5xx / retry); the next batch gets a fresh try.
          for (const b of batch) b.reject(err);
        }
      }
    } finally {
      this.#running = null;
    }
  }
}
