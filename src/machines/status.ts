/**
 * Pure projection of a project machine snapshot onto the status shape (src/domain/status.ts) —
 * the one place that says what a machine state means to a user. Clients, the CLI, the dashboard
 * and metrics read the status fields (`state`, `substate`, `acceptedCommands`, `lanes`) instead of
 * re-deriving them from leaf paths.
 *
 * `state` summarises the team: a project-level state (initializing, paused, halted, stopping,
 * stopped) wins; while running, the merge train's step (integrating, recording) when it is merging,
 * else the oldest working lane's step (preparing … verifying), `halted` when every lane is
 * halted (nothing can move until someone acts), else the dispatcher's (selecting, idle,
 * awaitingTaskList). With parallelism 1 this is exactly the one-lane loop's state.
 */
import { COMMANDS, type Command, type ProjectState, type ProjectStatus } from '../domain/status.ts';
import { leafPaths, type Lane, type ProjectSnapshot } from './project.machine.ts';

const LANE_STATE: Record<string, ProjectState> = {
  preparing: 'preparing',
  reworking: 'preparing',
  waitingForSlot: 'waitingForSlot',
  executing: 'executing',
  verifying: 'verifying',
  ready: 'integrating',
  paused: 'paused',
  halted: 'halted',
};

const acceptedMemo = new Map<string, Command[]>();

/**
 * Commands the current state accepts (what the UI enables and the server allows): the project
 * machine's own (`snapshot.can`), plus RETRY and SKIP while a lane is halted (they go to that task).
 */
export function acceptedCommands(snapshot: ProjectSnapshot): Command[] {
  if (snapshot.status !== 'active') return [];
  const c = snapshot.context;
  const laneHalted = c.lanes.some((l) => l.state === 'halted');
  const key = `${leafPaths(snapshot.value).join(',')}|${c.haltedFrom ?? ''}|${c.mergeQueue.length > 0 ? 1 : 0}|${laneHalted ? 1 : 0}`;
  let cmds = acceptedMemo.get(key);
  if (!cmds) {
    cmds = COMMANDS.filter((type) => snapshot.can({ type }) || (laneHalted && (type === 'RETRY' || type === 'SKIP')));
    acceptedMemo.set(key, (cmds = Object.freeze(cmds) as Command[]));
  }
  return cmds;
}

/** The halted lanes (RETRY / SKIP may name one of them). */
export function haltedLanes(snapshot: ProjectSnapshot): Lane[] {
  return snapshot.context.lanes.filter((l) => l.state === 'halted');
}

/** Top-level state name and dotted sub-path (see the module comment). */
export function stateOf(snapshot: ProjectSnapshot): { state: ProjectState; substate: string | null } {
  const paths = leafPaths(snapshot.value);
  const first = paths[0] ?? '';
  if (first === 'paused') return { state: 'paused', substate: snapshot.context.pausedFrom?.split(',')[0]?.replace(/^active\./, '') ?? null };
  const parts = first.split('.');
  if (parts[0] !== 'active') return { state: parts[0] as ProjectState, substate: null };
  if (parts[1] !== 'running') return { state: parts[1] as ProjectState, substate: parts.slice(1).join('.') };
  const dispatch = paths.find((p) => p.startsWith('active.running.dispatch.'))!.split('.')[3]!;
  const train = paths.find((p) => p.startsWith('active.running.train.'))!.split('.')[3]!;
  const sub = `running.dispatch.${dispatch},running.train.${train}`;
  if (train === 'integrating' || train === 'recording') return { state: train, substate: sub };
  const lanes = snapshot.context.lanes;
  if (lanes.length) {
    const working = lanes.find((l) => l.state !== 'halted');
    return { state: working ? (LANE_STATE[working.state] ?? 'executing') : 'halted', substate: sub };
  }
  return { state: dispatch === 'watching' ? 'selecting' : (dispatch as ProjectState), substate: sub };
}

export function toStatus(snapshot: ProjectSnapshot, meta: { seq: number; updatedAt: string }): ProjectStatus {
  const c = snapshot.context;
  const { state, substate } = stateOf(snapshot);
  const head = c.mergeQueue[0];
  const current = (head ? c.lanes.find((l) => l.taskId === head) : undefined) ?? c.lanes.find((l) => l.state !== 'halted') ?? c.lanes[0];
  const laneError = c.lanes.find((l) => l.state === 'halted')?.error ?? null;
  return {
    projectId: c.projectId,
    state,
    substate,
    currentTask: current ? { id: current.taskId, title: current.title, attempt: current.attempt } : null,
    lanes: c.lanes.map((l) => ({ ...l })),
    mergeQueue: c.mergeQueue,
    completedTaskIds: c.completedTaskIds,
    skippedTaskIds: c.skippedTaskIds,
    blockedTaskIds: c.blockedTaskIds,
    taskCounts: { ...c.taskCounts, skipped: c.skippedTaskIds.length, remaining: Math.max(0, c.taskCounts.total - c.taskCounts.done - c.skippedTaskIds.length) },
    lastError: c.lastError ?? (state === 'halted' ? laneError : null),
    tools: c.tools,
    templatePath: c.templatePath,
    acceptedCommands: acceptedCommands(snapshot),
    seq: meta.seq,
    updatedAt: meta.updatedAt,
  };
}
