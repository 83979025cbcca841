/**
 * The registry owns this node's live project actors: boot-time restore, initialize (create /
 * replace config), control commands, wake-ups and clean shutdown. Operations on one project are
 * serialized through a per-project lock so initialize/command/delete never interleave.
 */
import type { Command, ProjectStatus } from '../domain/status.ts';
import { initialContext, MACHINE_VERSION } from '../machines/project.machine.ts';
import { stateOf } from '../machines/status.ts';
import type { Database } from '../infra/db/orm.ts';
import { eventRepositoryIn } from '../infra/db/eventRepository.ts';
import { projectRepository, type ProjectRepository } from '../infra/db/projectRepository.ts';
import { ProjectHost, type CommandResult, type NodeShared } from './host.ts';
import { HostGoneError, ProjectConfigError, ProjectNotFoundError } from './errors.ts';

export { ProjectNotFoundError } from './errors.ts';
import { bindMachines, type BoundMachines, type ProjectSteps } from './steps.ts';
import { TASK_MACHINE_VERSION } from '../machines/task.machine.ts';
import type { RestoredTask } from './host.ts';

export interface ProjectRecord {
  id: string;
  config: Record<string, unknown>;
}

/** What every host shares (writer, hub, projection, slots, logger, clock), plus the registry's own. */
export interface RegistryDeps extends NodeShared {
  db: Database;
  /** Builds a project's step implementations (createProjectSteps in production). */
  makeSteps(project: ProjectRecord): ProjectSteps;
  /** Current ownership epoch for a project (multi-node); 0 on a single node. */
  fence?(projectId: string): number;
  /**
   * Decisions taken once at initialize and stored with the config (e.g. sandbox kind: docker when
   * an engine answers now, else local). Never re-run for an unchanged config.
   */
  resolveConfig?(config: ProjectRecord['config']): Promise<ProjectRecord['config']>;
}

export type InitializeResult =
  | { code: 'created' | 'unchanged' | 'replaced'; status: ProjectStatus }
  | { code: 'conflict'; state: string };

/** States in which a project's config may be replaced (it is not running a task). */
const REPLACEABLE = new Set(['paused', 'halted', 'idle', 'awaitingTaskList', 'stopped']);

export class Registry {
  readonly hosts = new Map<string, ProjectHost>();
  /**
   * Called after a host was dropped because a write of it was fenced (multi-node: the cluster
   * checks whether this node still owns the shard and, if so, hosts the project again at the
   * current epoch — a host left from an older epoch must not strand the project).
   */
  onFenced: ((projectId: string) => void) | undefined;
  readonly #machines: BoundMachines = bindMachines((projectId) => {
    const host = this.hosts.get(projectId);
    if (!host) throw new Error(`no host for project ${projectId}`);
    return host.binding;
  });
  readonly #repo: ProjectRepository;
  #configs = new Map<string, string>();
  #locks = new Map<string, Promise<unknown>>();
  #closing = false;

  constructor(private d: RegistryDeps) {
    this.#repo = projectRepository(d.db);
  }

  /** Restore every project that is not stopped. Bad snapshots halt that project only. */
  async boot(filter?: (projectId: string) => boolean): Promise<{ restored: number; halted: string[] }> {
    const rows = await this.#repo.listForBoot();
    const halted: string[] = [];
    let restored = 0;
    for (const row of rows) {
      if (filter && !filter(row.id)) continue;
      this.#configs.set(row.id, canonical(row.config));
      if (row.state === 'stopped' || this.hosts.has(row.id)) continue;
      const seq = row.seq;
      const projectRow = row.actors.find((a) => a.actorId === 'project');
      // A config that no longer builds (edited by hand, from an older runner) halts only this project.
      let steps: ProjectSteps;
      let error: string | undefined;
      try {
        steps = this.d.makeSteps(row);
      } catch (err) {
        error = `stored project config cannot be loaded: ${(err as Error).message}; re-initialize the project with a valid config`;
        steps = brokenSteps(error);
      }
      error ??= this.#versionError(row.actors);
      let host: ProjectHost | undefined;
      if (!error) {
        try {
          host = this.#host(row, seq, steps, projectRow?.snapshot ?? undefined, undefined, liveTasks(projectRow?.snapshot, row.actors));
          const s = host.snapshot();
          if (s.status === 'error' || !s.context?.projectId) throw new Error(String(s.error ?? 'snapshot has no context'));
          stateOf(s);
        } catch (err) {
          error = `persisted snapshot is malformed: ${(err as Error).message}`;
          await host?.dispose();
          this.hosts.delete(row.id);
        }
      }
      if (error) {
        halted.push(row.id);
        this.d.logger.error({ projectId: row.id, err: error }, 'project cannot be restored; halted');
        host = this.#host(row, seq, steps, haltedSnapshot(this.#machines.project, row.id, error), 'restore.failed');
      }
      host!.start();
      restored++;
    }
    return { restored, halted };
  }

  get(projectId: string): ProjectHost | undefined {
    return this.hosts.get(projectId);
  }

  status(projectId: string): ProjectStatus | undefined {
    return this.d.projection.get(projectId);
  }

  async initialize(config: ProjectRecord['config'] & { projectId: string }): Promise<InitializeResult> {
    const id = config.projectId;
    return this.#locked(id, async () => {
      const known = this.#configs.get(id) ?? (await this.#loadConfig(id));
      if (known === undefined) {
        const resolved = (await this.d.resolveConfig?.(config)) ?? config;
        // Everything that can reject the config runs before anything is stored.
        const steps = this.#buildSteps({ id, config: resolved });
        const text = canonical(resolved);
        await this.#repo.insert(id, text);
        let host: ProjectHost;
        try {
          host = this.#host({ id, config: resolved }, 0, steps, undefined).start();
        } catch (err) {
          await this.#repo.remove(id);
          throw err;
        }
        this.#configs.set(id, text);
        await host.settled();
        return { code: 'created', status: host.status() };
      }
      const current = this.hosts.get(id);
      const state = current ? stateOf(current.snapshot()).state : 'stopped';
      // A config that leaves a resolved choice open keeps the stored choice.
      const text = canonical(withResolved(config, JSON.parse(known)));
      if (known === text) {
        return { code: 'unchanged', status: current?.status() ?? (await this.#storedStatus(id)) };
      }
      if (!REPLACEABLE.has(state)) return { code: 'conflict', state };
      config = (await this.d.resolveConfig?.(JSON.parse(text))) ?? JSON.parse(text);
      const steps = this.#buildSteps({ id, config });
      const newText = canonical(config);
      await this.#repo.updateConfig(id, newText);
      this.#configs.set(id, newText);
      let host: ProjectHost;
      if (!current || state === 'stopped') {
        await current?.dispose();
        const seq = current?.seq ?? (await this.#repo.seq(id));
        // A stopped project starts again from initializing; its seq keeps counting.
        host = this.#host({ id, config }, seq, steps, undefined, 'xstate.init');
      } else {
        // Same persisted state, new step implementations built from the new config. The snapshot
        // is taken before dispose(): a stopped actor's snapshot says 'stopped' and would never run.
        const persisted = current.persisted();
        await current.dispose();
        host = this.#host({ id, config }, current.seq, steps, persisted.project, undefined, persisted.tasks);
      }
      host.start();
      await host.settled();
      return { code: 'replaced', status: host.status() };
    });
  }

  /**
   * Apply a control command to a hosted project (see ProjectHost.command).
   * @throws ProjectNotFoundError for an unknown project; HostGoneError when the project is neither
   *   stopped nor hosted here (released, shutting down, fenced): its owner applies the command.
   */
  async command(projectId: string, cmd: Command, opts: { stopTimeoutMs?: number; taskId?: string } = {}): Promise<CommandResult> {
    return this.#locked(projectId, async () => {
      const host = this.hosts.get(projectId);
      if (!host) {
        // Postgres, not the projection: a status relayed from another node may be stale.
        const stored = await this.#repo.status(projectId);
        if (!stored) throw new ProjectNotFoundError(projectId);
        if (stored.state === 'stopped') {
          if (cmd === 'STOP') return { ok: true, status: stored, noop: true, timedOut: false };
          return { ok: false, state: stored.state, acceptedCommands: [] };
        }
        // Not stopped yet not hosted here: released (shard lost, shutting down) or fenced.
        throw new HostGoneError(projectId);
      }
      return host.command(cmd, opts);
    });
  }

  /**
   * Remove a stopped project: its row and snapshot go, its task runs and events stay for audit
   * (marked deleted), and `purge` removes its workspace, container and artifacts.
   */
  async delete(projectId: string, purge: (projectId: string) => Promise<void>): Promise<{ ok: true } | { ok: false; state: string }> {
    return this.#locked(projectId, async () => {
      const status = await this.#storedStatus(projectId);
      const host = this.hosts.get(projectId);
      const state = host ? stateOf(host.snapshot()).state : status.state;
      if (state !== 'stopped') return { ok: false, state };
      await host?.dispose();
      this.hosts.delete(projectId);
      await this.d.writer.flush();
      await this.#repo.deleteProject(projectId, (sql) => eventRepositoryIn(sql).markProjectDeleted(projectId));
      this.#configs.delete(projectId);
      this.d.projection.remove(projectId);
      this.d.hub.drop(projectId);
      await purge(projectId);
      return { ok: true };
    });
  }

  wake(projectId: string, type: 'REPO_UPDATED' | 'TASKS_CHANGED'): boolean {
    return this.hosts.get(projectId)?.wake(type) ?? false;
  }

  /** Stop hosting everything (SIGTERM): cancel steps, flush writes. Steps rerun on next boot. */
  async shutdown(): Promise<void> {
    this.#closing = true;
    await Promise.all([...this.hosts.values()].map((h) => h.dispose()));
    await this.d.writer.flush();
  }

  /** Stop hosting some projects (lost shard lease) without recording transitions. */
  async release(projectIds: Iterable<string>): Promise<void> {
    await Promise.all([...projectIds].map(async (id) => {
      await this.hosts.get(id)?.dispose();
      this.hosts.delete(id);
    }));
  }

  /** The project's steps; a config they cannot be built from is a ProjectConfigError (400), nothing stored. */
  #buildSteps(row: ProjectRecord): ProjectSteps {
    try {
      return this.d.makeSteps(row);
    } catch (err) {
      if (err instanceof ProjectConfigError) throw err;
      throw new ProjectConfigError(`project config rejected: ${(err as Error).message}`, { cause: err });
    }
  }

  #host(row: ProjectRecord, seq: number, steps: ProjectSteps, snapshot: unknown, recordAs?: string, tasks?: RestoredTask[]): ProjectHost {
    if (this.#closing) throw new Error('registry is shutting down');
    const logger = this.d.logger.child({ projectId: row.id });
    const host = new ProjectHost({
      projectId: row.id,
      machines: this.#machines,
      tasks,
      steps,
      writer: this.d.writer,
      hub: this.d.hub,
      projection: this.d.projection,
      slots: this.d.slots,
      logger,
      clock: this.d.clock,
      seq,
      snapshot,
      recordAs,
      fence: this.d.fence?.(row.id) ?? 0,
      onFenced: (id) => {
        if (this.hosts.get(id) !== host) return;
        this.hosts.delete(id);
        this.onFenced?.(id);
      },
    });
    this.hosts.set(row.id, host);
    return host;
  }

  #versionError(actors: Array<{ actorId: string; machineVersion: string }>): string | undefined {
    for (const a of actors) {
      const want = a.actorId === 'project' ? MACHINE_VERSION : TASK_MACHINE_VERSION;
      if (a.machineVersion !== want) {
        return `persisted snapshot of ${a.actorId} is for machine version ${a.machineVersion}, this runner runs ${want}; re-initialize or RETRY`;
      }
    }
    return undefined;
  }

  async #loadConfig(id: string): Promise<string | undefined> {
    const config = await this.#repo.config(id);
    if (!config) return undefined;
    const text = canonical(config);
    this.#configs.set(id, text);
    return text;
  }

  async #storedStatus(id: string): Promise<ProjectStatus> {
    const cached = this.d.projection.get(id);
    if (cached) return cached;
    const status = await this.#repo.status(id);
    if (!status) throw new ProjectNotFoundError(id);
    return status;
  }

  #locked<T>(id: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.#locks.get(id) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    const tail = next.catch(() => undefined);
    this.#locks.set(id, tail);
    void tail.then(() => this.#locks.get(id) === tail && this.#locks.delete(id));
    return next;
  }
}

/** Steps of a project whose config cannot be built: every step fails with that reason (RETRY says it again). */
function brokenSteps(reason: string): ProjectSteps {
  const fail = async (): Promise<never> => {
    throw new ProjectConfigError(reason);
  };
  return {
    syncRepo: fail, provisionSandbox: fail, checkTools: fail, selectTasks: fail, prepareTask: fail, runAgent: fail,
    runVerify: fail, integrate: fail, recordOutcome: fail, cleanup: async () => undefined,
  };
}

/**
 * The task actors to restore: every active one, and a final one only while the project still has
 * its lane (the project then learns the final state; a restore must never run a finished task again).
 */
function liveTasks(projectSnapshot: unknown, actors: Array<{ actorId: string; snapshot: unknown }>): RestoredTask[] {
  const lanes = new Set(((projectSnapshot as { context?: { lanes?: Array<{ taskId: string }> } } | undefined)?.context?.lanes ?? []).map((l) => l.taskId));
  return actors
    .filter((a) => a.actorId.startsWith('task:'))
    .map((a) => ({ taskId: a.actorId.slice(5), snapshot: a.snapshot }))
    .filter((t) => (t.snapshot as { status?: string } | null)?.status === 'active' || lanes.has(t.taskId));
}

/** A halted snapshot carrying the reason a persisted one could not be restored. */
function haltedSnapshot(machine: BoundMachines['project'], projectId: string, error: string) {
  const ctx = initialContext({ projectId, lastError: error });
  return machine.resolveState({ value: 'halted', context: { ...ctx, haltedFrom: 'syncingRepo' } });
}

/** Fill the sandbox kind chosen at the first initialize into a config that does not name one. */
function withResolved(config: Record<string, unknown>, stored: Record<string, unknown>): Record<string, unknown> {
  const kind = (stored.sandbox as { kind?: string } | undefined)?.kind;
  const sb = config.sandbox as { kind?: string } | undefined;
  if (!kind || sb?.kind) return config;
  return { ...config, sandbox: { ...(sb ?? {}), kind } };
}

/** JSON with sorted keys: equal configs compare equal regardless of key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1))) : v,
  );
}
