/**
 * Step contract and the wrapper that turns step functions into the machines' actor slots.
 *
 * Steps are the workflow's activities: stateless functions made by a factory from their
 * dependencies (createProjectSteps in ./projectSteps.ts); whatever a step must remember lives in
 * the machine's context or in the database, never in a warm cache, so a restarted step behaves
 * like the first run. Every step keeps the contract (the host relies on it for kill -9 safety):
 *  - Idempotent and restartable: on restore the step in flight runs again from its saved input.
 *  - Cancellable: when `signal` aborts (PAUSE/STOP/shutdown) it stops its processes and settles;
 *    the host waits for that before it reports the command done.
 *  - Transient failures (network, provider rate limits) throw an error with `transient: true`;
 *    the wrapper retries them with capped exponential backoff, other errors halt.
 *  - No secrets in outputs, thrown messages or log lines.
 */
import { fromCallback, fromPromise } from 'xstate';
import { projectMachine } from '../machines/project.machine.ts';
import type * as P from '../machines/project.machine.ts';
import { taskMachine } from '../machines/task.machine.ts';
import type * as T from '../machines/task.machine.ts';
import type { Clock } from '../infra/clock.ts';
import type { Logger } from '../infra/logger.ts';
import type { LogStream } from './hub.ts';

export interface StepContext {
  projectId: string;
  signal: AbortSignal;
  logger: Logger;
  clock: Clock;
  /** A line for the project's live log stream (`log` envelopes), attributed to the step's task. */
  log(stream: LogStream, line: string): void;
  /**
   * Run `fn` holding one of the node-wide EXECUTE/VERIFY slots (DEVTEAM_MAX_CONCURRENT_STEPS),
   * released when it settles: for work outside a task's own executing/verifying states that runs
   * agents or builds all the same (the merge train's re-verify of a merged tree).
   */
  withSlot<R>(fn: () => Promise<R>): Promise<R>;
}

/** The steps of one project: the coordinator's and its tasks'. */
export interface ProjectSteps {
  syncRepo(input: P.StepInput, ctx: StepContext): Promise<P.SyncOutput>;
  provisionSandbox(input: P.StepInput, ctx: StepContext): Promise<P.ProvisionOutput>;
  checkTools(input: P.StepInput, ctx: StepContext): Promise<P.ToolsOutput>;
  selectTasks(input: P.SelectInput, ctx: StepContext): Promise<P.SelectOutput>;
  integrate(input: P.MergeInput, ctx: StepContext): Promise<P.IntegrateOutput>;
  recordOutcome(input: P.MergeInput, ctx: StepContext): Promise<P.RecordOutput>;
  cleanup(input: P.StepInput, ctx: StepContext): Promise<void>;
  /** Idle/awaiting watcher: call `wake` when the remote moved; returns a stop function. */
  watchRemote?(input: P.StepInput, ctx: StepContext, wake: (type: 'REPO_UPDATED' | 'TASKS_CHANGED') => void): () => void;
  prepareTask(input: T.TaskStepInput, ctx: StepContext): Promise<T.PrepareOutput>;
  runAgent(input: T.TaskStepInput, ctx: StepContext): Promise<T.AgentOutput>;
  runVerify(input: T.TaskStepInput, ctx: StepContext): Promise<T.VerifyOutput>;
}

export interface StepHooks {
  logger: Logger;
  clock: Clock;
  log(stream: LogStream, line: string, taskId: string | null, attempt: number | null): void;
  /** Register a running step so commands and shutdown can wait until a cancelled one has really stopped. */
  track(p: Promise<unknown>, signal: AbortSignal): void;
  /** Wait for a node-wide slot for one task (FIFO across projects). */
  acquireSlot(key: string, signal: AbortSignal): Promise<void>;
  /** Give back a slot taken with acquireSlot (no-op when not held). */
  releaseSlot(key: string): void;
  /**
   * Resolves when the transition that entered the step's state has committed. Steps start only
   * then, so a step never acts on a state that a crash could still roll back, and reads its own
   * project's committed rows as of that transition.
   */
  committed(): Promise<void>;
  /** Max transient retries per step run (default 6). */
  transientRetries?: number;
}

export function isTransient(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as { transient?: unknown }).transient === true;
}

/** A project's step implementations and the host hooks around them. */
export interface ProjectBinding {
  steps: ProjectSteps;
  hooks: StepHooks;
}

type StepName = Exclude<keyof ProjectSteps, 'watchRemote'>;

/**
 * One slot: resolve the project's binding at invocation time, wait for the commit, run the step
 * with transient retries, track it for cancellation. One provided machine serves every project of
 * a registry (no per-project machine copies), and a restored actor finds its project's current steps.
 */
function slot<I extends P.StepInput, O>(resolve: (projectId: string) => ProjectBinding, name: StepName) {
  return fromPromise<O, I>(({ input, signal }) => {
    const { steps, hooks } = resolve(input.projectId);
    const fn = steps[name] as unknown as (i: I, c: StepContext) => Promise<O>;
    const task = 'taskId' in input ? (input as unknown as { taskId: string; attempt: number }) : null;
    const logger = hooks.logger.child({ step: name, ...(task ? { taskId: task.taskId, attempt: task.attempt } : {}) });
    const log = (stream: LogStream, line: string) => hooks.log(stream, line, task?.taskId ?? null, task?.attempt ?? null);
    const withSlot = async <R>(f: () => Promise<R>): Promise<R> => {
      const key = `${input.projectId}/train`; // the project's merge train: one at a time by construction
      await hooks.acquireSlot(key, signal);
      try {
        return await f();
      } finally {
        hooks.releaseSlot(key);
      }
    };
    const ctx: StepContext = { projectId: input.projectId, signal, logger, clock: hooks.clock, log, withSlot };
    const run = async (): Promise<O> => {
      const max = hooks.transientRetries ?? 6;
      for (let attempt = 0; ; attempt++) {
        const started = hooks.clock.now();
        try {
          logger.debug('step started');
          const out = await fn.call(steps, input, ctx);
          logger.info({ ms: hooks.clock.now() - started }, 'step finished');
          return out;
        } catch (err) {
          if (signal.aborted) throw err;
          if (isTransient(err) && attempt < max) {
            const delay = Math.min(30_000, 500 * 2 ** attempt);
            logger.warn({ err: (err as Error).message, retryInMs: delay, retry: attempt + 1 }, 'transient step failure, retrying');
            log('runner', `${name}: ${(err as Error).message} — retrying in ${Math.round(delay / 1000)}s`);
            await hooks.clock.sleep(delay, signal);
            continue;
          }
          logger.warn({ err: (err as Error).message }, 'step failed');
          throw err;
        }
      }
    };
    const p = hooks.committed().then(() => {
      if (signal.aborted) throw signal.reason;
      return run();
    });
    hooks.track(p, signal);
    return p;
  });
}

/** The project machine's actor slots. */
export function provideProjectSteps(resolve: (projectId: string) => ProjectBinding) {
  return {
    syncRepo: slot<P.StepInput, P.SyncOutput>(resolve, 'syncRepo'),
    provisionSandbox: slot<P.StepInput, P.ProvisionOutput>(resolve, 'provisionSandbox'),
    checkTools: slot<P.StepInput, P.ToolsOutput>(resolve, 'checkTools'),
    selectTasks: slot<P.SelectInput, P.SelectOutput>(resolve, 'selectTasks'),
    integrate: slot<P.MergeInput, P.IntegrateOutput>(resolve, 'integrate'),
    recordOutcome: slot<P.MergeInput, P.RecordOutput>(resolve, 'recordOutcome'),
    cleanup: slot<P.StepInput, void>(resolve, 'cleanup'),
    watchRemote: fromCallback<P.ProjectEvent, P.StepInput>(({ input, sendBack }) => {
      const { steps, hooks } = resolve(input.projectId);
      if (!steps.watchRemote) return undefined;
      const ac = new AbortController();
      const ctx: StepContext = {
        projectId: input.projectId,
        signal: ac.signal,
        logger: hooks.logger.child({ step: 'watchRemote' }),
        clock: hooks.clock,
        log: (stream, line) => hooks.log(stream, line, null, null),
        withSlot: (f) => f(), // a watcher only fetches; it runs no agent or build
      };
      const stop = steps.watchRemote(input, ctx, (type) => sendBack({ type }));
      return () => {
        ac.abort();
        stop();
      };
    }),
  };
}

/** The task machine's actor slots (the lanes share their project's steps, sandbox and workspace). */
export function provideTaskSteps(resolve: (projectId: string) => ProjectBinding) {
  return {
    prepareTask: slot<T.TaskStepInput, T.PrepareOutput>(resolve, 'prepareTask'),
    acquireSlot: fromPromise<void, T.TaskStepInput>(({ input, signal }) => {
      const { hooks } = resolve(input.projectId);
      const p = hooks.committed().then(() => {
        if (signal.aborted) throw signal.reason; // paused/stopped before the wait began: take no slot
        return hooks.acquireSlot(`${input.projectId}/${input.taskId}`, signal);
      });
      hooks.track(p, signal);
      return p;
    }),
    runAgent: slot<T.TaskStepInput, T.AgentOutput>(resolve, 'runAgent'),
    runVerify: slot<T.TaskStepInput, T.VerifyOutput>(resolve, 'runVerify'),
  };
}

/** Both machines with their slots bound through `resolve`: create once per registry. */
export function bindMachines(resolve: (projectId: string) => ProjectBinding) {
  return {
    project: projectMachine.provide({ actors: provideProjectSteps(resolve) }),
    task: taskMachine.provide({ actors: provideTaskSteps(resolve) }),
  };
}

export type BoundMachines = ReturnType<typeof bindMachines>;
