/**
 * Pure reducers from stream envelopes and REST answers to the per-project view the dashboard
 * shows. Snapshots (and REST statuses) are authoritative; between them a `transition` moves the
 * state locally and `task`/`error` envelopes adjust the current task, counts and last error.
 */
import type { Delivered } from '../client/index.ts';
import type { ProjectState, ProjectStatus } from '../domain/status.ts';
import { commandsForPath } from './commands.ts';

export const TIMELINE_CAP = 200;
export const LOG_CAP = 300;

export interface TimelineEntry {
  seq: number;
  ts: string;
  from: string | null;
  to: string;
  event: string;
}

export interface LogLine {
  key: string;
  ts: string;
  stream: string;
  line: string;
  taskId: string | null;
  attempt: number | null;
}

export interface ProjectView {
  status: ProjectStatus;
  timeline: TimelineEntry[];
  logs: LogLine[];
  /** The last transition seen live (animated on the diagram). */
  last: TimelineEntry | null;
}

const capPush = <T>(list: T[], item: T, cap: number): T[] => (list.length >= cap ? [...list.slice(list.length - cap + 1), item] : [...list, item]);

/** The status fields a leaf path implies (mirrors src/machines/status.ts `stateOf`). */
export function stateFromPath(to: string, from: string | null): { state: ProjectState; substate: string | null } {
  const parts = to.split('.');
  if (parts[0] === 'paused') return { state: 'paused', substate: from?.startsWith('active.') ? from.slice('active.'.length) : null };
  if (parts[0] !== 'active') return { state: parts[0] as ProjectState, substate: null };
  return { state: parts[1] as ProjectState, substate: parts.slice(1).join('.') };
}

export function emptyView(status: ProjectStatus): ProjectView {
  return { status, timeline: [], logs: [], last: null };
}

/** Apply an authoritative status unless an envelope already moved past it. */
export function applyStatus(view: ProjectView | undefined, status: ProjectStatus): ProjectView {
  if (!view) return emptyView(status);
  if (status.seq < view.status.seq) return view;
  return { ...view, status };
}

export function applyEnvelope(view: ProjectView | undefined, e: Delivered): ProjectView | undefined {
  switch (e.type) {
    case 'snapshot': {
      const { truncated: _t, ...status } = e.payload;
      return view ? { ...view, status } : emptyView(status);
    }
    case 'transition': {
      if (!view) return view;
      const entry: TimelineEntry = { seq: e.seq, ts: e.ts, from: e.payload.from, to: e.payload.to, event: e.payload.event };
      const s = view.status;
      const { state, substate } = stateFromPath(entry.to, entry.from);
      const currentTask = state === 'selecting' || state === 'idle' ? null : s.currentTask;
      const status: ProjectStatus = {
        ...s,
        state,
        substate,
        currentTask,
        acceptedCommands: commandsForPath(entry.to, currentTask !== null),
        seq: e.seq,
        updatedAt: e.ts,
      };
      return { ...view, status, timeline: capPush(view.timeline, entry, TIMELINE_CAP), last: entry };
    }
    case 'task': {
      if (!view) return view;
      const s = view.status;
      const p = e.payload;
      const c = { ...s.taskCounts };
      let currentTask = s.currentTask;
      if (p.event === 'started') currentTask = { id: p.taskId, title: s.currentTask?.id === p.taskId ? s.currentTask.title : p.taskId, attempt: p.attempt };
      if (p.event === 'completed' && !s.completedTaskIds.includes(p.taskId)) {
        c.done++;
        c.remaining = Math.max(0, c.remaining - 1);
      }
      if (p.event === 'skipped' && !s.skippedTaskIds.includes(p.taskId)) {
        c.skipped++;
        c.remaining = Math.max(0, c.remaining - 1);
      }
      const completedTaskIds = p.event === 'completed' ? [...s.completedTaskIds, p.taskId] : s.completedTaskIds;
      const skippedTaskIds = p.event === 'skipped' ? [...s.skippedTaskIds, p.taskId] : s.skippedTaskIds;
      return { ...view, status: { ...s, taskCounts: c, currentTask, completedTaskIds, skippedTaskIds } };
    }
    case 'log': {
      if (!view) return view;
      const p = e.payload;
      const line: LogLine = { key: `${e.seq}.${p.n}`, ts: e.ts, stream: p.stream, line: p.line, taskId: p.taskId, attempt: p.attempt };
      return { ...view, logs: capPush(view.logs, line, LOG_CAP) };
    }
    case 'error': {
      if (!view) return view;
      return { ...view, status: { ...view.status, lastError: e.payload.message } };
    }
    default:
      return view;
  }
}
