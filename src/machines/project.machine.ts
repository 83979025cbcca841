/**
 * The project statechart (DEVTEAM_AUTOMATION). Pure: every side effect is a named actor slot
 * that the host provides (createProjectActors); this file imports only xstate and src/domain.
 *
 * Restore contract: an actor restored from a persisted snapshot re-invokes the step that was in
 * flight with its saved input, so every step must be idempotent. No `after` delays are used
 * (XState does not re-arm them on restore); waits live inside host-provided steps.
 */
import { assign, fromCallback, fromPromise, setup, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { EMPTY_COUNTS, type TaskCounts } from '../domain/status.ts';
import type * as T from './project.types.ts';

export * from './project.types.ts';

export const MACHINE_ID = 'DEVTEAM_AUTOMATION';
/** Bump on any change that makes old snapshots unrestorable; old snapshots then halt explicitly. */
export const MACHINE_VERSION = '3.1.0';
/** 1 attempt + 2 retries per budget (stop-on-error after that). */
export const ATTEMPTS_PER_BUDGET = 3;

/** A slot the host must provide; running it unprovided is an error, not a silent no-op. */
const notProvided = <O, I>(name: string) =>
  fromPromise<O, I>(async () => {
    throw new Error(`actor slot ${name} not provided`);
  });

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}


export const projectMachine = setup({
  types: {
    context: {} as T.ProjectContext,
    input: {} as T.ProjectInput,
    events: {} as T.ProjectEvent,
  },
  actors: {
    syncRepo: notProvided<T.SyncOutput, T.StepInput>('syncRepo'),
    provisionSandbox: notProvided<T.ProvisionOutput, T.StepInput>('provisionSandbox'),
    checkTools: notProvided<T.ToolsOutput, T.StepInput>('checkTools'),
    selectTask: notProvided<T.SelectOutput, T.SelectInput>('selectTask'),
    prepareTask: notProvided<T.PrepareOutput, T.TaskStepInput>('prepareTask'),
    acquireSlot: notProvided<void, T.StepInput>('acquireSlot'),
    runAgent: notProvided<T.AgentOutput, T.TaskStepInput>('runAgent'),
    runVerify: notProvided<T.VerifyOutput, T.TaskStepInput>('runVerify'),
    integrate: notProvided<T.IntegrateOutput, T.TaskStepInput>('integrate'),
    recordOutcome: notProvided<T.RecordOutput, T.TaskStepInput>('recordOutcome'),
    cleanup: notProvided<void, T.StepInput>('cleanup'),
    /** Idle/awaiting watcher: polls the remote and sends REPO_UPDATED / TASKS_CHANGED. */
    watchRemote: fromCallback<T.ProjectEvent, T.StepInput>(() => undefined),
  },
  guards: {
    hasTaskList: ({ event }) => (event as { output?: T.SelectOutput }).output?.kind !== 'noTaskList',
    selectedTask: ({ event }) => (event as { output?: T.SelectOutput }).output?.kind === 'task',
    noTaskList: ({ event }) => (event as { output?: T.SelectOutput }).output?.kind === 'noTaskList',
    agentOk: ({ event }) => (event as { output?: T.AgentOutput }).output?.ok === true,
    agentPermanent: ({ event }) => {
      const out = (event as { output?: T.AgentOutput }).output;
      return out?.ok === false && out.permanent === true;
    },
    verifyOk: ({ event }) => (event as { output?: T.VerifyOutput }).output?.ok === true,
    budgetLeft: ({ context }) =>
      context.currentTask !== null && context.currentTask.attempt - context.budgetStart + 1 < ATTEMPTS_PER_BUDGET,
    hasTask: ({ context }) => context.currentTask !== null,
    retryTaskWork: ({ context }) =>
      context.currentTask !== null &&
      ['preparing', 'waitingForSlot', 'executing', 'verifying'].includes(context.haltedFrom ?? ''),
    haltedFrom: ({ context }, step: T.StepName) => context.haltedFrom === step,
  },
  actions: {
    clearError: assign({ lastError: null, haltedFrom: null }),
    /** A step failed for good (its error event): halt with a message naming the step. */
    halt: assign((args, params: { step: T.StepName }) => ({
      lastError: `${params.step} failed: ${errorMessage((args.event as { error?: unknown }).error)}`,
      haltedFrom: params.step,
    })),
    /** The next attempt of the current task after a failed one; the working tree is kept. */
    nextAttempt: assign(({ context, event }) => {
      const out = (event as { output?: T.AgentOutput | T.VerifyOutput }).output;
      const task = context.currentTask!;
      return {
        currentTask: { ...task, attempt: task.attempt + 1 },
        feedback: out && !out.ok ? out.feedback : context.feedback,
        lastFailedRun: { taskId: task.id, attempt: task.attempt, run: context.run },
        run: emptyRun(),
      };
    }),
    recordAgent: assign({
      run: ({ context, event }) => {
        const out = (event as unknown as { output: T.AgentOutput }).output;
        return {
          ...context.run,
          agent: out.agent,
          promptSha256: out.promptSha256 ?? context.run.promptSha256,
          artifacts: mergeArtifacts(context.run.artifacts, out.artifacts),
        };
      },
    }),
    recordVerify: assign({
      run: ({ context, event }) => {
        const out = (event as unknown as { output: T.VerifyOutput }).output;
        return { ...context.run, verify: out.verify, artifacts: mergeArtifacts(context.run.artifacts, out.artifacts) };
      },
    }),
    haltOnFailedAttempt: assign(({ context, event }) => {
      const out = (event as { output?: T.AgentOutput | T.VerifyOutput }).output;
      return {
        lastError: out && !out.ok ? out.error : 'attempt failed',
        haltedFrom: out && 'verify' in out ? ('verifying' as const) : ('executing' as const),
        feedback: out && !out.ok ? out.feedback : context.feedback,
      };
    }),
  },
}).createMachine({
  id: MACHINE_ID,
  context: ({ input }) => initialContext(input),
  initial: 'active',
  states: {
    active: {
      initial: 'initializing',
      on: {
        PAUSE: { target: '#paused', actions: assign({ pausedFrom: ({ self }) => leafPath(self.getSnapshot().value) }) },
        STOP: { target: '#stopping' },
      },
      states: {
        hist: { type: 'history', history: 'deep' },
        initializing: {
          initial: 'syncingRepo',
          states: {
            syncingRepo: {
              invoke: {
                src: 'syncRepo',
                input: ({ context }) => ({ projectId: context.projectId }),
                onDone: { target: 'provisioningSandbox' },
                onError: { target: '#halted', actions: { type: 'halt', params: { step: 'syncingRepo' } } },
              },
            },
            provisioningSandbox: {
              invoke: {
                src: 'provisionSandbox',
                input: ({ context }) => ({ projectId: context.projectId }),
                onDone: { target: 'checkingTools', actions: assign({ sandboxKind: ({ event }) => event.output.kind }) },
                onError: { target: '#halted', actions: { type: 'halt', params: { step: 'provisioningSandbox' } } },
              },
            },
            checkingTools: {
              invoke: {
                src: 'checkTools',
                input: ({ context }) => ({ projectId: context.projectId }),
                onDone: { target: '#selecting', actions: assign({ tools: ({ event }) => event.output.tools }) },
                onError: { target: '#halted', actions: { type: 'halt', params: { step: 'checkingTools' } } },
              },
            },
          },
        },
        selecting: {
          id: 'selecting',
          invoke: {
            src: 'selectTask',
            input: ({ context }) => ({ projectId: context.projectId, skippedTaskIds: context.skippedTaskIds }),
            onDone: [
              {
                guard: 'noTaskList',
                target: 'awaitingTaskList',
                actions: assign(({ event }) => ({
                  templatePath: event.output.kind === 'noTaskList' ? event.output.templatePath : null,
                  currentTask: null,
                  taskCounts: EMPTY_COUNTS,
                  completedTaskIds: [],
                  blockedTaskIds: [],
                })),
              },
              {
                guard: 'selectedTask',
                target: 'preparing',
                actions: assign(({ context, event }) => {
                  const out = event.output as T.SelectedTask;
                  const same = context.currentTask?.id === out.task.id;
                  // Attempt numbers of a task never repeat, even across RETRY/SKIP/restarts.
                  const attempt = same ? context.currentTask!.attempt + 1 : out.task.nextAttempt ?? 1;
                  return {
                    ...progress(out),
                    templatePath: null,
                    currentTask: { id: out.task.id, title: out.task.title, attempt },
                    budgetStart: attempt,
                    feedback: null,
                    run: emptyRun(),
                  };
                }),
              },
              {
                target: 'idle',
                actions: assign(({ event }) => ({ ...progress(event.output as T.NothingSelected), templatePath: null, currentTask: null })),
              },
            ],
            onError: { target: '#halted', actions: { type: 'halt', params: { step: 'selecting' } } },
          },
        },
        preparing: {
          invoke: {
            src: 'prepareTask',
            input: ({ context }) => taskInput(context),
            onDone: {
              target: 'waitingForSlot',
              actions: assign({
                run: ({ context, event }) => ({
                  ...context.run,
                  promptSha256: event.output.promptSha256,
                  branch: event.output.branch,
                  artifacts: mergeArtifacts(context.run.artifacts, event.output.artifacts),
                }),
              }),
            },
            onError: { target: '#halted', actions: { type: 'halt', params: { step: 'preparing' } } },
          },
        },
        waitingForSlot: {
          invoke: {
            src: 'acquireSlot',
            input: ({ context }) => ({ projectId: context.projectId }),
            onDone: { target: 'executing' },
            onError: { target: '#halted', actions: { type: 'halt', params: { step: 'waitingForSlot' } } },
          },
        },
        executing: {
          invoke: {
            src: 'runAgent',
            input: ({ context }) => taskInput(context),
            onDone: [
              { guard: 'agentOk', target: 'verifying', actions: 'recordAgent' },
              { guard: 'agentPermanent', target: '#halted', actions: ['recordAgent', 'haltOnFailedAttempt'] },
              { guard: 'budgetLeft', target: 'executing', reenter: true, actions: ['recordAgent', 'nextAttempt'] },
              { target: '#halted', actions: ['recordAgent', 'haltOnFailedAttempt'] },
            ],
            onError: { target: '#halted', actions: { type: 'halt', params: { step: 'executing' } } },
          },
        },
        verifying: {
          invoke: {
            src: 'runVerify',
            input: ({ context }) => taskInput(context),
            onDone: [
              { guard: 'verifyOk', target: 'integrating', actions: 'recordVerify' },
              { guard: 'budgetLeft', target: 'executing', actions: ['recordVerify', 'nextAttempt'] },
              { target: '#halted', actions: ['recordVerify', 'haltOnFailedAttempt'] },
            ],
            onError: { target: '#halted', actions: { type: 'halt', params: { step: 'verifying' } } },
          },
        },
        integrating: {
          invoke: {
            src: 'integrate',
            input: ({ context }) => taskInput(context),
            onDone: { target: 'recording' },
            onError: { target: '#halted', actions: { type: 'halt', params: { step: 'integrating' } } },
          },
        },
        recording: {
          invoke: {
            src: 'recordOutcome',
            input: ({ context }) => taskInput(context),
            onDone: {
              target: 'selecting',
              actions: assign(({ context }) => ({
                completedTaskIds: addUnique(context.completedTaskIds, context.currentTask!.id),
                lastCompleted: { ...context.currentTask! },
                currentTask: null,
                feedback: null,
                lastError: null,
              })),
            },
            onError: { target: '#halted', actions: { type: 'halt', params: { step: 'recording' } } },
          },
        },
        idle: {
          invoke: { src: 'watchRemote', input: ({ context }) => ({ projectId: context.projectId }) },
          on: { REPO_UPDATED: { target: 'selecting' }, TASKS_CHANGED: { target: 'selecting' } },
        },
        awaitingTaskList: {
          invoke: { src: 'watchRemote', input: ({ context }) => ({ projectId: context.projectId }) },
          on: { REPO_UPDATED: { target: 'selecting' }, TASKS_CHANGED: { target: 'selecting' } },
        },
      },
    },
    paused: {
      id: 'paused',
      on: {
        PAUSE: {},
        RESUME: { target: 'active.hist', actions: assign({ pausedFrom: null }) },
        STOP: { target: 'stopping' },
      },
    },
    halted: {
      id: 'halted',
      on: {
        RETRY: [
          {
            guard: 'retryTaskWork',
            target: 'active.preparing',
            actions: [
              'clearError',
              // A fresh budget of 1 + 2 attempts; numbering continues, never reused.
              assign(({ context }) => {
                const attempt = context.currentTask!.attempt + 1;
                return { currentTask: { ...context.currentTask!, attempt }, budgetStart: attempt, run: emptyRun() };
              }),
            ],
          },
          ...(['integrating', 'recording', 'selecting', 'provisioningSandbox', 'checkingTools'] as const).map((step) => ({
            guard: { type: 'haltedFrom' as const, params: step },
            target: step === 'provisioningSandbox' || step === 'checkingTools' ? `active.initializing.${step}` : `active.${step}`,
            actions: 'clearError' as const,
          })),
          { target: 'active.initializing', actions: 'clearError' },
        ],
        SKIP: {
          guard: 'hasTask',
          target: 'active.selecting',
          actions: [
            'clearError',
            assign(({ context }) => ({
              skippedTaskIds: addUnique(context.skippedTaskIds, context.currentTask!.id),
              lastSkipped: { ...context.currentTask! },
              currentTask: null,
              feedback: null,
            })),
          ],
        },
        STOP: { target: 'stopping' },
      },
    },
    stopping: {
      id: 'stopping',
      invoke: {
        src: 'cleanup',
        input: ({ context }) => ({ projectId: context.projectId }),
        onDone: { target: 'stopped' },
        onError: { target: 'stopped', actions: assign({ lastError: ({ event }) => `cleanup failed: ${errorMessage(event.error)}` }) },
      },
    },
    stopped: { type: 'final' },
  },
});

export type ProjectMachine = typeof projectMachine;
export type ProjectActorRef = ActorRefFrom<ProjectMachine>;
export type ProjectSnapshot = SnapshotFrom<ProjectMachine>;

export function initialContext(input: T.ProjectInput): T.ProjectContext {
  return {
    projectId: input.projectId,
    currentTask: null,
    budgetStart: 1,
    feedback: null,
    completedTaskIds: [],
    skippedTaskIds: input.skippedTaskIds ?? [],
    blockedTaskIds: [],
    taskCounts: EMPTY_COUNTS,
    lastError: input.lastError ?? null,
    haltedFrom: null,
    pausedFrom: null,
    tools: null,
    templatePath: null,
    sandboxKind: null,
    run: emptyRun(),
    lastCompleted: null,
    lastSkipped: null,
    lastFailedRun: null,
  };
}

function emptyRun(): T.RunInfo {
  return { promptSha256: null, branch: null, agent: null, verify: null, artifacts: [] };
}

function taskInput(context: T.ProjectContext): T.TaskStepInput {
  const task = context.currentTask!;
  return { projectId: context.projectId, taskId: task.id, title: task.title, attempt: task.attempt, feedback: context.feedback };
}

function mergeArtifacts(have: string[], add: string[] | undefined): string[] {
  if (!add?.length) return have;
  return [...have, ...add.filter((a) => !have.includes(a))];
}

function progress(out: { completedTaskIds: string[]; blockedTaskIds: string[]; counts: TaskCounts }) {
  return { completedTaskIds: out.completedTaskIds, blockedTaskIds: out.blockedTaskIds, taskCounts: out.counts };
}

function addUnique(list: string[], id: string): string[] {
  return list.includes(id) ? list : [...list, id];
}

/** `{active: {initializing: 'syncingRepo'}}` → `active.initializing.syncingRepo`. */
export function leafPath(value: unknown): string {
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
