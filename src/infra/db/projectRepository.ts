/**
 * All SQL of the project table family: `project` (config + the committed status), `actor_snapshot`
 * (persisted actor snapshots, with the ownership fence) and `task_run` (one row per task attempt).
 * Nothing else in src/ writes SQL for these tables.
 *
 * Queries go through the driver's Kysely client with server-side parameters (`Database.query`),
 * not MikroORM's entity manager: the hot path (one group-committed statement per batch of
 * transitions) measured 4,555 transitions/s this way (bench/persist.ts); the entity manager's
 * unit of work adds per-row identity-map work this write pattern does not need.
 */
import type { ProjectStatus } from '../../domain/status.ts';
import type { Database } from './orm.ts';

/** A statement runner: the database, or the `q` of an open transaction. */
export type Sql = <R = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<R[]>;

/** A persisted actor of a project (`project`, or `task:<taskId>`). */
export interface StoredActor {
  actorId: string;
  snapshot: unknown;
  machineVersion: string;
}

/** A persisted project as boot needs it. */
export interface StoredProject {
  id: string;
  config: Record<string, unknown>;
  seq: number;
  state: string;
  actors: StoredActor[];
}

/** One task attempt as the API shows it. */
export interface TaskRunRecord {
  id: string;
  taskId: string;
  attempt: number;
  state: string;
  startedAt: string;
  finishedAt: string | null;
  promptSha256: string | null;
  branch: string | null;
  verify: Record<string, unknown> | null;
  agent: Record<string, unknown> | null;
  artifacts: string[];
  outcome: string | null;
}

/** One task-run change written with a transition. */
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

/** The latest snapshot of one actor in a batch. */
export interface ActorWrite {
  actorId: string;
  seq: number;
  machineVersion: string;
  snapshot: unknown;
}

/** One entry of a project's durable history (a committed transition or task event). */
export interface HistoryRow {
  seq: number;
  /** Order within the seq (0: the transition itself). */
  n: number;
  type: string;
  ts: string;
  payload: unknown;
}

/** What a batch writes for one project: its latest status, its actors' latest snapshots, task-run changes, history. */
export interface SnapshotWrite {
  projectId: string;
  /** The latest seq of the batch (the status's). */
  seq: number;
  status: ProjectStatus;
  fence: number;
  actors: ActorWrite[];
  taskRuns: TaskRunRow[];
  history: HistoryRow[];
}

/** JSON.stringify replacer dropping NUL characters from strings. */
function withoutNul(_key: string, value: unknown): unknown {
  return typeof value === 'string' && value.includes('\u0000') ? value.replaceAll('\u0000', '') : value;
}

const iso = (v: unknown) => (v == null ? null : new Date(v as string).toISOString());

/** The repository over one database (see the module comment). */
export function projectRepository(db: Database) {
  const q: Sql = (sql, params) => db.query(sql, params);
  return {
    /** Every project with its actors' snapshots, ordered by id (boot-time restore). */
    async listForBoot(): Promise<StoredProject[]> {
      const projects = await q<{ id: string; config: Record<string, unknown>; seq: string; state: string }>(`select id, config, seq, state from project order by id`);
      const actors = await q<{ project_id: string; actor_id: string; snapshot: unknown; machine_version: string }>(
        `select project_id, actor_id, snapshot, machine_version from actor_snapshot order by project_id, actor_id`,
      );
      const byProject = new Map<string, StoredActor[]>();
      for (const a of actors) {
        const list = byProject.get(a.project_id) ?? [];
        list.push({ actorId: a.actor_id, snapshot: a.snapshot, machineVersion: a.machine_version });
        byProject.set(a.project_id, list);
      }
      return projects.map((p) => ({ id: p.id, config: p.config, seq: Number(p.seq), state: p.state, actors: byProject.get(p.id) ?? [] }));
    },

    /** A page of a project's history after `afterSeq` (oldest first). */
    async history(projectId: string, afterSeq: number, limit: number): Promise<HistoryRow[]> {
      const rows = await q<{ seq: string; n: number; type: string; ts: string; payload: unknown }>(
        `select seq, n, type, ts, payload from project_event where project_id = $1 and seq > $2 order by seq, n limit $3`,
        [projectId, afterSeq, limit],
      );
      return rows.map((r) => ({ seq: Number(r.seq), n: r.n, type: r.type, ts: new Date(r.ts).toISOString(), payload: r.payload }));
    },

    /** Drop history older than `days` days (retention). Returns the rows removed. */
    async pruneHistory(days: number): Promise<number> {
      return (await q(`delete from project_event where ts < now() - make_interval(days => $1) returning 1`, [days])).length;
    },

    /** Ids of every project (cluster: the projects of gained shards). */
    async ids(): Promise<string[]> {
      return (await q<{ id: string }>(`select id from project`)).map((r) => r.id);
    },

    async insert(id: string, configJson: string): Promise<void> {
      await q(`insert into project (id, config, state, seq) values ($1, $2::jsonb, 'initializing', 0)`, [id, configJson]);
    },

    /** Remove a project row that never ran (its initialize failed after the insert). */
    async remove(id: string): Promise<void> {
      await q(`delete from project where id = $1`, [id]);
    },

    async updateConfig(id: string, configJson: string): Promise<void> {
      await q(`update project set config = $2::jsonb where id = $1`, [id, configJson]);
    },

    async config(id: string): Promise<Record<string, unknown> | undefined> {
      return (await q<{ config: Record<string, unknown> }>(`select config from project where id = $1`, [id]))[0]?.config;
    },

    async seq(id: string): Promise<number> {
      return Number((await q<{ seq: string }>(`select seq from project where id = $1`, [id]))[0]?.seq ?? 0);
    },

    /** The committed status stored with the last transition, or null (unknown project, or none yet). */
    async status(id: string): Promise<ProjectStatus | null> {
      return (await q<{ status: ProjectStatus | null }>(`select status from project where id = $1`, [id]))[0]?.status ?? null;
    },

    async exists(id: string): Promise<boolean> {
      return (await q(`select 1 from project where id = $1`, [id])).length > 0;
    },

    /** Keyset page of stored statuses by id (`limit + 1` rows tell whether more follow). */
    listStatuses(afterId: string, limit: number): Promise<Array<{ id: string; status: ProjectStatus }>> {
      return q(`select id, status from project where id > $1 and status is not null order by id limit $2`, [afterId, limit]);
    },

    /**
     * Delete a stopped project in one transaction: its row and snapshot go; its task runs (and,
     * through `also`, other families' rows) stay for audit, marked deleted.
     */
    async deleteProject(id: string, also?: (sql: Sql) => Promise<void>): Promise<void> {
      await db.transaction(async (t) => {
        await t(`update task_run set deleted_at = now() where project_id = $1 and deleted_at is null`, [id]);
        await also?.(t);
        await t(`delete from project where id = $1`, [id]);
      });
    },

    // ---- task runs ----

    async taskRuns(projectId: string): Promise<TaskRunRecord[]> {
      const rows = await q<Record<string, unknown>>(
        `select id, task_id, attempt, state, started_at, finished_at, prompt_sha256, branch, verify, agent, artifacts, outcome
         from task_run where project_id = $1 and deleted_at is null order by id`,
        [projectId],
      );
      return rows.map((r) => ({
        id: String(r.id),
        taskId: r.task_id as string,
        attempt: Number(r.attempt),
        state: r.state as string,
        startedAt: iso(r.started_at)!,
        finishedAt: iso(r.finished_at),
        promptSha256: (r.prompt_sha256 as string | null) ?? null,
        branch: (r.branch as string | null) ?? null,
        verify: (r.verify as Record<string, unknown> | null) ?? null,
        agent: (r.agent as Record<string, unknown> | null) ?? null,
        artifacts: Array.isArray(r.artifacts) ? (r.artifacts as string[]) : [],
        outcome: (r.outcome as string | null) ?? null,
      }));
    },

    /** One run by its id within a project (artifact lookups), or null. */
    async taskRun(projectId: string, runId: string): Promise<{ taskId: string; attempt: number; artifacts: string[] } | null> {
      const [r] = await q<{ task_id: string; attempt: number; artifacts: unknown }>(
        `select task_id, attempt, artifacts from task_run where id = $1 and project_id = $2 and deleted_at is null`,
        [runId, projectId],
      );
      return r ? { taskId: r.task_id, attempt: Number(r.attempt), artifacts: Array.isArray(r.artifacts) ? (r.artifacts as string[]) : [] } : null;
    },

    /** The branch a task was first prepared on (its name is fixed then), or null. */
    async taskBranch(projectId: string, taskId: string): Promise<string | null> {
      const [r] = await q<{ branch: string }>(
        `select branch from task_run where project_id = $1 and task_id = $2 and branch is not null order by attempt limit 1`,
        [projectId, taskId],
      );
      return r?.branch ?? null;
    },

    /** The highest attempt number a task has had (0 when none): attempt numbers never repeat. */
    async maxAttempt(projectId: string, taskId: string): Promise<number> {
      const [r] = await q<{ max: number | null }>(`select max(attempt) as max from task_run where project_id = $1 and task_id = $2`, [projectId, taskId]);
      return Number(r?.max ?? 0);
    },

    /** What was recorded for one attempt (agent, verify, artifacts). */
    async attemptRecord(projectId: string, taskId: string, attempt: number): Promise<{ agent: unknown; verify: unknown; artifacts: string[] }> {
      const [r] = await q<{ agent: unknown; verify: unknown; artifacts: string[] }>(
        `select agent, verify, artifacts from task_run where project_id = $1 and task_id = $2 and attempt = $3`,
        [projectId, taskId, attempt],
      );
      return r ?? { agent: null, verify: null, artifacts: [] };
    },

    // ---- fencing (multi-node) ----

    /** The highest fence any snapshot carries (the cluster's epoch counter starts above it). */
    async maxFence(): Promise<number> {
      const [r] = await q<{ max: string | null }>(`select max(fence) as max from actor_snapshot`);
      return Number(r?.max ?? 0);
    },

    /** Stamp a new owner's fence on every actor row of these projects (never lowering one). */
    async stampFences(ids: string[], fences: number[]): Promise<void> {
      if (!ids.length) return;
      await q(
        `update actor_snapshot s set fence = v.fence from unnest($1::text[], $2::bigint[]) as v(id, fence)
         where s.project_id = v.id and s.fence < v.fence`,
        [ids, fences],
      );
    },

    // ---- the transition writer's batch ----

    /**
     * One statement (data-modifying CTEs, one round trip) for a batch of transitions (the latest of
     * each project): snapshots that pass the seq/fence guard are written, and only for those
     * projects the status row and task runs. The batch travels as two JSON documents (one
     * serialization, no array-literal escaping); `stripNul` drops NUL characters, which jsonb
     * cannot hold. Returns the ids whose snapshot was written, and for the others the fence stored
     * now (to tell a stale fence from an old seq).
     */
    async writeBatch(writes: SnapshotWrite[], opts: { stripNul?: boolean } = {}): Promise<{ written: Set<string>; fences: Map<string, number> }> {
      const stringify = opts.stripNul ? (v: unknown) => JSON.stringify(v, withoutNul) : (v: unknown) => JSON.stringify(v);
      const projDoc = stringify(
        writes.map((w) => ({
          project_id: w.projectId,
          seq: w.seq,
          fence: w.fence,
          state: w.status.state,
          substate: w.status.substate,
          task_id: w.status.currentTask?.id ?? null,
          task_title: w.status.currentTask?.title ?? null,
          attempt: w.status.currentTask?.attempt ?? null,
          last_error: w.status.lastError,
          status: w.status,
        })),
      );
      const actorDoc = stringify(
        writes.flatMap((w) => w.actors.map((a) => ({ project_id: w.projectId, actor_id: a.actorId, seq: a.seq, machine_version: a.machineVersion, snapshot: a.snapshot, fence: w.fence }))),
      );
      const runDoc = stringify(
        writes.flatMap((w) =>
          w.taskRuns.map((r) => ({
            project_id: w.projectId,
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
        ),
      );
      const historyDoc = stringify(writes.flatMap((w) => w.history.map((h) => ({ project_id: w.projectId, ...h }))));
      const ids = writes.map((w) => w.projectId);
      return db.transaction(async (t) => {
        const rows = await t<{ project_id: string }>(
          `with p as (
             select * from jsonb_to_recordset($1::jsonb) as x(project_id text, seq bigint, fence bigint, state text, substate text,
               task_id text, task_title text, attempt int, last_error text, status jsonb)
           ), ok as (
             -- fencing: a write whose fence is below the project's highest stored fence comes from a stale owner
             select p.project_id from p
             where p.fence >= coalesce((select max(a.fence) from actor_snapshot a where a.project_id = p.project_id), 0)
               and exists (select 1 from project pr where pr.id = p.project_id and pr.seq < p.seq)
           ), snap as (
             insert into actor_snapshot (project_id, actor_id, seq, machine_version, snapshot, fence, updated_at)
             select x.project_id, x.actor_id, x.seq, x.machine_version, x.snapshot, x.fence, now()
             from jsonb_to_recordset($2::jsonb) as x(project_id text, actor_id text, seq bigint, machine_version text, snapshot jsonb, fence bigint)
             where x.project_id in (select project_id from ok)
             on conflict (project_id, actor_id) do update set seq = excluded.seq, machine_version = excluded.machine_version,
               snapshot = excluded.snapshot, fence = excluded.fence, updated_at = now()
             where actor_snapshot.seq < excluded.seq
             returning 1
           ), proj as (
             update project pr set state = p.state, substate = p.substate, current_task_id = p.task_id,
               current_task_title = p.task_title, attempt = p.attempt, last_error = p.last_error,
               status = p.status, seq = p.seq, updated_at = now()
             from p
             where pr.id = p.project_id and p.project_id in (select project_id from ok)
             returning pr.id
           ), runs as (
             insert into task_run (project_id, task_id, attempt, state, prompt_sha256, branch, verify, agent, artifacts, outcome, finished_at)
             select v.project_id, v.task_id, v.attempt, v.state, v.prompt_sha256, v.branch, v.verify, v.agent, v.artifacts, v.outcome,
                    case when v.finished then now() end
             from jsonb_to_recordset($3::jsonb) as v(project_id text, task_id text, attempt int, state text, prompt_sha256 text,
               branch text, verify jsonb, agent jsonb, artifacts jsonb, outcome text, finished bool)
             where v.project_id in (select project_id from ok)
             on conflict (project_id, task_id, attempt) do update set state = excluded.state,
               prompt_sha256 = coalesce(excluded.prompt_sha256, task_run.prompt_sha256),
               branch = coalesce(excluded.branch, task_run.branch),
               verify = coalesce(excluded.verify, task_run.verify), agent = coalesce(excluded.agent, task_run.agent),
               artifacts = excluded.artifacts, outcome = coalesce(excluded.outcome, task_run.outcome),
               finished_at = coalesce(task_run.finished_at, excluded.finished_at)
             returning 1
           ), hist as (
             insert into project_event (project_id, seq, n, type, ts, payload)
             select h.project_id, h.seq, h.n, h.type, h.ts, h.payload
             from jsonb_to_recordset($4::jsonb) as h(project_id text, seq bigint, n int, type text, ts timestamptz, payload jsonb)
             where h.project_id in (select project_id from ok)
             on conflict do nothing
             returning 1
           )
           select project_id from ok`,
          [projDoc, actorDoc, runDoc, historyDoc],
        );
        const written = new Set(rows.map((r) => r.project_id));
        const rest = ids.filter((id) => !written.has(id));
        const fences = new Map<string, number>();
        if (rest.length) {
          for (const r of await t<{ project_id: string; fence: string }>(
            `select project_id, max(fence) as fence from actor_snapshot where project_id = any($1::text[]) group by project_id`,
            [rest],
          )) {
            fences.set(r.project_id, Number(r.fence));
          }
        }
        return { written, fences };
      });
    },
  };
}

export type ProjectRepository = ReturnType<typeof projectRepository>;
