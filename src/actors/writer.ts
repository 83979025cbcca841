/**
 * Group-commit persistence of transitions. Each project's writes are serialized and never
 * reordered; while one batch commits, the next accumulates, so under load many transitions
 * (across projects) share one transaction and several transitions of one project coalesce:
 * each of its actors keeps its latest snapshot, the status its latest, and every task_run change
 * and every history entry is kept.
 *
 * A write's promise resolves only after its transaction committed; a database error keeps the
 * batch and retries with backoff (nothing is dropped) until close().
 */
import type { Database } from '../infra/db/orm.ts';
import { projectRepository, type ActorWrite, type HistoryRow, type ProjectRepository, type SnapshotWrite, type TaskRunRow } from '../infra/db/projectRepository.ts';
import type { Logger } from '../infra/logger.ts';
import type { ProjectStatus } from '../domain/status.ts';
import type { Clock } from '../infra/clock.ts';

export type { ActorWrite, HistoryRow, TaskRunRow } from '../infra/db/projectRepository.ts';

/** One committed-to-be transition of one actor of a project. */
export interface TransitionWrite {
  projectId: string;
  seq: number;
  /** The actor that moved (`project` or `task:<id>`) and its persisted snapshot. */
  actor: ActorWrite;
  status: ProjectStatus;
  taskRuns: TaskRunRow[];
  /** History entries of this transition (the transition itself, its task events). */
  history: HistoryRow[];
  /** Ownership epoch (multi-node fencing); a write with a lower fence than stored is rejected. */
  fence: number;
}

/** Thrown to a writer whose fence is stale: another node owns the project now. */
export class FencedWriteError extends Error {
  override name = 'FencedWriteError';
  constructor(readonly projectId: string) {
    super(`stale owner: snapshot write for ${projectId} rejected by fencing token`);
  }
}

interface Pending {
  latest: TransitionWrite;
  actors: Map<string, ActorWrite>;
  runs: Map<string, TaskRunRow>;
  history: HistoryRow[];
  waiters: Array<{ resolve: () => void; reject: (e: unknown) => void }>;
}

/**
 * Routes each project to one of `lanes` independent group-commit lanes (by hash), so several
 * transactions commit concurrently on a pooled database while each project's writes stay in
 * one lane, serialized and in order. PGlite (one session) uses a single lane.
 */
export class TransitionWriter {
  readonly #lanes: WriterLane[];

  constructor(db: Database, logger: Logger, clock: Clock, lanes = 1) {
    this.#lanes = Array.from({ length: Math.max(1, lanes) }, () => new WriterLane(db, logger, clock));
  }

  get batches(): number {
    return this.#lanes.reduce((n, l) => n + l.batches, 0);
  }

  write(w: TransitionWrite): Promise<void> {
    return this.#lanes[this.#lanes.length === 1 ? 0 : hash(w.projectId) % this.#lanes.length]!.write(w);
  }

  async flush(): Promise<void> {
    await Promise.all(this.#lanes.map((l) => l.flush()));
  }

  async close(): Promise<void> {
    await Promise.all(this.#lanes.map((l) => l.close()));
  }
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

class WriterLane {
  #pending = new Map<string, Pending>();
  #stripNul = false;
  #running: Promise<void> | null = null;
  #closed = false;
  batches = 0;
  rows = 0;

  private readonly repo: ProjectRepository;

  constructor(
    db: Database,
    private logger: Logger,
    private clock: Clock,
  ) {
    this.repo = projectRepository(db);
  }

  write(w: TransitionWrite): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('writer closed'));
    return new Promise((resolve, reject) => {
      let p = this.#pending.get(w.projectId);
      if (!p) {
        p = { latest: w, actors: new Map(), runs: new Map(), history: [], waiters: [] };
        this.#pending.set(w.projectId, p);
      } else if (w.seq > p.latest.seq) {
        p.latest = w;
      }
      const had = p.actors.get(w.actor.actorId);
      if (!had || had.seq < w.actor.seq) p.actors.set(w.actor.actorId, w.actor);
      for (const r of w.taskRuns) p.runs.set(`${r.taskId}\u0000${r.attempt}`, r);
      p.history.push(...w.history);
      p.waiters.push({ resolve, reject });
      this.#running ??= this.#loop();
    });
  }

  /** Resolves when everything written so far has committed. */
  async flush(): Promise<void> {
    while (this.#running) await this.#running;
  }

  async close(): Promise<void> {
    await this.flush();
    this.#closed = true;
  }

  async #loop(): Promise<void> {
    let failures = 0;
    try {
      while (this.#pending.size) {
        const batch = this.#pending;
        this.#pending = new Map();
        try {
          const fenced = await this.#commit([...batch.values()]);
          failures = 0;
          this.batches++;
          for (const [id, p] of batch) {
            const err = fenced.has(id) ? new FencedWriteError(id) : null;
            for (const w of p.waiters) (err ? w.reject(err) : w.resolve());
          }
        } catch (err) {
          // Put the batch back in front (newer writes for a project supersede its snapshot).
          for (const [id, p] of batch) {
            const newer = this.#pending.get(id);
            if (newer) {
              if (p.latest.seq > newer.latest.seq) newer.latest = p.latest;
              for (const [k, a] of p.actors) if (!newer.actors.has(k)) newer.actors.set(k, a);
              for (const [k, r] of p.runs) if (!newer.runs.has(k)) newer.runs.set(k, r);
              newer.history.unshift(...p.history);
              newer.waiters.unshift(...p.waiters);
            } else this.#pending.set(id, p);
          }
          failures++;
          // jsonb cannot hold \u0000: from now on serialize without it instead of retrying forever.
          if (/unicode|\\u0000/i.test((err as Error).message)) this.#stripNul = true;
          const delay = Math.min(5000, 50 * 2 ** failures);
          this.logger.error({ err: (err as Error).message, delayMs: delay, projects: batch.size }, 'snapshot write failed, retrying');
          await this.clock.sleep(delay);
        }
      }
    } finally {
      this.#running = null;
    }
  }

  /**
   * One statement (data-modifying CTEs, one round trip) for the whole batch: snapshots that pass
   * the seq/fence guard are written, and only for those projects the status row and task runs.
   * Returns the projects whose write was fenced off.
   */
  async #commit(batch: Pending[]): Promise<Set<string>> {
    const snaps = batch.map((p) => p.latest);
    this.rows += batch.reduce((n, p) => n + p.actors.size + p.runs.size + p.history.length, 0);
    const writes: SnapshotWrite[] = batch.map((p) => ({
      projectId: p.latest.projectId,
      seq: p.latest.seq,
      status: p.latest.status,
      fence: p.latest.fence,
      actors: [...p.actors.values()],
      taskRuns: [...p.runs.values()],
      history: p.history,
    }));
    const { written, fences } = await this.repo.writeBatch(writes, { stripNul: this.#stripNul });
    // Not written: an older seq (a no-op) or a stale fence (another node owns the project now).
    return new Set(snaps.filter((s) => !written.has(s.projectId) && (fences.get(s.projectId) ?? -1) > s.fence).map((s) => s.projectId));
  }
}
