/**
 * The diagram is generated from the machine definition: every state node of `projectMachine`
 * (walked here independently, through the public `states` tree) appears in the graph and in
 * the SVG rendered in Node (build-time elkjs layout + string rendering, no DOM); every transition
 * with a target appears as an edge labelled with its event. Consolidation and layout details are
 * in chart.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { projectMachine } from '../../src/machines/project.machine.ts';
import { buildGraph, edgesForTransition, nodeForStatus, resumeNodeForStatus } from '../../src/web/graph.ts';
import { layoutMachine } from '../../src/web/layout.ts';
import { renderSvg } from '../../src/web/svg.ts';
import { commandsForPath } from '../../src/web/commands.ts';

interface Node {
  states?: Record<string, Node>;
}

/** Dotted paths of every state under the root, read from the raw machine config (not the StateNode tree the graph walks). */
function allStatePaths(): string[] {
  const out: string[] = [];
  const walk = (states: Record<string, Node> | undefined, prefix: string) => {
    for (const [name, node] of Object.entries(states ?? {})) {
      const path = prefix ? `${prefix}.${name}` : name;
      out.push(path);
      walk(node.states, path);
    }
  };
  walk((projectMachine.config as unknown as Node).states, '');
  return out;
}

describe('statechart graph and SVG', () => {
  const graph = buildGraph();
  const states = allStatePaths();

  it('the independent walk finds the machine we expect (sanity)', () => {
    for (const s of ['active', 'active.hist', 'active.initializing.syncingRepo', 'active.initializing.provisioningSandbox', 'active.initializing.checkingTools', 'active.executing', 'active.verifying', 'paused', 'halted', 'stopping', 'stopped']) {
      expect(states).toContain(s);
    }
    expect(states.length).toBeGreaterThanOrEqual(19);
  });

  it('has one node per state, nested under its parent', () => {
    const ids = graph.nodes.filter((n) => n.kind !== 'root').map((n) => n.id);
    expect(ids.sort()).toEqual([...states].sort());
    for (const n of graph.nodes.filter((x) => x.kind !== 'root')) {
      expect(n.parent).toBe(n.id.includes('.') ? n.id.slice(0, n.id.lastIndexOf('.')) : '');
    }
    expect(graph.nodes.find((n) => n.id === 'active.hist')!.kind).toBe('history');
    expect(graph.nodes.find((n) => n.id === 'stopped')!.kind).toBe('final');
    expect(graph.nodes.find((n) => n.id === 'active.initializing')!.kind).toBe('compound');
  });

  it('labels transitions with their events, invoke completions as done./error.<src>', () => {
    const label = (from: string, to: string) => graph.edges.find((e) => e.source === from && e.target === to)?.labels;
    expect(label('active', 'paused')).toEqual(['PAUSE']);
    expect(label('paused', 'active.hist')).toEqual(['RESUME']);
    expect(label('active.executing', 'active.verifying')).toEqual(['done.runAgent']);
    expect(label('active.executing', 'active.executing')).toEqual(['done.runAgent']);
    expect(label('active.executing', 'halted')).toEqual(['done.runAgent', 'error.runAgent']);
    expect(label('active.initializing.syncingRepo', 'active.initializing.provisioningSandbox')).toEqual(['done.syncRepo']);
    expect(label('halted', 'active.selecting')).toEqual(['RETRY', 'SKIP']);
    expect(label('stopping', 'stopped')).toEqual(['done.cleanup', 'error.cleanup']);
    // Every transition with a target in the definition is an edge.
    for (const n of graph.nodes) expect(n.id === '' || states.includes(n.id)).toBe(true);
    expect(graph.edges.length).toBeGreaterThanOrEqual(35);
  });

  it('maps status and streamed transitions onto the diagram', () => {
    expect(nodeForStatus({ state: 'executing', substate: 'executing' })).toBe('active.executing');
    expect(nodeForStatus({ state: 'initializing', substate: 'initializing.syncingRepo' })).toBe('active.initializing.syncingRepo');
    expect(nodeForStatus({ state: 'paused', substate: 'executing' })).toBe('paused');
    expect(resumeNodeForStatus({ state: 'paused', substate: 'executing' })).toBe('active.executing');
    expect(nodeForStatus({ state: 'halted', substate: null })).toBe('halted');
    const ids = (t: { from: string; to: string; event: string }) => edgesForTransition(graph, t).map((e) => `${e.source}->${e.target}`);
    expect(ids({ from: 'active.executing', to: 'paused', event: 'PAUSE' })).toEqual(['active->paused']);
    expect(ids({ from: 'paused', to: 'active.executing', event: 'RESUME' })).toEqual(['paused->active.hist']);
    expect(ids({ from: 'active.executing', to: 'active.verifying', event: 'done.executing' })).toEqual(['active.executing->active.verifying']);
    expect(ids({ from: 'halted', to: 'active.initializing.syncingRepo', event: 'RETRY' })).toEqual(['halted->active.initializing']);
    expect(ids({ from: 'active.initializing.checkingTools', to: 'active.selecting', event: 'done.checkingTools' })).toEqual(['active.initializing.checkingTools->active.selecting']);
  });

  it('derives accepted commands like snapshot.can', () => {
    expect(commandsForPath('active.executing', true)).toEqual(['PAUSE', 'STOP']);
    expect(commandsForPath('paused', true)).toEqual(['RESUME', 'STOP']);
    expect(commandsForPath('halted', true)).toEqual(['STOP', 'RETRY', 'SKIP']);
    expect(commandsForPath('halted', false)).toEqual(['STOP', 'RETRY']);
    expect(commandsForPath('stopped', false)).toEqual([]);
  });

  it('lays out with elkjs and renders every state into the SVG, in Node', async () => {
    const chart = await layoutMachine();
    expect(chart.width).toBeGreaterThan(200);
    expect(chart.height).toBeGreaterThan(200);
    const svg = renderSvg(chart);
    expect(svg.startsWith('<svg')).toBe(true);
    for (const s of states) expect(svg).toContain(`data-state="${s}"`);
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
    for (const e of graph.edges) for (const k of e.keys) expect(drawn).toContain(`${e.source}->${e.target}:${k}`);
  }, 60_000);
});
