/**
 * Which of the machine's transitions are drawn as one edge. The rules read only the graph (no
 * state names anywhere), so states added to the machine are consolidated the same way:
 *
 * 1. Lift: transitions of one event family (`error.*`, `done.*`, or one named event) into the
 *    same target from ≥ MIN_GROUP states inside one compound state (the target outside it) are
 *    drawn once, from the border of the innermost compound that holds them all
 *    (e.g. every step's `error.*` → halted becomes one edge from `active`).
 * 2. Fan out: transitions of one event family from one state into ≥ MIN_GROUP states inside one
 *    compound state (the source outside it) are drawn once, into that compound's border
 *    (e.g. RETRY from halted into whichever step failed becomes one edge to `active`).
 * 3. Cut at borders: a transition that leaves or enters a compound state is drawn from or to
 *    that compound's border (the outermost one it crosses), its label naming the inner state
 *    (`SKIP → selecting`, `executing: else`). So each compound's inside is laid out on its own
 *    and edges never cross a compound's border.
 * 4. What is left is drawn per pair of (border-cut) states, like the machine's own graph; an
 *    event handled at a compound level (PAUSE, STOP on `active`) already is a single edge from
 *    that compound.
 */
import type { GraphEvent, GraphNode, StateGraph } from '../graph.ts';
import { ALWAYS, type ChartEdge, type ChartGraph, type EdgeMember, type EdgeRole } from './types.ts';

/** How many states a lift or fan-out needs before it is drawn as one edge. */
export const MIN_GROUP = 3;

/** `done.runAgent` → `done.*`, `error.syncRepo` → `error.*`, a named event → itself. */
export function eventFamily(event: string): string {
  const m = /^(done|error)\./.exec(event);
  return m ? `${m[1]}.*` : event;
}

/** The text a single transition shows on the diagram (the full event is in the tooltip). */
export function memberLabel(m: Pick<EdgeMember, 'event' | 'guard' | 'fallback'>): string {
  const family = eventFamily(m.event);
  const guard = m.guard ? `[${m.guard}]` : m.fallback ? 'else' : '';
  if (family === ALWAYS) return guard || ALWAYS; // eventless: when its guard holds
  if (family === 'done.*') return guard; // a step finished: the arrow alone says it
  if (family === 'error.*') return guard ? `fails ${guard}` : 'fails';
  return m.event; // a command or signal: its guard is in the tooltip
}

/** Longest label line before it is wrapped at a space. */
export const MAX_LINE = 16;

/** Wrap a label line at spaces into lines of at most MAX_LINE characters (longer words stay whole). */
export function wrapLine(line: string): string[] {
  const out: string[] = [];
  for (const word of line.split(' ')) {
    const last = out[out.length - 1];
    if (last !== undefined && last.length + 1 + word.length <= MAX_LINE) out[out.length - 1] = `${last} ${word}`;
    else out.push(word);
  }
  return out;
}

/** A transition as drawn: the inner state it leaves from or enters into when cut at a border. */
interface Cut {
  member: EdgeMember;
  /** Label of the inner source when the edge starts at an enclosing compound's border. */
  from: string | null;
  /** Label of the inner target when the edge ends at an enclosing compound's border. */
  to: string | null;
}

/**
 * The label lines of transitions drawn as one edge: one line per distinct text (sources that
 * share it are listed together); an edge that only says "a step finished" has no label.
 */
export function edgeLabels(cuts: Cut[]): string[] {
  const groups = new Map<string, { text: string; to: string | null; froms: string[] }>();
  for (const c of cuts) {
    const text = memberLabel(c.member);
    const key = `${text}\n${c.to ?? ''}`;
    const g = groups.get(key) ?? { text, to: c.to, froms: [] };
    if (c.from && !g.froms.includes(c.from)) g.froms.push(c.from);
    groups.set(key, g);
  }
  const all = [...groups.values()];
  if (all.every((g) => !g.text && !g.to)) return [];
  return all.flatMap((g) => wrapLine(`${g.froms.length ? `${g.froms.join(', ')}: ` : ''}${g.text || 'done'}${g.to ? ` → ${g.to}` : ''}`));
}

interface Tree {
  parent: Map<string, string | null>;
  kind: Map<string, GraphNode['kind']>;
}

/** `id` and its ancestors below the root, innermost first. */
function chain(tree: Tree, id: string): string[] {
  const out: string[] = [];
  for (let n: string | null | undefined = id; n; n = tree.parent.get(n)) out.push(n);
  return out;
}

const contains = (tree: Tree, outer: string, id: string) => chain(tree, id).includes(outer);

/** Innermost state that is `id` or holds every one of `ids`. */
function commonAncestor(tree: Tree, ids: string[]): string | null {
  const [first, ...rest] = ids;
  if (first === undefined) return null;
  return chain(tree, first).find((c) => rest.every((id) => contains(tree, c, id))) ?? null;
}

/**
 * Groups `ends` (the varying side of a set of transitions) by the outermost compound that holds
 * them but not `fixed` (the other side), and returns the groups of ≥ MIN_GROUP distinct ends
 * with the innermost compound holding each group.
 */
function groupsInside(tree: Tree, fixed: string, ends: string[]): Array<{ compound: string; ends: Set<string> }> {
  const buckets = new Map<string, Set<string>>();
  for (const end of new Set(ends)) {
    const outer = chain(tree, end).filter((c) => !contains(tree, c, fixed)).pop();
    if (!outer || tree.kind.get(outer) !== 'compound') continue;
    buckets.set(outer, (buckets.get(outer) ?? new Set()).add(end));
  }
  const out: Array<{ compound: string; ends: Set<string> }> = [];
  for (const set of buckets.values()) {
    if (set.size < MIN_GROUP) continue;
    const compound = commonAncestor(tree, [...set]);
    if (compound && tree.kind.get(compound) === 'compound') out.push({ compound, ends: set });
  }
  return out;
}

const short = (id: string) => id.slice(id.lastIndexOf('.') + 1);

function liftedText(family: string, members: EdgeMember[], compound: string): { label: string; note: string } {
  const sources = [...new Set(members.map((m) => short(m.source)))];
  const what = family === 'error.*' ? 'any step fails' : family === 'done.*' ? 'a step is done' : family;
  const label = family === 'error.*' ? what : `${what} (${sources.length} states)`;
  return { label, note: `${what} (${family}) in ${sources.length} states of ${short(compound)}: ${sources.join(', ')}` };
}

function fanoutText(family: string, members: EdgeMember[], compound: string): { label: string; note: string } {
  const targets = [...new Set(members.map((m) => m.target))];
  const how = members.map((m) => `${m.target.startsWith(compound + '.') ? m.target.slice(compound.length + 1) : short(m.target)}${m.guard ? ` [${m.guard}]` : m.fallback ? ' (else)' : ''}`);
  return {
    label: `${family} → one of ${targets.length}`,
    note: `${family} enters one of ${targets.length} states of ${short(compound)}, chosen by guard: ${[...new Set(how)].join(', ')}`,
  };
}

/** Consolidate a machine graph into the edges the dashboard draws. */
export function consolidate(graph: StateGraph): ChartGraph {
  const tree: Tree = { parent: new Map(graph.nodes.map((n) => [n.id, n.parent || null])), kind: new Map(graph.nodes.map((n) => [n.id, n.kind])) };
  const toMember = (source: string, target: string, e: GraphEvent): EdgeMember => ({ source, target, event: e.label, key: e.key, guard: e.guard, fallback: e.fallback });
  let left: EdgeMember[] = graph.edges.flatMap((e) => e.events.map((ev) => toMember(e.source, e.target, ev)));
  const groups: Array<{ source: string; target: string; role: EdgeRole; members: EdgeMember[]; label: string; note: string }> = [];

  const byKey = (key: (m: EdgeMember) => string) => {
    const map = new Map<string, EdgeMember[]>();
    for (const m of left) map.set(key(m), [...(map.get(key(m)) ?? []), m]);
    return map;
  };

  // 1. Lift: one family into one target from many states inside a compound.
  for (const members of byKey((m) => `${m.target}\n${eventFamily(m.event)}`).values()) {
    const { target, event } = members[0]!;
    for (const g of groupsInside(tree, target, members.map((m) => m.source))) {
      const taken = members.filter((m) => g.ends.has(m.source));
      groups.push({ source: g.compound, target, role: 'lifted', members: taken, ...liftedText(eventFamily(event), taken, g.compound) });
      left = left.filter((m) => !taken.includes(m));
    }
  }
  // 2. Fan out: one family from one state into many states inside a compound.
  for (const members of byKey((m) => `${m.source}\n${eventFamily(m.event)}`).values()) {
    const { source, event } = members[0]!;
    for (const g of groupsInside(tree, source, members.map((m) => m.target))) {
      const taken = members.filter((m) => g.ends.has(m.target));
      groups.push({ source, target: g.compound, role: 'fanout', members: taken, ...fanoutText(eventFamily(event), taken, g.compound) });
      left = left.filter((m) => !taken.includes(m));
    }
  }

  // 3./4. Cut at borders, then one edge per pair; groups that share a pair are merged into it.
  const label = new Map(graph.nodes.map((n) => [n.id, n.label]));
  /** The outermost state holding `id` (or `id` itself) that does not hold `other`. */
  const outerFor = (id: string, other: string) => chain(tree, id).filter((c) => !contains(tree, c, other)).pop() ?? id;
  const edges: ChartEdge[] = [];
  const pairs = new Map<string, { edge: ChartEdge; cuts: Cut[]; extra: string[] }>();
  const add = (source: string, target: string, role: EdgeRole, members: EdgeMember[], cuts: Cut[], extra: string[], note: string | null) => {
    const pair = `${source}\n${target}`;
    const have = pairs.get(pair);
    if (!have) {
      const edge: ChartEdge = { id: `e${edges.length}`, source, target, role, labels: [], keys: [], members: [], note: null, groups: [] };
      pairs.set(pair, { edge, cuts: [], extra: [] });
      edges.push(edge);
    }
    const p = pairs.get(pair)!;
    p.cuts.push(...cuts);
    p.extra.push(...extra);
    if (role !== 'step') p.edge.role = role;
    p.edge.members.push(...members);
    p.edge.keys = [...new Set(p.edge.members.map((m) => m.key))];
    p.edge.labels = [...p.extra.flatMap(wrapLine), ...edgeLabels(p.cuts)];
    p.edge.note = [p.edge.note, note].filter(Boolean).join('; ') || null;
  };
  for (const g of groups) {
    const s = outerFor(g.source, g.target);
    const t = outerFor(g.target, g.source);
    add(s, t, g.role, g.members, [], [g.label], g.note);
    pairs.get(`${s}\n${t}`)!.edge.groups.push({ role: g.role as 'lifted' | 'fanout', label: g.label, members: g.members });
  }
  for (const m of left) {
    const s = outerFor(m.source, m.target);
    const t = outerFor(m.target, m.source);
    const cut: Cut = { member: m, from: s === m.source ? null : label.get(m.source)!, to: t === m.target ? null : label.get(m.target)! };
    add(s, t, 'step', [m], [cut], [], null);
  }
  edges.forEach((e, i) => (e.id = `e${i}`));
  return { nodes: graph.nodes, edges };
}
