/**
 * Per-project delivery position, so the stream client never delivers an envelope twice or out
 * of order — across reconnects, replays and server restarts. The server orders envelopes by
 * the project's transition seq: a transition carries its own seq (consecutive), while log, task
 * and error envelopes carry the seq of the latest transition plus a counter `n` within it.
 *
 * Three positions are kept because they advance independently: the last delivered transition
 * seq, the last delivered (seq, n) of the envelopes that hang off a transition, and the last
 * delivered status (the project's status after the transition of the same seq). A
 * `snapshot` is a reset: it is always delivered (flagged) and moves both positions to its seq
 * — forward normally, backwards when the server was restored from an older state.
 */
import type { Envelope } from '../domain/envelope.ts';

export interface Position {
  /** Last delivered transition (or snapshot) seq; -1 before any. */
  seq: number;
  /** Last delivered log/task/error as (seq, n). */
  subSeq: number;
  subN: number;
  /** Last delivered status (one per transition, sharing its seq). */
  statusSeq: number;
}

export type Verdict = 'deliver' | 'duplicate' | 'reset';

export class DeliveryOrder {
  readonly #pos = new Map<string, Position>();

  /** The seq to resume from for each project with something delivered (the subscribe `lastSeq`). */
  lastSeq(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [id, p] of this.#pos) if (p.seq >= 0) out[id] = p.seq;
    return out;
  }

  position(projectId: string): Position | undefined {
    const p = this.#pos.get(projectId);
    return p && { ...p };
  }

  forget(projectId: string): void {
    this.#pos.delete(projectId);
  }

  /**
   * Decide for one envelope and advance the position when it is delivered. Envelopes without
   * a projectId (heartbeats, protocol errors) are always delivered.
   */
  accept(e: Envelope): Verdict {
    if (e.type === 'heartbeat' || !('projectId' in e) || !e.projectId || e.seq === undefined) return 'deliver';
    const id = e.projectId;
    const seq = e.seq;
    let p = this.#pos.get(id);
    if (!p) {
      p = { seq: -1, subSeq: -1, subN: -1, statusSeq: -1 };
      this.#pos.set(id, p);
    }
    switch (e.type) {
      case 'snapshot': {
        if (seq !== p.subSeq) {
          p.subSeq = seq;
          p.subN = 0;
        }
        p.seq = seq;
        p.statusSeq = seq;
        return 'reset';
      }
      case 'status': {
        if (seq <= p.statusSeq) return 'duplicate';
        p.statusSeq = seq;
        return 'deliver';
      }
      case 'transition': {
        if (seq <= p.seq) return 'duplicate';
        p.seq = seq;
        return 'deliver';
      }
      default: {
        const n = 'n' in e.payload && typeof e.payload.n === 'number' ? e.payload.n : 0;
        if (seq < p.seq) return 'duplicate';
        if (seq < p.subSeq || (seq === p.subSeq && n <= p.subN)) return 'duplicate';
        p.subSeq = seq;
        p.subN = n;
        return 'deliver';
      }
    }
  }
}
