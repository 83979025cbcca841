/**
 * A statechart panel: a diagram laid out at build time from a machine definition
 * (scripts/chart-layout.ts, embedded as `devteam:statechart`) drawn as SVG, fitted to the panel
 * with zoom and pan, a legend, the active leaves highlighted (their ancestors outlined, the resume
 * target of a paused project marked) and the last streamed transition animated with CSS. The
 * dashboard has two: the project coordinator, and the task actor of one lane. Hooks other code and
 * tests rely on: `.chart-canvas[data-chart][data-active]` (leaves joined by `,`), `[data-task]` on
 * the task chart, `[data-state]` nodes with `is-active` / `is-ancestor` / `is-resume`, `.sc-edge.fired`.
 */
import type { TimelineEntry } from '../apply.ts';
import { drawnEdgesFor, memberGraph, selfAndAncestors } from '../chart/match.ts';
import { createLegend } from '../chart/legend.ts';
import type { LaidOutChart } from '../chart/types.ts';
import { createViewport } from '../chart/viewport.ts';
import { h, setText, toggleClass } from '../dom.ts';
import { fromTo } from '../format.ts';
import type { UiContext } from '../store.ts';
import { renderSvg } from '../svg.ts';

/** What a chart shows for the current context. */
export interface ChartView {
  /** Caption when no transition was seen yet (`demo: active.initializing.syncingRepo`). */
  label: string;
  /** Active leaves. */
  active: string[];
  /** Where RESUME returns (a paused project). */
  resume: string[];
  /** The last transition of this actor, animated once. */
  last: TimelineEntry | null;
  /** Caption prefix for the last transition (`demo`, `demo · task 1.2`). */
  who: string;
  paused: boolean;
  /** The lane shown (task chart). */
  taskId?: string | null;
}

/** The panel and its per-frame render function. */
export interface ChartPanel {
  el: HTMLElement;
  /** Resolves once the diagram is drawn (it is drawn synchronously: kept for callers). */
  ready: Promise<void>;
  render(ctx: UiContext, prev: UiContext | null): void;
}

/** Build a statechart panel for `chart`; `view` says what to show for a context (null: nothing selected). */
export function createChartPanel(opts: {
  chart: LaidOutChart;
  /** `project` or `task`: the canvas' `data-chart`, the SVG's id prefix. */
  name: string;
  title: string;
  /** Shown when `view` returns null. */
  empty: string;
  view(ctx: UiContext): ChartView | null;
  invalidate(): void;
  /** Extra elements in the panel's header (before the zoom tools). */
  head?: HTMLElement[];
}): ChartPanel {
  const { chart } = opts;
  const canvas = h('div', {
    class: `chart-canvas chart-canvas-${opts.name}`,
    'data-chart': opts.name,
    tabindex: 0,
    role: 'group',
    'aria-label': `${opts.title}: drag to pan, wheel or +/− to zoom, 0 to fit`,
  });
  canvas.innerHTML = renderSvg(chart, { label: opts.title, id: `sc-${opts.name}` });
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
  const el = h(
    'section',
    { class: `panel chart chart-${opts.name}` },
    h('header', { class: 'panel-head' }, h('h2', {}, opts.title), caption, ...(opts.head ?? []), tools),
    canvas,
    createLegend(chart),
  );

  const members = memberGraph(chart);
  const boxes = new Map(chart.nodes.map((n) => [n.id, n]));
  const nodes = new Map<string, Element>();
  const edges = new Map<string, Element>();
  canvas.querySelectorAll('[data-state]').forEach((n) => nodes.set(n.getAttribute('data-state')!, n));
  canvas.querySelectorAll('[data-edge]').forEach((e) => edges.set(e.getAttribute('data-edge')!, e));
  let lit: Element[] = [];
  let fired: Element[] = [];
  let shownActive = '\0';
  let shownResume = '';
  let shownLast: TimelineEntry | null = null;

  const highlight = (active: string[], resume: string[]) => {
    for (const e of lit) e.classList.remove('is-active', 'is-ancestor', 'is-resume');
    lit = [];
    const leaves = new Set(active);
    for (const leaf of active) {
      selfAndAncestors(leaf).forEach((id, i) => {
        const n = nodes.get(id);
        if (!n || (i > 0 && leaves.has(id))) return;
        n.classList.add(i === 0 ? 'is-active' : 'is-ancestor');
        lit.push(n);
      });
    }
    for (const id of resume) {
      const r = nodes.get(id);
      if (r) {
        r.classList.add('is-resume');
        lit.push(r);
      }
    }
    canvas.dataset.active = active.join(',');
    const box = active.length ? boxes.get(active[0]!) : undefined;
    if (box) view.reveal(box);
  };

  /** Animate a transition; false (nothing touched) for one that took no drawn edge and entered no state (a context update). */
  const animate = (t: TimelineEntry): boolean => {
    const hits = drawnEdgesFor(members, t).map((id) => edges.get(id)).filter((x): x is Element => !!x);
    const from = new Set(t.from?.split(',') ?? []);
    const entered = t.to
      .split(',')
      .filter((l) => !from.has(l))
      .map((id) => nodes.get(id))
      .filter((x): x is Element => !!x);
    if (!hits.length && !entered.length) return false;
    for (const e of fired) e.classList.remove('fired', 'entered');
    // Restart the CSS animation even when the same edge fires twice in a row.
    void canvas.offsetWidth;
    for (const e of hits) e.classList.add('fired');
    for (const n of entered) n.classList.add('entered');
    fired = [...hits, ...entered];
    canvas.dataset.lastEdge = hits.map((e) => e.getAttribute('data-edge')).join(' ');
    return true;
  };

  const clear = () => {
    if (shownActive === '') return;
    highlight([], []);
    for (const e of fired) e.classList.remove('fired', 'entered');
    fired = [];
    shownActive = '';
    shownResume = '';
    shownLast = null;
    delete canvas.dataset.task;
    delete canvas.dataset.lastEdge;
  };

  const render = (ctx: UiContext) => {
    const v = opts.view(ctx);
    if (!v) {
      clear();
      setText(caption, opts.empty);
      toggleClass(el, 'is-paused', false);
      return;
    }
    const active = v.active.join(',');
    const resume = v.resume.join(',');
    if (active !== shownActive || resume !== shownResume || (v.active[0] && !nodes.get(v.active[0])?.classList.contains('is-active'))) {
      highlight(v.active, v.resume);
      shownActive = active;
      shownResume = resume;
    }
    if (v.taskId !== undefined) {
      if (v.taskId) canvas.dataset.task = v.taskId;
      else delete canvas.dataset.task;
    }
    if (v.last && v.last !== shownLast) {
      if (animate(v.last)) setText(caption, `${v.who}: ${describe(v.last)}`);
    } else if (!v.last) setText(caption, v.label);
    toggleClass(el, 'is-paused', v.paused);
    shownLast = v.last;
  };

  opts.invalidate();
  return { el, ready: Promise.resolve(), render };
}

/** A transition as one line (`active.running.train.waiting → active.running.train.integrating on LANE`). */
export const describe = (t: Pick<TimelineEntry, 'from' | 'to' | 'event'>): string => `${fromTo(t.from, t.to)} on ${t.event}`;
