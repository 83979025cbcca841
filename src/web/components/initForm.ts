/**
 * The form that initializes a project (POST …/initialize): id, repository (url, branch, token
 * variable), the verify command (run as `sh -c "<command>"`), the agent kind, the sandbox and the
 * parallelism (tasks in flight at once).
 */
import type { ProjectConfig } from '../../domain/projectConfig.ts';
import { h } from '../dom.ts';
import type { UiContext } from '../store.ts';

const field = (label: string, input: HTMLElement, hint?: string) => h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), input, hint ? h('small', {}, hint) : null);

/** `"npm test"` → `["sh", "-c", "npm test"]`: the verify command as a shell line. */
export function verifyArgv(line: string): string[] {
  return ['sh', '-c', line.trim()];
}

export function readConfig(form: HTMLFormElement): ProjectConfig {
  const v = (name: string) => ((form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? '').trim();
  const kind = v('agentKind');
  const agent: ProjectConfig['agent'] =
    kind === 'command' ? { kind: 'command', argv: ['sh', '-c', v('agentArgs')] } : kind === 'aider' ? { kind: 'aider', ...(v('agentArgs') ? { model: v('agentArgs') } : {}) } : { kind: 'script' };
  const sandbox = v('sandbox');
  const parallelism = v('parallelism');
  return {
    projectId: v('projectId'),
    repo: { url: v('repoUrl'), branch: v('branch') || 'main', ...(v('tokenEnv') ? { tokenEnv: v('tokenEnv') } : {}) },
    verify: { command: verifyArgv(v('verify')) },
    agent,
    ...(sandbox ? { sandbox: { kind: sandbox as 'local' | 'docker' } } : {}),
    ...(parallelism ? { parallelism: Number(parallelism) } : {}),
  };
}

export function createInitForm(opts: { onSubmit(config: ProjectConfig): Promise<boolean> }) {
  const agentKind = h('select', { name: 'agentKind' }, h('option', { value: 'script' }, 'script'), h('option', { value: 'command' }, 'command'), h('option', { value: 'aider' }, 'aider'));
  const agentArgs = h('input', { name: 'agentArgs', placeholder: 'command line / aider model', disabled: true });
  agentKind.addEventListener('change', () => {
    agentArgs.disabled = agentKind.value === 'script';
  });
  const submit = h('button', { type: 'submit', class: 'primary' }, 'Initialize');
  const form = h(
    'form',
    { class: 'init-form', autocomplete: 'off' },
    field('Project id', h('input', { name: 'projectId', required: true, pattern: '[a-z0-9][a-z0-9\\-]{0,62}', placeholder: 'my-project' })),
    field('Repository URL', h('input', { name: 'repoUrl', required: true, type: 'url', placeholder: 'https://git.example.com/team/app.git' })),
    h('div', { class: 'field-row' }, field('Branch', h('input', { name: 'branch', value: 'main' })), field('Token env var', h('input', { name: 'tokenEnv', placeholder: 'GIT_TOKEN' }))),
    field('Verify command', h('input', { name: 'verify', required: true, placeholder: 'npm test' }), 'run as sh -c "…" in the sandbox'),
    h('div', { class: 'field-row' }, field('Agent', agentKind), field('Sandbox', h('select', { name: 'sandbox' }, h('option', { value: '' }, 'server default'), h('option', { value: 'local' }, 'local'), h('option', { value: 'docker' }, 'docker')))),
    h(
      'div',
      { class: 'field-row' },
      field('Agent command / model', agentArgs),
      field('Parallelism', h('input', { name: 'parallelism', type: 'number', min: 1, max: 16, step: 1, placeholder: '1' }), 'tasks in flight'),
    ),
    submit,
  ) as HTMLFormElement;
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    submit.disabled = true;
    void opts.onSubmit(readConfig(form)).then((ok) => {
      submit.disabled = false;
      if (ok) form.reset();
    });
  });
  const el = h('details', { class: 'panel init-panel' }, h('summary', {}, 'Initialize a project'), form);
  const render = (_ctx: UiContext) => undefined;
  return { el, render };
}
