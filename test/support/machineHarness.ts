/**
 * Controllable fakes for the project machine's actor slots: every invocation is recorded with its
 * input and AbortSignal and stays pending until the test settles it. No timers, no sleeps.
 */
import { createActor, fromCallback, fromPromise, SimulatedClock, waitFor, type AnyActorRef } from 'xstate';
import { projectMachine, type ProjectSnapshot } from '../../src/machines/project.machine.ts';

export interface Call {
  name: string;
  input: any;
  signal: AbortSignal;
  resolve(value: unknown): void;
  reject(error: unknown): void;
}

const SLOTS = [
  'syncRepo',
  'provisionSandbox',
  'checkTools',
  'selectTask',
  'prepareTask',
  'acquireSlot',
  'runAgent',
  'runVerify',
  'integrate',
  'recordOutcome',
  'cleanup',
] as const;

export function createHarness(opts: { snapshot?: unknown; projectId?: string } = {}) {
  const calls: Call[] = [];
  const waiters: Array<() => void> = [];
  const actors: Record<string, unknown> = {};
  for (const name of SLOTS) {
    actors[name] = fromPromise(({ input, signal }) => {
      return new Promise((resolve, reject) => {
        calls.push({ name, input, signal, resolve, reject });
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
  const machine = projectMachine.provide({ actors: actors as any });
  const clock = new SimulatedClock();
  const actor = createActor(machine, {
    input: { projectId: opts.projectId ?? 'p1' },
    clock,
    ...(opts.snapshot ? { snapshot: opts.snapshot as any } : {}),
  });
  const errors: unknown[] = [];
  actor.subscribe({ error: (e) => errors.push(e) });

  /** The newest pending call of that slot (waits for it to be invoked). */
  async function call(name: string): Promise<Call> {
    for (;;) {
      const c = [...calls].reverse().find((x) => x.name === name && !(x as any).settled);
      if (c) return c;
      await new Promise<void>((r) => waiters.push(r));
    }
  }
  async function settle(name: string, value: unknown, state?: string) {
    const c = await call(name);
    (c as any).settled = true;
    c.resolve(value);
    if (state) await reach(state);
    return c;
  }
  async function fail(name: string, error: unknown, state?: string) {
    const c = await call(name);
    (c as any).settled = true;
    c.reject(error);
    if (state) await reach(state);
    return c;
  }
  function reach(path: string) {
    return waitFor(actor as AnyActorRef, (s: any) => s.matches(toValue(path)) as boolean) as Promise<ProjectSnapshot>;
  }
  return { actor, calls, call, settle, fail, reach, clock, watchers, errors };
}

/** 'active.initializing.syncingRepo' → { active: { initializing: 'syncingRepo' } } */
export function toValue(path: string): any {
  const parts = path.split('.');
  let v: any = parts.pop();
  while (parts.length) v = { [parts.pop()!]: v };
  return v;
}

export const counts = (total: number, done: number, skipped = 0) => ({ total, done, skipped, remaining: total - done - skipped });
export const task = (id: string, done: string[] = [], total = 3) => ({
  kind: 'task' as const,
  task: { id, title: `Task ${id}` },
  completedTaskIds: done,
  blockedTaskIds: [],
  counts: counts(total, done.length),
});
export const nothing = (done: string[], blocked: string[] = [], total = done.length + blocked.length) => ({
  kind: 'none' as const,
  completedTaskIds: done,
  blockedTaskIds: blocked,
  counts: counts(total, done.length),
});
export const agentOk = { ok: true, agent: { kind: 'script', exitCode: 0, durationMs: 1, diffstat: '1 file' } };
export const verifyOk = { ok: true, verify: { ok: true, exitCode: 0, durationMs: 1, outputTail: '', timedOut: false } };
export const verifyFail = (tail = 'error TS2345') => ({
  ok: false,
  verify: { ok: false, exitCode: 2, durationMs: 1, outputTail: tail, timedOut: false },
  error: `verify exited 2: ${tail}`,
  feedback: tail,
});
