/**
 * Shard ownership on one node: heartbeat membership, acquire / renew / release shard leases and
 * rebalance to ceil(shards / live nodes) per node.
 *
 * Safety rule: a node stops the actors of a shard BEFORE its lease can expire for the others.
 * Renewal runs every renewMs (default ttl/3); a watchdog independent of Redis round trips drops
 * every shard whose last successful renewal is older than ttl·2/3 (measured on the monotonic
 * clock from the moment the renewal was *sent*, so the local view is always the pessimistic
 * one). A paused process (SIGSTOP) wakes up with expired local deadlines and drops at once; what
 * it might still write is rejected by the fencing epoch in Postgres, and pushes check the lease
 * in Redis first (verify()).
 *
 * onLost's synchronous part runs immediately (so a caller can stop actors before doing anything
 * else); gained/lost handlers are otherwise serialized.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../infra/logger.ts';
import { LeaseStore, type Lease } from '../../infra/leases.ts';
import type { RedisClient } from '../../infra/redis.ts';
import { Membership } from './membership.ts';
import { targetShare, weight, type ClusterKeys } from './shards.ts';

export interface ShardManagerOptions {
  redis: RedisClient;
  keys: ClusterKeys;
  nodeId: string;
  shards: number;
  ttlMs: number;
  /** Renewal / rebalance period (default ttl/3). */
  renewMs?: number;
  logger: Logger;
  /** Shards just acquired, with their epochs (restore their projects here). */
  onGained(gained: Map<number, number>): Promise<void>;
  /** Shards no longer held: stop their actors (the synchronous part runs at once). */
  onLost(shards: number[], reason: string): Promise<void>;
  /** Monotonic milliseconds (tests may inject). */
  now?: () => number;
}

interface Owned {
  lease: Lease;
  /** Monotonic time at which the last successful acquire/renew was sent. */
  renewedAt: number;
}

export class ShardManager {
  readonly leases: LeaseStore;
  readonly membership: Membership;
  readonly #o: ShardManagerOptions;
  readonly #owned = new Map<number, Owned>();
  readonly #now: () => number;
  #nodes: string[] = [];
  #timer: NodeJS.Timeout | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;
  #chain: Promise<void> = Promise.resolve();
  #stopped = false;
  /** Counters for tests, benches and metrics. */
  readonly stats = { acquired: 0, released: 0, lapsed: 0, renewFailures: 0, ticks: 0 };

  constructor(o: ShardManagerOptions) {
    this.#o = o;
    this.#now = o.now ?? (() => performance.now());
    this.leases = new LeaseStore(o.redis, o.keys.epoch);
    this.membership = new Membership(o.redis, o.keys.nodes, o.nodeId, o.ttlMs);
  }

  get nodeId(): string {
    return this.#o.nodeId;
  }

  /** Live nodes seen at the last heartbeat. */
  get nodes(): string[] {
    return this.#nodes;
  }

  /** Shards held (locally valid) right now. */
  owned(): number[] {
    return [...this.#owned.keys()].filter((s) => this.holds(s)).sort((a, b) => a - b);
  }

  epoch(shard: number): number | undefined {
    return this.holds(shard) ? this.#owned.get(shard)!.lease.epoch : undefined;
  }

  /** Local check: the lease is held and its last renewal is recent enough (no round trip). */
  holds(shard: number): boolean {
    const o = this.#owned.get(shard);
    return !!o && this.#now() - o.renewedAt < (this.#o.ttlMs * 2) / 3;
  }

  /**
   * Authoritative check (one GET): the lease key still holds our token. A lapsed lease found
   * here is dropped at once (its actors stop before the caller continues).
   */
  async verify(shard: number): Promise<boolean> {
    const o = this.#owned.get(shard);
    if (!o || !this.holds(shard)) {
      if (o) this.#drop([shard], 'lease lapsed (local deadline)');
      return false;
    }
    const ok = await this.leases.holds(o.lease.key, o.lease.token).catch(() => false);
    if (!ok || !this.holds(shard)) {
      if (this.#owned.get(shard) === o) this.#drop([shard], 'lease lost (verified)');
      return false;
    }
    return true;
  }

  start(): void {
    const renewMs = this.#o.renewMs ?? Math.max(10, Math.floor(this.#o.ttlMs / 3));
    this.#timer = setInterval(() => void this.tick(), renewMs);
    this.#watchdog = setInterval(() => this.#checkDeadlines(), Math.max(5, Math.floor(this.#o.ttlMs / 15)));
    void this.tick();
  }

  /** One membership + renewal + rebalance round (skipped while the previous one runs). */
  tick(): Promise<void> {
    if (this.#stopped) return Promise.resolve();
    return (this.#ticking ??= this.#tick().finally(() => (this.#ticking = undefined)));
  }

  /** Resolves when every gained/lost handler started so far has finished. */
  async settled(): Promise<void> {
    let c: Promise<void>;
    do {
      c = this.#chain;
      await c;
    } while (c !== this.#chain);
  }

  /**
   * Clean shutdown: stop renewing, stop every actor, then delete our lease keys and leave the
   * membership so the others take over at their next tick (not after a TTL).
   */
  async drain(): Promise<void> {
    this.#stopTimers();
    await this.#ticking?.catch(() => undefined);
    const all = [...this.#owned.values()].map((o) => o.lease);
    this.#drop([...this.#owned.keys()], 'shutdown');
    await this.settled();
    await this.leases.release(all).catch((err) => this.#o.logger.warn({ err: (err as Error).message }, 'lease release failed'));
    await this.membership.leave().catch(() => undefined);
  }

  /** Stop timers without releasing anything (tests simulating a crash use SIGKILL instead). */
  stop(): void {
    this.#stopTimers();
  }

  #stopTimers() {
    this.#stopped = true;
    clearInterval(this.#timer);
    clearInterval(this.#watchdog);
  }

  #checkDeadlines() {
    const late = [...this.#owned.keys()].filter((s) => !this.holds(s));
    if (late.length) {
      this.stats.lapsed += late.length;
      this.#drop(late, 'lease not renewed within ttl*2/3');
    }
  }

  /** Forget shards and stop their actors (synchronous start, serialized completion). */
  #drop(shards: number[], reason: string) {
    const mine = shards.filter((s) => this.#owned.delete(s));
    if (!mine.length) return;
    this.#o.logger.warn({ shards: mine, reason }, 'shards dropped');
    const p = this.#o.onLost(mine, reason).catch((err) => this.#o.logger.error({ err }, 'onLost failed'));
    this.#chain = Promise.all([this.#chain, p]).then(() => undefined);
  }

  async #tick(): Promise<void> {
    const { leases, keys, logger, ttlMs, shards, nodeId } = { ...this.#o, leases: this.leases };
    this.stats.ticks++;
    try {
      this.#nodes = await this.membership.beat();
      // Renew.
      const mine = [...this.#owned.entries()];
      if (mine.length) {
        const sent = this.#now();
        const ok = await leases.renew(mine.map(([, o]) => o.lease), ttlMs);
        const lost: number[] = [];
        mine.forEach(([s, o], i) => {
          if (this.#owned.get(s) !== o) return;
          if (ok[i]) o.renewedAt = sent;
          else lost.push(s);
        });
        if (lost.length) this.#drop(lost, 'lease taken over');
      }
      this.#checkDeadlines();
      if (this.#stopped) return;
      const target = targetShare(shards, this.#nodes.length);
      const held = [...this.#owned.keys()];
      if (held.length > target) {
        // Hand over the shards we prefer least: stop their actors first, then delete the keys.
        const extra = held.sort((a, b) => weight(nodeId, a) - weight(nodeId, b)).slice(0, held.length - target);
        const gone = extra.map((s) => this.#owned.get(s)!.lease);
        this.#drop(extra, 'rebalance');
        // Not awaited: renewals of the other shards must not wait for actors to stop.
        void this.settled()
          .then(() => leases.release(gone))
          .then((n) => (this.stats.released += n))
          .catch((err) => logger.warn({ err: (err as Error).message }, 'lease release failed'));
      } else if (held.length < target) {
        const all = Array.from({ length: shards }, (_, i) => i);
        const holders = await leases.read(all.map((s) => keys.lease(s)));
        const free = all.filter((s) => holders[s] == null && !this.#owned.has(s)).sort((a, b) => weight(nodeId, b) - weight(nodeId, a));
        const want = free.slice(0, target - held.length);
        if (want.length) {
          const sent = this.#now();
          const got = await leases.acquire(want.map((s) => keys.lease(s)), nodeId, ttlMs);
          if (got.length) {
            const gained = new Map<number, number>();
            for (const lease of got) {
              const s = want[want.findIndex((w) => keys.lease(w) === lease.key)]!;
              this.#owned.set(s, { lease, renewedAt: sent });
              gained.set(s, lease.epoch);
            }
            this.stats.acquired += got.length;
            logger.info({ shards: [...gained.keys()], nodes: this.#nodes.length, target }, 'shards acquired');
            const p = this.#chain.then(() => this.#o.onGained(gained)).catch((err) => {
              logger.error({ err }, 'restoring acquired shards failed; releasing them');
              const back = [...gained.keys()].filter((s) => this.#owned.get(s)?.lease.epoch === gained.get(s));
              const ls = back.map((s) => this.#owned.get(s)!.lease);
              this.#drop(back, 'restore failed');
              return this.leases.release(ls).then(() => undefined);
            });
            // Not awaited: restoring many projects must not delay the next renewal.
            this.#chain = p;
          }
        }
      }
    } catch (err) {
      this.stats.renewFailures++;
      logger.warn({ err: (err as Error).message }, 'lease round failed');
    }
  }
}
