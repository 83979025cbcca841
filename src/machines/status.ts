/**
 * Pure projection of a machine snapshot onto the status shape (src/domain/status.ts).
 */
import { COMMANDS, type Command, type ProjectState, type ProjectStatus } from '../domain/status.ts';
import { leafPath, type ProjectSnapshot } from './project.machine.ts';

const acceptedMemo = new Map<string, Command[]>();

/**
 * Commands the current state accepts (what the UI enables and the server allows). Which commands
 * a state accepts depends only on the state and on the context its guards read (current task,
 * haltedFrom), so the answer is memoized by those — it is computed on every transition.
 */
export function acceptedCommands(snapshot: ProjectSnapshot): Command[] {
  if (snapshot.status !== 'active') return [];
  const c = snapshot.context;
  const key = `${leafPath(snapshot.value)}|${c.currentTask ? 1 : 0}|${c.haltedFrom ?? ''}`;
  let cmds = acceptedMemo.get(key);
  if (!cmds) acceptedMemo.set(key, (cmds = Object.freeze(COMMANDS.filter((type) => snapshot.can({ type }))) as Command[]));
  return cmds;
}

/** Top-level state name and dotted sub-path of the active leaf. */
export function stateOf(snapshot: ProjectSnapshot): { state: ProjectState; substate: string | null } {
  const path = leafPath(snapshot.value);
  if (path === 'paused') return { state: 'paused', substate: snapshot.context.pausedFrom?.replace(/^active\./, '') ?? null };
  const parts = path.split('.');
  if (parts[0] !== 'active') return { state: parts[0] as ProjectState, substate: null };
  return { state: parts[1] as ProjectState, substate: parts.slice(1).join('.') };
}

export function toStatus(snapshot: ProjectSnapshot, meta: { seq: number; updatedAt: string }): ProjectStatus {
  const c = snapshot.context;
  const { state, substate } = stateOf(snapshot);
  return {
    projectId: c.projectId,
    state,
    substate,
    currentTask: c.currentTask,
    completedTaskIds: c.completedTaskIds,
    skippedTaskIds: c.skippedTaskIds,
    blockedTaskIds: c.blockedTaskIds,
    taskCounts: { ...c.taskCounts, skipped: c.skippedTaskIds.length, remaining: Math.max(0, c.taskCounts.total - c.taskCounts.done - c.skippedTaskIds.length) },
    lastError: c.lastError,
    tools: c.tools,
    templatePath: c.templatePath,
    acceptedCommands: acceptedCommands(snapshot),
    seq: meta.seq,
    updatedAt: meta.updatedAt,
  };
}
