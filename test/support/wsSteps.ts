/**
 * In-process project steps for stream and event tests: a project's tasks come from its config
 * (`tasks: string[]`), every step resolves at once, runAgent writes `logs` log lines, and with
 * `hold: true` each runAgent waits until the test releases it — so a test decides exactly when
 * transitions happen, without timers or sleeps.
 */
import type { RuntimeOptions } from '../../src/actors/runtime.ts';
import type { ProjectSteps } from '../../src/actors/steps.ts';

export interface WsProjectConfig {
  projectId: string;
  tasks: string[];
  /** Log lines written by each runAgent (default 2). */
  logs?: number;
  /** Each runAgent waits for `release(projectId)`. */
  hold?: boolean;
}

interface Held {
  taskId: string;
  release: () => void;
}

export function controllableSteps() {
  const held = new Map<string, Held[]>();
  const waiters = new Map<string, Array<(h: Held) => void>>();
  const done = new Map<string, Set<string>>();
  const agentRuns: Array<{ projectId: string; taskId: string; attempt: number }> = [];

  const makeSteps: RuntimeOptions['makeSteps'] = (project): ProjectSteps => {
    const cfg = project.config as unknown as WsProjectConfig;
    const tasks = cfg.tasks ?? [];
    const completed = () => {
      let s = done.get(project.id);
      if (!s) done.set(project.id, (s = new Set()));
      return s;
    };
    return {
      syncRepo: async () => ({ headOid: 'head' }),
      provisionSandbox: async () => ({ kind: 'local' }),
      checkTools: async () => ({ tools: { sh: '1' } }),
      async selectTask(input) {
        const doneIds = tasks.filter((t) => completed().has(t));
        const left = tasks.filter((t) => !completed().has(t) && !input.skippedTaskIds.includes(t));
        const counts = { total: tasks.length, done: doneIds.length, skipped: 0, remaining: left.length };
        if (!left.length) return { kind: 'none', completedTaskIds: doneIds, blockedTaskIds: [], counts };
        return { kind: 'task', task: { id: left[0]!, title: `Task ${left[0]}` }, completedTaskIds: doneIds, blockedTaskIds: [], counts };
      },
      prepareTask: async (i) => ({ promptSha256: `sha-${i.taskId}-${i.attempt}`, branch: `devteam/${i.taskId}` }),
      async runAgent(i, ctx) {
        agentRuns.push({ projectId: project.id, taskId: i.taskId, attempt: i.attempt });
        for (let n = 1; n <= (cfg.logs ?? 2); n++) ctx.log('stdout', `task ${i.taskId} line ${n}`);
        if (cfg.hold) {
          await new Promise<void>((resolve, reject) => {
            const h: Held = { taskId: i.taskId, release: resolve };
            const w = waiters.get(project.id)?.shift();
            if (w) w(h);
            else held.set(project.id, [...(held.get(project.id) ?? []), h]);
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
          });
        }
        return { ok: true, agent: { kind: 'script', exitCode: 0, durationMs: 1, diffstat: '' } };
      },
      runVerify: async () => ({ ok: true, verify: { ok: true, exitCode: 0, durationMs: 1, outputTail: '', timedOut: false } }),
      integrate: async () => ({ targetOid: 'x', alreadyIntegrated: false }),
      async recordOutcome(i) {
        completed().add(i.taskId);
        return { pushed: true };
      },
      cleanup: async () => undefined,
    };
  };

  return {
    makeSteps,
    agentRuns,
    /** Resolves with the next (or an already waiting) held runAgent of the project. */
    held(projectId: string): Promise<Held> {
      const h = held.get(projectId)?.shift();
      if (h) return Promise.resolve(h);
      return new Promise((resolve) => waiters.set(projectId, [...(waiters.get(projectId) ?? []), resolve]));
    },
  };
}
