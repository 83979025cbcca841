/**
 * What a (re)subscribing client needs for one project, decided from its lastSeq, the replay ring
 * and the committed status projection:
 *  - `replay`: exactly the envelopes with seq > lastSeq (possibly none: the client is current);
 *  - `snapshot`: no lastSeq, lastSeq evicted from the ring, or lastSeq ahead of the server
 *    (the project was restored from an older state) → the current status as a `snapshot`;
 *  - `unknown`: the server knows nothing of the project (yet); the client is subscribed anyway.
 */
import type { ProjectStatus } from '../../domain/status.ts';
import type { ReplayRing } from './replay.ts';

export type SubscribePlan = { kind: 'replay'; items: string[] } | { kind: 'snapshot'; status: ProjectStatus } | { kind: 'unknown' };

export function planSubscribe(lastSeq: number | undefined, ring: ReplayRing | undefined, status: ProjectStatus | undefined): SubscribePlan {
  if (!status) {
    // Without a committed status there is nothing to snapshot; a ring alone (events seen, status
    // not yet committed) can still serve a client that is within it.
    const items = lastSeq !== undefined && ring ? ring.since(lastSeq) : null;
    return items ? { kind: 'replay', items } : { kind: 'unknown' };
  }
  if (lastSeq === undefined || lastSeq > status.seq) return { kind: 'snapshot', status };
  if (ring && ring.last >= status.seq) {
    const items = ring.since(lastSeq);
    return items ? { kind: 'replay', items } : { kind: 'snapshot', status };
  }
  // No ring (nothing published since this server started) or a stale one (the projection moved
  // without published transitions): only a client that is exactly current has missed nothing.
  return lastSeq === status.seq && !ring ? { kind: 'replay', items: [] } : { kind: 'snapshot', status };
}
