/**
 * Command-line parsing for `devteam` on node:util parseArgs. One option table for all commands
 * (so global flags may appear anywhere), then a per-command check of which options and how many
 * positionals are allowed — anything else is a UsageError (exit code 2) naming the problem and
 * the command's usage line.
 */
import { parseArgs } from 'node:util';

export class UsageError extends Error {
  override name = 'UsageError';
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
  }
}

const OPTIONS = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  // init
  repo: { type: 'string' },
  branch: { type: 'string' },
  verify: { type: 'string' },
  'verify-timeout': { type: 'string' },
  agent: { type: 'string' },
  'agent-argv': { type: 'string' },
  model: { type: 'string' },
  'token-env': { type: 'string' },
  sandbox: { type: 'string' },
  'task-list': { type: 'string' },
  parallelism: { type: 'string' },
  // retry / skip
  task: { type: 'string' },
  // status
  limit: { type: 'string' },
  // watch / demo
  tail: { type: 'string' },
  port: { type: 'string' },
  keep: { type: 'boolean' },
  'data-dir': { type: 'string' },
} as const;

type OptionName = keyof typeof OPTIONS;
const GLOBAL: OptionName[] = ['url', 'token', 'json', 'help'];

export interface CommandSpec {
  usage: string;
  summary: string;
  options: OptionName[];
  /** [min, max] positionals after the command name. */
  positionals: [number, number];
}

const control = (verb: string, summary: string, taskOption = false): CommandSpec => ({
  usage: `devteam ${verb} <projectId>${taskOption ? ' [--task TASK_ID]' : ''} [--json]`,
  summary,
  options: taskOption ? ['task'] : [],
  positionals: [1, 1],
});

export const COMMAND_SPECS: Record<string, CommandSpec> = {
  serve: { usage: 'devteam serve [--port N]', summary: 'run the service (same as npm start)', options: ['port'], positionals: [0, 0] },
  init: {
    usage:
      'devteam init <projectId> --repo URL [--branch main] --verify "cmd args" --agent script|aider|command [--agent-argv \'…\'] [--model M] [--token-env NAME] [--sandbox local|docker] [--task-list PATH] [--verify-timeout SEC] [--parallelism 1-16]',
    summary: 'initialize a project (or replace its configuration)',
    options: ['repo', 'branch', 'verify', 'verify-timeout', 'agent', 'agent-argv', 'model', 'token-env', 'sandbox', 'task-list', 'parallelism'],
    positionals: [1, 1],
  },
  status: { usage: 'devteam status [projectId] [--json]', summary: 'all projects as a table, or one project', options: ['limit'], positionals: [0, 1] },
  pause: control('pause', 'pause a project (the running step is cancelled and starts again on resume)'),
  resume: control('resume', 'resume a paused project where it was'),
  stop: control('stop', 'stop a project for good (cleanup included)'),
  retry: control('retry', 'retry a halted task (--task names it when several lanes are halted)', true),
  skip: control('skip', 'skip a halted task (--task names it when several lanes are halted)', true),
  delete: { usage: 'devteam delete <projectId>', summary: 'delete a stopped project', options: [], positionals: [1, 1] },
  watch: {
    usage: 'devteam watch <projectId> [--tail N] [--json]',
    summary: 'follow a project live; exit 0 when idle, 1 when halted or stopped, 2 on connection loss',
    options: ['tail'],
    positionals: [1, 1],
  },
  demo: {
    usage: 'devteam demo [--port 8787] [--data-dir DIR] [--keep] [--json]',
    summary: 'run the sample project end to end on an embedded runner and a local git server',
    options: ['port', 'data-dir', 'keep', 'tail'],
    positionals: [0, 0],
  },
};

export const USAGE = [
  'usage: devteam <command> [options]   (--url URL / DEVTEAM_URL, --token T / DEVTEAM_API_TOKEN, --json)',
  '',
  ...Object.values(COMMAND_SPECS).map((s) => `  ${s.usage}\n      ${s.summary}`),
].join('\n');

export interface Parsed {
  command: string;
  positionals: string[];
  values: Partial<Record<OptionName, string | boolean>>;
  spec: CommandSpec;
}

export function parseCommandLine(argv: string[]): Parsed | { help: true } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    const cmd = argv.find((a) => !a.startsWith('-'));
    const spec = cmd ? COMMAND_SPECS[cmd] : undefined;
    throw new UsageError((err as Error).message.split('\n')[0]!.replace(/\. To specify a positional.*$/, ''), spec ? `usage: ${spec.usage}` : USAGE.split('\n')[0]!);
  }
  const [command, ...positionals] = parsed.positionals;
  const values = parsed.values as Parsed['values'];
  if (!command) {
    if (values.help) return { help: true };
    throw new UsageError('missing command', USAGE.split('\n')[0]!);
  }
  const spec = COMMAND_SPECS[command];
  if (!spec) throw new UsageError(`unknown command '${command}'`, USAGE.split('\n')[0]!);
  const usage = `usage: ${spec.usage}`;
  for (const name of Object.keys(values) as OptionName[]) {
    if (!GLOBAL.includes(name) && !spec.options.includes(name)) throw new UsageError(`option '--${name}' is not valid for '${command}'`, usage);
  }
  const [min, max] = spec.positionals;
  if (positionals.length < min) throw new UsageError(`'${command}' needs ${min === 1 ? 'a projectId' : `${min} arguments`}`, usage);
  if (positionals.length > max) throw new UsageError(`unexpected argument '${positionals[max]}'`, usage);
  return { command, positionals, values, spec };
}

/** A positive integer option, or a UsageError. */
export function intOption(p: Parsed, name: OptionName, fallback: number, min = 0): number {
  const v = p.values[name];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (typeof v !== 'string' || !/^\d+$/.test(v) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${String(v)}'`, `usage: ${p.spec.usage}`);
  return n;
}

/**
 * Split a command string into argv: whitespace-separated, with '…' and "…" quoting and
 * backslash escapes (no expansion of any kind). A JSON array is accepted as is.
 */
export function splitCommand(s: string): string[] {
  const t = s.trim();
  if (t.startsWith('[')) {
    const arr = JSON.parse(t) as unknown;
    if (!Array.isArray(arr) || !arr.every((x) => typeof x === 'string')) throw new Error('expected a JSON array of strings');
    return arr;
  }
  const out: string[] = [];
  let cur = '';
  let has = false;
  let quote: '"' | "'" | null = null;
  for (let i = 0; i < t.length; i++) {
    const c = t[i]!;
    if (quote) {
      if (c === quote) quote = null;
      else if (c === '\\' && quote === '"' && i + 1 < t.length) cur += t[++i];
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      has = true;
    } else if (c === '\\' && i + 1 < t.length) {
      cur += t[++i];
      has = true;
    } else if (/\s/.test(c)) {
      if (has || cur) out.push(cur);
      cur = '';
      has = false;
    } else cur += c;
  }
  if (quote) throw new Error(`unterminated ${quote} quote`);
  if (has || cur) out.push(cur);
  return out;
}
