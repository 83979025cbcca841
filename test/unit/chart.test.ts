/**
 * The dashboard's statechart as drawn: consolidation rules (read from the graph, no state names
 * in the rules), the build-time layout (every state present, no overlapping boxes, everything
 * inside the viewBox, legible when fitted to the panel) and the same for a modified copy of the
 * machine with an extra state, which must work without code changes.
 */
import { createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import { projectMachine } from '../../src/machines/project.machine.ts';
import { consolidate, MIN_GROUP } from '../../src/web/chart/consolidate.ts';
import { drawnEdgesFor, memberGraph } from '../../src/web/chart/match.ts';
import type { Box, LaidOutChart } from '../../src/web/chart/types.ts';
import { buildGraph, type StateNodeLike } from '../../src/web/graph.ts';
import { fitScale, layoutMachine, MIN_SCALE } from '../../src/web/layout.ts';

const overlap = (a: Box, b: Box) => a.x < b.x + b.w - 0.5 && b.x < a.x + a.w - 0.5 && a.y < b.y + b.h - 0.5 && b.y < a.y + a.h - 0.5;
const inside = (a: Box, b: Box) => a.x >= b.x - 0.5 && a.y >= b.y - 0.5 && a.x + a.w <= b.x + b.w + 0.5 && a.y + a.h <= b.y + b.h + 0.5;

/** Layout invariants every chart must keep. */
function expectSound(chart: LaidOutChart, states: string[]) {
  const view = { x: 0, y: 0, w: chart.width, h: chart.height };
  expect(chart.nodes.map((n) => n.id).sort()).toEqual([...states].sort());
  const byId = new Map(chart.nodes.map((n) => [n.id, n]));
  for (const n of chart.nodes) {
    expect(inside(n, view), `${n.id} inside the viewBox`).toBe(true);
    if (n.parent) expect(inside(n, byId.get(n.parent)!), `${n.id} inside ${n.parent}`).toBe(true);
  }
  // No two boxes overlap unless one contains the other.
  const ancestor = (a: string, b: string) => b.startsWith(`${a}.`);
  for (const a of chart.nodes) {
    for (const b of chart.nodes) {
      if (a.id < b.id && !ancestor(a.id, b.id) && !ancestor(b.id, a.id)) expect(overlap(a, b), `${a.id} overlaps ${b.id}`).toBe(false);
    }
  }
  for (const e of chart.edges) {
    expect(e.points.length, `${e.id} ${e.source} → ${e.target} drawn`).toBeGreaterThanOrEqual(2);
    for (const [x, y] of e.points) expect(inside({ x, y, w: 0, h: 0 }, view)).toBe(true);
    if (e.labels.length) {
      expect(e.label, `${e.id} has a label box`).not.toBeNull();
      expect(inside(e.label!, view), `label of ${e.id} inside the viewBox`).toBe(true);
      // A label never covers a state's name.
      for (const n of chart.nodes.filter((x) => x.kind !== 'compound')) expect(overlap(e.label!, n), `label of ${e.id} over ${n.id}`).toBe(false);
    }
  }
}

const statePaths = (root: StateNodeLike) => buildGraph(root).nodes.filter((n) => n.kind !== 'root').map((n) => n.id);

describe('statechart consolidation', () => {
  const graph = buildGraph();
  const chart = consolidate(graph);
  const edge = (s: string, t: string) => chart.edges.find((e) => e.source === s && e.target === t);

  it('draws every machine transition exactly once', () => {
    const raw = graph.edges.flatMap((e) => e.events.map((ev) => `${e.source}->${e.target}:${ev.key}:${ev.guard}`)).sort();
    const drawn = chart.edges.flatMap((e) => e.members.map((m) => `${m.source}->${m.target}:${m.key}:${m.guard}`)).sort();
    expect(drawn).toEqual(raw);
  });

  it('lifts every step failure into one edge from the compound that holds the steps', () => {
    const failing = graph.edges.filter((e) => e.target === 'halted' && e.events.some((ev) => ev.label.startsWith('error.')));
    expect(failing.length).toBeGreaterThanOrEqual(MIN_GROUP);
    const lifted = edge('active', 'halted')!;
    expect(lifted.role).toBe('lifted');
    expect(lifted.labels[0]).toBe('any step fails');
    expect(lifted.groups.map((g) => g.role)).toEqual(['lifted']);
    expect(new Set(lifted.groups[0]!.members.map((m) => m.source))).toEqual(new Set(failing.map((e) => e.source)));
    // No other drawn edge leads into halted from inside active.
    expect(chart.edges.filter((e) => e.target === 'halted').map((e) => e.source).sort()).toEqual(['active']);
  });

  it('fans RETRY out of halted into one edge to the compound, its targets in the members', () => {
    const retry = edge('halted', 'active')!;
    expect(retry.role).toBe('fanout');
    expect(retry.labels[0]).toMatch(/^RETRY → one of \d+$/);
    const targets = new Set(retry.groups[0]!.members.map((m) => m.target));
    expect(targets.size).toBeGreaterThanOrEqual(MIN_GROUP);
    expect(targets).toContain('active.preparing');
    expect(chart.edges.filter((e) => e.source === 'halted' && e.keys.includes('RETRY'))).toHaveLength(1);
  });

  it('keeps events handled at a compound level as one edge from it, and cuts the rest at borders', () => {
    expect(chart.edges.filter((e) => e.keys.includes('PAUSE')).map((e) => `${e.source}->${e.target}`)).toEqual(['active->paused']);
    expect(chart.edges.filter((e) => e.keys.includes('STOP')).map((e) => e.source).sort()).toEqual(['active', 'halted', 'paused']);
    expect(edge('paused', 'active')!.labels).toEqual(['RESUME → H*']);
    expect(edge('halted', 'active')!.labels).toContain('SKIP → selecting');
    // Every drawn edge joins two siblings (so each level is laid out on its own).
    const parent = new Map(graph.nodes.map((n) => [n.id, n.parent]));
    for (const e of chart.edges) expect(parent.get(e.source), `${e.source} → ${e.target}`).toBe(parent.get(e.target));
  });

  it('maps streamed transitions onto the drawn edges', () => {
    const members = memberGraph({ nodes: graph.nodes.filter((n) => n.kind !== 'root').map((n) => ({ ...n, x: 0, y: 0, w: 0, h: 0, initial: false })), edges: chart.edges.map((e) => ({ ...e, points: [], label: null })) });
    const id = (s: string, t: string) => edge(s, t)!.id;
    expect(drawnEdgesFor(members, { from: 'active.executing', to: 'halted', event: 'error.executing' })).toEqual([id('active', 'halted')]);
    expect(drawnEdgesFor(members, { from: 'active.executing', to: 'paused', event: 'PAUSE' })).toEqual([id('active', 'paused')]);
    expect(drawnEdgesFor(members, { from: 'halted', to: 'active.initializing.syncingRepo', event: 'RETRY' })).toEqual([id('halted', 'active')]);
    expect(drawnEdgesFor(members, { from: 'active.executing', to: 'active.verifying', event: 'done.executing' })).toEqual([id('active.executing', 'active.verifying')]);
    expect(drawnEdgesFor(members, { from: 'active.initializing.checkingTools', to: 'active.selecting', event: 'done.checkingTools' })).toEqual([id('active.initializing', 'active.selecting')]);
  });
});

describe('statechart layout (build time)', () => {
  it('lays the project machine out soundly and legibly in the dashboard panel', async () => {
    const chart = await layoutMachine();
    expectSound(chart, statePaths(projectMachine.root as unknown as StateNodeLike));
    // Fitted to the panel at 1280×720 the smallest text stays ≥ 11 px.
    expect(fitScale(chart)).toBeGreaterThanOrEqual(MIN_SCALE);
  }, 60_000);

  it('handles a machine with an extra state without code changes', async () => {
    const config = projectMachine.config as unknown as { states: Record<string, { states: Record<string, unknown> }> };
    const active = config.states.active!;
    const states = {
      ...active.states,
      integrating: { invoke: { src: 'integrate', onDone: { target: 'awaitingReview' }, onError: { target: '#halted' } } },
      awaitingReview: {
        invoke: { src: 'review', onDone: { target: 'recording' }, onError: { target: '#halted' } },
        on: { REJECT: { target: 'preparing' } },
      },
    };
    const machine = createMachine({ ...(projectMachine.config as object), states: { ...config.states, active: { ...active, states } } } as never);
    const root = machine.root as unknown as StateNodeLike;
    const graph = consolidate(buildGraph(root));
    // The new step's failure joins the lifted edge; its own transitions are drawn.
    const lifted = graph.edges.find((e) => e.source === 'active' && e.target === 'halted')!;
    expect(lifted.members.map((m) => m.source)).toContain('active.awaitingReview');
    expect(graph.edges.some((e) => e.source === 'active.integrating' && e.target === 'active.awaitingReview')).toBe(true);
    expect(graph.edges.find((e) => e.source === 'active.awaitingReview' && e.target === 'active.preparing')!.labels).toEqual(['REJECT']);
    const chart = await layoutMachine(root);
    expectSound(chart, statePaths(root));
  }, 60_000);
});
