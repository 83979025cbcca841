/**
 * Status everywhere: every node publishes its committed hub events (transition / status / log /
 * task / error, already in per-project seq order) on one Redis pub/sub channel, batched per
 * event-loop turn into one message; every node subscribes and exposes a cluster-wide hub
 * (`clusterHub.all$` = local + remote, de-duplicated by (projectId, seq, type, n)), and upserts
 * remote statuses into its local status projection, so REST and WebSocket snapshots of any
 * project are served by any node.
 *
 * Gaps: a transition whose seq is more than one above the last one seen for its project (the
 * owner died between commit and publish, or a pub/sub message was lost while reconnecting) is
 * counted and announced on `resets$` with the project's current status — a flagged snapshot
 * reset; consumers (the WebSocket gateway) send that project a fresh snapshot.
 */
import { merge, Subject, type Observable, filter, share } from 'rxjs';
import type { Hub, HubEvent } from '../hub.ts';
import type { StatusProjection } from '../projection.ts';
import type { Logger } from '../../infra/logger.ts';
import type { RedisClient, RedisHandle } from '../../infra/redis.ts';
import type { ProjectStatus } from '../../domain/status.ts';

export interface SnapshotReset {
  projectId: string;
  /** Last transition seq seen before the gap, and the seq that arrived. */
  from: number;
  to: number;
  status: ProjectStatus | undefined;
}

/** The cluster-wide stream, same shape as Hub for readers (all$, project$). */
export interface ClusterHub {
  readonly all$: Observable<HubEvent>;
  project$(projectId: string): Observable<HubEvent>;
  /** Flagged snapshot resets (a gap that cannot be replayed). */
  readonly resets$: Observable<SnapshotReset>;
}

export interface RelayOptions {
  redis: RedisHandle;
  channel: string;
  nodeId: string;
  hub: Hub;
  projection: StatusProjection;
  logger: Logger;
  /** True when the project is hosted on this node (its remote statuses are ignored). */
  hostedHere(projectId: string): boolean;
  /** Also push remote events into the local Hub (for consumers wired to runtime.hub). Default false. */
  mirrorIntoLocalHub?: boolean;
}

const key = (e: HubEvent) => `${e.type}:${e.seq}:${'n' in e.payload ? (e.payload as { n: number }).n : ''}`;

export class StatusRelay {
  readonly clusterHub: ClusterHub;
  readonly #o: RelayOptions;
  readonly #remote = new Subject<HubEvent>();
  readonly #resets = new Subject<SnapshotReset>();
  readonly #announced = new Subject<HubEvent>();
  /** Per project: last transition seq seen, and recent keys (dedupe). */
  readonly #seen = new Map<string, { last: number; keys: Set<string> }>();
  readonly #mirrored = new WeakSet<HubEvent>();
  #sub: RedisClient | undefined;
  #buf: HubEvent[] = [];
  #flushing = false;
  #localSub: { unsubscribe(): void } | undefined;
  readonly stats = { published: 0, publishedMessages: 0, received: 0, duplicates: 0, gaps: 0, publishFailures: 0 };

  constructor(o: RelayOptions) {
    this.#o = o;
    const local$ = o.hub.all$.pipe(filter((e) => !this.#mirrored.has(e)));
    const all$ = merge(local$, this.#announced, this.#remote).pipe(
      filter((e) => this.#accept(e)),
      share(),
    );
    this.clusterHub = {
      all$,
      project$: (id) => all$.pipe(filter((e) => e.projectId === id)),
      resets$: this.#resets.asObservable(),
    };
  }

  async start(): Promise<void> {
    this.#sub = await this.#o.redis.duplicate('cluster-hub');
    await this.#sub.subscribe(this.#o.channel, (msg) => this.#onMessage(msg));
    this.#localSub = this.#o.hub.all$.subscribe((e) => {
      if (this.#mirrored.has(e)) return;
      this.#buf.push(e);
      if (this.#buf.length === 1) setImmediate(() => void this.#flush());
    });
  }

  /** Publish events that did not go through the local hub (e.g. the status of a project just restored here). */
  announce(events: HubEvent[]): void {
    if (!events.length) return;
    this.#buf.push(...events);
    for (const e of events) this.#announced.next(e);
    if (this.#buf.length === events.length) setImmediate(() => void this.#flush());
  }

  async flush(): Promise<void> {
    await this.#flush();
  }

  async close(): Promise<void> {
    this.#localSub?.unsubscribe();
    await this.#flush();
    this.#sub?.destroy();
    this.#remote.complete();
    this.#resets.complete();
  }

  async #flush(): Promise<void> {
    if (this.#flushing || !this.#buf.length) return;
    this.#flushing = true;
    try {
      while (this.#buf.length) {
        const batch = this.#buf.splice(0, 500);
        try {
          await this.#o.redis.client.publish(this.#o.channel, JSON.stringify({ node: this.#o.nodeId, events: batch }));
          this.stats.published += batch.length;
          this.stats.publishedMessages++;
        } catch (err) {
          this.stats.publishFailures++;
          this.#o.logger.warn({ err: (err as Error).message, events: batch.length }, 'status relay publish failed; subscribers will see a reset');
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  #onMessage(msg: string) {
    let parsed: { node: string; events: HubEvent[] };
    try {
      parsed = JSON.parse(msg);
    } catch {
      return;
    }
    if (parsed.node === this.#o.nodeId) return;
    for (const e of parsed.events) {
      this.stats.received++;
      if (e.type === 'status' && !this.#o.hostedHere(e.projectId)) this.#o.projection.upsert(e.payload);
      this.#remote.next(e);
      if (this.#o.mirrorIntoLocalHub) {
        this.#mirrored.add(e);
        this.#o.hub.publish(e);
      }
    }
  }

  /** Dedupe and gap detection (called once per event on the merged stream). */
  #accept(e: HubEvent): boolean {
    let s = this.#seen.get(e.projectId);
    if (!s) this.#seen.set(e.projectId, (s = { last: -1, keys: new Set() }));
    const k = key(e);
    if (s.keys.has(k)) {
      this.stats.duplicates++;
      return false;
    }
    s.keys.add(k);
    if (s.keys.size > 256) s.keys.delete(s.keys.values().next().value!);
    if (e.type === 'transition') {
      if (s.last >= 0 && e.seq > s.last + 1) this.#gap(e.projectId, s.last, e.seq);
      if (e.seq > s.last) s.last = e.seq;
    } else if (e.type === 'status') {
      // A status at seq s means transition s committed; one we never saw is a gap.
      if (s.last >= 0 && e.seq > s.last) this.#gap(e.projectId, s.last, e.seq);
      if (e.seq > s.last) s.last = e.seq;
    }
    return true;
  }

  #gap(projectId: string, from: number, to: number) {
    this.stats.gaps++;
    this.#resets.next({ projectId, from, to, status: this.#o.projection.get(projectId) });
  }
}
