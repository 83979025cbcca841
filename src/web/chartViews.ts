/**
 * What the two charts show for the selected project (pure: tested in Node). The project chart
 * follows the project's status and its own transitions; the task chart shows one lane — the one
 * picked in the lanes panel, else the lane whose task actor moved last, else the oldest — from
 * its status (`lanes[].state`) and its task actor's transitions (envelopes with its `taskId`).
 * A lane that just finished has left the status; its last transition (→ done) stays shown
 * until another lane moves.
 */
import { laneNode, projectHighlight } from './chart/active.ts';
import type { ChartView } from './components/chart.ts';
import { leavesOf } from './chart/match.ts';
import type { UiContext } from './store.ts';

/** The lane the task chart shows, or null. */
/** The chart data the views read: its node ids. */
type Nodes = { nodes: ReadonlyArray<{ id: string; parent: string | null }> };

export function shownLane(ctx: UiContext): string | null {
  const p = ctx.selectedId ? ctx.projects[ctx.selectedId] : undefined;
  if (!p) return null;
  const lanes = p.status.lanes;
  const known = (id: string | null): id is string => !!id && (lanes.some((l) => l.taskId === id) || !!p.laneLast[id]);
  if (known(ctx.selectedLane)) return ctx.selectedLane;
  if (p.lastLane && lanes.some((l) => l.taskId === p.lastLane)) return p.lastLane;
  return lanes[0]?.taskId ?? (known(p.lastLane) ? p.lastLane : null);
}

export function projectChartView(chart: Nodes): (ctx: UiContext) => ChartView | null {
  return (ctx) => {
    const p = ctx.selectedId ? ctx.projects[ctx.selectedId] : undefined;
    if (!p) return null;
    const { active, resume } = projectHighlight(chart.nodes, p.status);
    return { label: `${ctx.selectedId}: ${active.join(', ')}`, active, resume, last: p.last, who: ctx.selectedId!, paused: active.length === 1 && active[0] === 'paused' };
  };
}

export function taskChartView(chart: Nodes): (ctx: UiContext) => ChartView | null {
  return (ctx) => {
    const p = ctx.selectedId ? ctx.projects[ctx.selectedId] : undefined;
    const taskId = shownLane(ctx);
    if (!p || !taskId) return null;
    const lane = p.status.lanes.find((l) => l.taskId === taskId);
    const last = p.laneLast[taskId] ?? null;
    const node = lane ? laneNode(chart.nodes, lane.state) : null;
    const active = node ? [node] : lane ? [] : leavesOf(last?.to ?? null);
    const who = `${ctx.selectedId} · task ${taskId}`;
    return { label: `${who}: ${lane ? `${lane.state} (attempt ${lane.attempt})` : 'finished'}`, active, resume: [], last, who, paused: lane?.state === 'paused', taskId };
  };
}
