/**
 * Step contract and the wrapper that turns step functions into the machine's actor slots.
 *
 * Contract every step keeps (the host relies on it for kill -9 safety):
 *  - Idempotent and restartable: on restore the step that was in flight runs again from its
 *    saved input; running it twice leaves the same result (branch reset to a known base, merge
 *    skipped if already merged, outcome entry written once, push skipped if the remote has it).
 *  - Cancellable: when `signal` aborts (PAUSE/STOP/shutdown) it stops its processes and settles;
 *    the host waits for that before it reports the command done.
 *  - Transient failures (network) throw an error with `transient: true`; the wrapper retries them
 *    with capped exponential backoff, other errors halt the project.
 *  - No secrets in outputs, thrown messages or log lines.
 */
import { fromCallback, fromPromise } from 'xstate';
import { projectMachine } from '../machines/project.machine.ts';
import type * as M from '../machines/project.machine.ts';
import type { Clock } from '../infra/clock.ts';
import type { Logger } from '../infra/logger.ts';
import type { LogStream } from './hub.ts';

export interface StepContext {
  projectId: string;
  signal: AbortSignal;
  logger: Logger;
  clock: Clock;
  /** A line for the project's live log stream (`log` envelopes). */
  log(stream: LogStream, line: string): void;
}

export interface ProjectSteps {
  syncRepo(input: M.StepInput, ctx: StepContext): Promise<M.SyncOutput>;
  provisionSandbox(input: M.StepInput, ctx: StepContext): Promise<M.ProvisionOutput>;
  checkTools(input: M.StepInput, ctx: StepContext): Promise<M.ToolsOutput>;
  selectTask(input: M.SelectInput, ctx: StepContext): Promise<M.SelectOutput>;
  prepareTask(input: M.TaskStepInput, ctx: StepContext): Promise<M.PrepareOutput>;
  runAgent(input: M.TaskStepInput, ctx: StepContext): Promise<M.AgentOutput>;
  runVerify(input: M.TaskStepInput, ctx: StepContext): Promise<M.VerifyOutput>;
  integrate(input: M.TaskStepInput, ctx: StepContext): Promise<M.IntegrateOutput>;
  recordOutcome(input: M.TaskStepInput, ctx: StepContext): Promise<M.RecordOutput>;
  cleanup(input: M.StepInput, ctx: StepContext): Promise<void>;
  /** Idle/awaiting watcher: call `wake` when the remote moved; returns a stop function. */
  watchRemote?(input: M.StepInput, ctx: StepContext, wake: (type: 'REPO_UPDATED' | 'TASKS_CHANGED') => void): () => void;
}

export interface StepHooks {
  logger: Logger;
  clock: Clock;
  log(stream: LogStream, line: string): void;
  /** Register a running step so commands and shutdown can wait until a cancelled one has really stopped. */
  track(p: Promise<unknown>, signal: AbortSignal): void;
  acquireSlot(projectId: string, signal: AbortSignal): Promise<void>;
  /**
   * Resolves when the transition that entered the step's state has committed. Steps start only
   * then, so a step never acts on a state that a crash could still roll back, and reads its own
   * project's committed rows (task_run) as of that transition.
   */
  committed(): Promise<void>;
  /** Max transient retries per step run (default 6). */
  transientRetries?: number;
}

const TASK_STEPS = new Set(['prepareTask', 'runAgent', 'runVerify', 'integrate', 'recordOutcome']);

export function isTransient(err: unknown): boolean {
  return !!err && typeof err === 'object' && (err as { transient?: unknown }).transient === true;
}

/** A project's step implementations and the host hooks around them. */
export interface ProjectBinding {
  steps: ProjectSteps;
  hooks: StepHooks;
}

/**
 * The machine's actor slots, resolved per invocation from the project id in the step's input.
 * One provided machine serves every project of a registry (no per-project machine copies:
 * that keeps an idle actor small), and a restored actor finds its project's current steps.
 */
export function provideSteps(resolve: (projectId: string) => ProjectBinding) {
  const wrap = <I extends M.StepInput, O>(name: Exclude<keyof ProjectSteps, 'watchRemote'>) =>
    fromPromise<O, I>(({ input, signal }) => {
      const { steps, hooks } = resolve(input.projectId);
      const fn = steps[name] as unknown as (i: I, c: StepContext) => Promise<O>;
      const task = TASK_STEPS.has(name) ? (input as unknown as M.TaskStepInput) : null;
      const logger = hooks.logger.child({ step: name, ...(task ? { taskId: task.taskId, attempt: task.attempt } : {}) });
      const ctx: StepContext = { projectId: input.projectId, signal, logger, clock: hooks.clock, log: hooks.log };
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
              hooks.log('runner', `${name}: ${(err as Error).message} — retrying in ${Math.round(delay / 1000)}s`);
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

  return {
    syncRepo: wrap<M.StepInput, M.SyncOutput>('syncRepo'),
    provisionSandbox: wrap<M.StepInput, M.ProvisionOutput>('provisionSandbox'),
    checkTools: wrap<M.StepInput, M.ToolsOutput>('checkTools'),
    selectTask: wrap<M.SelectInput, M.SelectOutput>('selectTask'),
    prepareTask: wrap<M.TaskStepInput, M.PrepareOutput>('prepareTask'),
    acquireSlot: fromPromise<void, M.StepInput>(({ input, signal }) => {
      const { hooks } = resolve(input.projectId);
      const p = hooks.committed().then(() => {
        if (signal.aborted) throw signal.reason; // paused/stopped before the wait began: take no slot
        return hooks.acquireSlot(input.projectId, signal);
      });
      hooks.track(p, signal);
      return p;
    }),
    runAgent: wrap<M.TaskStepInput, M.AgentOutput>('runAgent'),
    runVerify: wrap<M.TaskStepInput, M.VerifyOutput>('runVerify'),
    integrate: wrap<M.TaskStepInput, M.IntegrateOutput>('integrate'),
    recordOutcome: wrap<M.TaskStepInput, M.RecordOutput>('recordOutcome'),
    cleanup: wrap<M.StepInput, void>('cleanup'),
    watchRemote: fromCallback<M.ProjectEvent, M.StepInput>(({ input, sendBack }) => {
      const { steps, hooks } = resolve(input.projectId);
      if (!steps.watchRemote) return undefined;
      const ac = new AbortController();
      const ctx: StepContext = {
        projectId: input.projectId,
        signal: ac.signal,
        logger: hooks.logger.child({ step: 'watchRemote' }),
        clock: hooks.clock,
        log: hooks.log,
      };
      const stop = steps.watchRemote(input, ctx, (type) => sendBack({ type }));
      return () => {
        ac.abort();
        stop();
      };
    }),
  };
}

/** The machine with its slots bound through `resolve`: create once per registry. */
export function bindMachine(resolve: (projectId: string) => ProjectBinding) {
  return projectMachine.provide({ actors: provideSteps(resolve) });
}
