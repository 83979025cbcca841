/**
 * The statechart panel: the diagram laid out at build time from the machine definition
 * (scripts/chart-layout.ts, embedded as `devteam:statechart`) drawn as SVG, fitted to the panel
 * with zoom and pan, a legend, the selected project's active state highlighted (its ancestors
 * outlined, the resume target of a paused project marked) and the last streamed transition
 * animated with CSS. Hooks other code and tests rely on: `.chart-canvas[data-active]`,
 * `[data-state]` nodes with `is-active` / `is-ancestor` / `is-resume`, `.sc-edge.fired`.
 */
import chart from 'devteam:statechart';
import type { TimelineEntry } from '../apply.ts';
import { drawnEdgesFor, memberGraph } from '../chart/match.ts';
import { createLegend } from '../chart/legend.ts';
import { createViewport } from '../chart/viewport.ts';
import { h, setText, toggleClass } from '../dom.ts';
import { nodeForStatus, resumeNodeForStatus, selfAndAncestors } from '../graph.ts';
import type { UiContext } from '../store.ts';
import { renderSvg } from '../svg.ts';

/** The panel and its per-frame render function. */
export interface ChartPanel {
  el: HTMLElement;
  /** Resolves once the diagram is drawn (it is drawn synchronously: kept for callers). */
  ready: Promise<void>;
  render(ctx: UiContext, prev: UiContext | null): void;
}

/** Build the statechart panel. */
export function createChartPanel(opts: { invalidate(): void }): ChartPanel {
  const canvas = h('div', { class: 'chart-canvas', tabindex: 0, role: 'group', 'aria-label': 'Statechart: drag to pan, wheel or +/− to zoom, 0 to fit' });
  canvas.innerHTML = renderSvg(chart);
  const svg = canvas.querySelector('svg')!;
  const view = createViewport(canvas, svg, chart);
  const caption = h('span', { class: 'chart-caption' });
  const button = (label: string, title: string, act: () => void, cls = '') => h('button', { type: 'button', class: `chart-zoom ${cls}`, title, 'aria-label': title, onclick: act }, label);
  const tools = h(
    'span',
    { class: 'chart-tools' },
    button('−', 'Zoom out', () => view.zoomBy(0.8), 'chart-zoom-out'),
    button('+', 'Zoom in', () => view.zoomBy(1.25), 'chart-zoom-in'),
    button('Fit', 'Fit the whole chart', () => view.fit(), 'chart-fit'),
  );
  const el = h('section', { class: 'panel chart' }, h('header', { class: 'panel-head' }, h('h2', {}, 'Statechart'), caption, tools), canvas, createLegend(chart));

  const members = memberGraph(chart);
  const boxes = new Map(chart.nodes.map((n) => [n.id, n]));
  const nodes = new Map<string, Element>();
  const edges = new Map<string, Element>();
  canvas.querySelectorAll('[data-state]').forEach((n) => nodes.set(n.getAttribute('data-state')!, n));
  canvas.querySelectorAll('[data-edge]').forEach((e) => edges.set(e.getAttribute('data-edge')!, e));
  let lit: Element[] = [];
  let fired: Element[] = [];
  let shownActive = '';
  let shownResume: string | null = null;
  let shownLast: TimelineEntry | null = null;

  const highlight = (active: string, resume: string | null) => {
    for (const e of lit) e.classList.remove('is-active', 'is-ancestor', 'is-resume');
    lit = [];
    selfAndAncestors(active).forEach((id, i) => {
      const n = nodes.get(id);
      if (!n) return;
      n.classList.add(i === 0 ? 'is-active' : 'is-ancestor');
      lit.push(n);
    });
    const r = resume ? nodes.get(resume) : undefined;
    if (r) {
      r.classList.add('is-resume');
      lit.push(r);
    }
    canvas.dataset.active = active;
    const box = boxes.get(active);
    if (box) view.reveal(box);
  };

  const animate = (t: TimelineEntry) => {
    for (const e of fired) e.classList.remove('fired', 'entered');
    const hits = drawnEdgesFor(members, t).map((id) => edges.get(id)).filter((x): x is Element => !!x);
    const target = nodes.get(t.to);
    // Restart the CSS animation even when the same edge fires twice in a row.
    void canvas.offsetWidth;
    for (const e of hits) e.classList.add('fired');
    if (target) target.classList.add('entered');
    fired = target ? [...hits, target] : hits;
    canvas.dataset.lastEdge = hits.map((e) => e.getAttribute('data-edge')).join(' ');
  };

  const render = (ctx: UiContext) => {
    const p = ctx.selectedId ? ctx.projects[ctx.selectedId] : undefined;
    if (!p) {
      setText(caption, 'no project selected');
      return;
    }
    const s = p.status;
    const active = nodeForStatus(s);
    const resume = resumeNodeForStatus(s);
    if (active !== shownActive || resume !== shownResume || !nodes.get(active)?.classList.contains('is-active')) {
      highlight(active, resume);
      shownActive = active;
      shownResume = resume;
    }
    if (p.last && p.last !== shownLast) {
      animate(p.last);
      setText(caption, `${ctx.selectedId}: ${p.last.from ?? '∅'} → ${p.last.to} on ${p.last.event}`);
    } else if (!p.last) setText(caption, `${ctx.selectedId}: ${active}`);
    toggleClass(el, 'is-paused', s.state === 'paused');
    shownLast = p.last;
  };

  opts.invalidate();
  return { el, ready: Promise.resolve(), render };
}
