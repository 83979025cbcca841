/**
 * Controllable fakes for the machines' actor slots: every invocation is recorded with its input
 * and AbortSignal and stays pending until the test settles it; emitted events are recorded. Pure
 * machine tests: no host, no timers, no sleeps.
 */
import { createActor, fromCallback, fromPromise, waitFor, type AnyActorLogic, type AnyActorRef } from 'xstate';
import { projectMachine } from '../../src/machines/project.machine.ts';
import { taskMachine } from '../../src/machines/task.machine.ts';

export interface Call {
  name: string;
  input: any;
  signal: AbortSignal;
  settled?: boolean;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

const PROJECT_SLOTS = ['syncRepo', 'provisionSandbox', 'checkTools', 'selectTasks', 'integrate', 'recordOutcome', 'cleanup'] as const;
const TASK_SLOTS = ['prepareTask', 'acquireSlot', 'runAgent', 'runVerify'] as const;

function harness<M extends AnyActorLogic>(machine: M, slots: readonly string[], input: unknown, snapshot?: unknown) {
  const calls: Call[] = [];
  const waiters: Array<() => void> = [];
  const actors: Record<string, unknown> = {};
  for (const name of slots) {
    actors[name] = fromPromise(({ input: i, signal }) => {
      return new Promise((resolve, reject) => {
        calls.push({ name, input: i, signal, resolve, reject });
        waiters.splice(0).forEach((w) => w());
      });
    });
  }
  const watchers: Array<{ sendBack: (e: any) => void; stopped: boolean }> = [];
  actors.watchRemote = fromCallback(({ sendBack }) => {
    const w = { sendBack, stopped: false };
    watchers.push(w);
    return () => {
      w.stopped = true;
    };
  });
  const provided = (machine as any).provide({ actors });
  const actor = createActor(provided, { input, ...(snapshot ? { snapshot } : {}) } as any);
  const emitted: any[] = [];
  actor.on('*', (e: any) => emitted.push(e));
  const errors: unknown[] = [];
  actor.subscribe({ error: (e) => errors.push(e) });

  /** The newest pending call of that slot (waits for it to be invoked). */
  async function call(name: string): Promise<Call> {
    for (;;) {
      const c = [...calls].reverse().find((x) => x.name === name && !x.settled);
      if (c) return c;
      await new Promise<void>((r) => waiters.push(r));
    }
  }
  async function settle(name: string, value: unknown) {
    const c = await call(name);
    c.settled = true;
    c.resolve(value);
    await Promise.resolve();
    return c;
  }
  async function fail(name: string, error: unknown) {
    const c = await call(name);
    c.settled = true;
    c.reject(error);
    await Promise.resolve();
    return c;
  }
  /** Resolves once the snapshot matches `value` (a state value object or a dotted path). */
  function reach(path: string | object) {
    return waitFor(actor as AnyActorRef, (s: any) => s.matches(typeof path === 'string' ? toValue(path) : path) as boolean);
  }
  return { actor: actor as any, calls, call, settle, fail, reach, watchers, emitted, errors };
}

export function projectHarness(opts: { snapshot?: unknown; projectId?: string } = {}) {
  return harness(projectMachine, PROJECT_SLOTS, { projectId: opts.projectId ?? 'p1' }, opts.snapshot);
}

export function taskHarness(opts: { snapshot?: unknown; attempt?: number; taskId?: string } = {}) {
  return harness(taskMachine, TASK_SLOTS, { projectId: 'p1', taskId: opts.taskId ?? '1.1', title: 'Task 1.1', attempt: opts.attempt ?? 1 }, opts.snapshot);
}

/** 'active.initializing.syncingRepo' → { active: { initializing: 'syncingRepo' } } */
export function toValue(path: string): any {
  const parts = path.split('.');
  let v: any = parts.pop();
  while (parts.length) v = { [parts.pop()!]: v };
  return v;
}

export const counts = (total: number, done: number, skipped = 0) => ({ total, done, skipped, remaining: total - done - skipped });
/** A selectTasks answer. */
export const selection = (start: Array<string | { id: string; attempt?: number }>, done: string[] = [], total = 3) => ({
  kind: 'tasks' as const,
  start: start.map((s) => (typeof s === 'string' ? { id: s, title: `Task ${s}`, attempt: 1 } : { id: s.id, title: `Task ${s.id}`, attempt: s.attempt ?? 1 })),
  completedTaskIds: done,
  blockedTaskIds: [],
  counts: counts(total, done.length),
  at: '2026-12-01T00:00:00.000Z',
});
export const lane = (taskId: string, state: string, attempt = 1, error: string | null = null) => ({
  type: 'LANE' as const,
  taskId,
  title: `Task ${taskId}`,
  attempt,
  state,
  error,
  at: '2026-12-01T00:00:01.000Z',
});
export const agentOk = { ok: true, agent: { kind: 'script', exitCode: 0, durationMs: 1, diffstat: '1 file' } };
export const agentFail = (why = 'agent exited 1') => ({ ok: false, agent: { kind: 'script', exitCode: 1, durationMs: 1, diffstat: '' }, error: why, feedback: why });
export const verifyOk = { ok: true, verify: { ok: true, exitCode: 0, durationMs: 1, outputTail: '', timedOut: false } };
export const verifyFail = (tail = 'error TS2345') => ({
  ok: false,
  verify: { ok: false, exitCode: 2, durationMs: 1, outputTail: tail, timedOut: false },
  error: `verify exited 2: ${tail}`,
  feedback: tail,
});
