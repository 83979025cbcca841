/**
 * Which drawn edges a streamed transition took. A drawn edge may stand for several transitions
 * (consolidation), so the transition is matched against the machine's own transitions (each
 * drawn edge's members), then mapped to the edges that draw them. Runs in the browser on the
 * embedded chart data (no machine definition needed) and in Node (tests).
 *
 * A transition's `from` / `to` are the actor's active leaves, joined by `,` when a parallel state
 * has several (the project's `active.running.dispatch.watching,active.running.train.waiting`);
 * a task actor's are one leaf (`active.executing`).
 */
import type { GraphEdge, StateGraph } from '../graph.ts';
import type { LaidOutChart } from './types.ts';

/** Ids of `id` and all its ancestors, innermost first (`a.b.c` → `a.b.c`, `a.b`, `a`). */
export function selfAndAncestors(id: string): string[] {
  const out: string[] = [];
  const parts = id.split('.');
  for (let i = parts.length; i > 0; i--) out.push(parts.slice(0, i).join('.'));
  return out;
}

/** The active leaves of a streamed `from` / `to` (comma-joined for a parallel state). */
export const leavesOf = (path: string | null): string[] => (path ? path.split(',').filter(Boolean) : []);

/**
 * The machine transitions that a streamed transition `{from, to, event}` took. For each leaf it
 * entered (or, when no leaf changed, each leaf it re-entered): a transition leaves one of the
 * `from` leaves or an ancestor and enters that leaf, one of its ancestors (initial child
 * resolution) or a history node of one of its ancestors. Transitions on the event win, then
 * eventless ones (taken after the event, in the same step), then — only when a leaf changed —
 * the event's transition followed by an eventless one (`done.recording` → waiting, `always` →
 * integrating), then any; the innermost source first. A transition that changed no leaf
 * (a context update, a targetless event) maps to the event's own re-entering transitions only.
 */
export function edgesForTransition(graph: StateGraph, t: { from: string | null; to: string; event: string }): GraphEdge[] {
  const from = leavesOf(t.from);
  if (!from.length) return [];
  const to = leavesOf(t.to);
  const entered = to.filter((l) => !from.includes(l));
  const chains = from.map(selfAndAncestors);
  const depth = (e: GraphEdge) => Math.min(...chains.map((c) => c.indexOf(e.source)).filter((i) => i >= 0));
  const leaving = graph.edges.filter((e) => chains.some((c) => c.includes(e.source)));
  const onEvent = (e: GraphEdge) => e.keys.includes(t.event);
  const eventless = (e: GraphEdge) => e.keys.includes('');
  const out = new Set<GraphEdge>();
  for (const leaf of entered.length ? entered : to) {
    const into = intoLeaf(graph, leaf);
    const hits = leaving.filter(into);
    let pool = hits.filter(onEvent);
    if (entered.length) {
      if (!pool.length) pool = hits.filter(eventless);
      if (!pool.length) {
        const second = graph.edges.filter((e) => eventless(e) && into(e) && leaving.some((f) => onEvent(f) && f.target === e.source));
        if (second.length) {
          for (const e of second) out.add(e);
          for (const f of leaving.filter((f) => onEvent(f) && second.some((e) => e.source === f.target))) out.add(f);
          continue;
        }
      }
      if (!pool.length) pool = hits;
    }
    if (!pool.length) continue;
    const best = Math.min(...pool.map(depth));
    for (const e of pool) if (depth(e) === best) out.add(e);
  }
  return graph.edges.filter((e) => out.has(e));
}

/** Does an edge enter `leaf`: its target is the leaf, an ancestor, or a history node of an ancestor. */
function intoLeaf(graph: StateGraph, leaf: string): (e: GraphEdge) => boolean {
  const chain = new Set(selfAndAncestors(leaf));
  const history = new Set(graph.nodes.filter((n) => n.kind === 'history' && n.parent !== null && chain.has(n.parent)).map((n) => n.id));
  return (e) => chain.has(e.target) || history.has(e.target);
}

/** The machine's transitions as a graph whose edge ids are the drawn edges' ids. */
export function memberGraph(chart: Pick<LaidOutChart, 'nodes' | 'edges'>): StateGraph {
  const nodes = chart.nodes.map((n) => ({ id: n.id, parent: n.parent, label: n.label, kind: n.kind, invokes: n.invokes, initial: null, parallel: n.parallel }));
  const edges: GraphEdge[] = chart.edges.flatMap((e) =>
    e.members.map((m) => ({ id: e.id, source: m.source, target: m.target, labels: [m.event], guards: [], keys: [m.key], events: [] })),
  );
  return { nodes, edges };
}

/** Ids of the drawn edges that show the transition `{from, to, event}` (none for an initial state). */
export function drawnEdgesFor(members: StateGraph, t: { from: string | null; to: string; event: string }): string[] {
  return [...new Set(edgesForTransition(members, t).map((e) => e.id))];
}
