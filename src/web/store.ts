/**
 * UI state in @xstate/store. Envelopes are applied here immediately (cheap, pure reducers);
 * the DOM is updated at most once per animation frame by the render loop (render.ts).
 */
import { createStore } from '@xstate/store';
import type { ConnectionState, Delivered } from '../client/index.ts';
import type { ProjectStatus } from '../domain/status.ts';
import { applyEnvelope, applyStatus, type ProjectView } from './apply.ts';

export interface Notice {
  kind: 'error' | 'info';
  text: string;
}

export interface UiContext {
  projects: Record<string, ProjectView>;
  /** Project ids, sorted. */
  ids: string[];
  selectedId: string | null;
  /** The lane picked for the task chart (null: follow the lane that moved last). */
  selectedLane: string | null;
  connection: ConnectionState;
  notice: Notice | null;
  /** Envelopes applied so far (shown in the header). */
  envelopes: number;
  /** A command or initialize request in flight (buttons disabled meanwhile). */
  busy: boolean;
}

function insertSorted(ids: string[], id: string): string[] {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ids[mid]! < id) lo = mid + 1;
    else hi = mid;
  }
  if (ids[lo] === id) return ids;
  const out = ids.slice();
  out.splice(lo, 0, id);
  return out;
}

export const initialContext = (): UiContext => ({
  projects: {},
  ids: [],
  selectedId: null,
  selectedLane: null,
  connection: 'connecting',
  notice: null,
  envelopes: 0,
  busy: false,
});

export function createUiStore(context: UiContext = initialContext()) {
  return createStore({
    context,
    on: {
      statuses: (ctx, ev: { items: ProjectStatus[] }) => {
        const projects = { ...ctx.projects };
        let ids = ctx.ids;
        for (const s of ev.items) {
          if (!projects[s.projectId]) ids = insertSorted(ids, s.projectId);
          projects[s.projectId] = applyStatus(projects[s.projectId], s);
        }
        return { ...ctx, projects, ids, selectedId: ctx.selectedId ?? ids[0] ?? null };
      },
      envelope: (ctx, ev: { e: Delivered }) => {
        const e = ev.e;
        if (!('projectId' in e) || !e.projectId) return { ...ctx, envelopes: ctx.envelopes + 1 };
        const prev = ctx.projects[e.projectId];
        const next = applyEnvelope(prev, e);
        if (!next || next === prev) return { ...ctx, envelopes: ctx.envelopes + 1 };
        const ids = prev ? ctx.ids : insertSorted(ctx.ids, e.projectId);
        return { ...ctx, projects: { ...ctx.projects, [e.projectId]: next }, ids, envelopes: ctx.envelopes + 1, selectedId: ctx.selectedId ?? e.projectId };
      },
      select: (ctx, ev: { id: string }) => (ev.id === ctx.selectedId ? ctx : { ...ctx, selectedId: ev.id, selectedLane: null }),
      selectLane: (ctx, ev: { taskId: string | null }) => ({ ...ctx, selectedLane: ev.taskId }),
      connection: (ctx, ev: { state: ConnectionState }) => ({ ...ctx, connection: ev.state }),
      notice: (ctx, ev: { notice: Notice | null }) => ({ ...ctx, notice: ev.notice }),
      busy: (ctx, ev: { busy: boolean }) => ({ ...ctx, busy: ev.busy }),
    },
  });
}

export type UiStore = ReturnType<typeof createUiStore>;
