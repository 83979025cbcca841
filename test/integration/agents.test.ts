/**
 * Agents and the tool check, against real processes in a local sandbox. Aider itself is
 * replaced by test/fixtures/fake-aider (linked as `aider` into a bin dir put first on
 * PATH), which fails with exit 3 unless it receives exactly the promised argv and env.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AgentConfig, ProjectConfig } from '../../src/domain/projectConfig.ts';
import { createLogger, silentLogger } from '../../src/infra/logger.ts';
import { createAgent } from '../../src/infra/agents/index.ts';
import { extractScript } from '../../src/infra/agents/script.ts';
import { AgentError, type AgentRunArgs } from '../../src/infra/agents/types.ts';
import { createLocalSandbox } from '../../src/infra/sandbox/local.ts';
import { checkTools, requiredTools, ToolMissingError } from '../../src/infra/sandbox/toolCheck.ts';
import type { Sandbox } from '../../src/infra/sandbox/types.ts';

const FAKE_AIDER = fileURLToPath(new URL('../fixtures/fake-aider', import.meta.url));
/** The layout the runner gives an agent: the task's worktree and the runner's files for it. */
const TREE = 'tasks/t1';
const RUNNER_DIR = 'runner/t1';
const PROMPT_PATH = `${RUNNER_DIR}/prompt.md`;
const AIDER_CONFIG: AgentConfig = {
  kind: 'aider',
  model: 'fake/model-1',
  args: ['--map-tokens', '0'],
  envKeys: ['PATH', 'OPENAI_API_KEY'],
};

let ws: string;
let binDir: string;
let sandbox: Sandbox;

beforeEach(async () => {
  ws = await realpath(await mkdtemp(path.join(tmpdir(), 'devteam-agents-')));
  binDir = await mkdtemp(path.join(tmpdir(), 'devteam-bin-'));
  await symlink(FAKE_AIDER, path.join(binDir, 'aider'));
  execFileSync('git', ['init', '-q', path.join(ws, TREE)]);
  await mkdir(path.join(ws, RUNNER_DIR), { recursive: true });
  await writeFile(path.join(ws, PROMPT_PATH), 'Add a greeting.\n');
  sandbox = createLocalSandbox({ kind: 'local', projectId: 'agents', workspaceDir: ws, defaultImage: 'unused', logger: silentLogger() });
  await sandbox.ensure();
});

afterEach(async () => {
  await sandbox.remove();
  await rm(ws, { recursive: true, force: true });
  await rm(binDir, { recursive: true, force: true });
});

const runArgs = (over: Partial<AgentRunArgs> = {}): AgentRunArgs => ({
  sandbox,
  cwd: TREE,
  runnerDir: RUNNER_DIR,
  promptPath: PROMPT_PATH,
  task: { id: 'T-1', title: 'Greet', body: 'Add a greeting.' },
  attempt: 1,
  timeoutMs: 30_000,
  ...over,
});

/** The runner's env as the agents see it: the fake aider first on PATH, a key, and a secret not in envKeys. */
const runnerEnv = () => ({
  PATH: `${binDir}:${process.env.PATH}`,
  OPENAI_API_KEY: 'sk-test-not-real',
  GITHUB_TOKEN: 'ghp-must-not-leak',
});

describe('aider agent', () => {
  it('runs aider with the exact argv, the allowed key only, and edits the workspace', async () => {
    const logs = new PassThrough();
    let logText = '';
    logs.on('data', (d: Buffer) => (logText += d.toString()));
    const agent = createAgent(AIDER_CONFIG, { env: runnerEnv(), logger: createLogger({ level: 'debug' }, logs) });
    const lines: string[] = [];

    const res = await agent.run(runArgs({ onLine: (stream, line) => lines.push(`${stream}:${line}`) }));

    expect(res.exec.stderrTail).toBe('fake-aider: done\n');
    expect(res.exec.exitCode).toBe(0);
    expect(res.executor).toEqual({ kind: 'aider', version: '0.86.1', model: 'fake/model-1' });
    expect(lines).toEqual(['stdout:fake-aider: editing hello.txt', 'stderr:fake-aider: done']);
    expect(await readFile(path.join(ws, TREE, 'hello.txt'), 'utf8')).toBe('hello from fake aider\nAdd a greeting.\n');
    expect(await readFile(path.join(ws, RUNNER_DIR, 'aider.conf.yml'), 'utf8')).toContain(
      `chat-history-file: "${ws}/${RUNNER_DIR}/aider.chat.history.md"`,
    );
    expect(agent.ignoredPaths?.()).toEqual(['.aider*']);
    expect(agent.requiredTools()).toEqual(['aider']);
    // Key names may be logged, values never.
    expect(logText).toContain('OPENAI_API_KEY');
    expect(logText).not.toContain('sk-test-not-real');
    expect(logText).not.toContain('ghp-must-not-leak');
  });

  it('the stand-in really checks: a different model is rejected with exit 3', async () => {
    const agent = createAgent({ ...AIDER_CONFIG, model: 'other/model' }, { env: runnerEnv(), logger: silentLogger() });
    const res = await agent.run(runArgs());
    expect(res.exec.exitCode).toBe(3);
    expect(res.exec.stderrTail).toContain('unexpected argv');
    expect(res.exec.stderrTail).toContain('[other/model]');
  });

  it('the stand-in really checks: a secret passed through envKeys is detected', async () => {
    const agent = createAgent(
      { ...AIDER_CONFIG, envKeys: ['PATH', 'OPENAI_API_KEY', 'GITHUB_TOKEN'] },
      { env: runnerEnv(), logger: silentLogger() },
    );
    const res = await agent.run(runArgs());
    expect(res.exec.exitCode).toBe(3);
    expect(res.exec.stderrTail).toContain('GITHUB_TOKEN leaked');
  });

  it('a missing aider binary is reported as missing_binary (exit 127)', async () => {
    const emptyBin = await mkdtemp(path.join(tmpdir(), 'devteam-nobin-'));
    try {
      const agent = createAgent(AIDER_CONFIG, { env: { ...runnerEnv(), PATH: emptyBin }, logger: silentLogger() });
      const err = await agent.run(runArgs()).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AgentError);
      expect(err).toMatchObject({ code: 'missing_binary' });
      expect((err as Error).message).toMatch(/'aider' was not found in the local sandbox \(exit 127\)/);
    } finally {
      await rm(emptyBin, { recursive: true, force: true });
    }
  });
});

describe('command agent', () => {
  it('substitutes {promptFile} and {workdir} (the task worktree) per element, without a shell; runs in the worktree', async () => {
    const agent = createAgent(
      {
        kind: 'command',
        argv: ['sh', '-c', 'cp "$1" copied-prompt.md; echo "workdir=$2 home=$3 token=${MY_TOKEN:-unset}"', 'sh', '{promptFile}', '{workdir}', '${HOME}'],
        envKeys: ['MY_TOKEN'],
      },
      { env: { MY_TOKEN: 'tok', OTHER: 'x' }, logger: silentLogger() },
    );
    const res = await agent.run(runArgs());
    expect(res.exec.exitCode).toBe(0);
    expect(res.exec.stdoutTail).toBe(`workdir=${ws}/${TREE} home=\${HOME} token=tok\n`);
    expect(await readFile(path.join(ws, TREE, 'copied-prompt.md'), 'utf8')).toBe('Add a greeting.\n');
    expect(res.executor).toEqual({ kind: 'command', version: null, model: null });
    expect(agent.requiredTools()).toEqual(['sh']);
  });

  it('rejects unknown placeholders when created', () => {
    expect(() => createAgent({ kind: 'command', argv: ['tool', '{prompt}'] }, { env: {}, logger: silentLogger() })).toThrow(
      expect.objectContaining({ code: 'bad_template', message: expect.stringContaining('{prompt}') }),
    );
  });

  it('a missing program is reported as missing_binary (exit 127)', async () => {
    const agent = createAgent({ kind: 'command', argv: ['devteam-no-such-agent', '{promptFile}'] }, { env: {}, logger: silentLogger() });
    await expect(agent.run(runArgs())).rejects.toMatchObject({
      code: 'missing_binary',
      message: expect.stringContaining("'devteam-no-such-agent'"),
    });
  });
});

describe('script agent', () => {
  const body = [
    'Create the marker file.',
    '```js',
    'console.log("not this one")',
    '```',
    '````markdown',
    '```sh',
    'echo nested example > wrong.txt',
    '```',
    '````',
    '```sh',
    'echo "made by $0" > made.txt',
    'echo done',
    '```',
    '```sh',
    'echo second block > second.txt',
    '```',
  ].join('\n');

  it("runs the task body's first sh block from the runner's task.sh, in the worktree", async () => {
    const agent = createAgent({ kind: 'script' }, { env: {}, logger: silentLogger() });
    const res = await agent.run(runArgs({ task: { id: 'T-2', title: 'Marker', body } }));
    expect(res.exec).toMatchObject({ exitCode: 0, stdoutTail: 'done\n' });
    expect(await readFile(path.join(ws, TREE, 'made.txt'), 'utf8')).toBe(`made by ${ws}/${RUNNER_DIR}/task.sh\n`);
    expect(existsSync(path.join(ws, TREE, 'wrong.txt'))).toBe(false);
    expect(existsSync(path.join(ws, TREE, 'second.txt'))).toBe(false);
    expect(res.executor).toEqual({ kind: 'script', version: null, model: null });
    expect(agent.requiredTools()).toEqual(['sh']);
  });

  it('a body without a sh block is AgentError no_script naming the task', async () => {
    const agent = createAgent({ kind: 'script' }, { env: {}, logger: silentLogger() });
    await expect(agent.run(runArgs({ task: { id: 'T-3', title: 'Nothing', body: 'Just prose.\n```py\nprint(1)\n```' } }))).rejects.toMatchObject({
      code: 'no_script',
      message: expect.stringContaining('T-3'),
    });
  });

  it('extractScript accepts bash/shell/~~~ fences and CRLF', () => {
    expect(extractScript('~~~bash\r\necho a\r\n~~~\r\n')).toBe('echo a\n');
    expect(extractScript('```shell title="x"\necho b\n```')).toBe('echo b\n');
    expect(extractScript('```\necho c\n```')).toBeNull();
  });
});

describe('tool check', () => {
  const project = (verify: string[], agent: AgentConfig): ProjectConfig => ({
    projectId: 'tools',
    repo: { url: 'https://example.invalid/r.git', branch: 'main' },
    verify: { command: verify },
    agent,
  });

  it('reports versions of present tools, without running a project script', async () => {
    // Running this "verify script" would create ran.txt: the check must only locate it.
    await writeFile(path.join(ws, 'verify.sh'), '#!/bin/sh\necho ran > ran.txt\n');
    await chmod(path.join(ws, 'verify.sh'), 0o755);
    const config = project(['./verify.sh'], { kind: 'script' });
    const tools = requiredTools(config, createAgent(config.agent, { env: {}, logger: silentLogger() }));
    expect(tools.map((t) => t.name)).toEqual(['git', './verify.sh', 'sh']);

    const versions = await checkTools(sandbox, tools);
    expect(versions.git).toMatch(/^git version \d/);
    expect(versions.sh).toBe('POSIX sh');
    expect(versions['./verify.sh']).toBe('./verify.sh');
    expect(existsSync(path.join(ws, 'ran.txt'))).toBe(false);
  });

  it('a missing tool throws ToolMissingError naming it and how to provide it', async () => {
    const config = project(['devteam-no-such-verifier', 'test'], AIDER_CONFIG);
    const tools = requiredTools(config, createAgent(config.agent, { env: {}, logger: silentLogger() }));
    expect(tools.map((t) => t.name)).toEqual(['git', 'devteam-no-such-verifier', 'aider']);
    const err = await checkTools(sandbox, tools).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ToolMissingError);
    expect(err).toMatchObject({ code: 'tool_missing', tool: 'devteam-no-such-verifier' });
    expect((err as ToolMissingError).missing.map((m) => m.name)).toEqual(
      existsOnPath('aider') ? ['devteam-no-such-verifier'] : ['devteam-no-such-verifier', 'aider'],
    );
    expect((err as Error).message).toContain('verify.command');
    const single = await checkTools(sandbox, [{ name: 'devteam-no-such-tool', hint: 'Install it with magic.' }]).catch((e: unknown) => e);
    expect((single as Error).message).toBe("Required tool 'devteam-no-such-tool' is not available in the sandbox. Install it with magic.");
  });
});

function existsOnPath(program: string): boolean {
  return (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(path.join(dir, program)));
}
