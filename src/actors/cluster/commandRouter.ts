/**
 * Commands to a project's owner. Any node XADDs a command to the project's shard stream
 * (`<prefix>:shard:<n>`); the shard's lease holder consumes it through the consumer group
 * `owner` (one consumer name per group: only the holder reads, so entries a dead owner read but
 * never acknowledged stay pending under that name and its successor reads them first, from id 0).
 *
 * The owner applies each entry exactly once and in order per project: entries of one project are
 * chained; the result is stored under `<prefix>:cmd:<id>` (the dedupe record: an entry whose
 * record exists is not applied again, only answered) and published to the sender's reply channel;
 * XACK comes last. An entry for a shard this node no longer holds (or whose project was released
 * or fenced here: NotAppliedHereError) is left pending; the owner re-reads pending entries of its
 * shards on every sweep (`sweepMs`), so such an entry waits at most one sweep, not a hand-over.
 * Residual window (documented): a crash after the effect committed but before the record
 * was written re-applies that one command on the next owner; control commands are idempotent in
 * effect (PAUSE on paused is a no-op, RESUME/RETRY/SKIP are refused in states they do not apply to).
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../infra/logger.ts';
import type { RedisClient, RedisHandle } from '../../infra/redis.ts';
import type { Command } from '../../domain/status.ts';
import { shardOf, type ClusterKeys } from './shards.ts';

export type ClusterCommand =
  | { kind: 'command'; cmd: Command; stopTimeoutMs?: number; taskId?: string }
  | { kind: 'initialize'; config: Record<string, unknown> & { projectId: string } }
  | { kind: 'wake'; type: 'REPO_UPDATED' | 'TASKS_CHANGED' }
  | { kind: 'delete' };

/** The owner's answer; `data` carries a domain error's fields (e.g. TaskChoiceError's choices). */
export type Reply = { ok: true; value: unknown } | { ok: false; error: string; code?: string; data?: unknown };

export interface RouterOptions {
  redis: RedisHandle;
  keys: ClusterKeys;
  nodeId: string;
  shards: number;
  logger: Logger;
  /** Apply on the owner (the real registry). Throwing → an error reply (not retried). */
  apply(projectId: string, c: ClusterCommand): Promise<unknown>;
  /** Local lease check before applying an entry. */
  owns(shard: number): boolean;
  /** Max stream length kept (approximate trim). */
  maxLen?: number;
  /** Seconds a command's result record is kept (dedupe window). */
  resultTtlSec?: number;
  /**
   * Milliseconds between sweeps of the owned shards' pending entries (default 2000). An entry a
   * node left pending (it had been released or fenced there while its lease looked held) is
   * re-read by the owner within one sweep instead of waiting for the next hand-over.
   */
  sweepMs?: number;
}

/**
 * Thrown by `apply` when the command could not take effect because this node lost the shard while
 * applying it: nothing is recorded or acknowledged, and the next owner applies the entry.
 */
export class NotAppliedHereError extends Error {
  override name = 'NotAppliedHereError';
}

type Raw = { id: string; message: Record<string, string> } | null;

export class CommandRouter {
  readonly #o: RouterOptions;
  readonly #c: RedisClient;
  #reader: RedisClient | undefined;
  #readerId: number | undefined;
  #sub: RedisClient | undefined;
  #active = new Set<number>();
  #needDrain = new Set<number>();
  #groups = new Set<number>();
  #chains = new Map<string, Promise<void>>();
  /** `shard/entryId` of entries dispatched to a chain and not yet handled (a sweep re-reads them; not dispatched twice). Entry ids are per stream, hence the shard. */
  #queued = new Set<string>();
  /** `shard/entryId` of entries being handled now. */
  #running = new Set<string>();
  #lastSweep = Date.now();
  #waiters = new Map<string, (r: Reply) => void>();
  #loop: Promise<void> | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  readonly stats = { sent: 0, applied: 0, duplicates: 0, leftForNextOwner: 0, replies: 0, reordered: 0 };

  constructor(o: RouterOptions) {
    this.#o = o;
    this.#c = o.redis.client;
  }

  async start(): Promise<void> {
    this.#sub = await this.#o.redis.duplicate('cluster-replies');
    await this.#sub.subscribe(this.#o.keys.reply(this.#o.nodeId), (msg) => {
      try {
        const { id, reply } = JSON.parse(msg) as { id: string; reply: Reply };
        this.#waiters.get(id)?.(reply);
      } catch {
        /* malformed: ignore */
      }
    });
    this.#reader = await this.#o.redis.duplicate('cluster-commands');
    this.#readerId = Number(await this.#reader.clientId());
    this.#loop = this.#run();
  }

  /** The shards this node consumes now (its held leases). Newly added ones drain their pending entries first. */
  setShards(shards: Iterable<number>): void {
    const next = new Set(shards);
    let added = false;
    for (const s of next) if (!this.#active.has(s)) {
      this.#needDrain.add(s);
      added = true;
    }
    for (const s of this.#active) if (!next.has(s)) this.#needDrain.delete(s);
    this.#active = next;
    if (added) this.#interrupt();
  }

  /**
   * Send a command to the project's owner. With waitMs > 0, resolves with the owner's reply or
   * 'timeout'; with 0, resolves after the XADD (fire and forget, still applied exactly once).
   */
  async send(projectId: string, c: ClusterCommand, waitMs: number): Promise<Reply | 'timeout' | 'sent'> {
    const shard = shardOf(projectId, this.#o.shards);
    const id = randomUUID();
    let resolve!: (r: Reply) => void;
    const replied = new Promise<Reply>((r) => (resolve = r));
    if (waitMs > 0) this.#waiters.set(id, resolve);
    try {
      await this.#c.xAdd(
        this.#o.keys.stream(shard),
        '*',
        { id, projectId, replyTo: this.#o.nodeId, body: JSON.stringify(c), sentAt: String(Date.now()) },
        { TRIM: { strategy: 'MAXLEN', strategyModifier: '~', threshold: this.#o.maxLen ?? 100_000 } },
      );
      this.stats.sent++;
      if (waitMs <= 0) return 'sent';
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((r) => (timer = setTimeout(() => r('timeout'), waitMs)));
      const r = await Promise.race([replied, timeout]);
      clearTimeout(timer);
      if (r !== 'timeout') return r;
      // The reply may have been published while our subscriber was reconnecting: read the record.
      const stored = await this.#c.get(this.#o.keys.cmdResult(id)).catch(() => null);
      return stored ? (JSON.parse(stored) as Reply) : 'timeout';
    } finally {
      this.#waiters.delete(id);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#interrupt();
    await this.#loop?.catch(() => undefined);
    await Promise.allSettled([...this.#chains.values()]);
    this.#reader?.destroy();
    this.#sub?.destroy();
  }

  /** Wait until every entry dispatched so far has been handled (tests, drain). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.#chains.values()]);
  }

  #interrupt() {
    this.#wake?.();
    if (this.#readerId !== undefined) void this.#c.sendCommand(['CLIENT', 'UNBLOCK', String(this.#readerId)]).catch(() => undefined);
  }

  async #ensureGroup(shard: number) {
    if (this.#groups.has(shard)) return;
    try {
      await this.#c.xGroupCreate(this.#o.keys.stream(shard), this.#o.keys.group, '0', { MKSTREAM: true });
    } catch (err) {
      if (!/BUSYGROUP/.test((err as Error).message)) throw err;
    }
    this.#groups.add(shard);
  }

  async #run(): Promise<void> {
    const { keys, logger } = this.#o;
    let failures = 0;
    while (!this.#closed) {
      try {
        const shards = [...this.#active];
        if (!shards.length) {
          await new Promise<void>((r) => {
            this.#wake = r;
            setTimeout(r, 500).unref();
          });
          this.#wake = undefined;
          continue;
        }
        for (const s of shards) await this.#ensureGroup(s);
        if (Date.now() - this.#lastSweep >= (this.#o.sweepMs ?? 2000)) {
          this.#lastSweep = Date.now();
          for (const s of shards) this.#needDrain.add(s);
        }
        // Entries a previous owner read but never acknowledged come first, in stream order.
        for (const s of [...this.#needDrain]) {
          await this.#drain(s);
          this.#needDrain.delete(s);
        }
        const res = (await this.#reader!.xReadGroup(
          keys.group,
          keys.consumer,
          shards.map((s) => ({ key: keys.stream(s), id: '>' })),
          { COUNT: 200, BLOCK: 1000 },
        )) as Array<{ name: string; messages: Raw[] }> | null;
        failures = 0;
        for (const stream of res ?? []) {
          const shard = Number(stream.name.slice(stream.name.lastIndexOf(':') + 1));
          for (const m of stream.messages) if (m) this.#dispatch(shard, m);
        }
      } catch (err) {
        if (this.#closed) break;
        const msg = (err as Error).message ?? String(err);
        if (/NOGROUP/.test(msg)) {
          this.#groups.clear();
          continue;
        }
        if (/UNBLOCKED/.test(msg)) continue;
        failures++;
        logger.warn({ err: msg, failures }, 'command stream read failed; retrying');
        await new Promise((r) => setTimeout(r, Math.min(2000, 50 * 2 ** failures)));
      }
    }
  }

  /**
   * Dispatch the shard's pending entries in stream order: XPENDING pages, their messages by XRANGE.
   * An entry trimmed away (MAXLEN) while pending is acknowledged and logged — read from id 0 it
   * would come back as an empty message, which the client cannot parse.
   */
  async #drain(shard: number): Promise<void> {
    const { keys, logger } = this.#o;
    let from = '-';
    for (;;) {
      const page = await this.#pending(shard, from, '+', 200);
      if (!page.length) return;
      for (const { id, entry } of page) {
        if (entry) this.#dispatch(shard, entry);
        else {
          await this.#c.xAck(keys.stream(shard), keys.group, id);
          logger.warn({ shard, entry: id }, 'pending command entry was trimmed from the stream; acknowledged without applying');
        }
      }
      if (page.length < 200) return;
      from = `(${page[page.length - 1]!.id}`;
    }
  }

  /**
   * Up to `count` pending entries of the shard with ids in [start, end], in stream order, each
   * with its message (one XPENDING, one XRANGE), or null when it was trimmed from the stream.
   */
  async #pending(shard: number, start: string, end: string, count: number): Promise<Array<{ id: string; entry: NonNullable<Raw> | null }>> {
    const stream = this.#o.keys.stream(shard);
    const page = await this.#c.xPendingRange(stream, this.#o.keys.group, start, end, count);
    if (!page.length) return [];
    const found = new Map<string, NonNullable<Raw>>();
    for (const e of await this.#c.xRange(stream, page[0]!.id, page[page.length - 1]!.id)) found.set(e.id, e as NonNullable<Raw>);
    return page.map((p) => ({ id: p.id, entry: found.get(p.id) ?? null }));
  }

  #dispatch(shard: number, m: NonNullable<Raw>) {
    const projectId = m.message.projectId ?? '';
    const key = `${shard}/${m.id}`;
    if (this.#queued.has(key) || this.#running.has(key)) return;
    this.#queued.add(key);
    const prev = this.#chains.get(projectId) ?? Promise.resolve();
    const next = prev.then(async () => void (await this.#handle(shard, m))).finally(() => this.#queued.delete(key)).catch((err) => this.#o.logger.warn({ err: (err as Error).message, entry: m.id }, 'command entry not handled; left pending'));
    this.#chains.set(projectId, next);
    void next.then(() => this.#chains.get(projectId) === next && this.#chains.delete(projectId));
  }

  /** Handle one entry; true when it is finished here (applied or answered), false when left pending. */
  async #handle(shard: number, m: NonNullable<Raw>): Promise<boolean> {
    const key = `${shard}/${m.id}`;
    if (this.#running.has(key)) return false;
    this.#running.add(key);
    try {
      return await this.#handleOnce(shard, m);
    } finally {
      this.#running.delete(key);
    }
  }

  /**
   * Per-project order across nodes: an entry read earlier by a node that did not apply it (it
   * lost the shard, or its project was released or fenced there) is still pending. Before
   * applying `m`, every earlier pending entry of the same project not being handled here is
   * handled first (entries of other projects keep their own order: the sweep dispatches them).
   */
  async #earlierFirst(shard: number, m: NonNullable<Raw>): Promise<boolean> {
    for (const { id, entry: e } of await this.#pending(shard, '-', `(${m.id}`, 1000)) {
      if (this.#running.has(`${shard}/${id}`)) continue;
      // Trimmed (the sweep acknowledges it), or another project's entry (its own chain orders it).
      if (!e || e.message.projectId !== m.message.projectId) continue;
      this.stats.reordered++;
      // An earlier entry of this project that cannot finish here holds every later one back.
      if (!(await this.#handle(shard, e))) return false;
    }
    return true;
  }

  async #handleOnce(shard: number, m: NonNullable<Raw>): Promise<boolean> {
    const { keys } = this.#o;
    const { id, projectId, replyTo, body } = m.message;
    const stream = keys.stream(shard);
    if (!id || !projectId || !body) {
      await this.#c.xAck(stream, keys.group, m.id);
      return true;
    }
    if (!this.#o.owns(shard)) {
      this.stats.leftForNextOwner++;
      return false; // stays pending under the group's consumer: the next owner reads it from id 0
    }
    if (!(await this.#earlierFirst(shard, m))) {
      this.stats.leftForNextOwner++;
      return false; // behind an earlier entry of its project that is still pending: the sweep retries both, in order
    }
    const recordKey = keys.cmdResult(id);
    let text = await this.#c.get(recordKey);
    if (text) this.stats.duplicates++;
    else {
      let reply: Reply;
      try {
        reply = { ok: true, value: (await this.#o.apply(projectId, JSON.parse(body) as ClusterCommand)) ?? null };
      } catch (err) {
        if (err instanceof NotAppliedHereError) {
          this.stats.leftForNextOwner++;
          return false; // pending: the owner's next sweep (or the next owner) reads it again
        }
        const e = err as Error & { command?: unknown; choices?: unknown };
        reply = { ok: false, error: e.message, code: e.name, ...(e.name === 'TaskChoiceError' ? { data: { command: e.command, choices: e.choices } } : {}) };
      }
      text = JSON.stringify(reply);
      await this.#c.set(recordKey, text, { expiration: { type: 'EX', value: this.#o.resultTtlSec ?? 3600 } });
      this.stats.applied++;
    }
    if (replyTo) {
      await this.#c.publish(keys.reply(replyTo), `{"id":${JSON.stringify(id)},"reply":${text}}`);
      this.stats.replies++;
    }
    await this.#c.xAck(stream, keys.group, m.id);
    return true;
  }
}
