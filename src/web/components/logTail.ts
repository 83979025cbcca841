/** The selected project's live log tail (capped), kept scrolled to the end unless scrolled up. */
import type { LogLine } from '../apply.ts';
import { h } from '../dom.ts';
import { clock } from '../format.ts';
import type { UiContext } from '../store.ts';

const SHOWN = 200;

export function createLogTail() {
  const pre = h('pre', { class: 'logtail', 'aria-live': 'off' });
  const el = h('section', { class: 'panel log-panel' }, h('header', { class: 'panel-head' }, h('h2', {}, 'Log')), pre);
  let shown: LogLine[] | null = null;

  const render = (ctx: UiContext) => {
    const logs = (ctx.selectedId ? ctx.projects[ctx.selectedId]?.logs : undefined) ?? [];
    if (logs === shown) return;
    shown = logs;
    const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 8;
    const lines = logs.slice(-SHOWN).map((l) => {
      const tag = l.taskId ? ` ${l.taskId}#${l.attempt ?? ''}` : '';
      return h('div', { class: `log-${l.stream}` }, `${clock(l.ts)} [${l.stream}${tag}] ${l.line}`);
    });
    pre.replaceChildren(...lines);
    if (atEnd) pre.scrollTop = pre.scrollHeight;
  };
  return { el, render };
}
