/**
 * Node-wide concurrency cap on EXECUTE/VERIFY: at most `max` tasks (keys `<projectId>/<taskId>`,
 * across every project of the node) hold a slot; the rest wait in FIFO order. Re-entrant per key
 * (a task resuming into executing re-acquires cheaply), released when the task leaves
 * waitingForSlot/executing/verifying or its waiter is aborted.
 */
export class SlotPool {
  readonly #holders = new Set<string>();
  readonly #queue: Array<{ projectId: string; resolve: () => void; reject: (e: unknown) => void }> = [];

  constructor(private max: number) {}

  acquire(projectId: string, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#holders.has(projectId)) return Promise.resolve();
    if (this.#holders.size < this.max && this.#queue.length === 0) {
      this.#holders.add(projectId);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const entry = { projectId, resolve, reject };
      this.#queue.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          const i = this.#queue.indexOf(entry);
          if (i >= 0) this.#queue.splice(i, 1);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }

  release(projectId: string): void {
    if (!this.#holders.delete(projectId)) return;
    this.#drain();
  }

  /** Release every slot whose key starts with `prefix` (a project's host going away). */
  releasePrefix(prefix: string): void {
    let freed = false;
    for (const k of [...this.#holders]) if (k.startsWith(prefix)) freed = this.#holders.delete(k) || freed;
    if (freed) this.#drain();
  }

  holds(projectId: string): boolean {
    return this.#holders.has(projectId);
  }

  /** Projects waiting, in the order they will be served. */
  waiting(): string[] {
    return this.#queue.map((q) => q.projectId);
  }

  get inUse(): number {
    return this.#holders.size;
  }

  #drain() {
    while (this.#holders.size < this.max && this.#queue.length) {
      const next = this.#queue.shift()!;
      this.#holders.add(next.projectId);
      next.resolve();
    }
  }
}
