/**
 * The project list, virtualized: a fixed row height, a spacer as tall as all rows, and a small
 * pool of row elements repositioned over the visible window. Only visible rows are touched,
 * and a row is rewritten only when its project view changed since it was last drawn.
 */
import type { ProjectView } from '../apply.ts';
import { h, setText, toggleClass } from '../dom.ts';
import { progressOf, stateLabel } from '../format.ts';
import type { UiContext } from '../store.ts';

export const ROW_HEIGHT = 46;
const OVERSCAN = 4;

interface Row {
  el: HTMLElement;
  id: HTMLElement;
  state: HTMLElement;
  task: HTMLElement;
  bar: HTMLElement;
  count: HTMLElement;
  shownId: string | null;
  shownView: ProjectView | null;
  shownSelected: boolean;
  shownIndex: number;
}

export interface ProjectList {
  el: HTMLElement;
  render(ctx: UiContext, prev: UiContext | null): void;
}

export function createProjectList(opts: { onSelect(id: string): void; invalidate(): void }): ProjectList {
  const filter = h('input', { class: 'plist-filter', type: 'search', placeholder: 'Filter projects…', 'aria-label': 'Filter projects' });
  const spacer = h('div', { class: 'plist-spacer' });
  const viewport = h('div', { class: 'plist-viewport', role: 'listbox', 'aria-label': 'Projects' }, spacer);
  const empty = h('div', { class: 'plist-empty' }, 'No projects yet — initialize one with the form.');
  const total = h('span', { class: 'plist-total' });
  const el = h('section', { class: 'plist' }, h('div', { class: 'plist-head' }, filter, total), viewport, empty);
  const rows: Row[] = [];
  let filterText = '';
  let filtered: string[] = [];
  let filteredFrom: string[] | null = null;
  let filteredFor = '';

  viewport.addEventListener('scroll', () => opts.invalidate(), { passive: true });
  filter.addEventListener('input', () => {
    filterText = filter.value.trim().toLowerCase();
    opts.invalidate();
  });
  viewport.addEventListener('click', (ev) => {
    const row = (ev.target as HTMLElement).closest<HTMLElement>('.prow');
    if (row?.dataset.id) opts.onSelect(row.dataset.id);
  });

  const makeRow = (): Row => {
    const id = h('span', { class: 'prow-id' });
    const state = h('span', { class: 'prow-state' });
    const task = h('span', { class: 'prow-task' });
    const bar = h('span', { class: 'prow-bar-fill' });
    const count = h('span', { class: 'prow-count' });
    const rowEl = h('div', { class: 'prow', role: 'option' }, h('div', { class: 'prow-line' }, id, state), h('div', { class: 'prow-line' }, h('span', { class: 'prow-bar' }, bar), count, task));
    spacer.append(rowEl);
    return { el: rowEl, id, state, task, bar, count, shownId: null, shownView: null, shownSelected: false, shownIndex: -1 };
  };

  const draw = (row: Row, index: number, id: string, view: ProjectView, selected: boolean) => {
    if (row.shownIndex !== index) {
      row.el.style.transform = `translateY(${index * ROW_HEIGHT}px)`;
      row.shownIndex = index;
    }
    if (row.shownId === id && row.shownView === view && row.shownSelected === selected) return;
    const s = view.status;
    row.el.dataset.id = id;
    row.el.dataset.state = s.state;
    setText(row.id, id);
    setText(row.state, stateLabel(s));
    row.state.className = `prow-state st-${s.state}`;
    const p = progressOf(s);
    const w = `${p.pct}%`;
    if (row.bar.style.width !== w) row.bar.style.width = w;
    setText(row.count, p.text);
    setText(row.task, s.lanes.length > 1 ? `${s.lanes.length} lanes: ${s.lanes.map((l) => l.taskId).join(', ')}` : s.currentTask ? `${s.currentTask.id} · try ${s.currentTask.attempt}` : '');
    toggleClass(row.el, 'selected', selected);
    row.el.setAttribute('aria-selected', String(selected));
    row.shownId = id;
    row.shownView = view;
    row.shownSelected = selected;
  };

  const render = (ctx: UiContext, prev: UiContext | null) => {
    if (filteredFrom !== ctx.ids || filteredFor !== filterText) {
      filtered = filterText ? ctx.ids.filter((id) => id.includes(filterText)) : ctx.ids;
      filteredFrom = ctx.ids;
      filteredFor = filterText;
      spacer.style.height = `${filtered.length * ROW_HEIGHT}px`;
      setText(total, filterText ? `${filtered.length} / ${ctx.ids.length}` : `${ctx.ids.length}`);
      toggleClass(empty, 'hidden', ctx.ids.length > 0);
      prev = null;
    }
    if (prev && prev.projects === ctx.projects && prev.selectedId === ctx.selectedId) return;
    const height = viewport.clientHeight || 600;
    const first = Math.max(0, Math.floor(viewport.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const count = Math.min(filtered.length - first, Math.ceil(height / ROW_HEIGHT) + OVERSCAN * 2);
    while (rows.length < count) rows.push(makeRow());
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i]!;
      const index = first + i;
      const id = i < count ? filtered[index] : undefined;
      const view = id ? ctx.projects[id] : undefined;
      if (!id || !view) {
        if (row.shownId !== null) {
          row.el.style.display = 'none';
          row.shownId = null;
          row.shownView = null;
        }
        continue;
      }
      if (row.shownId === null) row.el.style.display = '';
      draw(row, index, id, view, id === ctx.selectedId);
    }
  };

  return { el, render };
}
