/**
 * Build-time layout of the consolidated statecharts (the project coordinator, and the task actor
 * each lane runs) with elkjs. Each level (the inside of a
 * compound state, and the root) is a flat graph laid out on its own; its direction and wrapping
 * are chosen by a small search, bottom-up: every level keeps its few best shapes (no other is both
 * narrower and lower), and the root picks the combination that fits its chart panel
 * (PANEL_BOX) at the largest scale, so the chart stays legible at its default zoom as the machine
 * grows. Runs in Node only — scripts/chart-layout.ts calls it while the dashboard is built and
 * the result is embedded in the bundle, so the browser never loads elkjs.
 */
import ELK from 'elkjs/lib/elk.bundled.js';
import type { ElkNode } from 'elkjs/lib/elk-api.js';
import { COMPOUND_PADDING, floatingHistory, HISTORY_SIZE, levelFromElk, levelToElk, type LevelChoice, type LevelLayout, type LevelOptions } from './chart/elkModel.ts';
import { METRICS } from './chart/metrics.ts';
import { ringOrder } from './chart/order.ts';
import { consolidate } from './chart/consolidate.ts';
import type { ChartGraph, LaidOutChart, LaidOutEdge, LaidOutNode } from './chart/types.ts';
import { projectMachine } from '../machines/project.machine.ts';
import { taskMachine } from '../machines/task.machine.ts';
import type { Charts } from './chart/types.ts';
import { buildGraph, type StateNodeLike } from './graph.ts';

export type { Box, Charts, LaidOutChart, LaidOutEdge, LaidOutNode } from './chart/types.ts';
export { leafSize } from './chart/elkModel.ts';

/**
 * The charts' drawing areas at 1280×720 (CSS px): what each layout is fitted to. They follow
 * styles.css: the main column is 916 px wide inside the canvas padding (900 leaves room for a
 * scroll bar); the project canvas is `100vh - 170px` tall (538 px inside its padding at 720), the
 * task canvas 372 px (360 inside).
 */
export const PANEL_BOX = { project: { width: 900, height: 535 }, task: { width: 900, height: 360 } } as const;

/** The project chart's panel (the default box). */
export const TARGET_BOX = PANEL_BOX.project;

/** The per-level options the search tries (each in definition order and, for a loop, ring order). */
export const LEVEL_CHOICES: LevelOptions[] = [{ 'elk.direction': 'DOWN' }, { 'elk.direction': 'RIGHT' }];

/** Tried too when the chart does not fit legibly without them (slow: elkjs' wrapping is costly). */
export const WRAPPING_CHOICES: LevelOptions[] = [
  { 'elk.direction': 'RIGHT', 'elk.layered.wrapping.strategy': 'MULTI_EDGE', 'elk.aspectRatio': '1.6' },
  { 'elk.direction': 'DOWN', 'elk.layered.wrapping.strategy': 'MULTI_EDGE', 'elk.aspectRatio': '1.2' },
];

/** The smallest scale at which the smallest text (edge labels) is still 11 px on screen. */
export const MIN_SCALE = 11 / METRICS.edgeFont;

/** How many shapes each level keeps for its parent to choose from. */
const KEEP = 4;

type Elk = { layout(graph: ElkNode): Promise<ElkNode> };
let elk: Elk | null = null;

/** The scale at which a chart of this size fits `box` (< 1: it has to shrink). */
export const fitScale = (chart: { width: number; height: number }, box: { width: number; height: number } = TARGET_BOX) =>
  Math.min(box.width / chart.width, box.height / chart.height);

const edgeLength = (l: LevelLayout): number =>
  [...l.edges.values()].reduce((n, e) => n + e.points.slice(1).reduce((m, p, i) => m + Math.abs(p[0] - e.points[i]![0]) + Math.abs(p[1] - e.points[i]![1]), 0), 0) +
  [...l.inner.values()].reduce((n, c) => n + edgeLength(c), 0);

/** Shapes no other shape beats in both width and height, the smallest areas first, at most KEEP. */
function front(shapes: LevelLayout[]): LevelLayout[] {
  const keep = shapes.filter((a) => !shapes.some((b) => b !== a && b.width <= a.width && b.height <= a.height && (b.width < a.width || b.height < a.height)));
  const unique = keep.filter((a, i) => keep.findIndex((b) => b.width === a.width && b.height === a.height) === i);
  return unique.sort((a, b) => a.width * a.height - b.width * b.height).slice(0, KEEP);
}

/** Every way to pick one shape per compound child (capped: large products keep each child's best). */
function combos(fronts: Array<[string, LevelLayout[]]>): Array<Map<string, LevelLayout>> {
  const product = fronts.reduce((n, [, f]) => n * f.length, 1);
  const lists = product > 32 ? fronts.map(([id, f]) => [id, f.slice(0, 1)] as [string, LevelLayout[]]) : fronts;
  let out: Array<Map<string, LevelLayout>> = [new Map()];
  for (const [id, f] of lists) out = out.flatMap((m) => f.map((l) => new Map(m).set(id, l)));
  return out;
}

/** The candidate shapes of one level (its compound children's shapes chosen recursively). */
async function shapes(graph: ChartGraph, level: string, choices: LevelOptions[]): Promise<LevelLayout[]> {
  elk ??= new (ELK as unknown as new () => Elk)();
  const children = graph.nodes.filter((n) => n.kind !== 'root' && (n.parent ?? '') === level);
  const fronts: Array<[string, LevelLayout[]]> = [];
  for (const c of children.filter((n) => n.kind === 'compound')) fronts.push([c.id, await shapes(graph, c.id, choices)]);
  const ring = ringOrder(children.map((c) => c.id), graph.edges);
  const orders = ring ? [children, ring.map((id) => children.find((c) => c.id === id)!)] : [children];
  // Beside compound children, the leaves may stack in one column (a level of small states).
  const leaves = children.filter((c) => c.kind !== 'compound' && c.kind !== 'history').map((c) => c.id);
  const groups = fronts.length && leaves.length >= 2 ? [null, new Set(leaves)] : [null];
  const out: LevelLayout[] = [];
  for (const inner of combos(fronts)) {
    for (const options of choices) {
      for (const ordered of orders) {
        for (const group of groups) {
          const choice: LevelChoice = { options, group };
          const laid = await elk.layout(levelToElk(level, ordered, graph.edges, inner, choice));
          out.push(levelFromElk(laid, inner, { ...options, order: ordered === children ? 'definition' : 'ring', group: group ? 'leaves' : 'none' }));
        }
      }
    }
  }
  return level ? front(out) : out;
}

/** Absolute coordinates: each compound's inside moved to where its box was placed. */
function compose(graph: ChartGraph, root: LevelLayout): LaidOutChart {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const initials = new Set(graph.nodes.map((n) => n.initial).filter((x): x is string => !!x));
  const drawn = new Map(graph.edges.map((e) => [e.id, e]));
  const nodes: LaidOutNode[] = [];
  const edges: LaidOutEdge[] = [];
  const place = (l: LevelLayout, dx: number, dy: number, level: string) => {
    // History nodes with no drawn edge sit in the title bar, at the right.
    const kids = graph.nodes.filter((n) => n.kind !== 'root' && (n.parent ?? '') === level);
    [...floatingHistory(kids, graph.edges)].forEach((id, i) => {
      const g = byId.get(id)!;
      const x = dx + l.width - COMPOUND_PADDING.right - HISTORY_SIZE * (i + 1) - 6 * i;
      nodes.push({ id, parent: g.parent, label: g.label, kind: g.kind, invokes: g.invokes, initial: false, parallel: false, x, y: dy + 5, w: HISTORY_SIZE, h: HISTORY_SIZE });
    });
    for (const [id, b] of l.boxes) {
      const g = byId.get(id)!;
      nodes.push({ id, parent: g.parent, label: g.label, kind: g.kind, invokes: g.invokes, initial: initials.has(id), parallel: g.parallel, x: b.x + dx, y: b.y + dy, w: b.w, h: b.h });
      const inner = l.inner.get(id);
      if (inner) place(inner, b.x + dx, b.y + dy, id);
    }
    for (const [id, e] of l.edges) {
      const label = e.label ? { ...e.label, x: e.label.x + dx, y: e.label.y + dy } : null;
      edges.push({ ...drawn.get(id)!, points: e.points.map(([x, y]) => [x + dx, y + dy]), label });
    }
  };
  place(root, 0, 0, '');
  // Edges no level could draw (between non-siblings; none after consolidation) keep no points.
  for (const e of graph.edges) if (!edges.some((d) => d.id === e.id)) edges.push({ ...e, points: [], label: null });
  edges.sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1)));
  return { width: root.width, height: root.height, nodes, edges };
}

/** Lay the consolidated chart out to fit `box` (default: the dashboard's panel) as large as it can. */
export async function layoutGraph(graph: ChartGraph, box: { width: number; height: number } = TARGET_BOX): Promise<LaidOutChart> {
  const score = (l: LevelLayout) => fitScale(l, box);
  let all = await shapes(graph, '', LEVEL_CHOICES);
  if (Math.max(...all.map(score)) < MIN_SCALE) all = [...all, ...(await shapes(graph, '', [...LEVEL_CHOICES, ...WRAPPING_CHOICES]))];
  const top = Math.max(...all.map(score));
  // Among the shapes within 3 % of the best fit (and still legible when the best is), the one
  // with the shortest edges reads best.
  const floor = top >= MIN_SCALE ? Math.max(MIN_SCALE, top * 0.97) : top * 0.97;
  const best = all.filter((l) => score(l) >= floor).sort((a, b) => edgeLength(a) - edgeLength(b))[0]!;
  return compose(graph, best);
}

/**
 * The dashboard's statechart for a machine (default: the project machine, in its panel): its
 * graph read from the definition, consolidated and laid out.
 */
export async function layoutMachine(root?: StateNodeLike, box: { width: number; height: number } = TARGET_BOX): Promise<LaidOutChart> {
  return layoutGraph(consolidate(buildGraph(root)), box);
}

/** The machine each chart draws. */
export const CHART_MACHINES = {
  project: projectMachine.root as unknown as StateNodeLike,
  task: taskMachine.root as unknown as StateNodeLike,
} as const;

/**
 * Both charts the dashboard embeds, each fitted to its panel. The build (scripts/chart-layout.ts)
 * and the tests call this same function.
 */
export async function layoutCharts(): Promise<Charts> {
  return { project: await layoutMachine(CHART_MACHINES.project, PANEL_BOX.project), task: await layoutMachine(CHART_MACHINES.task, PANEL_BOX.task) };
}
