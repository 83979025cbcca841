/**
 * The statechart as a plain graph, read from a machine's own definition (no copy of the state
 * list anywhere): every state node becomes a node (compound and parallel ones contain their
 * children), every transition with a target becomes an edge labelled with its event, eventless
 * (`always`) ones included. Invoke completions are labelled `done.<src>` / `error.<src>`; an edge
 * to a history node targets that node. Build time and tests only: the browser gets the laid-out
 * chart as data (the runtime helpers that read it are in chart/match.ts and chart/active.ts).
 */
import { projectMachine } from '../machines/project.machine.ts';
import { ALWAYS } from './chart/types.ts';

export { ALWAYS };

export type NodeKind = 'root' | 'compound' | 'atomic' | 'history' | 'final';

export interface GraphNode {
  /** Dotted path from the root, e.g. `active.initializing.syncingRepo` (`''` for the root). */
  id: string;
  parent: string | null;
  /** Last path segment (`H*` for a deep history node). */
  label: string;
  kind: NodeKind;
  /** The actor the state invokes, if any. */
  invokes: string | null;
  /** The initial child's id, for compound states. */
  initial: string | null;
  /** A parallel state: its children are regions, all active at once. */
  parallel: boolean;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
  /** Shown on the diagram: `PAUSE`, `done.runAgent`… (one line per distinct event of the merged transitions). */
  labels: string[];
  /** The guards of the merged transitions (`RETRY [retryTaskWork]`), for tooltips. */
  guards: string[];
  /** Event keys as the stream reports them (`PAUSE`, `done.executing`, `error.syncingRepo`). */
  keys: string[];
  /** One entry per merged transition, in definition order (what the chart's consolidation reads). */
  events: GraphEvent[];
}

/** One transition of a merged edge. */
export interface GraphEvent {
  /** As on the diagram: `PAUSE`, `done.runAgent`, `error.syncRepo`, `always` (eventless). */
  label: string;
  /** As the stream reports it: `PAUSE`, `done.executing`; `''` for an eventless transition (taken after any event). */
  key: string;
  guard: string | null;
  /** Unguarded, but listed after guarded alternatives for the same event: taken when none of them holds. */
  fallback: boolean;
}

export interface StateGraph {
  nodes: GraphNode[];
  edges: GraphEdge[];
}

/** Minimal structural view of an XState StateNode (what the walk reads). */
export interface StateNodeLike {
  path: string[];
  type: string;
  history?: unknown;
  states: Record<string, StateNodeLike>;
  invoke: Array<{ id: string; src: unknown }>;
  initial?: { target?: StateNodeLike[] } | undefined;
  transitions: Map<string, Array<{ target?: readonly StateNodeLike[] | undefined; guard?: unknown; eventType: string }>>;
  /** Eventless transitions (event type `''`). */
  always?: Array<{ target?: readonly StateNodeLike[] | undefined; guard?: unknown; eventType: string }> | undefined;
}


const DONE_OR_ERROR = /^xstate\.(done|error)\.actor\.(.+)$/;

/** The stream's short event name: `xstate.done.actor.0.selecting` → `done.selecting` (as the host reports it). */
export function streamEventKey(type: string): string {
  const m = /^xstate\.(done|error)\.actor\.(?:.*\.)?([A-Za-z]+)$/.exec(type);
  return m ? `${m[1]}.${m[2]}` : type;
}

function guardName(guard: unknown): string | null {
  if (!guard) return null;
  if (typeof guard === 'string') return guard;
  const g = guard as { type?: string; params?: unknown };
  if (typeof g.type !== 'string') return 'guard';
  // Static params (`haltedFrom: 'integrating'`) are part of the name; computed ones (a function) are not.
  return typeof g.params === 'string' || typeof g.params === 'number' || typeof g.params === 'boolean' ? `${g.type}:${String(g.params)}` : g.type;
}

function srcName(src: unknown): string {
  if (typeof src === 'string') return src;
  const s = src as { id?: string; name?: string } | undefined;
  return s?.id ?? s?.name ?? 'actor';
}

function eventLabel(node: StateNodeLike, eventType: string): string {
  if (eventType === '') return ALWAYS;
  const m = DONE_OR_ERROR.exec(eventType);
  if (!m) return eventType;
  const inv = node.invoke.find((i) => i.id === m[2]);
  return `${m[1]}.${inv ? srcName(inv.src) : m[2]}`;
}

/** A state's node id: its dotted path from the root. */
export const nodeId = (path: string[]) => path.join('.');

/** Build the graph of any machine root (defaults to the project machine). */
export function buildGraph(root: StateNodeLike = projectMachine.root as unknown as StateNodeLike): StateGraph {
  const nodes: GraphNode[] = [];
  const edges = new Map<string, GraphEdge>();
  const visit = (n: StateNodeLike, parent: string | null) => {
    const id = nodeId(n.path);
    const children = Object.values(n.states);
    const kind: NodeKind = parent === null ? 'root' : n.type === 'history' ? 'history' : n.type === 'final' ? 'final' : children.length ? 'compound' : 'atomic';
    const label = kind === 'history' ? (n.history === 'deep' ? 'H*' : 'H') : (n.path[n.path.length - 1] ?? '');
    const initial = n.initial?.target?.[0] ? nodeId(n.initial.target[0].path) : null;
    nodes.push({ id, parent, label, kind, invokes: n.invoke[0] ? srcName(n.invoke[0].src) : null, initial, parallel: n.type === 'parallel' });
    const lists: Array<[string, NonNullable<StateNodeLike['always']>]> = [...n.transitions, ...(n.always?.length ? [['', n.always] as [string, NonNullable<StateNodeLike['always']>]] : [])];
    for (const [eventType, list] of lists) {
      for (const [i, t] of list.entries()) {
        for (const target of t.target ?? []) {
          const to = nodeId(target.path);
          const key = `${id}->${to}`;
          const g = guardName(t.guard);
          const label = eventLabel(n, eventType);
          const e = edges.get(key) ?? { id: `e${edges.size}`, source: id, target: to, labels: [], guards: [], keys: [], events: [] };
          if (!e.labels.includes(label)) e.labels.push(label);
          if (g) e.guards.push(`${label} [${g}]`);
          const k = streamEventKey(eventType);
          if (!e.keys.includes(k)) e.keys.push(k);
          e.events.push({ label, key: k, guard: g, fallback: !g && list.slice(0, i).some((p) => !!p.guard) });
          edges.set(key, e);
        }
      }
    }
    for (const c of children) visit(c, id);
  };
  visit(root, null);
  return { nodes, edges: [...edges.values()] };
}
