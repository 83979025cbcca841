/**
 * The selected project's lanes side by side — one card per task in flight (task id and title,
 * state, attempt, since when, the error of a halted lane) with RETRY / SKIP on a halted lane
 * (they name the task: `{ "taskId": … }`) — and the merge queue, all from the status (`lanes`,
 * `mergeQueue`, `acceptedCommands`). Clicking a card shows that lane on the task chart.
 */
import type { Command, LaneStatus } from '../../domain/status.ts';
import { h, setText, toggleClass } from '../dom.ts';
import { clock } from '../format.ts';
import type { UiContext } from '../store.ts';

/** The commands a halted lane offers. */
export const LANE_COMMANDS = ['RETRY', 'SKIP'] as const satisfies readonly Command[];
export type LaneCommand = (typeof LANE_COMMANDS)[number];

interface Card {
  el: HTMLElement;
  state: HTMLElement;
  title: HTMLElement;
  attempt: HTMLElement;
  since: HTMLElement;
  error: HTMLElement;
  buttons: Map<LaneCommand, HTMLButtonElement>;
  shown: LaneStatus | null;
}

export function createLanes(opts: { onCommand(projectId: string, cmd: LaneCommand, taskId: string): void; onShow(taskId: string): void; shownLane(ctx: UiContext): string | null }) {
  const count = h('span', { class: 'lanes-count' });
  const queue = h('ol', { class: 'merge-queue-list' });
  const queueBox = h('div', { class: 'merge-queue', 'data-queue': '' }, h('span', { class: 'merge-queue-label' }, 'Merge queue'), queue);
  const list = h('div', { class: 'lanes', role: 'list' });
  const empty = h('div', { class: 'lanes-empty muted' }, 'No task in flight.');
  const el = h('section', { class: 'panel lanes-panel' }, h('header', { class: 'panel-head' }, h('h2', {}, 'Lanes'), count, queueBox), list, empty);
  const cards = new Map<string, Card>();
  let selected: string | null = null;

  list.addEventListener('click', (ev) => {
    const target = ev.target as HTMLElement;
    const card = target.closest<HTMLElement>('.lane');
    if (!card?.dataset.task) return;
    const b = target.closest<HTMLButtonElement>('button[data-lane-command]');
    if (b) {
      if (!b.disabled && selected) opts.onCommand(selected, b.dataset.laneCommand as LaneCommand, card.dataset.task);
      return;
    }
    opts.onShow(card.dataset.task);
  });

  const makeCard = (taskId: string): Card => {
    const state = h('span', { class: 'lane-state' });
    const title = h('div', { class: 'lane-title' });
    const attempt = h('dd', { 'data-field': 'attempt' });
    const since = h('dd', { 'data-field': 'since' });
    const error = h('div', { class: 'lane-error error-text' });
    const buttons = new Map<LaneCommand, HTMLButtonElement>();
    const actions = h('div', { class: 'lane-actions' });
    for (const cmd of LANE_COMMANDS) {
      const b = h('button', { type: 'button', class: `cmd cmd-${cmd.toLowerCase()}`, 'data-lane-command': cmd, title: `${cmd} task ${taskId}` }, cmd);
      buttons.set(cmd, b);
      actions.append(b);
    }
    const el = h(
      'article',
      { class: 'lane', role: 'listitem', 'data-task': taskId, tabindex: 0, title: `Show task ${taskId} on the task chart` },
      h('div', { class: 'lane-head' }, h('b', { class: 'lane-id' }, taskId), state),
      title,
      h('dl', { class: 'lane-meta' }, h('dt', {}, 'attempt'), attempt, h('dt', {}, 'since'), since),
      error,
      actions,
    );
    el.addEventListener('keydown', (ev) => {
      if ((ev.key === 'Enter' || ev.key === ' ') && ev.target === el) {
        ev.preventDefault();
        opts.onShow(taskId);
      }
    });
    return { el, state, title, attempt, since, error, buttons, shown: null };
  };

  let shownLanes: LaneStatus[] | null = null;
  let shownQueue: string[] | null = null;
  const render = (ctx: UiContext) => {
    selected = ctx.selectedId;
    const s = selected ? ctx.projects[selected]?.status : undefined;
    const lanes = s?.lanes ?? [];
    const accepted = s?.acceptedCommands ?? [];
    if (lanes !== shownLanes) {
      shownLanes = lanes;
      const keep = new Set(lanes.map((l) => l.taskId));
      for (const [id, c] of cards) if (!keep.has(id)) (c.el.remove(), cards.delete(id));
      lanes.forEach((l, i) => {
        let c = cards.get(l.taskId);
        if (!c) cards.set(l.taskId, (c = makeCard(l.taskId)));
        if (list.children[i] !== c.el) list.insertBefore(c.el, list.children[i] ?? null);
        if (c.shown === l) return;
        c.shown = l;
        c.el.dataset.state = l.state;
        setText(c.state, l.state);
        c.state.className = `lane-state st-${l.state}`;
        setText(c.title, l.title);
        c.title.title = l.title;
        setText(c.attempt, String(l.attempt));
        setText(c.since, clock(l.since));
        c.since.title = l.since;
        const error = l.state === 'halted' ? (l.error ?? 'halted') : '';
        setText(c.error, error);
        toggleClass(c.error, 'hidden', !error);
      });
      setText(count, lanes.length ? `${lanes.length} in flight` : '');
      toggleClass(empty, 'hidden', lanes.length > 0);
    }
    const shown = opts.shownLane(ctx);
    for (const [id, c] of cards) {
      toggleClass(c.el, 'is-shown', id === shown);
      const halted = c.shown?.state === 'halted';
      toggleClass(c.el.querySelector('.lane-actions')!, 'hidden', !halted);
      for (const [cmd, b] of c.buttons) {
        const on = halted && !ctx.busy && accepted.includes(cmd);
        if (b.disabled === on) b.disabled = !on;
      }
    }
    const q = s?.mergeQueue ?? [];
    if (q !== shownQueue) {
      shownQueue = q;
      queue.replaceChildren(...q.map((id, i) => h('li', { 'data-task': id, class: i === 0 && (s?.state === 'integrating' || s?.state === 'recording') ? 'merging' : '' }, id)));
      queueBox.dataset.queue = q.join(',');
      toggleClass(queueBox, 'is-empty', q.length === 0);
    }
  };
  return { el, render };
}
