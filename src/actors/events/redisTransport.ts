/**
 * The Redis Stream transport: XADD to `devteam:events`, a consumer group read with a blocking
 * XREADGROUP on its own connection (a blocked connection cannot serve other commands), XACK
 * only after the worker has stored the effect, XAUTOCLAIM for entries a dead consumer left
 * pending, and a dead-letter stream for poison entries. The consumer group is (re)created when
 * missing, e.g. after a Redis restart without persistence.
 */
import { once } from 'node:events';
import type { Clock } from '../../infra/clock.ts';
import type { Logger } from '../../infra/logger.ts';
import type { RedisClient, RedisHandle } from '../../infra/redis.ts';
import type { Delivery, DeliveryHandler, QueueMessage, Transport } from './types.ts';

export interface RedisTransportOptions {
  redis: RedisHandle;
  logger: Logger;
  clock: Clock;
  stream: string;
  deadStream: string;
  group: string;
  consumer: string;
  /** An entry pending this long with a consumer is reclaimed by another (XAUTOCLAIM min idle). */
  claimIdleMs: number;
  blockMs?: number;
  count?: number;
  /** XADD gives up (→ deferred) after this long. */
  enqueueTimeoutMs?: number;
}

type Raw = { id: string; message: Record<string, string> };

export class RedisTransport implements Transport {
  readonly kind = 'redis' as const;
  #o: Required<RedisTransportOptions>;
  #reader: RedisClient | undefined;
  #handler: DeliveryHandler | undefined;
  #settled: ((batch: Delivery[]) => void) | undefined;
  #loops: Promise<void>[] = [];
  #ac = new AbortController();

  constructor(o: RedisTransportOptions) {
    this.#o = { blockMs: 2000, count: 100, enqueueTimeoutMs: 1000, ...o };
  }

  get #client(): RedisClient {
    return this.#o.redis.client;
  }

  get available(): boolean {
    return this.#client.isReady;
  }

  async enqueue(msgs: QueueMessage[]): Promise<boolean> {
    if (!this.#client.isReady) return false;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, rej) => (timer = setTimeout(() => rej(new Error('XADD timed out')), this.#o.enqueueTimeoutMs)));
      await Promise.race([Promise.all(msgs.map((m) => this.#client.xAdd(this.#o.stream, '*', fields(m)))), timeout]);
      return true;
    } catch (err) {
      this.#o.logger.warn({ err: (err as Error).message, events: msgs.length }, 'XADD failed; events stay in the outbox (deferred)');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  onAvailable(fn: () => void): void {
    this.#client.on('ready', fn);
  }

  start(handler: DeliveryHandler, settled?: (batch: Delivery[]) => void): void {
    if (this.#handler) return;
    this.#handler = handler;
    this.#settled = settled;
    this.#loops.push(this.#readLoop(), this.#reclaimLoop());
  }

  async close(): Promise<void> {
    this.#ac.abort();
    this.#reader?.destroy();
    await Promise.allSettled(this.#loops);
  }

  async #ensureGroup(): Promise<void> {
    try {
      await this.#client.xGroupCreate(this.#o.stream, this.#o.group, '0', { MKSTREAM: true });
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
  }

  async #readLoop(): Promise<void> {
    const signal = this.#ac.signal;
    let failures = 0;
    while (!signal.aborted) {
      try {
        if (!this.#reader) {
          await this.#ensureGroup();
          this.#reader = await this.#o.redis.duplicate('events-reader');
          if (signal.aborted) this.#reader.destroy();
        }
        if (!this.#reader.isReady) await once(this.#reader, 'ready', { signal });
        const res = (await this.#reader.xReadGroup(
          this.#o.group,
          this.#o.consumer,
          { key: this.#o.stream, id: '>' },
          { COUNT: this.#o.count, BLOCK: this.#o.blockMs },
        )) as Array<{ messages: Raw[] }> | null;
        failures = 0;
        for (const s of res ?? []) await this.#deliver(s.messages.map((m) => ({ raw: m, deliveries: 1 })));
      } catch (err) {
        if (signal.aborted) break;
        const msg = (err as Error).message ?? String(err);
        if (/NOGROUP/.test(msg)) {
          await this.#ensureGroup().catch(() => undefined);
          continue;
        }
        failures++;
        this.#o.logger.warn({ err: msg, failures }, 'XREADGROUP failed; retrying');
        await this.#o.clock.sleep(Math.min(2000, 50 * 2 ** failures), signal).catch(() => undefined);
      }
    }
  }

  /** Reclaim entries idle longer than claimIdleMs (their consumer died or stalled). */
  async #reclaimLoop(): Promise<void> {
    const signal = this.#ac.signal;
    const every = Math.max(20, Math.floor(this.#o.claimIdleMs / 2));
    while (!signal.aborted) {
      await this.#o.clock.sleep(every, signal).catch(() => undefined);
      if (signal.aborted || !this.#client.isReady) continue;
      try {
        await this.reclaim();
      } catch (err) {
        if (!/NOGROUP/.test((err as Error).message)) this.#o.logger.warn({ err: (err as Error).message }, 'XAUTOCLAIM failed');
      }
    }
  }

  /** One XAUTOCLAIM sweep over the whole pending list. */
  async reclaim(): Promise<number> {
    const c = this.#client;
    let start = '0-0';
    let claimed = 0;
    do {
      const r = (await c.xAutoClaim(this.#o.stream, this.#o.group, this.#o.consumer, this.#o.claimIdleMs, start, { COUNT: this.#o.count })) as {
        nextId: string;
        messages: Array<Raw | null>;
        deletedMessages: string[];
      };
      if (r.deletedMessages?.length) await c.xAck(this.#o.stream, this.#o.group, r.deletedMessages);
      const msgs = r.messages.filter((m): m is Raw => !!m);
      if (msgs.length) {
        // XAUTOCLAIM does not return delivery counts; XPENDING per entry does (rare path).
        const counts = await Promise.all(
          msgs.map(async (m) => {
            const p = await c.xPendingRange(this.#o.stream, this.#o.group, m.id, m.id, 1);
            return Number(p[0]?.deliveriesCounter ?? 1);
          }),
        );
        claimed += msgs.length;
        await this.#deliver(msgs.map((raw, i) => ({ raw, deliveries: counts[i]! })));
      }
      start = r.nextId;
    } while (start !== '0-0' && !this.#ac.signal.aborted);
    return claimed;
  }

  async #deliver(entries: Array<{ raw: Raw; deliveries: number }>): Promise<void> {
    const good: Array<{ raw: Raw; delivery: Delivery }> = [];
    const malformed: Raw[] = [];
    for (const e of entries) {
      const msg = parse(e.raw.message);
      if (msg) good.push({ raw: e.raw, delivery: { msg, deliveries: e.deliveries } });
      else malformed.push(e.raw);
    }
    for (const m of malformed) await this.#deadLetter(m, 'malformed entry');
    if (!good.length) return;
    const verdicts = await this.#handler!(good.map((g) => g.delivery));
    const ack: string[] = [];
    for (let i = 0; i < good.length; i++) {
      if (verdicts[i] === 'ack') ack.push(good[i]!.raw.id);
      else if (verdicts[i] === 'dead') await this.#deadLetter(good[i]!.raw, `poison: ${good[i]!.delivery.deliveries} deliveries`);
    }
    if (ack.length) await this.#client.xAck(this.#o.stream, this.#o.group, ack);
    this.#settled?.(good.map((g) => g.delivery));
  }

  /** Copy to the dead-letter stream, then XACK the original (in one MULTI). */
  async #deadLetter(raw: Raw, reason: string): Promise<void> {
    await this.#client
      .multi()
      .xAdd(this.#o.deadStream, '*', { ...raw.message, originalId: raw.id, reason, deadAt: String(this.#o.clock.now()) })
      .xAck(this.#o.stream, this.#o.group, raw.id)
      .exec();
    this.#o.logger.warn({ entry: raw.id, eventId: raw.message.id, reason }, 'event moved to the dead-letter stream');
  }
}

function fields(m: QueueMessage): Record<string, string> {
  return { id: m.id, correlationId: m.correlationId, projectId: m.projectId, type: m.type, enqueuedAt: String(m.enqueuedAt) };
}

function parse(f: Record<string, string>): QueueMessage | null {
  if (!f.id || !f.type || !f.projectId || !f.correlationId) return null;
  const enqueuedAt = Number(f.enqueuedAt);
  return { id: f.id, type: f.type, projectId: f.projectId, correlationId: f.correlationId, enqueuedAt: Number.isFinite(enqueuedAt) ? enqueuedAt : 0 };
}
