/** The selected project's current context as readable fields. */
import { h, setText, toggleClass } from '../dom.ts';
import { progressOf, stateLabel } from '../format.ts';
import type { UiContext } from '../store.ts';

const FIELDS = [
  ['project', 'Project'],
  ['state', 'State'],
  ['task', 'Task'],
  ['attempt', 'Attempt'],
  ['progress', 'Progress'],
  ['lastError', 'Last error'],
  ['tools', 'Tools'],
  ['seq', 'Seq'],
  ['updated', 'Updated'],
] as const;
type Field = (typeof FIELDS)[number][0];

export function createDetails() {
  const values = new Map<Field, HTMLElement>();
  const dl = h('dl', { class: 'fields' });
  for (const [key, label] of FIELDS) {
    const dd = h('dd', { 'data-field': key });
    values.set(key, dd);
    dl.append(h('dt', {}, label), dd);
  }
  const el = h('section', { class: 'panel details' }, h('header', { class: 'panel-head' }, h('h2', {}, 'Context')), dl);
  let shown: unknown = null;

  const render = (ctx: UiContext) => {
    const view = ctx.selectedId ? ctx.projects[ctx.selectedId] : undefined;
    const s = view?.status;
    if (s === shown) return;
    shown = s;
    const set = (k: Field, v: string) => setText(values.get(k)!, v);
    if (!s) {
      for (const [k] of FIELDS) set(k, '—');
      return;
    }
    const c = s.taskCounts;
    set('project', s.projectId);
    set('state', stateLabel(s));
    values.get('state')!.className = `st-${s.state}`;
    set('task', s.currentTask ? `${s.currentTask.id} — ${s.currentTask.title}` : '—');
    set('attempt', s.currentTask ? String(s.currentTask.attempt) : '—');
    set('progress', `${progressOf(s).text} (done ${c.done}, skipped ${c.skipped}, remaining ${c.remaining}${s.blockedTaskIds.length ? `, blocked ${s.blockedTaskIds.length}` : ''})`);
    set('lastError', s.lastError ?? '—');
    toggleClass(values.get('lastError')!, 'error-text', !!s.lastError);
    set('tools', s.tools ? Object.entries(s.tools).map(([k, v]) => `${k} ${v}`).join(', ') : '—');
    set('seq', String(s.seq));
    set('updated', s.updatedAt);
  };
  return { el, render };
}
