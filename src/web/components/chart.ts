/**
 * The statechart panel: the SVG generated from the machine definition (graph → elkjs → SVG),
 * the selected project's active state highlighted (its ancestors outlined, the resume target
 * of a paused project marked) and the last streamed transition animated with CSS.
 */
import type { TimelineEntry } from '../apply.ts';
import { h, setText, toggleClass } from '../dom.ts';
import { buildGraph, edgesForTransition, nodeForStatus, resumeNodeForStatus, selfAndAncestors, type StateGraph } from '../graph.ts';
import { layoutGraph } from '../layout.ts';
import { renderSvg } from '../svg.ts';
import type { UiContext } from '../store.ts';

export interface ChartPanel {
  el: HTMLElement;
  /** Resolves once the diagram is laid out and drawn. */
  ready: Promise<void>;
  render(ctx: UiContext, prev: UiContext | null): void;
}

export function createChartPanel(opts: { invalidate(): void }): ChartPanel {
  const canvas = h('div', { class: 'chart-canvas fit' }, h('div', { class: 'chart-loading' }, 'Laying out the statechart…'));
  const caption = h('span', { class: 'chart-caption' });
  const zoom = h('button', { class: 'chart-zoom', type: 'button', title: 'Toggle fit / actual size' }, 'Actual size');
  const el = h('section', { class: 'panel chart' }, h('header', { class: 'panel-head' }, h('h2', {}, 'Statechart'), caption, zoom), canvas);
  zoom.addEventListener('click', () => {
    const fit = canvas.classList.toggle('fit');
    setText(zoom, fit ? 'Actual size' : 'Fit');
  });

  let graph: StateGraph | null = null;
  const nodes = new Map<string, Element>();
  const edges = new Map<string, Element>();
  let lit: Element[] = [];
  let fired: Element[] = [];
  let shownActive = '';
  let shownResume: string | null = null;
  let shownLast: TimelineEntry | null = null;

  const ready = (async () => {
    graph = buildGraph();
    const svg = renderSvg(await layoutGraph(graph));
    canvas.innerHTML = svg;
    canvas.querySelectorAll('[data-state]').forEach((n) => nodes.set(n.getAttribute('data-state')!, n));
    canvas.querySelectorAll('[data-edge]').forEach((e) => edges.set(e.getAttribute('data-edge')!, e));
    opts.invalidate();
  })().catch((err: unknown) => {
    canvas.textContent = `Could not lay out the statechart: ${err instanceof Error ? err.message : String(err)}`;
  });

  const highlight = (active: string, resume: string | null) => {
    for (const e of lit) e.classList.remove('is-active', 'is-ancestor', 'is-resume');
    lit = [];
    const chain = selfAndAncestors(active);
    chain.forEach((id, i) => {
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
    const target = nodes.get(active);
    if (target) keepInView(target);
  };

  /** Scroll the canvas (never the page) so the active node is visible. */
  const keepInView = (node: Element) => {
    const c = canvas.getBoundingClientRect();
    const b = node.getBoundingClientRect();
    if (c.height === 0) return;
    if (b.top < c.top + 8 || b.bottom > c.bottom - 8) canvas.scrollTop += b.top - c.top - c.height / 2 + b.height / 2;
    if (b.left < c.left + 8 || b.right > c.right - 8) canvas.scrollLeft += b.left - c.left - c.width / 2 + b.width / 2;
  };

  const animate = (t: TimelineEntry) => {
    for (const e of fired) e.classList.remove('fired', 'entered');
    fired = [];
    if (!graph) return;
    const hits = edgesForTransition(graph, t).map((e) => edges.get(e.id)).filter((x): x is Element => !!x);
    const target = nodes.get(t.to);
    // Restart the CSS animation even when the same edge fires twice in a row.
    void (canvas as HTMLElement).offsetWidth;
    for (const e of hits) e.classList.add('fired');
    if (target) target.classList.add('entered');
    fired = target ? [...hits, target] : hits;
    canvas.dataset.lastEdge = hits.map((e) => e.getAttribute('data-edge')).join(' ');
  };

  const render = (ctx: UiContext) => {
    const view = ctx.selectedId ? ctx.projects[ctx.selectedId] : undefined;
    if (!view || !graph) {
      setText(caption, view ? '' : 'no project selected');
      return;
    }
    const s = view.status;
    const active = nodeForStatus(s);
    const resume = resumeNodeForStatus(s);
    if (active !== shownActive || resume !== shownResume || !nodes.get(active)?.classList.contains('is-active')) {
      highlight(active, resume);
      shownActive = active;
      shownResume = resume;
    }
    if (view.last && view.last !== shownLast) {
      animate(view.last);
      setText(caption, `${ctx.selectedId}: ${view.last.from ?? '∅'} → ${view.last.to} on ${view.last.event}`);
    } else if (!view.last) setText(caption, `${ctx.selectedId}: ${active}`);
    toggleClass(el, 'is-paused', s.state === 'paused');
    shownLast = view.last;
  };

  return { el, ready: ready.then(() => undefined), render };
}
