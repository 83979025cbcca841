/**
 * In-process project steps for tests and benchmarks (the one fake-steps builder): a project's task
 * list is a list of ids (independent tasks, document order), every step resolves at once unless
 * the caller blocks it (it then waits until released, or cancelled by PAUSE/STOP/shutdown), makes
 * its next run fail, or delays it. Completed tasks are remembered in memory, or — with `db` — read
 * back from the committed task_run rows, so progress survives a kill -9 of a child process.
 * Team mode works as with real steps: selectTasks dispatches up to `parallelism` tasks whose
 * declared `files` do not overlap.
 *
 * Benchmarks use it too (bench/).
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { planDispatch } from '../../src/domain/dispatch.ts';
import type { Database } from '../../src/infra/db/orm.ts';
import { projectRepository } from '../../src/infra/db/projectRepository.ts';
import type { ProjectRecord } from '../../src/actors/registry.ts';
import type { ProjectSteps, StepContext } from '../../src/actors/steps.ts';

export type FakeStep = 'syncRepo' | 'selectTasks' | 'prepareTask' | 'runAgent' | 'runVerify' | 'integrate' | 'recordOutcome' | 'cleanup';

export interface FakeStepsOptions {
  /** Task ids of a project (default: the project config's `tasks`, else ['1.1', '1.2']). */
  tasks?: string[] | ((project: ProjectRecord) => string[]);
  /** Remember completed tasks in the project's task_run rows (survives a restart) instead of memory. */
  db?: Database;
  /** Where runAgent writes an agent.log artifact (the runs/artifacts routes serve it). */
  dataDir?: string;
  /** Log lines each runAgent writes (default 0; a project config's `logs` wins). A config with `hold: true` holds every runAgent until `held()` releases it. */
  logs?: number;
  /** Tasks in flight at once (default 1). */
  parallelism?: number;
  /** Declared paths of a task (team mode: overlapping ones never run together). */
  files?: (taskId: string) => string[];
  /** Delay (ms) of each agent/verify run: `fixed`, or random in [0.5, 1.5] × it. */
  delayMs?: number;
  title?: (taskId: string) => string;
}

interface Gate {
  blocked: boolean;
  once: boolean;
  release: Array<() => void>;
  waiting: number;
  onEnter: Array<() => void>;
  fail?: string;
}

export class FakeSteps {
  readonly calls: Array<{ projectId: string; step: FakeStep; taskId?: string; attempt?: number }> = [];
  readonly #gates = new Map<string, Gate>();
  readonly #done = new Map<string, Set<string>>();
  readonly #held = new Map<string, Array<{ taskId: string; release: () => void }>>();
  readonly #heldWaiters = new Map<string, Array<(h: { taskId: string; release: () => void }) => void>>();
  /** Every runAgent call, in order. */
  readonly agentRuns: Array<{ projectId: string; taskId: string; attempt: number }> = [];

  /** The next (or an already waiting) held runAgent of a `hold: true` project; `release()` lets it finish. */
  held(projectId: string): Promise<{ taskId: string; release: () => void }> {
    const h = this.#held.get(projectId)?.shift();
    if (h) return Promise.resolve(h);
    return new Promise((resolve) => this.#heldWaiters.set(projectId, [...(this.#heldWaiters.get(projectId) ?? []), resolve]));
  }

  #hold(projectId: string, taskId: string, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const h = { taskId, release: resolve };
      const w = this.#heldWaiters.get(projectId)?.shift();
      if (w) w(h);
      else this.#held.set(projectId, [...(this.#held.get(projectId) ?? []), h]);
      signal.addEventListener('abort', () => reject(signal.reason), { once: true });
    });
  }

  constructor(private o: FakeStepsOptions = {}) {}

  /** Mutable list when `tasks` was given as an array: tests may push to it and wake a project. */
  get tasks(): string[] {
    return Array.isArray(this.o.tasks) ? this.o.tasks : [];
  }

  #gate(projectId: string, step: FakeStep, taskId?: string): Gate {
    const k = `${projectId}/${step}/${taskId ?? '*'}`;
    let g = this.#gates.get(k);
    if (!g) this.#gates.set(k, (g = { blocked: false, once: false, release: [], waiting: 0, onEnter: [] }));
    return g;
  }

  /** Future (and current) runs of `step` (of one task, or any) wait until `release`; `once`: only the next run. */
  block(projectId: string, step: FakeStep, opts: { taskId?: string; once?: boolean } = {}): void {
    const g = this.#gate(projectId, step, opts.taskId);
    g.blocked = true;
    g.once = opts.once ?? false;
  }

  /** Unblock `step`: waiting runs continue, later runs pass. */
  release(projectId: string, step: FakeStep, taskId?: string): void {
    const g = this.#gate(projectId, step, taskId);
    g.blocked = false;
    for (const r of g.release.splice(0)) r();
  }

  /** The next run of `step` throws a (non-transient) error. */
  failNext(projectId: string, step: FakeStep, message = `${step} failed (test)`, taskId?: string): void {
    this.#gate(projectId, step, taskId).fail = message;
  }

  /** Resolves when a run of `step` waits at its gate (at once if one already does). */
  waitingAt(projectId: string, step: FakeStep, taskId?: string): Promise<void> {
    const g = this.#gate(projectId, step, taskId);
    if (g.waiting > 0) return Promise.resolve();
    return new Promise((r) => g.onEnter.push(r));
  }

  async #enter(projectId: string, step: FakeStep, ctx: StepContext, task?: { taskId: string; attempt: number }): Promise<void> {
    this.calls.push({ projectId, step, ...task });
    for (const g of [this.#gate(projectId, step, task?.taskId), this.#gate(projectId, step)]) {
      if (g.fail) {
        const msg = g.fail;
        g.fail = undefined;
        throw new Error(msg);
      }
    }
    const g = [this.#gate(projectId, step, task?.taskId), this.#gate(projectId, step)].find((x) => x.blocked);
    if (!g) return;
    if (g.once) g.blocked = false;
    g.waiting++;
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(ctx.signal.reason ?? new Error('aborted'));
        if (ctx.signal.aborted) return onAbort();
        ctx.signal.addEventListener('abort', onAbort, { once: true });
        g.release.push(() => {
          ctx.signal.removeEventListener('abort', onAbort);
          resolve();
        });
        for (const r of g.onEnter.splice(0)) r();
      });
    } finally {
      g.waiting--;
    }
  }

  async #delay(ctx: StepContext): Promise<void> {
    const d = this.o.delayMs ?? 0;
    if (d > 0) await ctx.clock.sleep(d * (0.5 + Math.random()), ctx.signal);
  }

  /** makeSteps for createRuntime. */
  readonly make = (project: ProjectRecord): ProjectSteps => {
    const id = project.id;
    const list = () =>
      typeof this.o.tasks === 'function' ? this.o.tasks(project) : (this.o.tasks ?? (project.config.tasks as string[] | undefined) ?? ['1.1', '1.2']);
    const title = this.o.title ?? ((t: string) => `Task ${t}`);
    const memory = this.#done.get(id) ?? new Set<string>();
    this.#done.set(id, memory);
    const repo = this.o.db ? projectRepository(this.o.db) : null;
    const done = async (): Promise<Set<string>> => {
      if (!this.o.db) return memory;
      const rows = await this.o.db.query<{ task_id: string }>(`select task_id from task_run where project_id = $1 and outcome = 'completed'`, [id]);
      return new Set(rows.map((r) => r.task_id));
    };
    return {
      syncRepo: async (_i, ctx) => (await this.#enter(id, 'syncRepo', ctx), { headOid: 'head' }),
      provisionSandbox: async () => ({ kind: 'local' }),
      checkTools: async () => ({ tools: { sh: 'test' } }),
      selectTasks: async (input, ctx) => {
        await this.#enter(id, 'selectTasks', ctx);
        const tasks = list();
        const d = await done();
        const completedTaskIds = tasks.filter((t) => d.has(t));
        const counts = { total: tasks.length, done: completedTaskIds.length, skipped: input.skippedTaskIds.length, remaining: tasks.length - completedTaskIds.length - input.skippedTaskIds.length };
        const ids = planDispatch({
          tasks: tasks.map((t) => ({ id: t, dependencies: [], files: this.o.files?.(t) ?? [] })),
          doneIds: d,
          skippedIds: new Set(input.skippedTaskIds),
          inFlight: input.inFlight.map((t) => ({ id: t, declared: this.o.files?.(t) ?? [], changed: [] })),
          parallelism: this.o.parallelism ?? 1,
        });
        const start = await Promise.all(ids.map(async (t) => ({ id: t, title: title(t), attempt: (repo ? await repo.maxAttempt(id, t) : 0) + 1 })));
        return { kind: 'tasks', start, completedTaskIds, blockedTaskIds: [], counts, at: new Date(ctx.clock.now()).toISOString() };
      },
      prepareTask: async (i, ctx) => {
        await this.#enter(id, 'prepareTask', ctx, i);
        return { promptSha256: createHash('sha256').update(`${i.taskId}:${i.attempt}`).digest('hex'), branch: `devteam/${i.taskId}` };
      },
      runAgent: async (i, ctx) => {
        this.agentRuns.push({ projectId: id, taskId: i.taskId, attempt: i.attempt });
        const logs = (project.config.logs as number | undefined) ?? this.o.logs ?? 0;
        for (let n = 1; n <= logs; n++) ctx.log('stdout', `task ${i.taskId} line ${n}`);
        await this.#enter(id, 'runAgent', ctx, i);
        if (project.config.hold === true) await this.#hold(id, i.taskId, ctx.signal);
        await this.#delay(ctx);
        let artifacts: string[] = [];
        if (this.o.dataDir) {
          const dir = join(this.o.dataDir, 'artifacts', id, i.taskId, String(i.attempt));
          await mkdir(dir, { recursive: true });
          await writeFile(join(dir, 'agent.log'), `agent ran ${i.taskId} attempt ${i.attempt}\n`);
          artifacts = ['agent.log'];
        }
        return { ok: true, agent: { kind: 'script', exitCode: 0, durationMs: 1, diffstat: '1 file changed' }, artifacts };
      },
      runVerify: async (i, ctx) => {
        await this.#enter(id, 'runVerify', ctx, i);
        return { ok: true, verify: { ok: true, exitCode: 0, durationMs: 1, outputTail: 'ok', timedOut: false } };
      },
      integrate: async (i, ctx) => (await this.#enter(id, 'integrate', ctx, i), { kind: 'merged', targetOid: 'x', alreadyIntegrated: false }),
      recordOutcome: async (i, ctx) => {
        await this.#enter(id, 'recordOutcome', ctx, i);
        memory.add(i.taskId);
        return { pushed: true };
      },
      cleanup: async (_i, ctx) => {
        await this.#enter(id, 'cleanup', ctx);
      },
    };
  };
}

/** A promise that only settles (rejects) when the step is cancelled. */
export const untilAborted = (signal: AbortSignal) =>
  new Promise<never>((_, rej) => signal.addEventListener('abort', () => rej(signal.reason), { once: true }));
