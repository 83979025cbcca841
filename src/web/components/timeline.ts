/** The selected project's transitions as they streamed in, newest first: the project actor's and each lane's (task column). */
import type { TimelineEntry } from '../apply.ts';
import { h } from '../dom.ts';
import { clock, fromTo } from '../format.ts';
import type { UiContext } from '../store.ts';

const SHOWN = 60;

export function createTimeline() {
  const body = h('tbody');
  const table = h('table', { class: 'timeline' }, h('thead', {}, h('tr', {}, h('th', {}, 'seq'), h('th', {}, 'time'), h('th', {}, 'task'), h('th', {}, 'from → to'), h('th', {}, 'event'))), body);
  const el = h('section', { class: 'panel timeline-panel' }, h('header', { class: 'panel-head' }, h('h2', {}, 'Transitions')), h('div', { class: 'scroll' }, table));
  let shown: TimelineEntry[] | null = null;

  const render = (ctx: UiContext) => {
    const list = (ctx.selectedId ? ctx.projects[ctx.selectedId]?.timeline : undefined) ?? [];
    if (list === shown) return;
    shown = list;
    const rows: HTMLElement[] = [];
    for (let i = list.length - 1; i >= 0 && rows.length < SHOWN; i--) {
      const t = list[i]!;
      const tr = h(
        'tr',
        { 'data-seq': t.seq, 'data-task': t.taskId ?? '' },
        h('td', { class: 'num' }, String(t.seq)),
        h('td', { class: 'mono' }, clock(t.ts)),
        h('td', { class: 'mono' }, t.taskId ?? '—'),
        h('td', { class: 'mono', title: `${t.from ?? '∅'} → ${t.to}` }, fromTo(t.from, t.to)),
        h('td', { class: 'mono' }, t.event),
      );
      rows.push(tr);
    }
    if (!rows.length) rows.push(h('tr', {}, h('td', { colspan: 5, class: 'muted' }, 'Transitions appear here as they stream in.')));
    body.replaceChildren(...rows);
  };
  return { el, render };
}
