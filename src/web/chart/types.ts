/**
 * The statechart as the dashboard draws it: the machine's graph after consolidation (which
 * transitions are drawn as one edge) and, once laid out, with coordinates. Pure data: it is
 * computed at build time (scripts/chart-layout.ts) and embedded in the browser bundle as JSON.
 */
import type { GraphNode, NodeKind } from '../graph.ts';

/** The label of an eventless (`always`) transition (its stream key is `''`: taken after any event). */
export const ALWAYS = 'always';

/**
 * How a drawn edge came about:
 * - `step`: the transitions between one pair of states (as in the machine);
 * - `lifted`: one event family into one target from several states inside a compound state,
 *   drawn once from that compound's border;
 * - `fanout`: one event family from one state into several states inside a compound state,
 *   drawn once to that compound's border.
 */
export type EdgeRole = 'step' | 'lifted' | 'fanout';

/** One transition of the machine, as a drawn edge remembers it. */
export interface EdgeMember {
  source: string;
  target: string;
  /** Event as the diagram names it: `PAUSE`, `done.runAgent`, `error.syncRepo`. */
  event: string;
  /** Event as the stream reports it: `PAUSE`, `done.executing`, `error.syncingRepo`. */
  key: string;
  guard: string | null;
  /** Unguarded but listed after guarded alternatives: taken when none of them holds. */
  fallback: boolean;
}

/** A drawn edge: one or more transitions of the machine. */
export interface ChartEdge {
  id: string;
  source: string;
  target: string;
  role: EdgeRole;
  /** Text on the diagram, one line each; empty for a plain "step finished" arrow. */
  labels: string[];
  /** Stream event keys of all members. */
  keys: string[];
  members: EdgeMember[];
  /** For a consolidated edge: what it stands for, in a sentence (tooltip). */
  note: string | null;
  /** The lifts and fan-outs this edge draws (the legend explains each). */
  groups: EdgeGroup[];
}

/** One lift or fan-out (consolidate.ts): its label and the transitions it stands for. */
export interface EdgeGroup {
  role: 'lifted' | 'fanout';
  label: string;
  members: EdgeMember[];
}

/** The consolidated graph: the machine's state nodes, and the edges as drawn. */
export interface ChartGraph {
  nodes: GraphNode[];
  edges: ChartEdge[];
}

/** An axis-aligned box in chart coordinates. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** A state box (or history circle) with its absolute position. */
export interface LaidOutNode extends Box {
  id: string;
  parent: string | null;
  label: string;
  kind: NodeKind;
  invokes: string | null;
  /** The initial child of its parent. */
  initial: boolean;
  /** A parallel state (its compound children are regions, all active at once). */
  parallel: boolean;
}

/** A drawn edge with its polyline and label box (absolute coordinates). */
export interface LaidOutEdge extends ChartEdge {
  points: Array<[number, number]>;
  label: Box | null;
}

/** The whole laid-out diagram; the SVG's viewBox is `0 0 width height`. */
export interface LaidOutChart {
  width: number;
  height: number;
  nodes: LaidOutNode[];
  edges: LaidOutEdge[];
}

/** The charts the dashboard embeds: the project coordinator, and the task actor of every lane. */
export interface Charts {
  project: LaidOutChart;
  task: LaidOutChart;
}
