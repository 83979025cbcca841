/**
 * Per-project replay rings of serialized envelopes (transition/log/task/error), so a client that
 * reconnects with its last seq gets exactly what it missed. Each ring knows its `floor`: every
 * envelope with seq > floor is still held. A lastSeq below the floor (evicted) or above the
 * newest seq (the server was restored from an older state) cannot be served → snapshot instead.
 * Bounded by count (DEVTEAM_WS_REPLAY) and by bytes, so large log lines cannot blow up memory.
 */
import type { Encoded } from './encode.ts';

export class ReplayRing {
  #items: Array<Encoded | undefined>;
  #head = 0; // index of the oldest item
  #size = 0;
  #bytes = 0;
  /** Every envelope with seq > floor is in the ring. */
  floor: number;
  /** Highest seq pushed. */
  last: number;

  constructor(
    readonly capacity: number,
    readonly maxBytes: number,
    first: Encoded,
    firstIsTransition: boolean,
  ) {
    this.#items = new Array(Math.max(1, capacity));
    // A first transition with seq s means nothing after s-1 was missed; a first log/task/error
    // at seq s may follow earlier envelopes of s that this ring never saw.
    this.floor = firstIsTransition ? first.seq - 1 : first.seq;
    this.last = first.seq;
    this.push(first);
  }

  push(e: Encoded): void {
    if (e.seq < this.last) {
      // seq went backwards (project restored from an older state elsewhere): start over.
      this.#items.fill(undefined);
      this.#head = this.#size = this.#bytes = 0;
      this.floor = e.seq;
    }
    this.last = e.seq;
    if (this.capacity === 0) {
      this.floor = e.seq;
      return;
    }
    while (this.#size && (this.#size >= this.capacity || this.#bytes + e.text.length > this.maxBytes)) this.#evict();
    this.#items[(this.#head + this.#size) % this.capacity] = e;
    this.#size++;
    this.#bytes += e.text.length;
  }

  /** Envelopes with seq > lastSeq, oldest first; null when the ring cannot prove it has them all. */
  since(lastSeq: number): string[] | null {
    if (lastSeq < this.floor || lastSeq > this.last) return null;
    const out: string[] = [];
    for (let i = this.#firstAfter(lastSeq); i < this.#size; i++) out.push(this.#at(i).text);
    return out;
  }

  get size(): number {
    return this.#size;
  }

  #at(i: number): Encoded {
    return this.#items[(this.#head + i) % this.capacity]!;
  }

  /** Index (0 = oldest) of the first item with seq > lastSeq; seqs are non-decreasing. */
  #firstAfter(lastSeq: number): number {
    let lo = 0;
    let hi = this.#size;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#at(mid).seq > lastSeq) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }

  #evict(): void {
    const old = this.#at(0);
    this.#items[this.#head] = undefined;
    this.#head = (this.#head + 1) % this.capacity;
    this.#size--;
    this.#bytes -= old.text.length;
    if (old.seq > this.floor) this.floor = old.seq;
  }
}

export class ReplayBuffers {
  readonly #rings = new Map<string, ReplayRing>();

  constructor(
    readonly capacity: number,
    readonly maxBytesPerProject: number,
  ) {}

  push(projectId: string, e: Encoded, isTransition: boolean): void {
    const ring = this.#rings.get(projectId);
    if (ring) ring.push(e);
    else this.#rings.set(projectId, new ReplayRing(this.capacity, this.maxBytesPerProject, e, isTransition));
  }

  get(projectId: string): ReplayRing | undefined {
    return this.#rings.get(projectId);
  }

  drop(projectId: string): void {
    this.#rings.delete(projectId);
  }
}
