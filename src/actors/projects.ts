/**
 * `Projects`: the one way into the project actors for everything above them (REST, event ingest,
 * the CLI's server side). Two implementations:
 *  - local (`localProjects`, here): this node's registry and the project tables;
 *  - routed (`src/actors/cluster/routedProjects.ts`): writes travel to the project's owner node
 *    through its shard's stream, reads come from the relayed projection and the shared database.
 * Failures are domain errors (./errors.ts): ProjectNotFoundError, ProjectConfigError,
 * OwnerUnavailableError; the server maps them to HTTP in one place.
 */
import type { Command, ProjectStatus } from '../domain/status.ts';
import type { Database } from '../infra/db/orm.ts';
import { projectRepository, type TaskRunRecord } from '../infra/db/projectRepository.ts';
import { ProjectNotFoundError } from './errors.ts';
import type { CommandResult } from './host.ts';
import type { InitializeResult, ProjectRecord, Registry } from './registry.ts';

export type { TaskRunRecord } from '../infra/db/projectRepository.ts';
export type { CommandResult } from './host.ts';

/** Initialize's answer; a conflict carries what the project accepts now. */
export type InitializeOutcome =
  | Exclude<InitializeResult, { code: 'conflict' }>
  | { code: 'conflict'; state: string; acceptedCommands: Command[] };

export type DeleteOutcome = { ok: true } | { ok: false; state: string; acceptedCommands: Command[] };

export type WakeEvent = 'REPO_UPDATED' | 'TASKS_CHANGED';

export interface Projects {
  /** Create a project, or replace its config (when not running a task). Throws ProjectConfigError. */
  initialize(config: ProjectRecord['config'] & { projectId: string }): Promise<InitializeOutcome>;
  /**
   * A control command. Resolves after its transition committed (and cancelled steps stopped);
   * `timedOut: true` when the answer is the current status before the command took effect (a STOP
   * still cleaning up; a routed command whose owner did not answer in time). Throws ProjectNotFoundError.
   */
  command(projectId: string, cmd: Command, opts?: { stopTimeoutMs?: number; taskId?: string }): Promise<CommandResult>;
  /** Delete a stopped project (its files via `purge`); runs and events stay for audit, marked deleted. */
  delete(projectId: string, purge: (projectId: string) => Promise<void>): Promise<DeleteOutcome>;
  /**
   * The committed status: synchronous when it is live on this node (the hot path), else read.
   * Throws (or rejects with) ProjectNotFoundError.
   */
  status(projectId: string): ProjectStatus | Promise<ProjectStatus>;
  /** A page of statuses by id after `afterId`; `more` when another page follows. */
  list(afterId: string, limit: number): Promise<{ items: ProjectStatus[]; more: boolean }>;
  /** Task runs of a project, oldest first. Throws ProjectNotFoundError. */
  runs(projectId: string): Promise<TaskRunRecord[]>;
  /** One run (for artifacts), or null. */
  run(projectId: string, runId: string): Promise<{ taskId: string; attempt: number; artifacts: string[] } | null>;
  /** Wake an idle / waiting project; false when it does not take the event now. */
  wake(projectId: string, type: WakeEvent): boolean | Promise<boolean>;
}

/** The stored half every implementation shares: reads of the project tables. */
export function storedProjects(db: Database, live: (projectId: string) => ProjectStatus | undefined) {
  const repo = projectRepository(db);
  const status = (projectId: string): ProjectStatus | Promise<ProjectStatus> =>
    live(projectId) ??
    repo.status(projectId).then((s) => {
      if (!s) throw new ProjectNotFoundError(projectId);
      return s;
    });
  return {
    status,
    async list(afterId: string, limit: number) {
      const rows = await repo.listStatuses(afterId, limit + 1);
      return { items: rows.slice(0, limit).map((r) => live(r.id) ?? r.status), more: rows.length > limit };
    },
    async runs(projectId: string) {
      if (!live(projectId) && !(await repo.exists(projectId))) throw new ProjectNotFoundError(projectId);
      return repo.taskRuns(projectId);
    },
    run: (projectId: string, runId: string) => repo.taskRun(projectId, runId),
  };
}

/** Projects hosted by this node's registry. */
export function localProjects(registry: Registry, db: Database): Projects {
  const stored = storedProjects(db, (id) => registry.status(id));
  const accepted = (id: string) => registry.status(id)?.acceptedCommands ?? [];
  return {
    ...stored,
    async initialize(config) {
      const r = await registry.initialize(config);
      return r.code === 'conflict' ? { ...r, acceptedCommands: accepted(config.projectId) } : r;
    },
    command: (projectId, cmd, opts) => registry.command(projectId, cmd, opts),
    async delete(projectId, purge) {
      const r = await registry.delete(projectId, purge);
      return r.ok ? r : { ...r, acceptedCommands: accepted(projectId) };
    },
    wake: (projectId, type) => registry.wake(projectId, type),
  };
}
