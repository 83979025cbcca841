/**
 * In-process project steps for server tests: a task list of N tasks, every step resolves at once
 * unless the test blocks it (then it waits until released or cancelled by PAUSE/STOP/shutdown)
 * or makes its next run fail (the project halts). runAgent writes a real artifact file, so the
 * runs and artifacts routes serve what a run really recorded. State is driven by these gates,
 * never by sleeps.
 */
import { createHash } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ProjectRecord } from '../../src/actors/registry.ts';
import type { ProjectSteps } from '../../src/actors/steps.ts';

export type GatedStep = 'syncRepo' | 'selectTask' | 'prepareTask' | 'runAgent' | 'runVerify' | 'integrate' | 'recordOutcome' | 'cleanup';

interface Gate {
  blocked: boolean;
  release: Array<() => void>;
  /** Calls currently waiting at this gate. */
  waiting: number;
  onEnter: Array<() => void>;
  fail?: string;
}

export interface TestStepsOptions {
  /** The task list every project sees; tests may push to it and wake a project (TASKS_CHANGED). */
  tasks: string[];
  dataDir: string;
  /** Content of the agent.log artifact runAgent writes (default: a short line). */
  artifactText?: (projectId: string, taskId: string, attempt: number) => string;
}

export class TestSteps {
  readonly calls: Array<{ projectId: string; step: GatedStep; taskId?: string; attempt?: number }> = [];
  readonly #gates = new Map<string, Gate>();
  readonly #done = new Map<string, Set<string>>();

  constructor(private o: TestStepsOptions) {}

  get tasks(): string[] {
    return this.o.tasks;
  }

  #gate(projectId: string, step: GatedStep): Gate {
    const k = `${projectId}/${step}`;
    let g = this.#gates.get(k);
    if (!g) this.#gates.set(k, (g = { blocked: false, release: [], waiting: 0, onEnter: [] }));
    return g;
  }

  /** Future (and current) runs of `step` wait until `release`. */
  block(projectId: string, step: GatedStep): void {
    this.#gate(projectId, step).blocked = true;
  }

  /** Unblock `step`: waiting runs continue, later runs pass. */
  release(projectId: string, step: GatedStep): void {
    const g = this.#gate(projectId, step);
    g.blocked = false;
    for (const r of g.release.splice(0)) r();
  }

  /** The next run of `step` throws a (non-transient) error: the project halts. */
  failNext(projectId: string, step: GatedStep, message = `${step} failed (test)`): void {
    this.#gate(projectId, step).fail = message;
  }

  /** Resolves when a run of `step` is waiting at its gate (at once if one already is). */
  waitingAt(projectId: string, step: GatedStep): Promise<void> {
    const g = this.#gate(projectId, step);
    if (g.waiting > 0) return Promise.resolve();
    return new Promise((r) => g.onEnter.push(r));
  }

  async #enter(projectId: string, step: GatedStep, signal: AbortSignal, task?: { taskId: string; attempt: number }): Promise<void> {
    this.calls.push({ projectId, step, ...task });
    const g = this.#gate(projectId, step);
    if (g.fail) {
      const msg = g.fail;
      g.fail = undefined;
      throw new Error(msg);
    }
    if (!g.blocked) return;
    g.waiting++;
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal.reason ?? new Error('aborted'));
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        g.release.push(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
        for (const r of g.onEnter.splice(0)) r();
      });
    } finally {
      g.waiting--;
    }
  }

  /** makeSteps for createRuntime. */
  readonly make = (project: ProjectRecord): ProjectSteps => {
    const id = project.id;
    const done = this.#done.get(id) ?? new Set<string>();
    this.#done.set(id, done);
    const tasks = this.o.tasks;
    return {
      syncRepo: async (_i, ctx) => (await this.#enter(id, 'syncRepo', ctx.signal), { headOid: 'head' }),
      provisionSandbox: async () => ({ kind: 'local' }),
      checkTools: async () => ({ tools: { sh: 'test' } }),
      selectTask: async (input, ctx) => {
        await this.#enter(id, 'selectTask', ctx.signal);
        const left = tasks.filter((t) => !done.has(t) && !input.skippedTaskIds.includes(t));
        const counts = { total: tasks.length, done: done.size, skipped: input.skippedTaskIds.length, remaining: left.length };
        if (!left.length) return { kind: 'none', completedTaskIds: [...done], blockedTaskIds: [], counts };
        return { kind: 'task', task: { id: left[0]!, title: `Task ${left[0]}` }, completedTaskIds: [...done], blockedTaskIds: [], counts };
      },
      prepareTask: async (i, ctx) => {
        await this.#enter(id, 'prepareTask', ctx.signal, i);
        return { promptSha256: createHash('sha256').update(`${i.taskId}:${i.attempt}`).digest('hex'), branch: `devteam/${i.taskId}` };
      },
      runAgent: async (i, ctx) => {
        await this.#enter(id, 'runAgent', ctx.signal, i);
        const dir = join(this.o.dataDir, 'artifacts', id, i.taskId, String(i.attempt));
        await mkdir(dir, { recursive: true });
        await writeFile(join(dir, 'agent.log'), this.o.artifactText?.(id, i.taskId, i.attempt) ?? `agent ran ${i.taskId} attempt ${i.attempt}\n`);
        return { ok: true, agent: { kind: 'script', exitCode: 0, durationMs: 1, diffstat: '1 file changed' }, artifacts: ['agent.log'] };
      },
      runVerify: async (i, ctx) => {
        await this.#enter(id, 'runVerify', ctx.signal, i);
        return { ok: true, verify: { ok: true, exitCode: 0, durationMs: 1, outputTail: 'ok', timedOut: false } };
      },
      integrate: async (i, ctx) => (await this.#enter(id, 'integrate', ctx.signal, i), { targetOid: 'x', alreadyIntegrated: false }),
      recordOutcome: async (i, ctx) => {
        await this.#enter(id, 'recordOutcome', ctx.signal, i);
        done.add(i.taskId);
        return { pushed: true };
      },
      cleanup: async (_i, ctx) => {
        await this.#enter(id, 'cleanup', ctx.signal);
      },
    };
  };
}
