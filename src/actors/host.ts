/**
 * One project's actor host: runs the machine with the project's steps, persists every
 * transition (snapshot + status row + task_run changes in one transaction, via the group-commit
 * writer), and publishes a transition only after its transaction committed.
 */
import { createActor, type Actor } from 'xstate';
import type { Command, ProjectStatus } from '../domain/status.ts';
import { leafPath, MACHINE_VERSION, type ProjectSnapshot } from '../machines/project.machine.ts';
import { acceptedCommands, stateOf, toStatus } from '../machines/status.ts';
import type { Clock } from '../infra/clock.ts';
import type { Logger } from '../infra/logger.ts';
import type { Hub, LogStream } from './hub.ts';
import type { StatusProjection } from './projection.ts';
import type { SlotPool } from './slots.ts';
import { type bindMachine, type ProjectBinding, type ProjectSteps } from './steps.ts';

export type BoundMachine = ReturnType<typeof bindMachine>;
import { deriveTaskRuns } from './taskRuns.ts';
import { FencedWriteError, type TransitionWriter } from './writer.ts';

export type CommandResult =
  | { ok: true; status: ProjectStatus; noop: boolean; timedOut: boolean }
  | { ok: false; state: string; acceptedCommands: Command[] };

/** The node-wide pieces every project host uses. */
export interface NodeShared {
  writer: TransitionWriter;
  hub: Hub;
  projection: StatusProjection;
  slots: SlotPool;
  logger: Logger;
  clock: Clock;
}

export interface HostOptions extends NodeShared {
  projectId: string;
  /** The registry's shared machine (bindMachine), whose slots resolve to this host's binding. */
  machine: BoundMachine;
  steps: ProjectSteps;
  /** Last persisted seq (0 for a new project); seq only ever grows. */
  seq: number;
  /** Persisted snapshot to restore, or a resolved snapshot (e.g. halted), or none for a fresh start. */
  snapshot?: unknown;
  fence?: number;
  /** Record the start as a transition with this event even when restored (e.g. 'restore.failed'). */
  recordAs?: string;
  /** Called when the writer reports that another node owns this project now. */
  onFenced?: (projectId: string) => void;
}

const SLOT_STATES = new Set(['waitingForSlot', 'executing', 'verifying']);

export class ProjectHost {
  readonly projectId: string;
  readonly actor: Actor<BoundMachine>;
  readonly binding: ProjectBinding;
  #o: HostOptions;
  #seq: number;
  #publishedSeq: number;
  #n = 0;
  #last: ProjectSnapshot;
  #lastEvent = 'xstate.init';
  #chain: Promise<void> = Promise.resolve();
  #inflight = new Map<Promise<unknown>, AbortSignal>();
  #stopped = false;
  #fenced = false;
  #doneWaiters: Array<() => void> = [];

  constructor(o: HostOptions) {
    this.#o = o;
    this.projectId = o.projectId;
    this.#seq = o.seq;
    this.#publishedSeq = o.seq;
    this.binding = {
      steps: o.steps,
      hooks: {
        logger: o.logger,
        clock: o.clock,
        log: (stream, line) => this.log(stream, line),
        track: (p, signal) => this.#track(p, signal),
        acquireSlot: (id, signal) => o.slots.acquire(id, signal),
        committed: () => this.#writesSettled(),
      },
    };
    this.actor = createActor(o.machine, {
      input: { projectId: o.projectId },
      ...(o.snapshot ? { snapshot: o.snapshot as never } : {}),
      inspect: (ev) => {
        if (ev.type === '@xstate.event' && ev.actorRef === this.actor) this.#lastEvent = ev.event.type;
      },
    });
    this.#last = this.actor.getSnapshot();
    this.actor.subscribe({
      next: (s) => this.#onSnapshot(s),
      error: (err) => o.logger.error({ err }, 'project actor failed'),
    });
  }

  /** Start (or resume after restore): a fresh project persists its initial state as a transition. */
  start(): this {
    const restored = this.#seq > 0 && !this.#o.recordAs;
    if (restored) this.#o.projection.upsert(toStatus(this.#last, { seq: this.#seq, updatedAt: new Date(this.#o.clock.now()).toISOString() }));
    this.actor.start();
    if (!restored) this.#record(null, this.actor.getSnapshot(), this.#o.recordAs ?? 'xstate.init');
    return this;
  }

  get seq(): number {
    return this.#seq;
  }

  snapshot(): ProjectSnapshot {
    return this.actor.getSnapshot();
  }

  /** The latest committed status. */
  status(): ProjectStatus {
    return this.#o.projection.get(this.projectId) ?? toStatus(this.#last, { seq: this.#publishedSeq, updatedAt: new Date(this.#o.clock.now()).toISOString() });
  }

  /**
   * Apply a control command. Resolves after the transition committed and any step it cancelled
   * has really stopped; STOP additionally waits (bounded) for cleanup to finish.
   */
  async command(cmd: Command, opts: { stopTimeoutMs?: number } = {}): Promise<CommandResult> {
    const snap = this.actor.getSnapshot();
    const { state } = stateOf(snap);
    if ((cmd === 'STOP' && (snap.status === 'done' || state === 'stopping')) || (cmd === 'PAUSE' && state === 'paused')) {
      if (cmd === 'STOP' && state === 'stopping') return this.#awaitStopped(opts.stopTimeoutMs, true);
      await this.settled();
      return { ok: true, status: this.status(), noop: true, timedOut: false };
    }
    if (this.#stopped || snap.status !== 'active' || !snap.can({ type: cmd })) {
      return { ok: false, state, acceptedCommands: acceptedCommands(snap) };
    }
    this.actor.send({ type: cmd });
    if (cmd === 'STOP') return this.#awaitStopped(opts.stopTimeoutMs, false);
    await this.settled();
    return { ok: true, status: this.status(), noop: false, timedOut: false };
  }

  /** Wake an idle / awaiting project (REPO_UPDATED, TASKS_CHANGED); false when not accepted now. */
  wake(type: 'REPO_UPDATED' | 'TASKS_CHANGED'): boolean {
    const snap = this.actor.getSnapshot();
    if (this.#stopped || snap.status !== 'active' || !snap.can({ type })) return false;
    this.actor.send({ type });
    return true;
  }

  /**
   * Every cancelled step has really stopped (its processes are gone) and every transition so far
   * has committed and been published. Steps still legitimately running are not waited for.
   */
  async settled(): Promise<void> {
    for (;;) {
      const cancelled = [...this.#inflight].filter(([, signal]) => signal.aborted).map(([p]) => p);
      if (!cancelled.length) break;
      await Promise.allSettled(cancelled);
    }
    await this.#writesSettled();
  }

  /** Every transition recorded so far has committed (and been published). */
  async #writesSettled(): Promise<void> {
    await Promise.resolve(); // let the transition that invoked the caller be recorded first
    let chain: Promise<void>;
    do {
      chain = this.#chain;
      await chain;
    } while (chain !== this.#chain);
  }

  /** A line for this project's live log stream. */
  log(stream: LogStream, line: string): void {
    const c = this.actor?.getSnapshot().context.currentTask ?? null;
    this.#o.hub.publish({
      type: 'log',
      projectId: this.projectId,
      seq: this.#publishedSeq,
      ts: new Date(this.#o.clock.now()).toISOString(),
      payload: { stream, line, taskId: c?.id ?? null, attempt: c?.attempt ?? null, n: ++this.#n },
    });
  }

  /**
   * Stop hosting (shutdown, lost lease, config replaced): cancel the step in flight without
   * recording a transition, so the next owner restores the same step and runs it again.
   */
  async dispose(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.actor.stop();
    this.#o.slots.release(this.projectId);
    await this.settled().catch(() => undefined);
  }

  get fenced(): boolean {
    return this.#fenced;
  }

  async #awaitStopped(timeoutMs = 30_000, noop: boolean): Promise<CommandResult> {
    let timedOut = false;
    if (this.actor.getSnapshot().status !== 'done') {
      const done = new Promise<void>((r) => this.#doneWaiters.push(r));
      const ac = new AbortController();
      const timer = this.#o.clock.sleep(timeoutMs, ac.signal).then(
        () => (timedOut = true),
        () => undefined,
      );
      await Promise.race([done, timer]);
      ac.abort();
    }
    await this.settled();
    return { ok: true, status: this.status(), noop, timedOut };
  }

  #track(p: Promise<unknown>, signal: AbortSignal) {
    this.#inflight.set(p, signal);
    const remove = () => this.#inflight.delete(p);
    p.then(remove, remove);
  }

  #onSnapshot(s: ProjectSnapshot) {
    const prev = this.#last;
    if (s === prev) return;
    if (s.context === prev.context && leafPath(s.value) === leafPath(prev.value) && s.status === prev.status) {
      this.#last = s;
      return;
    }
    this.#record(prev, s, this.#lastEvent);
    if (s.status === 'done') this.#doneWaiters.splice(0).forEach((r) => r());
  }

  #record(prev: ProjectSnapshot | null, s: ProjectSnapshot, event: string) {
    if (this.#stopped && !this.#fenced) return;
    this.#last = s;
    const seq = ++this.#seq;
    const ts = new Date(this.#o.clock.now()).toISOString();
    const status = toStatus(s, { seq, updatedAt: ts });
    if (!SLOT_STATES.has(status.state)) this.#o.slots.release(this.projectId);
    const { rows, events } = deriveTaskRuns(prev?.context ?? null, prev ? stateOf(prev).state : null, s.context, status.state);
    const from = prev ? leafPath(prev.value) : null;
    const to = leafPath(s.value);
    const write = this.#o.writer.write({
      projectId: this.projectId,
      seq,
      machineVersion: MACHINE_VERSION,
      snapshot: this.actor.getPersistedSnapshot(),
      status,
      taskRuns: rows,
      fence: this.#o.fence ?? 0,
    });
    const logger = this.#o.logger;
    this.#chain = this.#chain.then(async () => {
      try {
        await write;
      } catch (err) {
        if (err instanceof FencedWriteError) {
          if (!this.#fenced) {
            this.#fenced = true;
            logger.error({ seq }, 'lost ownership (fenced write); stopping this actor');
            this.#o.onFenced?.(this.projectId);
            void this.dispose();
          }
          return;
        }
        logger.error({ err, seq }, 'transition write failed');
        return;
      }
      this.#publishedSeq = seq;
      this.#n = 0;
      logger.debug({ seq, from, to, event, state: status.state }, 'transition');
      const hub = this.#o.hub;
      hub.publish({ type: 'transition', projectId: this.projectId, seq, ts, payload: { from, to, event: shortEvent(event) } });
      for (const e of events) hub.publish({ type: 'task', projectId: this.projectId, seq, ts, payload: { ...e, n: ++this.#n } });
      if (status.lastError && status.state === 'halted' && prev && stateOf(prev).state !== 'halted') {
        hub.publish({ type: 'error', projectId: this.projectId, seq, ts, payload: { message: status.lastError, code: 'halted', n: ++this.#n } });
      }
      this.#o.projection.upsert(status);
      hub.publish({ type: 'status', projectId: this.projectId, seq, ts, payload: status });
    });
  }
}

/** `xstate.done.actor.0.DEVTEAM_AUTOMATION.active.selecting` → `done.selecting`. */
export function shortEvent(type: string): string {
  const m = /^xstate\.(done|error)\.actor\.(?:.*\.)?([A-Za-z]+)$/.exec(type);
  return m ? `${m[1]}.${m[2]}` : type;
}
