/**
 * Which drawn edges a streamed transition took. A drawn edge may stand for several transitions
 * (consolidation), so the transition is matched against the machine's own transitions (each
 * drawn edge's members) with the same rule as graph.ts, then mapped to the edges that draw them.
 */
import { edgesForTransition, type GraphEdge, type StateGraph } from '../graph.ts';
import type { LaidOutChart } from './types.ts';

/** The machine's transitions as a graph whose edge ids are the drawn edges' ids. */
export function memberGraph(chart: Pick<LaidOutChart, 'nodes' | 'edges'>): StateGraph {
  const nodes = chart.nodes.map((n) => ({ id: n.id, parent: n.parent, label: n.label, kind: n.kind, invokes: n.invokes, initial: null }));
  const edges: GraphEdge[] = chart.edges.flatMap((e) =>
    e.members.map((m) => ({ id: e.id, source: m.source, target: m.target, labels: [m.event], guards: [], keys: [m.key], events: [] })),
  );
  return { nodes, edges };
}

/** Ids of the drawn edges that show the transition `{from, to, event}` (none for an initial state). */
export function drawnEdgesFor(members: StateGraph, t: { from: string | null; to: string; event: string }): string[] {
  return [...new Set(edgesForTransition(members, t).map((e) => e.id))];
}
