/**
 * Pure reducers from stream envelopes and REST answers to the per-project view the dashboard
 * shows. The status comes from the server (snapshots, status envelopes, REST) and is never
 * re-derived here; transitions feed the timeline and the diagrams' animation (the project's on
 * the project chart, a lane's — envelopes with a `taskId` — on the task chart), logs the log tail.
 */
import type { Delivered } from '../client/index.ts';
import type { ProjectStatus } from '../domain/status.ts';

export const TIMELINE_CAP = 200;
export const LOG_CAP = 300;

export interface TimelineEntry {
  seq: number;
  ts: string;
  from: string | null;
  to: string;
  event: string;
  /** Set for a task actor's transition (a lane). */
  taskId: string | null;
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
  /** The project actor's last transition seen live (animated on the project chart). */
  last: TimelineEntry | null;
  /** Each lane's (task actor's) last transition seen live (animated on the task chart), at most LANE_CAP. */
  laneLast: Record<string, TimelineEntry>;
  /** The lane whose task actor transitioned last (the task chart follows it unless one is picked). */
  lastLane: string | null;
}

/** Lanes whose last transition is kept (finished lanes drop out first). */
export const LANE_CAP = 64;

const capPush = <T>(list: T[], item: T, cap: number): T[] => (list.length >= cap ? [...list.slice(list.length - cap + 1), item] : [...list, item]);

export function emptyView(status: ProjectStatus): ProjectView {
  return { status, timeline: [], logs: [], last: null, laneLast: {}, lastLane: null };
}

/** Apply an authoritative status unless an envelope already moved past it. */
export function applyStatus(view: ProjectView | undefined, status: ProjectStatus): ProjectView {
  if (!view) return emptyView(status);
  if (status.seq < view.status.seq) return view;
  return { ...view, status };
}

/** `laneLast` with `taskId`'s entry replaced (moved last), the oldest dropped beyond LANE_CAP. */
function setLaneLast(map: Record<string, TimelineEntry>, taskId: string, entry: TimelineEntry): Record<string, TimelineEntry> {
  const { [taskId]: _old, ...rest } = map;
  const keys = Object.keys(rest);
  for (const k of keys.slice(0, Math.max(0, keys.length - LANE_CAP + 1))) delete rest[k];
  return { ...rest, [taskId]: entry };
}

export function applyEnvelope(view: ProjectView | undefined, e: Delivered): ProjectView | undefined {
  switch (e.type) {
    case 'snapshot':
    case 'status': {
      // The server's own status (src/machines/status.ts): authoritative, never re-derived here.
      const { truncated: _t, ...status } = e.payload;
      if (!view) return emptyView(status);
      return status.seq < view.status.seq ? view : { ...view, status };
    }
    case 'transition': {
      if (!view) return view;
      const entry: TimelineEntry = { seq: e.seq, ts: e.ts, from: e.payload.from, to: e.payload.to, event: e.payload.event, taskId: e.payload.taskId ?? null };
      const timeline = capPush(view.timeline, entry, TIMELINE_CAP);
      if (entry.taskId === null) return { ...view, timeline, last: entry };
      return { ...view, timeline, laneLast: setLaneLast(view.laneLast, entry.taskId, entry), lastLane: entry.taskId };
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
