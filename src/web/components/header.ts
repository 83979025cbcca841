/** Title, connection state, counters and the current notice (errors from commands/initialize). */
import { h, setText, toggleClass } from '../dom.ts';
import type { UiContext } from '../store.ts';

export function createHeader(opts: { onDismiss(): void }) {
  const conn = h('span', { class: 'conn', 'data-conn': 'connecting' });
  const stats = h('span', { class: 'stats' });
  const noticeText = h('span');
  const notice = h('div', { class: 'notice hidden', role: 'status' }, noticeText, h('button', { type: 'button', class: 'link', onclick: () => opts.onDismiss() }, 'dismiss'));
  const el = h('header', { class: 'top' }, h('h1', {}, 'DevTeam Runner'), conn, stats, notice);
  let prevNotice: unknown = undefined;

  const render = (ctx: UiContext, prev: UiContext | null) => {
    if (!prev || prev.connection !== ctx.connection) {
      conn.dataset.conn = ctx.connection;
      setText(conn, ctx.connection);
    }
    setText(stats, `${ctx.ids.length} projects · ${ctx.envelopes} envelopes`);
    if (ctx.notice !== prevNotice) {
      prevNotice = ctx.notice;
      toggleClass(notice, 'hidden', !ctx.notice);
      notice.dataset.kind = ctx.notice?.kind ?? '';
      setText(noticeText, ctx.notice?.text ?? '');
    }
  };
  return { el, render };
}
