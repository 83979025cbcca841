/**
 * The diagrams are generated from the machine definitions: every state node of `projectMachine`
 * (the team's coordinator) and of `taskMachine` (one lane) — walked here independently, through
 * the raw config — appears in the graph and in the SVG rendered in Node (build-time elkjs layout
 * + string rendering, no DOM); every transition with a target, eventless ones included, appears
 * as an edge labelled with its event. The server's status maps onto the drawn states (for every
 * configuration of the project machine, through the real projection src/machines/status.ts, and
 * for every lane state the host reports), and streamed transitions — the project's comma-joined
 * leaves, a lane's single leaf — onto the edges they took. Consolidation and layout details are
 * in chart.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { initialContext, leafPaths, projectMachine } from '../../src/machines/project.machine.ts';
import { toStatus } from '../../src/machines/status.ts';
import { taskMachine } from '../../src/machines/task.machine.ts';
import { laneNode, projectHighlight } from '../../src/web/chart/active.ts';
import { edgesForTransition } from '../../src/web/chart/match.ts';
import { buildGraph, type StateGraph, type StateNodeLike } from '../../src/web/graph.ts';
import { layoutCharts } from '../../src/web/layout.ts';
import { renderSvg } from '../../src/web/svg.ts';

interface Node {
  type?: string;
  states?: Record<string, Node>;
}

/** Dotted paths of every state under the root, read from the raw machine config (not the StateNode tree the graph walks). */
function allStatePaths(config: unknown): string[] {
  const out: string[] = [];
  const walk = (states: Record<string, Node> | undefined, prefix: string) => {
    for (const [name, node] of Object.entries(states ?? {})) {
      const path = prefix ? `${prefix}.${name}` : name;
      out.push(path);
      walk(node.states, path);
    }
  };
  walk((config as Node).states, '');
  return out;
}

const MACHINES = {
  project: { root: projectMachine.root as unknown as StateNodeLike, config: projectMachine.config },
  task: { root: taskMachine.root as unknown as StateNodeLike, config: taskMachine.config },
};

/**
 * The active leaves after entering `id` (initial children resolved; the other regions of every
 * parallel ancestor in their initial leaves; a history node stands for its parent).
 */
function configurationFor(graph: StateGraph, id: string): string[] {
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const kids = (p: string) => graph.nodes.filter((n) => n.parent === p && n.kind !== 'history');
  const enter = (n: string): string[] => {
    const node = byId.get(n)!;
    if (node.kind !== 'compound') return [n];
    if (node.parallel) return kids(n).flatMap((k) => enter(k.id));
    return enter(node.initial!);
  };
  const start = byId.get(id)!.kind === 'history' ? byId.get(id)!.parent! : id;
  let leaves = enter(start);
  for (let child = start, p = byId.get(start)!.parent; p; child = p, p = byId.get(p)!.parent) {
    if (byId.get(p)!.parallel) leaves = [...kids(p).filter((k) => k.id !== child).flatMap((k) => enter(k.id)), ...leaves];
  }
  // In definition order, like the host's leafPaths().
  const order = graph.nodes.map((n) => n.id);
  return leaves.sort((a, b) => order.indexOf(a) - order.indexOf(b));
}

describe('statechart graphs and SVG', () => {
  const graphs = { project: buildGraph(MACHINES.project.root), task: buildGraph(MACHINES.task.root) };
  const states = { project: allStatePaths(MACHINES.project.config), task: allStatePaths(MACHINES.task.config) };

  it('the independent walk finds the machines we expect (sanity)', () => {
    for (const s of [
      'active.hist',
      'active.initializing.syncingRepo',
      'active.initializing.checkingTools',
      'active.running.dispatch.selecting',
      'active.running.dispatch.watching',
      'active.running.dispatch.idle',
      'active.running.dispatch.awaitingTaskList',
      'active.running.train.waiting',
      'active.running.train.integrating',
      'active.running.train.recording',
      'paused',
      'halted',
      'stopping',
      'stopped',
    ]) {
      expect(states.project).toContain(s);
    }
    expect(states.project.length).toBeGreaterThanOrEqual(20);
    for (const s of ['active.hist', 'active.preparing', 'active.waitingForSlot', 'active.executing', 'active.verifying', 'active.ready', 'paused', 'halted', 'done', 'skipped', 'stopped']) {
      expect(states.task).toContain(s);
    }
  });

  it('has one node per state, nested under its parent, parallel states marked', () => {
    for (const name of ['project', 'task'] as const) {
      const graph = graphs[name];
      const ids = graph.nodes.filter((n) => n.kind !== 'root').map((n) => n.id);
      expect(ids.sort()).toEqual([...states[name]].sort());
      for (const n of graph.nodes.filter((x) => x.kind !== 'root')) {
        expect(n.parent).toBe(n.id.includes('.') ? n.id.slice(0, n.id.lastIndexOf('.')) : '');
      }
      expect(graph.nodes.find((n) => n.id === 'active.hist')!.kind).toBe('history');
      expect(graph.nodes.find((n) => n.id === 'stopped')!.kind).toBe('final');
    }
    const node = (id: string) => graphs.project.nodes.find((n) => n.id === id)!;
    expect(node('active.initializing').kind).toBe('compound');
    expect(node('active.running')).toMatchObject({ kind: 'compound', parallel: true });
    expect(graphs.project.nodes.filter((n) => n.parallel).map((n) => n.id)).toEqual(['active.running']);
    expect(graphs.task.nodes.filter((n) => n.parallel)).toEqual([]);
    expect(graphs.task.nodes.filter((n) => n.kind === 'final').map((n) => n.id).sort()).toEqual(['done', 'skipped', 'stopped']);
  });

  it('labels transitions with their events, invoke completions as done./error.<src>, eventless ones as always', () => {
    const label = (g: StateGraph, from: string, to: string) => g.edges.find((e) => e.source === from && e.target === to)?.labels;
    const p = graphs.project;
    expect(label(p, 'active', 'paused')).toEqual(['PAUSE']);
    expect(label(p, 'paused', 'active.hist')).toEqual(['RESUME']);
    expect(label(p, 'active.initializing.syncingRepo', 'active.initializing.provisioningSandbox')).toEqual(['done.syncRepo']);
    expect(label(p, 'active.initializing.checkingTools', 'active.running')).toEqual(['done.checkTools']);
    expect(label(p, 'active.running.dispatch.selecting', 'active.running.dispatch.watching')).toEqual(['done.selectTasks']);
    expect(label(p, 'active.running.dispatch.selecting', 'active.running.dispatch.selecting')).toEqual(['LANE_FREED']);
    expect(label(p, 'active.running.dispatch.selecting', 'halted')).toEqual(['error.selectTasks']);
    expect(label(p, 'active.running.train.integrating', 'active.running.train.recording')).toEqual(['done.integrate']);
    expect(label(p, 'halted', 'active.running')).toEqual(['RETRY', 'SKIP']);
    expect(label(p, 'halted', 'active.running.train.integrating')).toEqual(['RETRY']);
    expect(label(p, 'stopping', 'stopped')).toEqual(['done.cleanup', 'error.cleanup']);
    // The merge train starts on its own when a verified task is queued: an eventless transition.
    const always = p.edges.find((e) => e.source === 'active.running.train.waiting' && e.target === 'active.running.train.integrating')!;
    expect(always).toMatchObject({ labels: ['always'], keys: [''], guards: ['always [queued]'] });
    // Guards are named, static params kept, computed params (functions) never printed.
    expect(label(p, 'active.running.dispatch.selecting', 'active.running.dispatch.idle')).toEqual(['done.selectTasks']);
    expect(p.edges.find((e) => e.target === 'active.running.dispatch.idle' && e.source.endsWith('selecting'))!.guards).toEqual(['done.selectTasks [nothingToDo]']);
    expect(p.edges.find((e) => e.source === 'halted' && e.target === 'active.initializing.checkingTools')!.guards).toEqual(['RETRY [haltedFrom:checkingTools]']);
    for (const e of [...p.edges, ...graphs.task.edges]) for (const g of e.guards) expect(g).not.toMatch(/=>|\(/);
    expect(p.edges.length).toBeGreaterThanOrEqual(30);

    const t = graphs.task;
    expect(label(t, 'active.executing', 'active.verifying')).toEqual(['done.runAgent']);
    expect(label(t, 'active.executing', 'active.executing')).toEqual(['done.runAgent']);
    expect(label(t, 'active.executing', 'halted')).toEqual(['done.runAgent', 'error.runAgent']);
    expect(label(t, 'active.verifying', 'active.ready')).toEqual(['done.runVerify']);
    expect(label(t, 'active.ready', 'done')).toEqual(['MERGED']);
    expect(label(t, 'active.ready', 'active.preparing')).toEqual(['REWORK']);
    expect(label(t, 'halted', 'active.preparing')).toEqual(['RETRY']);
    expect(label(t, 'halted', 'skipped')).toEqual(['SKIP']);
    expect(label(t, 'paused', 'active.hist')).toEqual(['RESUME']);
    expect(t.edges.length).toBeGreaterThanOrEqual(20);
  });

  it('maps every configuration of the project machine, through the real status projection, onto its drawn leaves', () => {
    const nodes = graphs.project.nodes;
    const lane = (state: string) => ({ taskId: `t-${state}`, title: 'x', attempt: 1, state, since: '2026-01-01T00:00:00.000Z', error: state === 'halted' ? 'boom' : null });
    // Lanes change the status' `state` (executing, halted when every lane is halted …) but never where the project is.
    const laneSets = [[], [lane('executing')], [lane('halted')], [lane('paused'), lane('ready')]];
    const leafConfigs = [
      ...['syncingRepo', 'provisioningSandbox', 'checkingTools'].map((s) => ({ active: { initializing: s } })),
      ...['selecting', 'watching', 'idle', 'awaitingTaskList'].flatMap((d) => ['waiting', 'integrating', 'recording'].map((t) => ({ active: { running: { dispatch: d, train: t } } }))),
      'halted',
      'stopping',
      'stopped',
    ];
    let checked = 0;
    for (const value of leafConfigs) {
      for (const lanes of laneSets) {
        const snapshot = projectMachine.resolveState({ value: value as never, context: { ...initialContext({ projectId: 'p' }), lanes, mergeQueue: [] } });
        const leaves = leafPaths(snapshot.value);
        const status = toStatus(snapshot, { seq: 1, updatedAt: 'now' });
        expect({ value, lanes: lanes.length, ...projectHighlight(nodes, status) }).toEqual({ value, lanes: lanes.length, active: leaves, resume: [] });
        // Paused from here: the highlight is `paused`, RESUME returns to the first leaf PAUSE left.
        if (leaves[0]!.startsWith('active.')) {
          const paused = projectMachine.resolveState({ value: 'paused', context: { ...initialContext({ projectId: 'p' }), lanes, pausedFrom: leaves.join(',') } });
          expect(projectHighlight(nodes, toStatus(paused, { seq: 2, updatedAt: 'now' }))).toEqual({ active: ['paused'], resume: [leaves[0]] });
        }
        for (const id of [...leaves]) expect(nodes.some((n) => n.id === id)).toBe(true);
        checked++;
      }
    }
    expect(checked).toBe(leafConfigs.length * laneSets.length);
  });

  it('maps every lane state the host reports onto the task chart', () => {
    const nodes = graphs.task.nodes;
    const leaves = nodes.filter((n) => n.kind === 'atomic' || n.kind === 'final').map((n) => n.id);
    expect(leaves.length).toBeGreaterThanOrEqual(10);
    for (const leaf of leaves) {
      // As the host reports it (actors/host.ts #reportLane): the leaf below `active`, or the top-level state.
      const laneState = leaf.replace(/^active\./, '');
      expect(laneNode(nodes, laneState)).toBe(leaf);
    }
    // The coordinator's `reworking`: the task actor is still `ready` (REWORK on its way).
    expect(laneNode(nodes, 'reworking')).toBe('active.ready');
    expect(laneNode(nodes, 'nonsense')).toBeNull();
  });

  it('maps streamed transitions onto the edges they took', () => {
    const ids = (g: StateGraph, t: { from: string | null; to: string; event: string }) => edgesForTransition(g, t).map((e) => `${e.source}->${e.target}`);
    const p = graphs.project;
    const run = (d: string, t: string) => `active.running.dispatch.${d},active.running.train.${t}`;
    expect(ids(p, { from: run('watching', 'waiting'), to: 'paused', event: 'PAUSE' })).toEqual(['active->paused']);
    expect(ids(p, { from: 'paused', to: run('watching', 'waiting'), event: 'RESUME' })).toEqual(['paused->active.hist']);
    expect(ids(p, { from: run('selecting', 'waiting'), to: run('watching', 'waiting'), event: 'done.selecting' })).toEqual(['active.running.dispatch.selecting->active.running.dispatch.watching']);
    expect(ids(p, { from: run('selecting', 'waiting'), to: run('selecting', 'waiting'), event: 'LANE_FREED' })).toEqual(['active.running.dispatch.selecting->active.running.dispatch.selecting']);
    // A lane's report (LANE) that queues a verified task starts the train: the eventless edge.
    expect(ids(p, { from: run('watching', 'waiting'), to: run('watching', 'integrating'), event: 'LANE' })).toEqual(['active.running.train.waiting->active.running.train.integrating']);
    // The event's edge, then the eventless one, in one step.
    expect(ids(p, { from: run('watching', 'recording'), to: run('watching', 'integrating'), event: 'done.recording' })).toEqual([
      'active.running.train.waiting->active.running.train.integrating',
      'active.running.train.recording->active.running.train.waiting',
    ]);
    // A context update (a lane's progress) changes no leaf and took no edge.
    expect(ids(p, { from: run('watching', 'waiting'), to: run('watching', 'waiting'), event: 'LANE' })).toEqual([]);
    expect(ids(p, { from: 'halted', to: 'active.initializing.syncingRepo', event: 'RETRY' })).toEqual(['halted->active.initializing']);
    expect(ids(p, { from: 'halted', to: run('selecting', 'integrating'), event: 'RETRY' })).toContain('halted->active.running.train.integrating');
    expect(ids(p, { from: 'active.initializing.checkingTools', to: run('selecting', 'waiting'), event: 'done.checkingTools' })).toEqual(['active.initializing.checkingTools->active.running']);
    expect(ids(p, { from: run('watching', 'integrating'), to: 'halted', event: 'error.integrating' })).toEqual(['active.running.train.integrating->halted']);

    const t = graphs.task;
    expect(ids(t, { from: 'active.executing', to: 'active.verifying', event: 'done.executing' })).toEqual(['active.executing->active.verifying']);
    expect(ids(t, { from: 'active.executing', to: 'active.executing', event: 'done.executing' })).toEqual(['active.executing->active.executing']);
    expect(ids(t, { from: 'active.verifying', to: 'halted', event: 'error.verifying' })).toEqual(['active.verifying->halted']);
    expect(ids(t, { from: 'active.ready', to: 'active.preparing', event: 'REWORK' })).toEqual(['active.ready->active.preparing']);
    expect(ids(t, { from: 'active.ready', to: 'done', event: 'MERGED' })).toEqual(['active.ready->done']);
    expect(ids(t, { from: 'halted', to: 'active.preparing', event: 'RETRY' })).toEqual(['halted->active.preparing']);
    expect(ids(t, { from: 'active.executing', to: 'paused', event: 'PAUSE' })).toEqual(['active->paused']);
    expect(ids(t, { from: null, to: 'active.preparing', event: 'xstate.init' })).toEqual([]);
  });

  it('maps every transition of both machines, streamed as the host streams it, onto its own edge', () => {
    for (const name of ['project', 'task'] as const) {
      const g = graphs[name];
      let n = 0;
      for (const e of g.edges) {
        for (const key of e.keys) {
          const from = configurationFor(g, e.source).join(',');
          const to = configurationFor(g, e.target).join(',');
          const taken = edgesForTransition(g, { from, to, event: key || 'LANE' });
          expect({ edge: `${e.source}->${e.target}`, key, taken: taken.includes(e) }).toEqual({ edge: `${e.source}->${e.target}`, key, taken: true });
          n++;
        }
      }
      expect(n).toBeGreaterThanOrEqual(name === 'project' ? 30 : 20);
    }
  });

  it('lays both charts out with elkjs and renders every state into the SVG, in Node', async () => {
    const charts = await layoutCharts();
    for (const name of ['project', 'task'] as const) {
      const chart = charts[name];
      expect(chart.width).toBeGreaterThan(200);
      expect(chart.height).toBeGreaterThan(200);
      const svg = renderSvg(chart, { label: name, id: `sc-${name}` });
      expect(svg.startsWith('<svg')).toBe(true);
      for (const s of states[name]) expect(svg).toContain(`data-state="${s}"`);
      // Children are laid out inside their compound parents.
      const box = new Map(chart.nodes.map((n) => [n.id, n]));
      for (const n of chart.nodes) {
        const parent = n.id.includes('.') ? box.get(n.id.slice(0, n.id.lastIndexOf('.'))) : undefined;
        if (!parent) continue;
        expect(n.x).toBeGreaterThanOrEqual(parent.x);
        expect(n.y).toBeGreaterThanOrEqual(parent.y);
        expect(n.x + n.w).toBeLessThanOrEqual(parent.x + parent.w + 0.5);
        expect(n.y + n.h).toBeLessThanOrEqual(parent.y + parent.h + 0.5);
      }
      // Every drawn edge has a path and its label lines; every transition of the machine is drawn by one.
      for (const e of chart.edges) {
        expect(e.points.length).toBeGreaterThanOrEqual(2);
        expect(svg).toContain(`data-edge="${e.id}"`);
        for (const l of e.labels) expect(svg).toContain(`>${l.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')}</tspan>`);
      }
      const drawn = chart.edges.flatMap((e) => e.members.map((m) => `${m.source}->${m.target}:${m.key}`));
      for (const e of graphs[name].edges) for (const k of e.keys) expect(drawn).toContain(`${e.source}->${e.target}:${k}`);
      // Regions of a parallel state are drawn as such; marker ids are per chart (two charts share a page).
      if (name === 'project') expect(svg).toContain('data-state="active.running.dispatch"');
      expect(svg).toContain(`id="sc-${name}-arrow"`);
    }
    expect(renderSvg(charts.project)).toMatch(/class="sc-node sc-compound sc-parallel" data-state="active.running"/);
    expect(renderSvg(charts.project)).toMatch(/class="sc-node sc-compound sc-region" data-state="active.running.train"/);
  }, 120_000);
});
