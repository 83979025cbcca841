/**
 * One level of the chart (the inside of one compound state, or the root) as a flat elkjs graph
 * and back. After consolidation every drawn edge joins two siblings, so each level is laid out on
 * its own, with its own direction and wrapping; a compound child is a box of the size its own
 * inside was laid out to. Node-only (build time).
 */
import type { ElkEdgeSection, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { GraphNode } from '../graph.ts';
import { METRICS, textWidth } from './metrics.ts';
import type { Box, ChartEdge } from './types.ts';

/** elkjs options for one level. */
export type LevelOptions = Record<string, string>;

/** History nodes no drawn edge touches: drawn in their compound's title bar, not laid out. */
export function floatingHistory(children: GraphNode[], edges: ChartEdge[]): Set<string> {
  const touched = new Set(edges.flatMap((e) => [e.source, e.target]));
  return new Set(children.filter((c) => c.kind === 'history' && !touched.has(c.id)).map((c) => c.id));
}

/** A level laid out: boxes and edges relative to the level's own top-left corner. */
export interface LevelLayout {
  width: number;
  height: number;
  boxes: Map<string, Box>;
  edges: Map<string, { points: Array<[number, number]>; label: Box | null }>;
  /** The inside of each compound child, as it was laid out. */
  inner: Map<string, LevelLayout>;
  /** Options this level was laid out with (for the record). */
  options: LevelOptions;
}

/** The size of a leaf state's box (or a history node's circle) from its texts. */
export function leafSize(n: GraphNode): { width: number; height: number } {
  if (n.kind === 'history') return { width: HISTORY_SIZE, height: HISTORY_SIZE };
  return { width: Math.max(80, textWidth(n.label, METRICS.stateFont, true) + 22), height: 36 };
}

/** Diameter of a history node's circle. */
export const HISTORY_SIZE = 26;

/** Options every level shares. */
export const BASE_OPTIONS: LevelOptions = {
  'elk.algorithm': 'layered',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.spacing.nodeNode': '18',
  'elk.layered.spacing.nodeNodeBetweenLayers': '26',
  'elk.spacing.edgeLabel': '3',
  'elk.spacing.edgeEdge': '8',
  'elk.spacing.edgeNode': '10',
  'elk.spacing.componentComponent': '18',
  'elk.layered.spacing.edgeEdgeBetweenLayers': '8',
  'elk.layered.spacing.edgeNodeBetweenLayers': '10',
  'elk.layered.nodePlacement.strategy': 'NETWORK_SIMPLEX',
  'elk.layered.crossingMinimization.strategy': 'LAYER_SWEEP',
  'elk.layered.cycleBreaking.strategy': 'MODEL_ORDER',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.edgeLabels.inline': 'false',
};

/** Padding of a compound's inside: room for its title on top. */
export const COMPOUND_PADDING = { top: METRICS.titleFont + 18, left: 12, bottom: 12, right: 12 };
const ROOT_PADDING = { top: 6, left: 6, bottom: 6, right: 6 };

function labelsOf(e: ChartEdge) {
  if (!e.labels.length) return [];
  return [{ text: e.labels.join('\n'), width: Math.max(...e.labels.map((l) => textWidth(l, METRICS.edgeFont))) + 8, height: e.labels.length * METRICS.lineH + 4 }];
}

/** How one level is laid out: elkjs options, and the leaves that form one column, if any. */
export interface LevelChoice {
  options: LevelOptions;
  /**
   * Leaves laid out together in an invisible group across the level's direction (e.g. the
   * root's small states stacked beside the big compound rather than in layers after it).
   */
  group: Set<string> | null;
}

const GROUP = '__group';
const across: Record<string, string> = { RIGHT: 'DOWN', LEFT: 'DOWN', DOWN: 'RIGHT', UP: 'RIGHT' };

function edgeToElk(e: ChartEdge, id: string, source: string, target: string, labelled: boolean): ElkExtendedEdge {
  return {
    id,
    sources: [source],
    targets: [target],
    labels: labelled ? labelsOf(e) : [],
    // Steps that finish (done.*) point along the layout direction: the happy path reads in order.
    layoutOptions: { 'elk.layered.priority.direction': e.role === 'step' && e.keys.every((k) => k.startsWith('done.')) ? '10' : '0' },
  };
}

/**
 * The elkjs graph of one level: `children` (leaf sizes from their texts, compound sizes from
 * `inner`) and the drawn edges between them. An edge between the group and the rest is split in
 * two at a port on the group's border (ids `<edge>:a`, `<edge>:b`; the label on the outer part).
 */
export function levelToElk(level: string, children: GraphNode[], edges: ChartEdge[], inner: Map<string, LevelLayout>, choice: LevelChoice): ElkNode {
  const p = level ? COMPOUND_PADDING : ROOT_PADDING;
  const ids = new Set(children.map((c) => c.id));
  const hist = floatingHistory(children, edges);
  const grouped = choice.group ?? new Set<string>();
  const box = (c: GraphNode): ElkNode => {
    const l = inner.get(c.id);
    return l ? { id: c.id, width: l.width, height: l.height } : { id: c.id, ...leafSize(c) };
  };
  const root: ElkNode = {
    id: level || '__root',
    layoutOptions: {
      ...BASE_OPTIONS,
      'elk.padding': `[top=${p.top},left=${p.left},bottom=${p.bottom},right=${p.right}]`,
      'elk.json.shapeCoords': 'ROOT',
      'elk.json.edgeCoords': 'ROOT',
      ...choice.options,
    },
    children: children.filter((c) => !hist.has(c.id) && !grouped.has(c.id)).map(box),
    edges: [],
  };
  const group: ElkNode = {
    id: GROUP,
    layoutOptions: { ...BASE_OPTIONS, 'elk.direction': across[choice.options['elk.direction'] ?? 'RIGHT']!, 'elk.padding': '[top=0,left=0,bottom=0,right=0]' },
    children: children.filter((c) => grouped.has(c.id)).map(box),
    edges: [],
    ports: [],
  };
  if (grouped.size) root.children!.push(group);
  for (const e of edges.filter((x) => ids.has(x.source) && ids.has(x.target))) {
    const inS = grouped.has(e.source);
    const inT = grouped.has(e.target);
    if (inS === inT) {
      (inS ? group : root).edges!.push(edgeToElk(e, e.id, e.source, e.target, true));
      continue;
    }
    const port = `${e.id}:port`;
    group.ports!.push({ id: port, width: 2, height: 2 });
    root.edges!.push(edgeToElk(e, `${e.id}:${inS ? 'b' : 'a'}`, inS ? port : e.source, inS ? e.target : port, true));
    group.edges!.push(edgeToElk(e, `${e.id}:${inS ? 'a' : 'b'}`, inS ? e.source : port, inS ? port : e.target, false));
  }
  return root;
}

/** An edge's sections in order from source to target (a wrapped edge has several). */
function chainSections(sections: ElkEdgeSection[]): ElkEdgeSection[] {
  const byId = new Map(sections.map((s) => [s.id, s]));
  let s: ElkEdgeSection | undefined = sections.find((x) => !x.incomingSections?.length) ?? sections[0];
  const out: ElkEdgeSection[] = [];
  while (s && !out.includes(s)) {
    out.push(s);
    s = byId.get(s.outgoingSections?.[0] ?? '');
  }
  return out;
}

/** Read a laid-out level back (coordinates relative to the level; a group's parts joined). */
export function levelFromElk(out: ElkNode, inner: Map<string, LevelLayout>, options: LevelOptions): LevelLayout {
  const boxes = new Map<string, Box>();
  const parts = new Map<string, ElkExtendedEdge>();
  const walk = (n: ElkNode) => {
    for (const c of n.children ?? []) {
      if (c.id === GROUP) walk(c);
      else boxes.set(c.id, { x: c.x ?? 0, y: c.y ?? 0, w: c.width ?? 0, h: c.height ?? 0 });
    }
    for (const e of (n.edges ?? []) as ElkExtendedEdge[]) parts.set(e.id, e);
  };
  walk(out);
  const edges = new Map<string, { points: Array<[number, number]>; label: Box | null }>();
  for (const [id, e] of parts) {
    if (id.endsWith(':b')) continue;
    const whole = id.endsWith(':a') ? [e, parts.get(`${id.slice(0, -2)}:b`)!] : [e];
    const points: Array<[number, number]> = [];
    for (const s of whole.flatMap((w) => chainSections(w.sections ?? []))) {
      for (const p of [s.startPoint, ...(s.bendPoints ?? []), s.endPoint]) {
        const last = points[points.length - 1];
        if (!last || Math.abs(last[0] - p.x) > 0.5 || Math.abs(last[1] - p.y) > 0.5) points.push([p.x, p.y]);
      }
    }
    const l = whole.map((w) => w.labels?.[0]).find((x) => x && x.x !== undefined);
    edges.set(id.replace(/:a$/, ''), { points: straighten(points), label: l ? { x: l.x!, y: l.y ?? 0, w: l.width ?? 0, h: l.height ?? 0 } : null });
  }
  return { width: Math.ceil(out.width ?? 0), height: Math.ceil(out.height ?? 0), boxes, edges, inner, options };
}

/** Drop points in the middle of straight runs (two parts joined at a port leave one). */
function straighten(points: Array<[number, number]>): Array<[number, number]> {
  return points.filter((p, i) => {
    const a = points[i - 1];
    const b = points[i + 1];
    if (!a || !b) return true;
    return !((Math.abs(a[0] - p[0]) < 0.5 && Math.abs(p[0] - b[0]) < 0.5) || (Math.abs(a[1] - p[1]) < 0.5 && Math.abs(p[1] - b[1]) < 0.5));
  });
}
