/**
 * Where a status puts the highlight on the two charts, read from the chart data (node ids), not
 * from the machine definitions, so it runs in the browser without them.
 *
 * Project chart — the status contract (src/machines/status.ts): `substate` lists the project's
 * active leaves below `active`, comma-joined (`running.dispatch.watching,running.train.waiting`:
 * a parallel state has one per region; `initializing.syncingRepo`: one). While the project runs
 * (several leaves), `state` summarises its lanes (`executing`, even `halted` when every lane is
 * halted), so the leaves come from `substate`. Otherwise a `state` that names a top-level state
 * (paused, halted, stopping, stopped) is that state, and a paused project's `substate` is where
 * RESUME returns.
 *
 * Task chart — a lane's `state` is its task actor's leaf below `active` (`executing`) or a
 * top-level state (`halted`, `paused`); `reworking` is the coordinator's name for a `ready` task it
 * has sent back (REWORK on its way), so the task actor is still in `ready`.
 */
interface NodeRef {
  id: string;
  parent: string | null;
}

export interface Highlight {
  /** Active leaves (each drawn `is-active`, their ancestors `is-ancestor`). */
  active: string[];
  /** Where RESUME returns (a paused project), drawn `is-resume`. */
  resume: string[];
}

const topLevel = (nodes: readonly NodeRef[]) => new Set(nodes.filter((n) => n.parent === '').map((n) => n.id));
const below = (path: string) => `active.${path}`;

/** The project chart's highlight for a status. */
export function projectHighlight(nodes: readonly NodeRef[], s: { state: string; substate: string | null }): Highlight {
  const leaves = (s.substate ?? '').split(',').filter(Boolean).map(below);
  if (leaves.length > 1) return { active: leaves, resume: [] };
  if (topLevel(nodes).has(s.state)) return { active: [s.state], resume: leaves };
  return { active: leaves.length ? leaves : [below(s.state)], resume: [] };
}

/** Lane states that are another state of the task actor (see the module comment). */
const LANE_ALIASES: Record<string, string> = { reworking: 'ready' };

/** The task chart's node for a lane state, or null when the chart has none. */
export function laneNode(nodes: readonly NodeRef[], laneState: string): string | null {
  const state = LANE_ALIASES[laneState] ?? laneState;
  const ids = new Set(nodes.map((n) => n.id));
  if (topLevel(nodes).has(state)) return state;
  return ids.has(below(state)) ? below(state) : null;
}
