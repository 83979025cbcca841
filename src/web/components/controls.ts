/** PAUSE / RESUME / STOP / RETRY / SKIP, enabled by what the current state accepts. */
import { COMMANDS, type Command } from '../../domain/status.ts';
import { h } from '../dom.ts';
import type { UiContext } from '../store.ts';

export function createControls(opts: { onCommand(projectId: string, cmd: Command): void }) {
  const buttons = new Map<Command, HTMLButtonElement>();
  const bar = h('div', { class: 'controls' });
  for (const cmd of COMMANDS) {
    const b = h('button', { type: 'button', class: `cmd cmd-${cmd.toLowerCase()}`, 'data-command': cmd, disabled: true }, cmd);
    buttons.set(cmd, b);
    bar.append(b);
  }
  const el = h('section', { class: 'panel controls-panel' }, h('header', { class: 'panel-head' }, h('h2', {}, 'Commands')), bar);
  let selected: string | null = null;
  bar.addEventListener('click', (ev) => {
    const b = (ev.target as HTMLElement).closest<HTMLButtonElement>('button[data-command]');
    if (b && !b.disabled && selected) opts.onCommand(selected, b.dataset.command as Command);
  });

  const render = (ctx: UiContext) => {
    selected = ctx.selectedId;
    const accepted = (selected ? ctx.projects[selected]?.status.acceptedCommands : undefined) ?? [];
    for (const [cmd, b] of buttons) {
      const on = !ctx.busy && accepted.includes(cmd);
      if (b.disabled === on) b.disabled = !on;
    }
  };
  return { el, render };
}
