/**
 * Runs a REAL agent CLI (installed by scripts/install-agent-clis.sh) through its adapter and
 * the local sandbox, in a temporary git repository, against the scripted model. Shared by
 * the real-binary integration test and the fixture recorder (recordFixtures.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCliAgent, type CliAgentConfig, type CliAgentKind, type CliRunResult } from '../../../src/infra/agents/cli/index.ts';
import type { AgentEvent } from '../../../src/infra/agents/cli/events.ts';
import { silentLogger, type Logger } from '../../../src/infra/logger.ts';
import { createLocalSandbox } from '../../../src/infra/sandbox/local.ts';
import type { ExecOptions, Sandbox } from '../../../src/infra/sandbox/types.ts';
import { startScriptedModel, type ScriptedModel, type Script, type Turn } from './server.ts';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
/** The install dir of scripts/install-agent-clis.sh (same default and override). */
export const AGENT_CLI_DIR = process.env.DEVTEAM_AGENT_CLI_DIR ?? path.join(REPO, '.cache', 'agent-clis');
export const AGENT_CLI_BIN = path.join(AGENT_CLI_DIR, 'node_modules', '.bin');
export const INSTALL_HINT = 'run `bash scripts/install-agent-clis.sh` (installs the pinned agent CLIs into $DEVTEAM_AGENT_CLI_DIR, default .cache/agent-clis)';
/** A canary key: it must reach the endpoint and appear nowhere else. */
export const CANARY_KEY = 'sk-canary-4f1d9c0e7b2a';
export const PROMPT_PATH = '.git/devteam/prompt.md';
/** Starts with '--' on purpose: the prompt must stay an operand, never an option. */
export const PROMPT_TEXT = '--task: create hello.txt with a greeting. Keep $HOME and `backticks` literal.\n';
export const EDITED_FILE = 'hello.txt';
export const BINARIES: Record<CliAgentKind, string> = { claude: 'claude', codex: 'codex', gemini: 'gemini', opencode: 'opencode' };

export function binaryPresent(kind: CliAgentKind): boolean {
  return existsSync(path.join(AGENT_CLI_BIN, BINARIES[kind]));
}

/** The scripted turn that makes each agent create EDITED_FILE with its own file-writing tool. */
export function editTurn(kind: CliAgentKind, ws: string, content: string): Turn {
  const abs = path.join(ws, EDITED_FILE);
  switch (kind) {
    case 'claude':
      return { kind: 'tool', calls: [{ name: 'Write', input: { file_path: abs, content } }] };
    case 'codex':
      return { kind: 'tool', calls: [{ name: 'apply_patch', input: { input: `*** Begin Patch\n*** Add File: ${EDITED_FILE}\n${content.split('\n').filter(Boolean).map((l) => `+${l}`).join('\n')}\n*** End Patch\n` } }] };
    case 'gemini':
      return { kind: 'tool', calls: [{ name: 'write_file', input: { file_path: abs, content } }] };
    case 'opencode':
      return { kind: 'tool', calls: [{ name: 'write', input: { filePath: abs, content } }] };
  }
}

/** A shell-command turn that tries to commit: each adapter's permissions must stop it. */
export function commitTurn(kind: CliAgentKind): Turn {
  const cmd = 'git add -A && git commit -qm agent-commit';
  switch (kind) {
    case 'claude':
      return { kind: 'tool', calls: [{ name: 'Bash', input: { command: cmd, description: 'commit' } }] };
    case 'codex':
      return { kind: 'tool', calls: [{ name: 'exec_command', input: { cmd } }] };
    case 'gemini':
      return { kind: 'tool', calls: [{ name: 'run_shell_command', input: { command: cmd, description: 'commit' } }] };
    case 'opencode':
      return { kind: 'tool', calls: [{ name: 'bash', input: { command: cmd, description: 'commit' } }] };
  }
}

/** Models the endpoint "serves" per agent (Codex: a slug it knows, so it declares its real tool set). */
export const MODELS: Record<CliAgentKind, string> = { claude: 'claude-sonnet-4-5', codex: 'gpt-5.5', gemini: 'gemini-2.5-pro', opencode: 'scripted-coder' };
const KEY_ENV: Record<CliAgentKind, string> = { claude: 'ANTHROPIC_API_KEY', codex: 'DEVTEAM_MODEL_KEY', gemini: 'GEMINI_API_KEY', opencode: 'DEVTEAM_MODEL_KEY' };

/** The adapter config pointing the agent at the scripted endpoint. */
export function scriptedConfig(kind: CliAgentKind, url: string, over: { model?: string; maxRetries?: number } = {}): CliAgentConfig {
  const base = { model: over.model ?? MODELS[kind], envKeys: ['PATH', KEY_ENV[kind]], timeoutSec: 240, ...(over.maxRetries !== undefined ? { maxRetries: over.maxRetries } : {}) };
  switch (kind) {
    case 'claude':
      return { kind, ...base, baseUrl: url };
    case 'codex':
      return { kind, ...base, baseUrl: `${url}/v1`, apiKeyEnv: KEY_ENV.codex };
    case 'gemini':
      return { kind, ...base, baseUrl: url };
    case 'opencode':
      return { kind, ...base, baseUrl: `${url}/v1`, apiKeyEnv: KEY_ENV.opencode };
  }
}

export interface ScenarioRun {
  kind: CliAgentKind;
  ws: string;
  result: CliRunResult;
  events: AgentEvent[];
  stdout: string[];
  stderr: string[];
  /** argv + env NAMES of every sandbox exec (env values are not kept, except HOME: not a secret). */
  execs: { argv: string[]; envNames: string[]; home: string | undefined }[];
  headBefore: string;
  headAfter: string;
  model: ScriptedModel;
}

const git = (ws: string, ...args: string[]): string =>
  execFileSync('git', ['-C', ws, ...args], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: ws, GIT_CONFIG_NOSYSTEM: '1' } }).trim();

/** A temp git repo with one commit and the runner's prompt file. */
export async function makeWorkspace(): Promise<string> {
  const ws = await realpath(await mkdtemp(path.join(tmpdir(), 'devteam-agentcli-')));
  git(ws, 'init', '-q', '-b', 'main');
  await writeFile(path.join(ws, 'README.md'), '# demo\n');
  git(ws, 'add', '-A');
  git(ws, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'initial');
  await mkdir(path.join(ws, '.git', 'devteam'), { recursive: true });
  await writeFile(path.join(ws, PROMPT_PATH), PROMPT_TEXT);
  return ws;
}

/**
 * Run one agent against `script` (turns may depend on the workspace path). The endpoint is
 * started here and returned (caller closes it via cleanup()).
 */
export async function runScenario(
  kind: CliAgentKind,
  script: (ws: string) => Script,
  opts: { model?: string; maxRetries?: number; logger?: Logger } = {},
): Promise<ScenarioRun & { cleanup(): Promise<void> }> {
  const ws = await makeWorkspace();
  const model = await startScriptedModel({ apiKey: CANARY_KEY, script: script(ws) });
  const sandbox = createLocalSandbox({ kind: 'local', projectId: `agentcli-${kind}`, workspaceDir: ws, defaultImage: 'unused', logger: silentLogger() });
  await sandbox.ensure();
  const execs: ScenarioRun['execs'] = [];
  const spy: Sandbox = { ...sandbox, exec: (argv: string[], o?: ExecOptions) => (execs.push({ argv: [...argv], envNames: Object.keys(o?.env ?? {}), home: o?.env?.HOME }), sandbox.exec(argv, o)) };
  const runnerEnv = { PATH: `${AGENT_CLI_BIN}:${process.env.PATH ?? ''}`, [KEY_ENV[kind]]: CANARY_KEY, GITHUB_TOKEN: 'ghp-not-in-envkeys' };
  const agent = createCliAgent(scriptedConfig(kind, model.url, opts), { env: runnerEnv, logger: opts.logger ?? silentLogger() });
  const events: AgentEvent[] = [];
  const stdout: string[] = [];
  const stderr: string[] = [];
  const headBefore = git(ws, 'rev-parse', 'HEAD');
  const result = await agent.run({
    sandbox: spy, promptPath: PROMPT_PATH, task: { id: 'T-1', title: 'Greet', body: 'Create hello.txt' }, attempt: 1,
    onEvent: (e) => events.push(e),
    onLine: (stream, line) => (stream === 'stdout' ? stdout : stderr).push(line),
  });
  const headAfter = git(ws, 'rev-parse', 'HEAD');
  return {
    kind, ws, result, events, stdout, stderr, execs, headBefore, headAfter, model,
    async cleanup() {
      await sandbox.remove();
      await model.close();
      await rm(ws, { recursive: true, force: true });
    },
  };
}

/** git log --oneline of the workspace (for the no-commit assertion). */
export const gitLog = (ws: string): string => git(ws, 'log', '--oneline', '--all');
