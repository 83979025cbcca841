/**
 * Group-commit persistence of transitions. Each project's writes are serialized and never
 * reordered; while one batch commits, the next accumulates, so under load many transitions
 * (across projects) share one transaction and several transitions of one project coalesce
 * into its latest snapshot — the latest snapshot is never lost, and every task_run change is kept.
 *
 * A write's promise resolves only after its transaction committed; a database error keeps the
 * batch and retries with backoff (nothing is dropped) until close().
 */
import type { Database } from '../infra/db/orm.ts';
import type { Logger } from '../infra/logger.ts';
import type { ProjectStatus } from '../domain/status.ts';
import type { Clock } from '../infra/clock.ts';

export interface TaskRunRow {
  taskId: string;
  attempt: number;
  state: string;
  branch: string | null;
  promptSha256: string | null;
  verify: unknown;
  agent: unknown;
  artifacts: string[];
  outcome: string | null;
  finished: boolean;
}

export interface TransitionWrite {
  projectId: string;
  seq: number;
  machineVersion: string;
  snapshot: unknown;
  status: ProjectStatus;
  taskRuns: TaskRunRow[];
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
  runs: Map<string, TaskRunRow>;
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

/** JSON.stringify replacer dropping NUL characters from strings. */
function withoutNul(_key: string, value: unknown): unknown {
  return typeof value === 'string' && value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
}

class WriterLane {
  #pending = new Map<string, Pending>();
  #stripNul = false;
  #running: Promise<void> | null = null;
  #closed = false;
  batches = 0;
  rows = 0;

  constructor(
    private db: Database,
    private logger: Logger,
    private clock: Clock,
  ) {}

  write(w: TransitionWrite): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('writer closed'));
    return new Promise((resolve, reject) => {
      let p = this.#pending.get(w.projectId);
      if (!p) {
        p = { latest: w, runs: new Map(), waiters: [] };
        this.#pending.set(w.projectId, p);
      } else if (w.seq > p.latest.seq) {
        p.latest = w;
      }
      for (const r of w.taskRuns) p.runs.set(`${r.taskId}\u0000${r.attempt}`, r);
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
              for (const [k, r] of p.runs) if (!newer.runs.has(k)) newer.runs.set(k, r);
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
    const runs = batch.flatMap((p) => [...p.runs.values()].map((r) => ({ projectId: p.latest.projectId, ...r })));
    this.rows += snaps.length + runs.length;
    // Two JSON documents instead of per-column arrays: one serialization, no array-literal escaping.
    const stringify = this.#stripNul ? (v: unknown) => JSON.stringify(v, withoutNul) : (v: unknown) => JSON.stringify(v);
    const snapDoc = stringify(
      snaps.map((s) => ({
        project_id: s.projectId,
        seq: s.seq,
        machine_version: s.machineVersion,
        snapshot: s.snapshot,
        fence: s.fence,
        state: s.status.state,
        substate: s.status.substate,
        task_id: s.status.currentTask?.id ?? null,
        task_title: s.status.currentTask?.title ?? null,
        attempt: s.status.currentTask?.attempt ?? null,
        last_error: s.status.lastError,
        status: s.status,
      })),
    );
    const runDoc = stringify(
      runs.map((r) => ({
        project_id: r.projectId,
        task_id: r.taskId,
        attempt: r.attempt,
        state: r.state,
        prompt_sha256: r.promptSha256,
        branch: r.branch,
        verify: r.verify ?? null,
        agent: r.agent ?? null,
        artifacts: r.artifacts,
        outcome: r.outcome,
        finished: r.finished,
      })),
    );
    return this.db.transaction(async (q) => {
      const written = await q<{ project_id: string }>(
        `with s as (
           select * from jsonb_to_recordset($1::jsonb) as x(project_id text, seq bigint, machine_version text, snapshot jsonb,
             fence bigint, state text, substate text, task_id text, task_title text, attempt int, last_error text, status jsonb)
         ), snap as (
           insert into actor_snapshot (project_id, seq, machine_version, snapshot, fence, updated_at)
           select project_id, seq, machine_version, snapshot, fence, now() from s
           on conflict (project_id) do update set seq = excluded.seq, machine_version = excluded.machine_version,
             snapshot = excluded.snapshot, fence = excluded.fence, updated_at = now()
           where actor_snapshot.seq < excluded.seq and actor_snapshot.fence <= excluded.fence
           returning project_id
         ), proj as (
           update project p set state = s.state, substate = s.substate, current_task_id = s.task_id,
             current_task_title = s.task_title, attempt = s.attempt, last_error = s.last_error,
             status = s.status, seq = s.seq, updated_at = now()
           from s
           where p.id = s.project_id and p.seq < s.seq and s.project_id in (select project_id from snap)
           returning p.id
         ), runs as (
           insert into task_run (project_id, task_id, attempt, state, prompt_sha256, branch, verify, agent, artifacts, outcome, finished_at)
           select v.project_id, v.task_id, v.attempt, v.state, v.prompt_sha256, v.branch, v.verify, v.agent, v.artifacts, v.outcome,
                  case when v.finished then now() end
           from jsonb_to_recordset($2::jsonb) as v(project_id text, task_id text, attempt int, state text, prompt_sha256 text,
             branch text, verify jsonb, agent jsonb, artifacts jsonb, outcome text, finished bool)
           where v.project_id in (select project_id from snap)
           on conflict (project_id, task_id, attempt) do update set state = excluded.state,
             prompt_sha256 = coalesce(excluded.prompt_sha256, task_run.prompt_sha256),
             branch = coalesce(excluded.branch, task_run.branch),
             verify = coalesce(excluded.verify, task_run.verify), agent = coalesce(excluded.agent, task_run.agent),
             artifacts = excluded.artifacts, outcome = coalesce(excluded.outcome, task_run.outcome),
             finished_at = coalesce(task_run.finished_at, excluded.finished_at)
           returning 1
         )
         select project_id from snap`,
        [snapDoc, runDoc],
      );
      const ok = new Set(written.map((r) => r.project_id));
      return this.#fencedOff(q, snaps.filter((s) => !ok.has(s.projectId)));
    });
  }

  /** Of the snapshot rows not written, those rejected for a stale fence (not merely an old seq). */
  async #fencedOff(q: (sql: string, p?: unknown[]) => Promise<any[]>, notWritten: TransitionWrite[]): Promise<Set<string>> {
    if (!notWritten.length) return new Set();
    const rows = await q(`select project_id, fence from actor_snapshot where project_id = any($1::text[])`, [notWritten.map((s) => s.projectId)]);
    const stored = new Map(rows.map((r) => [r.project_id as string, Number(r.fence)]));
    return new Set(notWritten.filter((s) => (stored.get(s.projectId) ?? -1) > s.fence).map((s) => s.projectId));
  }
}
