/**
 * One project's actor host: runs the project actor (the coordinator) and one task actor per task
 * in flight (its lanes), persists every transition of any of them (each actor's snapshot row, the
 * status row, task_run changes and history entries in one transaction, via the group-commit
 * writer, with one gap-free seq per project), and publishes a transition only after it committed.
 *
 * Between the actors the host keeps a reconciliation loop instead of fire-and-forget messages, so a
 * kill -9 between two of them loses nothing: after every committed project transition (and after
 * a restore) it makes the task actors match the project's lanes and outbox (create missing ones,
 * deliver REWORK / MERGED / SKIP, pause / resume / stop them with the project); after every task
 * transition (and after a restore) it reports the task's state to the project (`LANE`), which the
 * project applies idempotently.
 */
import { HostGoneError, TaskChoiceError } from './errors.ts';
import { createActor, type Actor } from 'xstate';
import type { Command, ProjectStatus } from '../domain/status.ts';
import { leafPath, leafPaths, MACHINE_VERSION, type ProjectSnapshot } from '../machines/project.machine.ts';
import { acceptedCommands, haltedLanes, stateOf, toStatus } from '../machines/status.ts';
import { leaf, TASK_MACHINE_VERSION, type TaskEmitted, type TaskSnapshot } from '../machines/task.machine.ts';
import type { Clock } from '../infra/clock.ts';
import type { Logger } from '../infra/logger.ts';
import type { Hub, LogStream } from './hub.ts';
import type { StatusProjection } from './projection.ts';
import type { SlotPool } from './slots.ts';
import type { BoundMachines, ProjectBinding, ProjectSteps } from './steps.ts';
import { taskRunRow, type TaskEvent } from './taskRuns.ts';
import { FencedWriteError, type HistoryRow, type TaskRunRow, type TransitionWrite } from './writer.ts';

export type CommandResult =
  | { ok: true; status: ProjectStatus; noop: boolean; timedOut: boolean }
  | { ok: false; state: string; acceptedCommands: Command[] };

/** The node-wide pieces every project host uses. */
export interface NodeShared {
  writer: import('./writer.ts').TransitionWriter;
  hub: Hub;
  projection: StatusProjection;
  slots: SlotPool;
  logger: Logger;
  clock: Clock;
}

export interface RestoredTask {
  taskId: string;
  snapshot: unknown;
}

export interface HostOptions extends NodeShared {
  projectId: string;
  /** The registry's shared machines (bindMachines), whose slots resolve to this host's binding. */
  machines: BoundMachines;
  steps: ProjectSteps;
  /** Last persisted seq (0 for a new project); seq only ever grows. */
  seq: number;
  /** Persisted project snapshot to restore, or a resolved snapshot (e.g. halted), or none for a fresh start. */
  snapshot?: unknown;
  /** Persisted task actors (not final) to restore. */
  tasks?: RestoredTask[];
  fence?: number;
  /** Record the start as a transition with this event even when restored (e.g. 'restore.failed'). */
  recordAs?: string;
  /** Called when the writer reports that another node owns this project now. */
  onFenced?: (projectId: string) => void;
}

const SLOT_STATES = new Set(['waitingForSlot', 'executing', 'verifying']);
const PROJECT_ACTOR = 'project';
const taskActorId = (taskId: string) => `task:${taskId}`;

type TaskActor = Actor<BoundMachines['task']>;

export class ProjectHost {
  readonly projectId: string;
  readonly actor: Actor<BoundMachines['project']>;
  readonly tasks = new Map<string, TaskActor>();
  readonly binding: ProjectBinding;
  #o: HostOptions;
  #seq: number;
  #publishedSeq: number;
  #n = 0;
  #last: ProjectSnapshot;
  #lastTask = new Map<string, TaskSnapshot>();
  #lastEvent = new Map<string, string>();
  #emitted = new Map<string, TaskEmitted[]>();
  #chain: Promise<void> = Promise.resolve();
  #inflight = new Map<Promise<unknown>, AbortSignal>();
  #started = false;
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
        log: (stream, line, taskId, attempt) => this.log(stream, line, taskId, attempt),
        track: (p, signal) => this.#track(p, signal),
        acquireSlot: (key, signal) => o.slots.acquire(key, signal),
        releaseSlot: (key) => o.slots.release(key),
        committed: () => this.#writesSettled(),
      },
    };
    this.actor = createActor(o.machines.project, {
      input: { projectId: o.projectId },
      ...(o.snapshot ? { snapshot: o.snapshot as never } : {}),
      inspect: (ev) => {
        if (ev.type === '@xstate.event' && ev.actorRef === this.actor) this.#lastEvent.set(PROJECT_ACTOR, ev.event.type);
      },
    });
    this.#last = this.actor.getSnapshot();
    this.actor.subscribe({
      next: (s) => this.#onProject(s),
      error: (err) => o.logger.error({ err }, 'project actor failed'),
    });
    for (const t of o.tasks ?? []) this.#createTask(t.taskId, undefined, t.snapshot);
  }

  /** Start (or resume after restore): a fresh project persists its initial state as a transition. */
  start(): this {
    const restored = this.#seq > 0 && !this.#o.recordAs;
    if (restored) this.#o.projection.upsert(this.#status(this.#seq));
    this.#started = true;
    this.actor.start();
    if (!restored) this.#record(PROJECT_ACTOR, null, this.actor.getSnapshot(), this.#o.recordAs ?? 'xstate.init', []);
    for (const [taskId, t] of this.tasks) {
      t.start();
      this.#reportLane(taskId, t.getSnapshot()); // the project may have missed it before the restart
    }
    this.#reconcile();
    return this;
  }

  get seq(): number {
    return this.#seq;
  }

  snapshot(): ProjectSnapshot {
    return this.actor.getSnapshot();
  }

  /** Persisted snapshots of every live actor (config replacement restarts on the same state). */
  persisted(): { project: unknown; tasks: RestoredTask[] } {
    return {
      project: this.actor.getPersistedSnapshot(),
      tasks: [...this.tasks].filter(([, t]) => t.getSnapshot().status === 'active').map(([taskId, t]) => ({ taskId, snapshot: t.getPersistedSnapshot() })),
    };
  }

  /** The latest committed status. */
  status(): ProjectStatus {
    return this.#o.projection.get(this.projectId) ?? this.#status(this.#publishedSeq);
  }

  /**
   * Apply a control command: PAUSE / RESUME / STOP act on the whole project (every lane); RETRY /
   * SKIP go to the project when it is halted, else to the halted task (`taskId`, required when
   * several are halted: TaskChoiceError). Resolves after the transitions committed and any step they
   * cancelled has really stopped; STOP additionally waits (bounded) for cleanup to finish.
   * @throws HostGoneError when this host was disposed (released) before the command, or its
   *   writes were fenced (the effect is not durable here).
   */
  async command(cmd: Command, opts: { stopTimeoutMs?: number; taskId?: string } = {}): Promise<CommandResult> {
    const r = await this.#command(cmd, opts);
    // A fenced write means a newer owner holds the project: this effect is not durable, and the
    // caller must not report it as applied (HostGoneError: the owner applies the command).
    if (this.#fenced) throw new HostGoneError(this.projectId);
    return r;
  }

  async #command(cmd: Command, opts: { stopTimeoutMs?: number; taskId?: string }): Promise<CommandResult> {
    if (this.#stopped) throw new HostGoneError(this.projectId);
    const snap = this.actor.getSnapshot();
    const { state } = stateOf(snap);
    if ((cmd === 'STOP' && (snap.status === 'done' || leafPath(snap.value) === 'stopping')) || (cmd === 'PAUSE' && leafPath(snap.value) === 'paused')) {
      if (cmd === 'STOP' && snap.status !== 'done') return this.#awaitStopped(opts.stopTimeoutMs, true);
      await this.settled();
      return { ok: true, status: this.status(), noop: true, timedOut: false };
    }
    const refuse = (): CommandResult => ({ ok: false, state, acceptedCommands: acceptedCommands(snap) });
    if (snap.status !== 'active') return refuse();
    if (cmd === 'RETRY' || cmd === 'SKIP') {
      const target = this.#taskFor(cmd, opts.taskId);
      if (target) {
        target.send({ type: cmd });
        await this.settled();
        return { ok: true, status: this.status(), noop: false, timedOut: false };
      }
      if (opts.taskId || !snap.can({ type: cmd })) return refuse();
    } else if (!snap.can({ type: cmd })) return refuse();
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

  /** A line for this project's live log stream. */
  log(stream: LogStream, line: string, taskId: string | null = null, attempt: number | null = null): void {
    this.#o.hub.publish({
      type: 'log',
      projectId: this.projectId,
      seq: this.#publishedSeq,
      ts: new Date(this.#o.clock.now()).toISOString(),
      payload: { stream, line, taskId, attempt, n: ++this.#n },
    });
  }

  /**
   * Stop hosting (shutdown, lost lease, config replaced): cancel the steps in flight without
   * recording a transition, so the next owner restores the same steps and runs them again.
   */
  async dispose(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    this.actor.stop();
    for (const t of this.tasks.values()) t.stop();
    this.#o.slots.releasePrefix(`${this.projectId}/`);
    await this.settled().catch(() => undefined);
  }

  get fenced(): boolean {
    return this.#fenced;
  }

  // ---- internals ----

  /** The task actor a RETRY / SKIP goes to: the named one, or the only halted lane (see command()). */
  #taskFor(cmd: Command, taskId: string | undefined): TaskActor | null {
    const snap = this.actor.getSnapshot();
    if (taskId) {
      const t = this.tasks.get(taskId);
      if (t && t.getSnapshot().status === 'active' && t.getSnapshot().can({ type: cmd })) return t;
      const halted = haltedLanes(snap).map((l) => l.taskId);
      if (halted.length > 0) throw new TaskChoiceError(cmd, halted); // names a task that is not halted
      return null;
    }
    if (snap.can({ type: cmd })) return null; // the project itself is halted: it takes the command
    const halted = haltedLanes(snap).map((l) => l.taskId);
    if (halted.length > 1) throw new TaskChoiceError(cmd, halted);
    const t = halted[0] ? this.tasks.get(halted[0]) : undefined;
    return t && t.getSnapshot().can({ type: cmd }) ? t : null;
  }

  #createTask(taskId: string, input: { title: string; attempt: number } | undefined, snapshot?: unknown): TaskActor {
    const actorId = taskActorId(taskId);
    const actor = createActor(this.#o.machines.task, {
      input: { projectId: this.projectId, taskId, title: input?.title ?? taskId, attempt: input?.attempt ?? 1 },
      ...(snapshot ? { snapshot: snapshot as never } : {}),
      inspect: (ev) => {
        if (ev.type === '@xstate.event' && ev.actorRef === actor) this.#lastEvent.set(actorId, ev.event.type);
      },
    });
    this.#emitted.set(taskId, []);
    actor.on('*', (e) => this.#emitted.get(taskId)?.push(e as TaskEmitted));
    this.#lastTask.set(taskId, actor.getSnapshot());
    actor.subscribe({
      next: (s) => this.#onTask(taskId, s),
      error: (err) => this.#o.logger.error({ err, taskId }, 'task actor failed'),
    });
    this.tasks.set(taskId, actor);
    return actor;
  }

  /** Make the task actors match the project (see the module comment). Idempotent. */
  #reconcile(): void {
    if (!this.#started || this.#stopped) return;
    const p = this.actor.getSnapshot();
    const top = leafPath(p.value).split('.')[0];
    const c = p.context;
    for (const lane of c.lanes) {
      const t = this.tasks.get(lane.taskId);
      if (!t || t.getSnapshot().status !== 'active') {
        const actor = this.#createTask(lane.taskId, { title: lane.title, attempt: lane.attempt });
        actor.start();
        if (!this.#lastTask.has(lane.taskId) || actor.getSnapshot() === this.#lastTask.get(lane.taskId)) {
          this.#record(taskActorId(lane.taskId), null, actor.getSnapshot(), 'xstate.init', this.#drain(lane.taskId));
        }
      }
    }
    for (const o of c.outbox) {
      const t = this.tasks.get(o.taskId);
      const s = t?.getSnapshot();
      if (!t || s?.status !== 'active') continue;
      if (o.kind === 'REWORK' && s.context.attempt === o.attempt && s.can({ type: 'REWORK', reason: '', feedback: '' })) {
        t.send({ type: 'REWORK', reason: o.reason ?? 'not mergeable', feedback: o.feedback ?? '' });
      } else if (o.kind === 'MERGED' && s.can({ type: 'MERGED' })) t.send({ type: 'MERGED' });
      else if (o.kind === 'SKIP') t.send({ type: s.can({ type: 'SKIP' }) ? 'SKIP' : 'STOP' });
    }
    for (const [taskId, t] of this.tasks) {
      const s = t.getSnapshot();
      if (s.status !== 'active') continue;
      const inLanes = c.lanes.some((l) => l.taskId === taskId);
      if (!inLanes) {
        if (c.completedTaskIds.includes(taskId) && s.can({ type: 'MERGED' })) t.send({ type: 'MERGED' });
        else t.send({ type: 'STOP' }); // an orphan (its lane is gone)
        continue;
      }
      const paused = leaf(s.value) === 'paused';
      if (top === 'paused' && !paused) t.send({ type: 'PAUSE' });
      else if (top !== 'paused' && paused) t.send({ type: 'RESUME' });
      if (top === 'stopping' || top === 'stopped') t.send({ type: 'STOP' });
    }
  }

  /** Tell the project what a task actor's committed state is (idempotent on its side). */
  #reportLane(taskId: string, s: TaskSnapshot): void {
    if (this.#stopped) return;
    const state = s.status === 'done' ? leaf(s.value) : leafOfTask(s.value);
    this.actor.send({
      type: 'LANE',
      taskId,
      title: s.context.title,
      attempt: s.context.attempt,
      state,
      error: s.context.lastError,
      at: new Date(this.#o.clock.now()).toISOString(),
      resumes: state === 'paused' && s.context.pausedFrom ? s.context.pausedFrom.replace(/^active\./, '') : null,
    });
  }

  #drain(taskId: string): TaskEmitted[] {
    const list = this.#emitted.get(taskId) ?? [];
    this.#emitted.set(taskId, []);
    return list;
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

  /** Every transition recorded so far has committed (and been published). */
  async #writesSettled(): Promise<void> {
    await Promise.resolve(); // let the transition that invoked the caller be recorded first
    let chain: Promise<void>;
    do {
      chain = this.#chain;
      await chain;
    } while (chain !== this.#chain);
  }

  #track(p: Promise<unknown>, signal: AbortSignal) {
    this.#inflight.set(p, signal);
    const remove = () => this.#inflight.delete(p);
    p.then(remove, remove);
  }

  #onProject(s: ProjectSnapshot) {
    const prev = this.#last;
    if (s === prev) return;
    if (s.context === prev.context && leafPaths(s.value).join() === leafPaths(prev.value).join() && s.status === prev.status) {
      this.#last = s;
      return;
    }
    this.#record(PROJECT_ACTOR, prev, s, this.#lastEvent.get(PROJECT_ACTOR) ?? 'xstate.init', []);
    if (s.status === 'done') this.#doneWaiters.splice(0).forEach((r) => r());
    this.#reconcile();
  }

  #onTask(taskId: string, s: TaskSnapshot) {
    const prev = this.#lastTask.get(taskId);
    if (s === prev) return;
    if (prev && s.context === prev.context && leaf(s.value) === leaf(prev.value) && s.status === prev.status) {
      this.#lastTask.set(taskId, s);
      return;
    }
    if (!this.#started) return; // a restored actor before start: nothing happened yet
    this.#lastTask.set(taskId, s);
    this.#record(taskActorId(taskId), prev ?? null, s, this.#lastEvent.get(taskActorId(taskId)) ?? 'xstate.init', this.#drain(taskId));
    if (!SLOT_STATES.has(leafOfTask(s.value))) this.#o.slots.release(`${this.projectId}/${taskId}`);
    this.#reportLane(taskId, s);
  }

  #status(seq: number): ProjectStatus {
    return toStatus(this.actor.getSnapshot(), { seq, updatedAt: new Date(this.#o.clock.now()).toISOString() });
  }

  /** One transition of one actor: its write (with status, task runs, history) and, after commit, its envelopes. */
  #record(actorId: string, prev: ProjectSnapshot | TaskSnapshot | null, s: ProjectSnapshot | TaskSnapshot, event: string, emitted: TaskEmitted[]) {
    if (this.#stopped && !this.#fenced) return;
    if (actorId === PROJECT_ACTOR) this.#last = s as ProjectSnapshot;
    const seq = ++this.#seq;
    const ts = new Date(this.#o.clock.now()).toISOString();
    const status = this.#status(seq);
    const taskId = actorId.startsWith('task:') ? actorId.slice(5) : null;
    const isTask = taskId !== null;
    const from = prev ? (isTask ? leaf(prev.value) : leafPaths(prev.value).join(',')) : null;
    const to = isTask ? leaf(s.value) : leafPaths(s.value).join(',');
    const transition = { from, to, event: shortEvent(event), ...(taskId ? { taskId } : {}) };
    // Task runs and task envelopes come from what the task actor emitted (not from context diffs).
    const rows: TaskRunRow[] = [];
    const events: TaskEvent[] = [];
    if (taskId) {
      const ts2 = s as TaskSnapshot;
      for (const e of emitted) {
        if (e.type === 'task.attemptStarted') events.push({ taskId, event: 'started', attempt: e.attempt });
        if (e.type === 'task.attemptEnded') {
          rows.push(taskRunRow(taskId, e.attempt, e.outcome === 'completed' ? 'done' : e.outcome, e.run, e.outcome, true));
          if (e.outcome !== 'cancelled' && !(e.outcome === 'failed' && leaf(prev?.value) === 'halted')) events.push({ taskId, event: e.outcome, attempt: e.attempt });
        }
        if (e.type === 'task.halted') events.push({ taskId, event: 'failed', attempt: e.attempt });
      }
      if (ts2.status === 'active') {
        const st = leaf(ts2.value);
        rows.push(taskRunRow(taskId, ts2.context.attempt, st, ts2.context.run, st === 'halted' ? 'failed' : null, st === 'halted'));
      }
    }
    const history: HistoryRow[] = [{ seq, n: 0, type: 'transition', ts, payload: transition }, ...events.map((e, i) => ({ seq, n: i + 1, type: 'task', ts, payload: e }))];
    const write: TransitionWrite = {
      projectId: this.projectId,
      seq,
      actor: {
        actorId,
        seq,
        machineVersion: isTask ? TASK_MACHINE_VERSION : MACHINE_VERSION,
        snapshot: isTask ? (this.tasks.get(taskId)!.getPersistedSnapshot()) : this.actor.getPersistedSnapshot(),
      },
      status,
      taskRuns: rows,
      history,
      fence: this.#o.fence ?? 0,
    };
    const p = this.#o.writer.write(write);
    const logger = this.#o.logger;
    const wasHalted = stateOf(this.#last).state === 'halted';
    this.#chain = this.#chain.then(async () => {
      try {
        await p;
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
      logger.debug({ seq, actorId, from, to, event, state: status.state }, 'transition');
      const hub = this.#o.hub;
      hub.publish({ type: 'transition', projectId: this.projectId, seq, ts, payload: transition });
      for (const e of events) hub.publish({ type: 'task', projectId: this.projectId, seq, ts, payload: { ...e, n: ++this.#n } });
      if (status.lastError && status.state === 'halted' && !wasHalted) {
        hub.publish({ type: 'error', projectId: this.projectId, seq, ts, payload: { message: status.lastError, code: 'halted', n: ++this.#n } });
      }
      this.#o.projection.upsert(status);
      hub.publish({ type: 'status', projectId: this.projectId, seq, ts, payload: status });
    });
  }
}

/** A task snapshot's state as a lane shows it: `active.executing` → `executing`, `halted`, `paused`. */
function leafOfTask(value: unknown): string {
  const path = leaf(value);
  return path.startsWith('active.') ? path.slice('active.'.length) : path;
}

/** `xstate.done.actor.0.DEVTEAM_AUTOMATION.active.selecting` → `done.selecting`. */
export function shortEvent(type: string): string {
  const m = /^xstate\.(done|error)\.actor\.(?:.*\.)?([A-Za-z]+)$/.exec(type);
  return m ? `${m[1]}.${m[2]}` : type;
}
