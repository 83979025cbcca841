/**
 * All SQL of the events family: `event` (every ingested event and how it ended) and `outbox`
 * (what is due for dispatch to the queue). The transactional outbox: An ingested event's row and its outbox row are
 * written in the same transaction (concurrent ingests share one through the batcher), so an
 * event is either stored and due for dispatch, or not stored at all. The outbox row is written
 * already marked dispatched (the XADD follows right after commit); if that dispatch fails the
 * mark is cleared, and the relay dispatches again anything not acknowledged in time.
 */
import { randomUUID } from 'node:crypto';
import { Batcher } from './batcher.ts';
import type { Database } from './orm.ts';
import type { Sql } from './projectRepository.ts';

/** How an event ended (`received` until the worker decided). */
export type EventStatus = 'received' | 'processed' | 'ignored' | 'rejected' | 'dead';

/** An event to store. */
export interface IngestInput {
  /** Client-supplied id (uuid) for de-duplication; generated when absent. */
  id?: string;
  type: string;
  projectId: string;
  payload: Record<string, unknown>;
  correlationId: string;
}

/** An outbox entry due for (re-)dispatch. */
export interface DueEvent {
  id: string;
  type: string;
  projectId: string;
  correlationId: string;
}

export interface StoredIngest {
  id: string;
  correlationId: string;
  /** False when the id existed already (a duplicate: nothing written). */
  inserted: boolean;
  /** For a duplicate: whether the original has been dispatched (or already handled). */
  dispatched: boolean;
}

export interface StoredEvent {
  id: string;
  type: string;
  projectId: string;
  correlationId: string;
  status: EventStatus;
  payload: Record<string, unknown>;
}

export interface Outcome {
  id: string;
  status: Exclude<EventStatus, 'received'>;
  deliveries: number;
}

export class EventRepository {
  readonly #ingest: Batcher<IngestInput & { id: string }, StoredIngest>;
  readonly #outcomes: Batcher<Outcome, boolean>;

  constructor(private readonly db: Database) {
    this.#ingest = new Batcher((items) => this.#insert(items));
    this.#outcomes = new Batcher((items) => this.#record(items));
  }

  /** Store event + outbox row (grouped with concurrent calls into one transaction). */
  ingest(e: IngestInput): Promise<StoredIngest> {
    return this.#ingest.add({ ...e, id: e.id ?? randomUUID() });
  }

  /** Record how an event ended and acknowledge its outbox row; false when it was already final. */
  record(o: Outcome): Promise<boolean> {
    return this.#outcomes.add(o);
  }

  async load(ids: string[]): Promise<Map<string, StoredEvent>> {
    if (!ids.length) return new Map();
    const rows = await this.db.query<{ id: string; type: string; project_id: string; correlation_id: string; status: EventStatus; payload: Record<string, unknown> }>(
      `select id, type, project_id, correlation_id, status, payload from event where id = any($1::text[])`,
      [ids],
    );
    return new Map(rows.map((r) => [r.id, { id: r.id, type: r.type, projectId: r.project_id, correlationId: r.correlation_id, status: r.status, payload: r.payload }]));
  }

  /**
   * Claim outbox rows due for (re-)dispatch: never dispatched (deferred) or not acknowledged
   * within `redeliverSec`. The claim marks them dispatched now (skip-locked, so two relays never
   * take the same row); call `undispatched` for those the queue did not accept.
   */
  async claimDue(redeliverSec: number, limit = 500): Promise<DueEvent[]> {
    const rows = await this.db.query<{ id: string; type: string; project_id: string; correlation_id: string }>(
      `update outbox o set dispatched_at = now(), attempts = o.attempts + 1
       from event e
       where e.id = o.event_id and o.event_id in (
         select event_id from outbox
         where acked_at is null and (dispatched_at is null or dispatched_at < now() - make_interval(secs => $1))
         order by created_at limit $2 for update skip locked)
       returning e.id, e.type, e.project_id, e.correlation_id`,
      [redeliverSec, limit],
    );
    return rows.map((r) => ({ id: r.id, type: r.type, projectId: r.project_id, correlationId: r.correlation_id }));
  }

  /** The queue did not take these: leave them for the relay (dispatch "deferred"). */
  async undispatched(ids: string[]): Promise<void> {
    if (!ids.length) return;
    await this.db.query(`update outbox set dispatched_at = null where event_id = any($1::text[]) and acked_at is null`, [ids]);
  }

  /** Transactions used so far (ingest batches, outcome batches): events ÷ batches = group size. */
  stats(): { ingestBatches: number; outcomeBatches: number } {
    return { ingestBatches: this.#ingest.batches, outcomeBatches: this.#outcomes.batches };
  }

  async close(): Promise<void> {
    await this.#ingest.close();
    await this.#outcomes.close();
  }

  async #insert(items: Array<IngestInput & { id: string }>): Promise<StoredIngest[]> {
    // The same id twice in one batch: the first is the insert, the rest are duplicates of it.
    const first = new Map<string, IngestInput & { id: string }>();
    for (const it of items) if (!first.has(it.id)) first.set(it.id, it);
    const uniq = [...first.values()];
    const { inserted, originals } = await this.db.transaction(async (q) => {
      const ins = await q<{ id: string }>(
        `insert into event (id, type, project_id, correlation_id, payload)
         select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::jsonb[])
         on conflict (id) do nothing returning id`,
        [uniq.map((e) => e.id), uniq.map((e) => e.type), uniq.map((e) => e.projectId), uniq.map((e) => e.correlationId), uniq.map((e) => JSON.stringify(e.payload))],
      );
      const inserted = new Set(ins.map((r) => r.id));
      const fresh = uniq.filter((e) => inserted.has(e.id));
      if (fresh.length) {
        await q(
          `insert into outbox (event_id, project_id, dispatched_at, attempts)
           select v.id, v.project_id, now(), 1 from unnest($1::text[], $2::text[]) as v(id, project_id)`,
          [fresh.map((e) => e.id), fresh.map((e) => e.projectId)],
        );
      }
      const dupIds = uniq.filter((e) => !inserted.has(e.id)).map((e) => e.id);
      const originals = new Map<string, { correlationId: string; dispatched: boolean }>();
      if (dupIds.length) {
        const rows = await q<{ id: string; correlation_id: string; dispatched: boolean }>(
          `select e.id, e.correlation_id, (o.event_id is null or o.dispatched_at is not null or o.acked_at is not null) as dispatched
           from event e left join outbox o on o.event_id = e.id where e.id = any($1::text[])`,
          [dupIds],
        );
        for (const r of rows) originals.set(r.id, { correlationId: r.correlation_id, dispatched: r.dispatched });
      }
      return { inserted, originals };
    });
    const claimed = new Set<string>();
    return items.map((it) => {
      const isInsert = inserted.has(it.id) && !claimed.has(it.id);
      if (isInsert) {
        claimed.add(it.id);
        return { id: it.id, correlationId: it.correlationId, inserted: true, dispatched: true };
      }
      const o = originals.get(it.id) ?? { correlationId: first.get(it.id)!.correlationId, dispatched: true };
      return { id: it.id, correlationId: o.correlationId, inserted: false, dispatched: o.dispatched };
    });
  }

  async #record(items: Outcome[]): Promise<boolean[]> {
    const updated = await this.db.transaction(async (q) => {
      const rows = await q<{ id: string }>(
        `update event e set status = v.status, processed_at = now(), deliveries = greatest(e.deliveries, v.deliveries)
         from unnest($1::text[], $2::text[], $3::int[]) as v(id, status, deliveries)
         where e.id = v.id and e.status = 'received' returning e.id`,
        [items.map((o) => o.id), items.map((o) => o.status), items.map((o) => o.deliveries)],
      );
      await q(`update outbox set acked_at = now() where event_id = any($1::text[]) and acked_at is null`, [items.map((o) => o.id)]);
      return new Set(rows.map((r) => r.id));
    });
    return items.map((o) => updated.has(o.id));
  }
}

/** Statements of the events family that run inside another family's transaction. */
export function eventRepositoryIn(sql: Sql) {
  return {
    /** A deleted project's events stay for audit, marked deleted. */
    async markProjectDeleted(projectId: string): Promise<void> {
      await sql(`update event set deleted_at = now() where project_id = $1 and deleted_at is null`, [projectId]);
    },
  };
}
