/**
 * The dashboard's statecharts as drawn — the project coordinator and the task actor of a lane:
 * consolidation rules (read from the graph, no state names in the rules), the build-time layout
 * (every state present, no overlapping boxes, everything inside the viewBox, legible when fitted
 * to its panel at 1280×720) and the same for modified copies of the machines with an extra state,
 * which must work without code changes. What the charts show for a project's status and its
 * streamed transitions (which lane the task chart follows) is checked here too.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createMachine } from 'xstate';
import { describe, expect, it } from 'vitest';
import type { LaneStatus, ProjectStatus } from '../../src/domain/status.ts';
import { projectMachine } from '../../src/machines/project.machine.ts';
import { taskMachine } from '../../src/machines/task.machine.ts';
import { emptyView, type TimelineEntry } from '../../src/web/apply.ts';
import { consolidate, MIN_GROUP } from '../../src/web/chart/consolidate.ts';
import { drawnEdgesFor, memberGraph } from '../../src/web/chart/match.ts';
import type { Box, ChartGraph, LaidOutChart } from '../../src/web/chart/types.ts';
import { projectChartView, shownLane, taskChartView } from '../../src/web/chartViews.ts';
import { buildGraph, type StateNodeLike } from '../../src/web/graph.ts';
import { fitScale, layoutCharts, layoutMachine, MIN_SCALE, PANEL_BOX } from '../../src/web/layout.ts';
import { initialContext, type UiContext } from '../../src/web/store.ts';

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
const PROJECT = projectMachine.root as unknown as StateNodeLike;
const TASK = taskMachine.root as unknown as StateNodeLike;

/** Every drawn member, mapped back: a streamed transition along it lights that drawn edge. */
function expectEveryMemberMapped(graph: ChartGraph) {
  const members = memberGraph({ nodes: graph.nodes.filter((n) => n.kind !== 'root').map((n) => ({ ...n, x: 0, y: 0, w: 0, h: 0, initial: false })), edges: graph.edges.map((e) => ({ ...e, points: [], label: null })) });
  const leafOf = (id: string): string => {
    const n = graph.nodes.find((x) => x.id === id)!;
    if (n.kind === 'history') return leafOf(n.parent!);
    return n.kind === 'compound' && !n.parallel ? leafOf(n.initial!) : id;
  };
  for (const e of graph.edges) {
    for (const m of e.members) {
      const t = { from: leafOf(m.source), to: leafOf(m.target), event: m.key || 'LANE' };
      expect({ member: `${m.source}->${m.target}:${m.key}`, lit: drawnEdgesFor(members, t).includes(e.id) }).toEqual({ member: `${m.source}->${m.target}:${m.key}`, lit: true });
    }
  }
  return members;
}

describe('project chart consolidation', () => {
  const graph = buildGraph(PROJECT);
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
    // Failures in both regions of the parallel state and in initializing are among them.
    expect(lifted.members.map((m) => m.source)).toEqual(expect.arrayContaining(['active.initializing.syncingRepo', 'active.running.dispatch.selecting', 'active.running.train.integrating']));
    // No other drawn edge leads into halted from inside active.
    expect(chart.edges.filter((e) => e.target === 'halted').map((e) => e.source).sort()).toEqual(['active']);
  });

  it('fans RETRY out of halted into one edge to the compound, its targets in the members', () => {
    const retry = edge('halted', 'active')!;
    expect(retry.role).toBe('fanout');
    expect(retry.labels[0]).toMatch(/^RETRY → one of \d+$/);
    const targets = new Set(retry.groups[0]!.members.map((m) => m.target));
    expect(targets.size).toBeGreaterThanOrEqual(MIN_GROUP);
    expect(targets).toContain('active.initializing.provisioningSandbox');
    expect(targets).toContain('active.running.train.integrating');
    expect(chart.edges.filter((e) => e.source === 'halted' && e.keys.includes('RETRY'))).toHaveLength(1);
  });

  it('keeps events handled at a compound level as one edge from it, and cuts the rest at borders', () => {
    expect(chart.edges.filter((e) => e.keys.includes('PAUSE')).map((e) => `${e.source}->${e.target}`)).toEqual(['active->paused']);
    expect(chart.edges.filter((e) => e.keys.includes('STOP')).map((e) => e.source).sort()).toEqual(['active', 'halted', 'paused']);
    expect(edge('paused', 'active')!.labels).toEqual(['RESUME → H*']);
    expect(edge('halted', 'active')!.labels).toContain('SKIP → running');
    expect(edge('active.initializing', 'active.running')!.labels).toEqual([]);
    // The train's eventless start is drawn with its guard; guards never print code.
    expect(edge('active.running.train.waiting', 'active.running.train.integrating')!.labels).toEqual(['[queued]']);
    for (const e of chart.edges) for (const l of e.labels) expect(l).not.toMatch(/=>/);
    // Every drawn edge joins two siblings (so each level is laid out on its own).
    const parent = new Map(graph.nodes.map((n) => [n.id, n.parent]));
    for (const e of chart.edges) expect(parent.get(e.source), `${e.source} → ${e.target}`).toBe(parent.get(e.target));
  });

  it('maps streamed transitions onto the drawn edges', () => {
    const members = expectEveryMemberMapped(chart);
    const id = (s: string, t: string) => edge(s, t)!.id;
    const run = (d: string, t: string) => `active.running.dispatch.${d},active.running.train.${t}`;
    expect(drawnEdgesFor(members, { from: run('watching', 'integrating'), to: 'halted', event: 'error.integrating' })).toEqual([id('active', 'halted')]);
    expect(drawnEdgesFor(members, { from: run('watching', 'waiting'), to: 'paused', event: 'PAUSE' })).toEqual([id('active', 'paused')]);
    expect(drawnEdgesFor(members, { from: 'halted', to: 'active.initializing.syncingRepo', event: 'RETRY' })).toEqual([id('halted', 'active')]);
    expect(drawnEdgesFor(members, { from: run('selecting', 'waiting'), to: run('watching', 'waiting'), event: 'done.selecting' })).toEqual([
      id('active.running.dispatch.selecting', 'active.running.dispatch.watching'),
    ]);
    expect(drawnEdgesFor(members, { from: 'active.initializing.checkingTools', to: run('selecting', 'waiting'), event: 'done.checkingTools' })).toEqual([id('active.initializing', 'active.running')]);
    expect(drawnEdgesFor(members, { from: run('watching', 'waiting'), to: run('watching', 'integrating'), event: 'LANE' })).toEqual([id('active.running.train.waiting', 'active.running.train.integrating')]);
    expect(drawnEdgesFor(members, { from: run('watching', 'waiting'), to: run('watching', 'waiting'), event: 'LANE' })).toEqual([]);
  });
});

describe('task chart consolidation', () => {
  const graph = buildGraph(TASK);
  const chart = consolidate(graph);
  const edge = (s: string, t: string) => chart.edges.find((e) => e.source === s && e.target === t);

  it('draws every machine transition exactly once, step failures lifted, RETRY into its step', () => {
    const raw = graph.edges.flatMap((e) => e.events.map((ev) => `${e.source}->${e.target}:${ev.key}:${ev.guard}`)).sort();
    const drawn = chart.edges.flatMap((e) => e.members.map((m) => `${m.source}->${m.target}:${m.key}:${m.guard}`)).sort();
    expect(drawn).toEqual(raw);
    const lifted = edge('active', 'halted')!;
    expect(lifted.role).toBe('lifted');
    expect(lifted.labels[0]).toBe('any step fails');
    expect(new Set(lifted.groups[0]!.members.map((m) => m.source))).toEqual(new Set(['active.preparing', 'active.waitingForSlot', 'active.executing', 'active.verifying']));
    expect(edge('halted', 'active')!.labels.join(' ')).toBe('RETRY → preparing');
    expect(edge('active', 'done')!.labels).toEqual(['ready: MERGED']);
    expect(edge('active.ready', 'active.preparing')!.labels).toEqual(['REWORK']);
    expect(edge('active.executing', 'active.executing')!.labels).toEqual(['[budgetLeft]']);
  });

  it('maps a lane’s streamed transitions onto the drawn edges', () => {
    const members = expectEveryMemberMapped(chart);
    const id = (s: string, t: string) => edge(s, t)!.id;
    expect(drawnEdgesFor(members, { from: 'active.executing', to: 'active.verifying', event: 'done.executing' })).toEqual([id('active.executing', 'active.verifying')]);
    expect(drawnEdgesFor(members, { from: 'active.verifying', to: 'halted', event: 'error.verifying' })).toEqual([id('active', 'halted')]);
    expect(drawnEdgesFor(members, { from: 'active.ready', to: 'done', event: 'MERGED' })).toEqual([id('active', 'done')]);
    expect(drawnEdgesFor(members, { from: 'halted', to: 'active.preparing', event: 'RETRY' })).toEqual([id('halted', 'active')]);
  });
});

describe('what the charts show', () => {
  const status = (over: Partial<ProjectStatus>): ProjectStatus => ({
    projectId: 'p',
    state: 'executing',
    substate: 'running.dispatch.watching,running.train.waiting',
    currentTask: null,
    lanes: [],
    mergeQueue: [],
    completedTaskIds: [],
    skippedTaskIds: [],
    blockedTaskIds: [],
    taskCounts: { total: 3, done: 0, skipped: 0, remaining: 3 },
    lastError: null,
    tools: null,
    templatePath: null,
    acceptedCommands: ['PAUSE', 'STOP'],
    seq: 5,
    updatedAt: 'now',
    ...over,
  });
  const lane = (taskId: string, state: string): LaneStatus => ({ taskId, title: `Task ${taskId}`, state, attempt: 1, since: '2026-01-01T00:00:00.000Z', error: state === 'halted' ? 'verifying failed' : null });
  const entry = (seq: number, taskId: string | null, from: string, to: string, event: string): TimelineEntry => ({ seq, ts: 'now', from, to, event, taskId });
  const ctx = (view: ReturnType<typeof emptyView>, over: Partial<UiContext> = {}): UiContext => ({ ...initialContext(), projects: { p: view }, ids: ['p'], selectedId: 'p', ...over });
  const nodes = { project: buildGraph(PROJECT).nodes, task: buildGraph(TASK).nodes };

  it('the project chart lights the project’s leaves and animates only its own transitions', () => {
    const last = entry(7, null, 'active.running.dispatch.selecting,active.running.train.waiting', 'active.running.dispatch.watching,active.running.train.waiting', 'done.selecting');
    const v = projectChartView({ nodes: nodes.project })(ctx({ ...emptyView(status({})), last }))!;
    expect(v.active).toEqual(['active.running.dispatch.watching', 'active.running.train.waiting']);
    expect(v.last).toBe(last);
    const paused = projectChartView({ nodes: nodes.project })(ctx(emptyView(status({ state: 'paused', substate: 'running.dispatch.watching' }))))!;
    expect(paused).toMatchObject({ active: ['paused'], resume: ['active.running.dispatch.watching'], paused: true });
  });

  it('the task chart follows the picked lane, else the lane that moved last, else the oldest; a finished lane stays until another moves', () => {
    const view = { ...emptyView(status({ lanes: [lane('1.1', 'executing'), lane('1.2', 'halted')] })) };
    expect(shownLane(ctx(view))).toBe('1.1');
    const moved = entry(8, '1.2', 'active.verifying', 'halted', 'error.verifying');
    const withLast = { ...view, laneLast: { '1.2': moved }, lastLane: '1.2' };
    expect(shownLane(ctx(withLast))).toBe('1.2');
    const tv = taskChartView({ nodes: nodes.task })(ctx(withLast))!;
    expect(tv).toMatchObject({ taskId: '1.2', active: ['halted'], last: moved });
    expect(shownLane(ctx(withLast, { selectedLane: '1.1' }))).toBe('1.1');
    expect(taskChartView({ nodes: nodes.task })(ctx(withLast, { selectedLane: '1.1' }))).toMatchObject({ taskId: '1.1', active: ['active.executing'], last: null });
    // 1.1 merged: gone from the status; its last transition (→ done) is what the chart shows.
    const merged = entry(9, '1.1', 'active.ready', 'done', 'MERGED');
    const after = { ...emptyView(status({ lanes: [] })), laneLast: { '1.1': merged }, lastLane: '1.1' };
    expect(taskChartView({ nodes: nodes.task })(ctx(after))).toMatchObject({ taskId: '1.1', active: ['done'], last: merged });
    expect(taskChartView({ nodes: nodes.task })(ctx(emptyView(status({}))))).toBeNull();
  });
});

describe('statechart layout (build time)', () => {
  it('lays both charts out soundly and legibly in their dashboard panels', async () => {
    const charts = await layoutCharts();
    const figures: string[] = [];
    for (const [name, root] of [['project', PROJECT], ['task', TASK]] as const) {
      const chart = charts[name];
      expectSound(chart, statePaths(root));
      // Fitted to its panel at 1280×720 the smallest text stays ≥ 11 px.
      const scale = fitScale(chart, PANEL_BOX[name]);
      figures.push(`${name} ${chart.width}×${chart.height} in ${PANEL_BOX[name].width}×${PANEL_BOX[name].height}: ${scale.toFixed(3)}×`);
      expect(scale, figures.join('; ')).toBeGreaterThanOrEqual(MIN_SCALE);
    }
  }, 120_000);

  it('fits the panels the stylesheet gives the charts at 1280×720', () => {
    // styles.css: the project canvas is `calc(100vh - Npx)` tall, the task canvas a fixed height; both have 6 px padding.
    const css = readFileSync(resolve(import.meta.dirname, '../../src/web/styles.css'), 'utf8');
    const project = Number(/\.chart-canvas \{[^}]*calc\(100vh - (\d+)px\)/.exec(css)![1]);
    const task = Number(/\.chart-canvas-task \{ height: (\d+)px/.exec(css)![1]);
    expect(PANEL_BOX.project.height).toBeLessThanOrEqual(720 - project - 12);
    expect(PANEL_BOX.task.height).toBeLessThanOrEqual(task - 12);
    // The main column: 1280 − the side bar (330 + 1 border) − padding 2·10 − panel border 2 − canvas padding 12 = 915.
    const side = Number(/\.side \{ width: (\d+)px/.exec(css)![1]);
    expect(PANEL_BOX.project.width).toBeLessThanOrEqual(1280 - side - 1 - 20 - 2 - 12);
    expect(PANEL_BOX.task.width).toBe(PANEL_BOX.project.width);
  });

  it('handles machines with an extra state without code changes', async () => {
    // The task machine with a review step between verifying and ready.
    const tc = taskMachine.config as unknown as { states: Record<string, { states: Record<string, unknown> }> };
    const steps = {
      ...tc.states.active!.states,
      verifying: { invoke: { src: 'runVerify', onDone: { target: 'reviewing' }, onError: { target: '#DEVTEAM_TASK.halted' } } },
      reviewing: { invoke: { src: 'review', onDone: { target: 'ready' }, onError: { target: '#DEVTEAM_TASK.halted' } }, on: { REJECT: { target: 'executing' } } },
    };
    const task = createMachine({ ...(taskMachine.config as object), states: { ...tc.states, active: { ...tc.states.active, states: steps } } } as never).root as unknown as StateNodeLike;
    const tg = consolidate(buildGraph(task));
    expect(tg.edges.find((e) => e.source === 'active' && e.target === 'halted')!.members.map((m) => m.source)).toContain('active.reviewing');
    expect(tg.edges.find((e) => e.source === 'active.reviewing' && e.target === 'active.executing')!.labels).toEqual(['REJECT']);
    expectSound(await layoutMachine(task, PANEL_BOX.task), statePaths(task));

    // The project machine with a third region in `running` and a review step in the train.
    const pc = projectMachine.config as unknown as { states: Record<string, { states: Record<string, { states: Record<string, { states: Record<string, unknown> }> }> }> };
    const running = pc.states.active!.states.running!;
    const train = running.states.train!;
    const project = createMachine({
      ...(projectMachine.config as object),
      states: {
        ...pc.states,
        active: {
          ...pc.states.active,
          states: {
            ...pc.states.active!.states,
            running: {
              ...running,
              states: {
                ...running.states,
                train: { ...train, states: { ...train.states, awaitingReview: { invoke: { src: 'review', onDone: { target: 'recording' }, onError: { target: '#halted' } }, on: { REJECT: { target: 'waiting' } } } } },
                audit: { initial: 'quiet', states: { quiet: { on: { AUDIT: { target: 'auditing' } } }, auditing: { invoke: { src: 'audit', onDone: { target: 'quiet' }, onError: { target: '#halted' } } } } },
              },
            },
          },
        },
      },
    } as never).root as unknown as StateNodeLike;
    const pg = consolidate(buildGraph(project));
    const lifted = pg.edges.find((e) => e.source === 'active' && e.target === 'halted')!;
    expect(lifted.members.map((m) => m.source)).toEqual(expect.arrayContaining(['active.running.train.awaitingReview', 'active.running.audit.auditing']));
    expect(pg.edges.find((e) => e.source === 'active.running.audit.quiet' && e.target === 'active.running.audit.auditing')!.labels).toEqual(['AUDIT']);
    expectSound(await layoutMachine(project), statePaths(project));
  }, 180_000);
});
