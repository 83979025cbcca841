/**
 * The project statechart (DEVTEAM_AUTOMATION): the team's coordinator. Pure: every side effect is
 * a named actor slot the host provides; the machine tells the host what to do with task actors
 * through emitted events and its `outbox`, and learns their states from `LANE` events.
 *
 *   initializing (sync → sandbox → tools) → running, two regions:
 *     dispatch: selecting ─(tasks to start: lane.start)→ watching ─LANE_FREED→ selecting …
 *               selecting → idle / awaitingTaskList (wake on REPO_UPDATED / TASKS_CHANGED)
 *     train:    waiting ─(a verified task queued)→ integrating → recording → waiting
 *               (integrating may send the task back: REWORK with the conflict / failing build)
 *   PAUSE → paused ─RESUME→ back where it was; STOP → stopping → stopped (final);
 *   a project step failing for good → halted ─RETRY→ that step / SKIP (the task at the train's head).
 *
 * Tasks in flight live in their own persisted actors (task.machine.ts); `lanes` mirrors them.
 * Restore contract: the step in flight re-runs with its saved input (steps are idempotent); no
 * `after` delays. MACHINE_VERSION is recorded with every snapshot; another version halts explicitly.
 */
import { assign, emit, enqueueActions, fromCallback, fromPromise, raise, setup, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { EMPTY_COUNTS } from '../domain/status.ts';
import { errorMessage, notProvided } from './shared.ts';
import type * as T from './project.types.ts';

export * from './project.types.ts';

export const MACHINE_ID = 'DEVTEAM_AUTOMATION';
/** Bump on any change that makes old snapshots unrestorable; old snapshots then halt explicitly. */
export const MACHINE_VERSION = '4.0.0';


/** Lane states that end a lane (the task actor is final). */
const FINAL = new Set(['done', 'skipped', 'stopped']);

export const projectMachine = setup({
  types: {
    context: {} as T.ProjectContext,
    input: {} as T.ProjectInput,
    events: {} as T.ProjectEvent,
    emitted: {} as T.ProjectEmitted,
  },
  actors: {
    syncRepo: notProvided<T.SyncOutput, T.StepInput>('syncRepo'),
    provisionSandbox: notProvided<T.ProvisionOutput, T.StepInput>('provisionSandbox'),
    checkTools: notProvided<T.ToolsOutput, T.StepInput>('checkTools'),
    selectTasks: notProvided<T.SelectOutput, T.SelectInput>('selectTasks'),
    integrate: notProvided<T.IntegrateOutput, T.MergeInput>('integrate'),
    recordOutcome: notProvided<T.RecordOutput, T.MergeInput>('recordOutcome'),
    cleanup: notProvided<void, T.StepInput>('cleanup'),
    /** Idle/awaiting watcher: polls the remote and sends REPO_UPDATED / TASKS_CHANGED. */
    watchRemote: fromCallback<T.ProjectEvent, T.StepInput>(() => undefined),
  },
  guards: {
    noTaskList: (_: unknown, p: { kind: T.SelectOutput['kind']; busy: boolean }) => p.kind === 'noTaskList' && !p.busy,
    nothingToDo: ({ context }: { context: T.ProjectContext }, p: { starts: number }) => p.starts === 0 && context.lanes.length === 0 && context.mergeQueue.length === 0,
    queued: ({ context }: { context: T.ProjectContext }) => context.mergeQueue.length > 0,
    merged: (_: unknown, p: { kind: T.IntegrateOutput['kind'] }) => p.kind === 'merged',
    haltedFrom: ({ context }: { context: T.ProjectContext }, step: T.StepName) => context.haltedFrom === step,
  },
  actions: {
    clearError: assign({ lastError: null, haltedFrom: null }),
    halt: assign((_, p: { step: T.StepName; error: unknown }) => ({ lastError: `${p.step} failed: ${errorMessage(p.error)}`, haltedFrom: p.step })),
    /** Start lanes for the selected tasks and record the list's progress. */
    startLanes: enqueueActions(({ context, enqueue }, p: { out: T.Selection }) => {
      const lanes = [...context.lanes];
      for (const t of p.out.start) {
        if (lanes.some((l) => l.taskId === t.id)) continue;
        lanes.push({ taskId: t.id, title: t.title, attempt: t.attempt, state: 'preparing', since: p.out.at, error: null });
        enqueue.emit({ type: 'lane.start', taskId: t.id, title: t.title, attempt: t.attempt });
      }
      enqueue.assign({
        lanes,
        templatePath: null,
        completedTaskIds: p.out.completedTaskIds,
        blockedTaskIds: p.out.blockedTaskIds,
        taskCounts: p.out.counts,
      });
    }),
    /** A task actor's committed state (idempotent: replays after a restart change nothing). */
    applyLane: enqueueActions(({ context, enqueue }, e: T.LaneEvent) => {
      const lane = context.lanes.find((l) => l.taskId === e.taskId);
      if (!lane) return;
      const without = (xs: string[]) => xs.filter((x) => x !== e.taskId);
      if (FINAL.has(e.state)) {
        enqueue.assign({
          lanes: context.lanes.filter((l) => l.taskId !== e.taskId),
          mergeQueue: without(context.mergeQueue),
          outbox: context.outbox.filter((o) => o.taskId !== e.taskId),
          skippedTaskIds: e.state === 'skipped' && !context.skippedTaskIds.includes(e.taskId) ? [...context.skippedTaskIds, e.taskId] : context.skippedTaskIds,
        });
        enqueue.raise({ type: 'LANE_FREED' });
        return;
      }
      // A REWORK on its way: the task's replayed `ready` is stale until it shows a newer attempt.
      const pending = context.outbox.some((o) => o.taskId === e.taskId && o.kind === 'REWORK' && o.attempt >= e.attempt);
      const outbox = context.outbox.filter((o) => !(o.taskId === e.taskId && o.kind === 'REWORK' && o.attempt < e.attempt));
      const state = pending ? 'reworking' : e.state;
      const changed = state !== lane.state || e.attempt !== lane.attempt;
      const lanes = context.lanes.map((l) => (l.taskId === e.taskId ? { ...l, state, attempt: e.attempt, error: e.error, since: changed ? e.at : l.since, resumes: e.resumes ?? null } : l));
      const mergeQueue = state === 'ready' && !context.mergeQueue.includes(e.taskId) ? [...context.mergeQueue, e.taskId] : context.mergeQueue;
      enqueue.assign({ lanes, outbox, mergeQueue });
    }),
    /** The train sends the head task back to work on the new target head. */
    rework: enqueueActions(({ context, enqueue }, p: { reason: string; feedback: string }) => {
      const head = context.mergeQueue[0]!;
      const lane = context.lanes.find((l) => l.taskId === head)!;
      enqueue.assign({
        mergeQueue: context.mergeQueue.slice(1),
        lanes: context.lanes.map((l) => (l.taskId === head ? { ...l, state: 'reworking' } : l)),
        outbox: [...context.outbox, { taskId: head, attempt: lane.attempt, kind: 'REWORK', reason: p.reason, feedback: p.feedback }],
      });
      enqueue.emit({ type: 'task.rework', taskId: head, attempt: lane.attempt, reason: p.reason });
    }),
    /** The head task is integrated and pushed: done. */
    merged: enqueueActions(({ context, enqueue }) => {
      const head = context.mergeQueue[0]!;
      const lane = context.lanes.find((l) => l.taskId === head);
      const attempt = lane?.attempt ?? 0;
      enqueue.assign({
        mergeQueue: context.mergeQueue.slice(1),
        lanes: context.lanes.filter((l) => l.taskId !== head),
        completedTaskIds: context.completedTaskIds.includes(head) ? context.completedTaskIds : [...context.completedTaskIds, head],
        outbox: [...context.outbox.filter((o) => o.taskId !== head), { taskId: head, attempt, kind: 'MERGED' }],
        lastError: null,
      });
      enqueue.emit({ type: 'task.merged', taskId: head, attempt });
      enqueue.raise({ type: 'LANE_FREED' });
    }),
    /** SKIP of a halted train: give up the head task. */
    skipHead: enqueueActions(({ context, enqueue }) => {
      const head = context.mergeQueue[0]!;
      const lane = context.lanes.find((l) => l.taskId === head);
      enqueue.assign({
        mergeQueue: context.mergeQueue.slice(1),
        lanes: context.lanes.filter((l) => l.taskId !== head),
        skippedTaskIds: [...context.skippedTaskIds, head],
        outbox: [...context.outbox.filter((o) => o.taskId !== head), { taskId: head, attempt: lane?.attempt ?? 0, kind: 'SKIP' }],
      });
      enqueue.emit({ type: 'task.skipped', taskId: head });
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
        PAUSE: { target: '#paused', actions: assign({ pausedFrom: ({ self }) => leafPaths(self.getSnapshot().value).join(',') }) },
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
                onError: { target: '#halted', actions: { type: 'halt', params: ({ event }) => ({ step: 'syncingRepo' as const, error: event.error }) } },
              },
            },
            provisioningSandbox: {
              invoke: {
                src: 'provisionSandbox',
                input: ({ context }) => ({ projectId: context.projectId }),
                onDone: { target: 'checkingTools', actions: assign({ sandboxKind: ({ event }) => event.output.kind }) },
                onError: { target: '#halted', actions: { type: 'halt', params: ({ event }) => ({ step: 'provisioningSandbox' as const, error: event.error }) } },
              },
            },
            checkingTools: {
              invoke: {
                src: 'checkTools',
                input: ({ context }) => ({ projectId: context.projectId }),
                onDone: { target: '#running', actions: assign({ tools: ({ event }) => event.output.tools }) },
                onError: { target: '#halted', actions: { type: 'halt', params: ({ event }) => ({ step: 'checkingTools' as const, error: event.error }) } },
              },
            },
          },
        },
        running: {
          id: 'running',
          type: 'parallel',
          on: { LANE: { actions: { type: 'applyLane', params: ({ event }) => event } } },
          states: {
            dispatch: {
              initial: 'selecting',
              states: {
                selecting: {
                  id: 'selecting',
                  on: { LANE_FREED: { target: 'selecting', reenter: true } },
                  invoke: {
                    src: 'selectTasks',
                    input: ({ context }) => ({
                      projectId: context.projectId,
                      inFlight: [...new Set([...context.lanes.map((l) => l.taskId), ...context.mergeQueue])],
                      skippedTaskIds: context.skippedTaskIds,
                    }),
                    onDone: [
                      {
                        guard: { type: 'noTaskList', params: ({ context, event }) => ({ kind: event.output.kind, busy: context.lanes.length > 0 }) },
                        target: 'awaitingTaskList',
                        actions: assign(({ event }) => ({
                          templatePath: event.output.kind === 'noTaskList' ? event.output.templatePath : null,
                          taskCounts: EMPTY_COUNTS,
                          completedTaskIds: [],
                          blockedTaskIds: [],
                        })),
                      },
                      {
                        guard: { type: 'nothingToDo', params: ({ event }) => ({ starts: event.output.kind === 'tasks' ? event.output.start.length : 0 }) },
                        target: 'idle',
                        actions: { type: 'startLanes', params: ({ event }) => ({ out: selection(event.output) }) },
                      },
                      {
                        target: 'watching',
                        actions: { type: 'startLanes', params: ({ event }) => ({ out: selection(event.output) }) },
                      },
                    ],
                    onError: { target: '#halted', actions: { type: 'halt', params: ({ event }) => ({ step: 'selecting' as const, error: event.error }) } },
                  },
                },
                watching: {
                  on: { LANE_FREED: { target: 'selecting' }, REPO_UPDATED: { target: 'selecting' }, TASKS_CHANGED: { target: 'selecting' } },
                },
                idle: {
                  invoke: { src: 'watchRemote', input: ({ context }) => ({ projectId: context.projectId }) },
                  on: { REPO_UPDATED: { target: 'selecting' }, TASKS_CHANGED: { target: 'selecting' }, LANE_FREED: { target: 'selecting' } },
                },
                awaitingTaskList: {
                  invoke: { src: 'watchRemote', input: ({ context }) => ({ projectId: context.projectId }) },
                  on: { REPO_UPDATED: { target: 'selecting' }, TASKS_CHANGED: { target: 'selecting' } },
                },
              },
            },
            train: {
              initial: 'waiting',
              states: {
                waiting: { always: { guard: 'queued', target: 'integrating' } },
                integrating: {
                  invoke: {
                    src: 'integrate',
                    input: ({ context }) => mergeInput(context),
                    onDone: [
                      { guard: { type: 'merged', params: ({ event }) => ({ kind: event.output.kind }) }, target: 'recording' },
                      {
                        target: 'waiting',
                        actions: { type: 'rework', params: ({ event }) => (event.output.kind === 'rework' ? event.output : { reason: 'not mergeable', feedback: '' }) },
                      },
                    ],
                    onError: { target: '#halted', actions: { type: 'halt', params: ({ event }) => ({ step: 'integrating' as const, error: event.error }) } },
                  },
                },
                recording: {
                  invoke: {
                    src: 'recordOutcome',
                    input: ({ context }) => mergeInput(context),
                    onDone: { target: 'waiting', actions: 'merged' },
                    onError: { target: '#halted', actions: { type: 'halt', params: ({ event }) => ({ step: 'recording' as const, error: event.error }) } },
                  },
                },
              },
            },
          },
        },
      },
    },
    paused: {
      id: 'paused',
      on: {
        PAUSE: {},
        RESUME: { target: 'active.hist', actions: assign({ pausedFrom: null }) },
        STOP: { target: 'stopping' },
        LANE: { actions: { type: 'applyLane', params: ({ event }) => event } },
      },
    },
    halted: {
      id: 'halted',
      on: {
        LANE: { actions: { type: 'applyLane', params: ({ event }) => event } },
        RETRY: [
          ...(['provisioningSandbox', 'checkingTools'] as const).map((step) => ({
            guard: { type: 'haltedFrom' as const, params: step },
            target: `active.initializing.${step}`,
            actions: 'clearError' as const,
          })),
          ...(['integrating', 'recording'] as const).map((step) => ({
            guard: { type: 'haltedFrom' as const, params: step },
            target: `active.running.train.${step}`,
            actions: 'clearError' as const,
          })),
          { guard: { type: 'haltedFrom', params: 'selecting' }, target: 'active.running', actions: 'clearError' },
          { target: 'active.initializing', actions: 'clearError' },
        ],
        SKIP: [
          { guard: { type: 'haltedFrom', params: 'integrating' }, target: 'active.running', actions: ['clearError', 'skipHead'] },
          { guard: { type: 'haltedFrom', params: 'recording' }, target: 'active.running', actions: ['clearError', 'skipHead'] },
        ],
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
    lanes: [],
    mergeQueue: [],
    completedTaskIds: [],
    skippedTaskIds: input.skippedTaskIds ?? [],
    blockedTaskIds: [],
    taskCounts: EMPTY_COUNTS,
    outbox: [],
    lastError: input.lastError ?? null,
    haltedFrom: null,
    pausedFrom: null,
    tools: null,
    templatePath: null,
    sandboxKind: null,
  };
}

function selection(out: T.SelectOutput): T.Selection {
  return out.kind === 'tasks' ? out : { kind: 'tasks', start: [], completedTaskIds: [], blockedTaskIds: [], counts: EMPTY_COUNTS, at: '' };
}

function mergeInput(c: T.ProjectContext): T.MergeInput {
  const head = c.mergeQueue[0]!;
  const lane = c.lanes.find((l) => l.taskId === head);
  return { projectId: c.projectId, taskId: head, title: lane?.title ?? head, attempt: lane?.attempt ?? 1 };
}

/** Every active leaf as a dotted path (a parallel state has one per region), in definition order. */
export function leafPaths(value: unknown, prefix = ''): string[] {
  if (typeof value === 'string') return [prefix ? `${prefix}.${value}` : value];
  if (!value || typeof value !== 'object') return prefix ? [prefix] : [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) out.push(...leafPaths(v, prefix ? `${prefix}.${k}` : k));
  return out.length ? out : prefix ? [prefix] : [];
}

/** The first active leaf (`{active: {initializing: 'syncingRepo'}}` → `active.initializing.syncingRepo`). */
export function leafPath(value: unknown): string {
  return leafPaths(value)[0] ?? '';
}
