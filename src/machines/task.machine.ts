/**
 * One task in flight (DEVTEAM_TASK): a lane of the team. Pure: every side effect is a named actor
 * slot the host provides; the machine tells the host what happened with emitted events
 * (`task.*`, see TaskEmitted); the project actor learns its state through the host.
 *
 *   preparing → waitingForSlot → executing → verifying → ready ─MERGED→ done
 *                                   ▲  fail, budget left │          │ REWORK (conflict / broken
 *                                   └────────────────────┘          ▼  merged build: feedback)
 *                                                              preparing (on the new target head)
 *   a failure for good → halted ─RETRY→ preparing (a fresh budget) / SKIP → skipped
 *   PAUSE (any active state) → paused ─RESUME→ back where it was; STOP → stopped
 *
 * Persisted as its own snapshot row (owned by the project); restore re-invokes the step in flight
 * with its saved input, so every step is idempotent. No `after` delays (not re-armed on restore).
 */
import { assign, emit, enqueueActions, fromPromise, setup, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { errorMessage, notProvided } from './shared.ts';
import type * as T from './task.types.ts';

export * from './task.types.ts';

export const TASK_MACHINE_ID = 'DEVTEAM_TASK';
/** Bump on any change that makes old snapshots unrestorable; old snapshots then halt explicitly. */
export const TASK_MACHINE_VERSION = '1.0.0';
/** 1 attempt + 2 retries per budget (stop-on-error after that). */
export const ATTEMPTS_PER_BUDGET = 3;


const emptyRun = (): T.RunInfo => ({ promptSha256: null, branch: null, agent: null, verify: null, artifacts: [], usage: null });

export const taskMachine = setup({
  types: {
    context: {} as T.TaskContext,
    input: {} as T.TaskInput,
    events: {} as T.TaskEvent,
    emitted: {} as T.TaskEmitted,
  },
  actors: {
    prepareTask: notProvided<T.PrepareOutput, T.TaskStepInput>('prepareTask'),
    acquireSlot: notProvided<void, T.TaskStepInput>('acquireSlot'),
    runAgent: notProvided<T.AgentOutput, T.TaskStepInput>('runAgent'),
    runVerify: notProvided<T.VerifyOutput, T.TaskStepInput>('runVerify'),
  },
  guards: {
    succeeded: (_: unknown, p: { ok: boolean }) => p.ok,
    permanent: (_: unknown, p: { ok: boolean; permanent?: boolean }) => !p.ok && p.permanent === true,
    budgetLeft: ({ context }) => context.attempt - context.budgetStart + 1 < ATTEMPTS_PER_BUDGET,
  },
  actions: {
    /** A step failed for good (its error event): halt with a message naming the step. */
    halt: assign((_, p: { step: T.TaskStepName; error: unknown }) => ({ lastError: `${p.step} failed: ${errorMessage(p.error)}`, haltedFrom: p.step })),
    /** The attempt's result: what the host records in the attempt's task_run row. */
    record: assign(({ context }, p: { agent?: T.AgentInfo; verify?: T.VerifyInfo; artifacts?: string[]; promptSha256?: string; usage?: T.Usage }) => ({
      run: {
        ...context.run,
        ...(p.agent ? { agent: p.agent } : {}),
        ...(p.verify ? { verify: p.verify } : {}),
        ...(p.promptSha256 ? { promptSha256: p.promptSha256 } : {}),
        ...(p.usage ? { usage: p.usage } : {}),
        artifacts: mergeArtifacts(context.run.artifacts, p.artifacts),
      },
    })),
    /** The attempt is over (failed): announce it, then the next attempt runs with the feedback. */
    nextAttempt: enqueueActions(({ context, enqueue }, p: { error: string; feedback: string }) => {
      enqueue.emit({ type: 'task.attemptEnded', attempt: context.attempt, outcome: 'failed', run: context.run, error: p.error });
      enqueue.assign({ attempt: context.attempt + 1, feedback: p.feedback, run: emptyRun() });
      enqueue.emit({ type: 'task.attemptStarted', attempt: context.attempt + 1 });
    }),
    haltAttempt: assign((_, p: { error: string; feedback: string; step: T.TaskStepName }) => ({ lastError: p.error, haltedFrom: p.step, feedback: p.feedback })),
  },
}).createMachine({
  id: TASK_MACHINE_ID,
  context: ({ input }) => ({
    projectId: input.projectId,
    taskId: input.taskId,
    title: input.title,
    attempt: input.attempt,
    budgetStart: input.attempt,
    feedback: input.feedback ?? null,
    run: emptyRun(),
    lastError: null,
    haltedFrom: null,
    pausedFrom: null,
  }),
  initial: 'active',
  entry: emit(({ context }) => ({ type: 'task.attemptStarted' as const, attempt: context.attempt })),
  states: {
    active: {
      initial: 'preparing',
      on: {
        PAUSE: { target: 'paused', actions: assign({ pausedFrom: ({ self }) => leaf(self.getSnapshot().value) }) },
        STOP: { target: 'stopped' },
      },
      states: {
        hist: { type: 'history', history: 'deep' },
        preparing: {
          invoke: {
            src: 'prepareTask',
            input: ({ context }) => stepInput(context),
            onDone: {
              target: 'waitingForSlot',
              actions: assign({
                run: ({ context, event }) => ({ ...context.run, promptSha256: event.output.promptSha256, branch: event.output.branch, artifacts: mergeArtifacts(context.run.artifacts, event.output.artifacts) }),
              }),
            },
            onError: { target: '#DEVTEAM_TASK.halted', actions: { type: 'halt', params: ({ event }) => ({ step: 'preparing' as const, error: event.error }) } },
          },
        },
        waitingForSlot: {
          invoke: {
            src: 'acquireSlot',
            input: ({ context }) => stepInput(context),
            onDone: { target: 'executing' },
            onError: { target: '#DEVTEAM_TASK.halted', actions: { type: 'halt', params: ({ event }) => ({ step: 'waitingForSlot' as const, error: event.error }) } },
          },
        },
        executing: {
          invoke: {
            src: 'runAgent',
            input: ({ context }) => stepInput(context),
            onDone: [
              {
                guard: { type: 'succeeded', params: ({ event }) => ({ ok: event.output.ok }) },
                target: 'verifying',
                actions: { type: 'record', params: ({ event }) => event.output },
              },
              {
                guard: { type: 'permanent', params: ({ event }) => ({ ok: event.output.ok, permanent: event.output.ok ? false : event.output.permanent }) },
                target: '#DEVTEAM_TASK.halted',
                actions: [
                  { type: 'record', params: ({ event }) => event.output },
                  { type: 'haltAttempt', params: ({ event }) => failure(event.output, 'executing') },
                ],
              },
              {
                guard: 'budgetLeft',
                target: 'executing',
                reenter: true,
                actions: [{ type: 'record', params: ({ event }) => event.output }, { type: 'nextAttempt', params: ({ event }) => failure(event.output, 'executing') }],
              },
              {
                target: '#DEVTEAM_TASK.halted',
                actions: [{ type: 'record', params: ({ event }) => event.output }, { type: 'haltAttempt', params: ({ event }) => failure(event.output, 'executing') }],
              },
            ],
            onError: { target: '#DEVTEAM_TASK.halted', actions: { type: 'halt', params: ({ event }) => ({ step: 'executing' as const, error: event.error }) } },
          },
        },
        verifying: {
          invoke: {
            src: 'runVerify',
            input: ({ context }) => stepInput(context),
            onDone: [
              {
                guard: { type: 'succeeded', params: ({ event }) => ({ ok: event.output.ok }) },
                target: 'ready',
                actions: { type: 'record', params: ({ event }) => event.output },
              },
              {
                guard: 'budgetLeft',
                target: 'executing',
                actions: [{ type: 'record', params: ({ event }) => event.output }, { type: 'nextAttempt', params: ({ event }) => failure(event.output, 'verifying') }],
              },
              {
                target: '#DEVTEAM_TASK.halted',
                actions: [{ type: 'record', params: ({ event }) => event.output }, { type: 'haltAttempt', params: ({ event }) => failure(event.output, 'verifying') }],
              },
            ],
            onError: { target: '#DEVTEAM_TASK.halted', actions: { type: 'halt', params: ({ event }) => ({ step: 'verifying' as const, error: event.error }) } },
          },
        },
        /** Verified: waits for the merge train (the project actor). */
        ready: {
          entry: emit(({ context }) => ({ type: 'task.ready' as const, attempt: context.attempt })),
          on: {
            MERGED: { target: '#DEVTEAM_TASK.done' },
            REWORK: [
              {
                guard: 'budgetLeft',
                target: 'preparing',
                actions: { type: 'nextAttempt', params: ({ event }) => ({ error: event.reason, feedback: event.feedback }) },
              },
              {
                target: '#DEVTEAM_TASK.halted',
                actions: { type: 'haltAttempt', params: ({ event }) => ({ error: event.reason, feedback: event.feedback, step: 'merging' as const }) },
              },
            ],
          },
        },
      },
    },
    paused: {
      on: {
        PAUSE: {},
        RESUME: { target: 'active.hist', actions: assign({ pausedFrom: null }) },
        STOP: { target: 'stopped' },
      },
    },
    halted: {
      entry: emit(({ context }) => ({ type: 'task.halted' as const, attempt: context.attempt, error: context.lastError ?? 'halted' })),
      on: {
        RETRY: {
          target: 'active.preparing',
          actions: [
            emit(({ context }) => ({ type: 'task.attemptEnded' as const, attempt: context.attempt, outcome: 'failed' as const, run: context.run, error: context.lastError ?? 'halted' })),
            // A fresh budget of 1 + 2 attempts; numbering continues, never reused.
            assign(({ context }) => ({ attempt: context.attempt + 1, budgetStart: context.attempt + 1, lastError: null, haltedFrom: null, run: emptyRun() })),
            emit(({ context }) => ({ type: 'task.attemptStarted' as const, attempt: context.attempt + 1 })),
          ],
        },
        SKIP: { target: 'skipped' },
        STOP: { target: 'stopped' },
      },
    },
    done: {
      type: 'final',
      entry: emit(({ context }) => ({ type: 'task.attemptEnded' as const, attempt: context.attempt, outcome: 'completed' as const, run: context.run, error: null })),
    },
    skipped: {
      type: 'final',
      entry: emit(({ context }) => ({ type: 'task.attemptEnded' as const, attempt: context.attempt, outcome: 'skipped' as const, run: context.run, error: context.lastError })),
    },
    stopped: {
      type: 'final',
      entry: emit(({ context }) => ({ type: 'task.attemptEnded' as const, attempt: context.attempt, outcome: 'cancelled' as const, run: context.run, error: null })),
    },
  },
});

export type TaskMachine = typeof taskMachine;
export type TaskActorRef = ActorRefFrom<TaskMachine>;
export type TaskSnapshot = SnapshotFrom<TaskMachine>;

function stepInput(c: T.TaskContext): T.TaskStepInput {
  return { projectId: c.projectId, taskId: c.taskId, title: c.title, attempt: c.attempt, feedback: c.feedback };
}

function failure(out: T.AgentOutput | T.VerifyOutput, step: T.TaskStepName): { error: string; feedback: string; step: T.TaskStepName } {
  return out.ok ? { error: 'attempt failed', feedback: '', step } : { error: out.error, feedback: out.feedback, step };
}

function mergeArtifacts(have: string[], add: string[] | undefined): string[] {
  if (!add?.length) return have;
  return [...have, ...add.filter((a) => !have.includes(a))];
}

/** `{active: 'executing'}` → `active.executing`. */
export function leaf(value: unknown): string {
  if (typeof value === 'string') return value;
  const parts: string[] = [];
  let v: unknown = value;
  while (v && typeof v === 'object') {
    const [k, next] = Object.entries(v as Record<string, unknown>)[0] ?? [];
    if (k === undefined) break;
    parts.push(k);
    v = next;
  }
  if (typeof v === 'string') parts.push(v);
  return parts.join('.');
}
