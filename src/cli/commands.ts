/**
 * The request/response commands of `devteam`: init, status, the five controls and delete. Each
 * prints a human line (or block) by default and the API's JSON with --json; errors propagate
 * to main, which turns them into one stderr line and an exit code.
 */
import type { DevTeamClient } from '../client/rest.ts';
import type { Command, ProjectStatus } from '../domain/status.ts';
import type { ProjectConfig } from '../domain/projectConfig.ts';
import { intOption, splitCommand, UsageError, type Parsed } from './args.ts';
import { oneLine, progressBar, projectDetail, projectTable, stateLabel } from './format.ts';

export interface Io {
  write(s: string): unknown;
}

const json = (out: Io, v: unknown) => out.write(`${JSON.stringify(v, null, 2)}\n`);

/** The initialize body from init's flags; missing or malformed flags are usage errors. */
export function configFromFlags(p: Parsed): ProjectConfig {
  const v = p.values;
  const usage = `usage: ${p.spec.usage}`;
  const need = (name: 'repo' | 'verify' | 'agent') => {
    const x = v[name];
    if (typeof x !== 'string' || !x) throw new UsageError(`init needs --${name}`, usage);
    return x;
  };
  const argv = (name: string, s: string) => {
    try {
      const a = splitCommand(s);
      if (!a.length) throw new Error('empty');
      return a;
    } catch (err) {
      throw new UsageError(`--${name}: ${(err as Error).message}`, usage);
    }
  };
  const kind = need('agent');
  let agent: ProjectConfig['agent'];
  if (kind === 'script') agent = { kind: 'script' };
  else if (kind === 'aider') agent = { kind: 'aider', ...(typeof v.model === 'string' ? { model: v.model } : {}) };
  else if (kind === 'command') {
    if (typeof v['agent-argv'] !== 'string') throw new UsageError('--agent command needs --agent-argv', usage);
    agent = { kind: 'command', argv: argv('agent-argv', v['agent-argv']) };
  } else throw new UsageError(`--agent must be script, aider or command, got '${kind}'`, usage);
  if (v.model !== undefined && kind !== 'aider') throw new UsageError('--model applies to --agent aider only', usage);
  if (v['agent-argv'] !== undefined && kind !== 'command') throw new UsageError('--agent-argv applies to --agent command only', usage);
  const sandbox = v.sandbox;
  if (sandbox !== undefined && sandbox !== 'local' && sandbox !== 'docker') throw new UsageError(`--sandbox must be local or docker, got '${String(sandbox)}'`, usage);
  const timeout = v['verify-timeout'] === undefined ? undefined : intOption(p, 'verify-timeout', 0, 1);
  const parallelism = v.parallelism === undefined ? undefined : intOption(p, 'parallelism', 1, 1);
  if (parallelism !== undefined && parallelism > 16) throw new UsageError(`--parallelism must be 1-16, got ${parallelism}`, usage);
  return {
    projectId: p.positionals[0]!,
    repo: { url: need('repo'), branch: typeof v.branch === 'string' ? v.branch : 'main', ...(typeof v['token-env'] === 'string' ? { tokenEnv: v['token-env'] } : {}) },
    verify: { command: argv('verify', need('verify')), ...(timeout ? { timeoutSec: timeout } : {}) },
    agent,
    ...(sandbox ? { sandbox: { kind: sandbox } } : {}),
    ...(typeof v['task-list'] === 'string' ? { taskList: { path: v['task-list'] } } : {}),
    ...(parallelism !== undefined ? { parallelism } : {}),
  };
}

export async function initCommand(client: DevTeamClient, p: Parsed, out: Io): Promise<number> {
  const r = await client.initialize(configFromFlags(p));
  if (p.values.json) json(out, r);
  else {
    const what = r.created ? 'created' : r.outcome === 'replaced' ? 'reconfigured' : 'unchanged';
    out.write(`${r.status.projectId}: ${what}; state ${stateLabel(r.status)}\n`);
  }
  return 0;
}

export async function statusCommand(client: DevTeamClient, p: Parsed, out: Io): Promise<number> {
  const id = p.positionals[0];
  if (id) {
    const s = await client.status(id);
    if (p.values.json) json(out, s);
    else out.write(projectDetail(s));
    return 0;
  }
  const items: ProjectStatus[] = [];
  for await (const s of client.allProjects({ pageSize: intOption(p, 'limit', 100, 1) })) items.push(s);
  if (p.values.json) json(out, items);
  else out.write(projectTable(items));
  return 0;
}

const PAST: Record<Command, string> = { PAUSE: 'paused', RESUME: 'resumed', STOP: 'stopped', RETRY: 'retrying', SKIP: 'skipped the halted task of' };

export async function controlCommand(client: DevTeamClient, cmd: Command, p: Parsed, out: Io): Promise<number> {
  const id = p.positionals[0]!;
  const taskId = typeof p.values.task === 'string' ? p.values.task : undefined;
  const r = await client.command(id, cmd, taskId !== undefined ? { taskId } : {});
  if (p.values.json) json(out, r);
  else {
    const s = r.status;
    const head = r.noop ? `${id}: already ${s.state} (no change)` : r.pending ? `${id}: stop requested; cleanup still running` : `${PAST[cmd]} ${id}`;
    out.write(`${head}; state ${stateLabel(s)}; ${progressBar(s.taskCounts)}; accepts ${s.acceptedCommands.join(', ') || '-'}${s.lastError && cmd !== 'RETRY' ? `; last error: ${oneLine(s.lastError)}` : ''}\n`);
  }
  return 0;
}

export async function deleteCommand(client: DevTeamClient, p: Parsed, out: Io): Promise<number> {
  const id = p.positionals[0]!;
  await client.deleteProject(id);
  if (p.values.json) json(out, { projectId: id, deleted: true });
  else out.write(`deleted ${id}\n`);
  return 0;
}
