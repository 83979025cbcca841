/**
 * Lays the state graph out with elkjs (layered, compound nodes laid out with their children in
 * one pass) and returns absolute coordinates for every node box, edge polyline and edge label.
 * DOM-free: the bundled elkjs runs in Node and in the browser.
 */
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { GraphEdge, GraphNode, NodeKind, StateGraph } from './graph.ts';

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface LaidOutNode extends Box {
  id: string;
  label: string;
  kind: NodeKind;
  invokes: string | null;
  initial: boolean;
}

export interface LaidOutEdge extends GraphEdge {
  points: Array<[number, number]>;
  label: Box | null;
}

export interface LaidOutChart {
  width: number;
  height: number;
  nodes: LaidOutNode[];
  edges: LaidOutEdge[];
}

/** Text metrics used for sizing (the SVG uses the same font sizes). */
export const METRICS = { stateFont: 13, invokeFont: 10, edgeFont: 10, charW: 0.6, lineH: 12 } as const;

const textW = (s: string, font: number) => Math.ceil(s.length * font * METRICS.charW);

function atomicSize(n: GraphNode): { width: number; height: number } {
  if (n.kind === 'history') return { width: 30, height: 30 };
  const w = Math.max(textW(n.label, METRICS.stateFont), n.invokes ? textW(`⟳ ${n.invokes}`, METRICS.invokeFont) : 0);
  return { width: Math.max(86, w + 24), height: n.invokes ? 44 : 34 };
}

const ROOT_OPTIONS: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.hierarchyHandling': 'INCLUDE_CHILDREN',
  'elk.json.edgeCoords': 'ROOT',
  'elk.json.shapeCoords': 'ROOT',
  'elk.edgeRouting': 'ORTHOGONAL',
  'elk.spacing.nodeNode': '18',
  'elk.layered.spacing.nodeNodeBetweenLayers': '24',
  'elk.spacing.edgeLabel': '2',
  'elk.spacing.edgeEdge': '5',
  'elk.layered.spacing.edgeEdgeBetweenLayers': '5',
  'elk.layered.spacing.edgeNodeBetweenLayers': '14',
  'elk.layered.nodePlacement.strategy': 'BRANDES_KOEPF',
  'elk.layered.crossingMinimization.strategy': 'LAYER_SWEEP',
  'elk.edgeLabels.inline': 'false',
  'elk.layered.cycleBreaking.strategy': 'GREEDY',
  'elk.padding': '[top=12,left=12,bottom=12,right=12]',
};
const COMPOUND_OPTIONS: Record<string, string> = {
  'elk.padding': '[top=34,left=16,bottom=16,right=16]',
};

let elk: { layout(graph: ElkNode): Promise<ElkNode> } | null = null;

export async function layoutGraph(graph: StateGraph, options: Record<string, string> = {}): Promise<LaidOutChart> {
  elk ??= new (ELK as unknown as new () => { layout(graph: ElkNode): Promise<ElkNode> })();
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const initials = new Set(graph.nodes.map((n) => n.initial).filter((x): x is string => !!x));
  const elkNodes = new Map<string, ElkNode>();
  const root: ElkNode = { id: '__root', layoutOptions: { ...ROOT_OPTIONS, ...options }, children: [], edges: [] };
  for (const n of graph.nodes) {
    if (n.kind === 'root') continue;
    const en: ElkNode = n.kind === 'compound' ? { id: n.id, layoutOptions: COMPOUND_OPTIONS, children: [] } : { id: n.id, ...atomicSize(n) };
    elkNodes.set(n.id, en);
    const parent = n.parent ? elkNodes.get(n.parent) : undefined;
    (parent ?? root).children!.push(en);
  }
  root.edges = graph.edges.map(
    (e): ElkExtendedEdge => ({
      id: e.id,
      sources: [e.source],
      targets: [e.target],
      // The happy path (invoke completions) should point along the layout direction.
      layoutOptions: { 'elk.layered.priority.direction': e.keys.some((k) => k.startsWith('done.')) ? '10' : '0' },
      labels: [
        {
          text: e.labels.join('\n'),
          width: Math.max(...e.labels.map((l) => textW(l, METRICS.edgeFont))) + 6,
          height: e.labels.length * METRICS.lineH + 2,
        },
      ],
    }),
  );
  const out = await elk.layout(root);
  const nodes: LaidOutNode[] = [];
  const walk = (en: ElkNode) => {
    for (const c of en.children ?? []) {
      const g = byId.get(c.id)!;
      nodes.push({ id: c.id, label: g.label, kind: g.kind, invokes: g.invokes, initial: initials.has(c.id), x: c.x ?? 0, y: c.y ?? 0, w: c.width ?? 0, h: c.height ?? 0 });
      walk(c);
    }
  };
  walk(out);
  const src = new Map<string, GraphEdge>(graph.edges.map((e) => [e.id, e]));
  const edges: LaidOutEdge[] = [];
  const collect = (en: ElkNode) => {
    for (const e of (en.edges ?? []) as ElkExtendedEdge[]) {
      const g = src.get(e.id)!;
      const points: Array<[number, number]> = [];
      for (const s of e.sections ?? []) {
        points.push([s.startPoint.x, s.startPoint.y]);
        for (const b of s.bendPoints ?? []) points.push([b.x, b.y]);
        points.push([s.endPoint.x, s.endPoint.y]);
      }
      const l = e.labels?.[0];
      const label = l && l.x !== undefined ? { x: l.x, y: l.y ?? 0, w: l.width ?? 0, h: l.height ?? 0 } : null;
      edges.push({ id: g.id, source: g.source, target: g.target, labels: g.labels, guards: g.guards, keys: g.keys, points, label });
    }
    for (const c of en.children ?? []) collect(c);
  };
  collect(out);
  return { width: Math.ceil(out.width ?? 0), height: Math.ceil(out.height ?? 0), nodes, edges };
}
