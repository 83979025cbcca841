/**
 * The pipeline under faults, with real parts: crash right after a push, an upstream push racing
 * the task, and bad input (malformed task list, missing branch, wrong token, unreachable remote,
 * non-UTF-8 task list, huge task body) — each a clear error, a halt or a retry, nothing lost.
 */
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectSteps } from '../../src/actors/projectSteps.ts';
import { createRuntime, type Runtime } from '../../src/actors/runtime.ts';
import { parseOutcomes } from '../../src/domain/outcomesLog.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { spawnTs } from '../support/child.ts';
import { createTestDatabase, requirePostgres, tempDir } from '../support/db.ts';
import { nativeGit, startGitServer, type GitServer } from '../support/gitServer.ts';
import { inState } from '../support/runtime.ts';

const skipPg = await requirePostgres();
const TOKEN = 'tok_faults_9d8s7f6g5h';
const VERIFY = 'test ! -e BROKEN\n';
const tasks = (n: number, body = (i: number) => `\`\`\`sh\necho ${i} > f${i}.txt\n\`\`\``) =>
  `# Tasks\n\n## Phase 1: All (Dependencies: None)\n\n` +
  Array.from({ length: n }, (_, k) => `### 1.${k + 1} Task ${k + 1} (Dependencies: ${k ? `[1.${k}]` : 'None'})\n${body(k + 1)}\n`).join('\n');

describe.skipIf(!!skipPg)('pipeline under faults', () => {
  let git: GitServer;
  let rt: Runtime;
  let dbUrl: string;
  let dataDir: string;
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });
  beforeAll(async () => {
    const root = await tempDir('gitroot-');
    cleanups.push(root.remove);
    git = await startGitServer({ root: root.path, token: TOKEN });
    cleanups.push(() => git.close());
    const db = await createTestDatabase('faults');
    cleanups.push(db.drop);
    dbUrl = db.url;
    const data = await tempDir('data-');
    cleanups.push(data.remove);
    dataDir = data.path;
    const clock = { now: () => Date.now(), sleep: async (_ms: number, signal?: AbortSignal) => signal?.throwIfAborted() };
    rt = await createRuntime({
      config: loadConfig({ DATABASE_URL: dbUrl, DEVTEAM_DATA_DIR: join(dataDir, 'inproc'), DEVTEAM_IDLE_FETCH_SEC: '3600' }),
      logger: silentLogger(),
      clock, // backoff waits pass at once: the retry path is exercised without waiting for it
      makeSteps: (p, base) => createProjectSteps({ project: p, ...base, env: { ...process.env, GIT_TOKEN: TOKEN, WRONG_TOKEN: 'nope-nope-nope' } }),
    });
    cleanups.push(() => rt.close());
  });

  const cfg = (id: string, url: string, extra: Record<string, unknown> = {}) => ({
    projectId: id,
    repo: { url, branch: 'main', tokenEnv: 'GIT_TOKEN' },
    verify: { command: ['sh', 'verify.sh'] },
    agent: { kind: 'script' },
    sandbox: { kind: 'local' },
    ...extra,
  });

  it('a crash right after the push (before the transition is written) neither commits nor records twice', async () => {
    const url = await git.createBareRepo('crash', { files: { 'ai_docs/tasks/tasks_list.md': tasks(2), 'verify.sh': VERIFY } });
    const env = { RC_DB_URL: dbUrl, RC_DATA_DIR: join(dataDir, 'crash'), RC_CONFIG: JSON.stringify(cfg('crash', url)), RC_TOKEN: TOKEN };
    const a = spawnTs(join(import.meta.dirname, '../support/realChild.ts'), { ...env, RC_KILL_AFTER_PUSH: '1' });
    cleanups.push(async () => void a.proc.kill('SIGKILL'));
    await a.waitFor((l) => l.ev === 'pushed' && l.taskId === '1.1', 'first push');
    expect((await a.exited).signal).toBe('SIGKILL');
    const afterCrash = await git.log('crash');

    const b = spawnTs(join(import.meta.dirname, '../support/realChild.ts'), env);
    cleanups.push(async () => void b.proc.kill('SIGKILL'));
    const again = await b.waitFor((l) => l.ev === 'pushed' && l.taskId === '1.1', 'push re-run');
    expect(again.pushed).toBe(false); // the remote already had it: nothing sent
    await b.waitFor((l) => l.ev === 'status' && l.state === 'idle', 'idle');
    b.proc.kill('SIGTERM');
    await b.exited;

    const log = await git.log('crash');
    expect(log.startsWith(afterCrash) || log.includes(afterCrash.split('\0')[0]!)).toBe(true);
    expect(log.match(/DevTeam-Task: 1\.1/g)).toHaveLength(1);
    expect(log.match(/DevTeam-Outcome: 1\.1/g)).toHaveLength(1);
    expect(log.match(/DevTeam-Outcome: 1\.2/g)).toHaveLength(1);
    const clone = await tempDir('clone-');
    cleanups.push(clone.remove);
    await nativeGit(clone.path, 'clone', '-q', `http://x:${TOKEN}@${url.replace(/^http:\/\//, '')}`, 'c');
    const entries = parseOutcomes(await readFile(join(clone.path, 'c/ai_docs/tasks/task_outcomes.md'), 'utf8'));
    expect([...entries.values()].filter((e) => e.filled).map((e) => e.taskId)).toEqual(['1.1', '1.2']);
  });

  it('an upstream push racing the task is merged, retried and kept on the remote', async () => {
    const url = await git.createBareRepo('race', { files: { 'ai_docs/tasks/tasks_list.md': tasks(1, () => '```sh\necho mine > mine.txt\n```'), 'verify.sh': VERIFY } });
    const race = await rt.registry.initialize(cfg('race', url));
    expect(race.code).toBe('created');
    const host = rt.registry.get('race')!;
    const steps = host.binding.steps;
    const run = steps.runAgent.bind(steps);
    steps.runAgent = async (i, ctx) => {
      await git.commitUpstream('race', { 'theirs.txt': 'upstream\n' }, { message: 'upstream work' });
      return run(i, ctx);
    };
    await inState(rt, 'race', 'idle');
    const log = await git.log('race');
    expect(log).toContain('upstream work');
    expect(log.match(/DevTeam-Task: 1\.1/g)).toHaveLength(1);
    const clone = await tempDir('clone-');
    cleanups.push(clone.remove);
    await nativeGit(clone.path, 'clone', '-q', `http://x:${TOKEN}@${url.replace(/^http:\/\//, '')}`, 'c');
    expect(await readFile(join(clone.path, 'c/theirs.txt'), 'utf8')).toBe('upstream\n');
    expect(await readFile(join(clone.path, 'c/mine.txt'), 'utf8')).toBe('mine\n');
  });

  it("keeps a task's branch (slug fixed at its first PREP) when its title changes later", async () => {
    const list = (title: string) => `## Phase 1: P (Dependencies: None)\n\n### 1.1 ${title} (Dependencies: None)\n\`\`\`sh\nwhile [ ! -e go.txt ]; do sleep 0.05; done\necho done > done.txt\n\`\`\`\n`;
    const url = await git.createBareRepo('slug', { files: { 'ai_docs/tasks/tasks_list.md': list('Original title'), 'verify.sh': VERIFY } });
    await rt.registry.initialize(cfg('slug', url));
    await inState(rt, 'slug', 'executing');
    expect((await rt.registry.command('slug', 'STOP')).ok).toBe(true);
    await git.commitUpstream('slug', { 'ai_docs/tasks/tasks_list.md': list('Renamed later'), 'go.txt': 'go\n' }, { message: 'rename 1.1' });
    // A changed config restarts the stopped project from initializing (which fetches the rename).
    expect((await rt.registry.initialize(cfg('slug', url, { verify: { command: ['sh', 'verify.sh'], timeoutSec: 60 } }))).code).toBe('replaced');
    const idle = await inState(rt, 'slug', 'idle', 'halted');
    expect(idle.lastError).toBeNull();
    expect(idle.completedTaskIds).toEqual(['1.1']);
    const runs = await rt.db.query<{ attempt: number; branch: string }>(`select attempt, branch from task_run where project_id = 'slug' order by attempt`);
    expect(runs.map((r) => r.branch)).toEqual(['devteam/1.1-original-title', 'devteam/1.1-original-title']);
    expect(await git.log('slug')).toContain('Renamed later');
    const heads = await nativeGit(git.repoPath('slug'), 'for-each-ref', '--format=%(refname)', 'refs/heads/devteam');
    expect(heads.trim()).toBe('refs/heads/devteam/1.1-original-title');
  });

  const bad: Array<[string, () => Promise<Record<string, unknown>>, RegExp]> = [
    ['malformed task list (duplicate id)', async () => cfg('dup', await git.createBareRepo('dup', { files: { 'ai_docs/tasks/tasks_list.md': '## Phase 1: X (Dependencies: None)\n\n### 1.1 A (Dependencies: None)\n\n### 1.1 B (Dependencies: None)\n' } })), /Duplicate task id 1\.1 at lines 3 and 5/],
    ['unknown dependency', async () => cfg('unk', await git.createBareRepo('unk', { files: { 'ai_docs/tasks/tasks_list.md': '### 1.1 A (Dependencies: [9.9])\n' } })), /Task 1\.1 \(line 1\) depends on unknown task 9\.9/],
    ['missing target branch', async () => ({ ...cfg('nobranch', await git.createBareRepo('nobranch', { files: { 'a.txt': 'a' } })), repo: { url: git.url('nobranch'), branch: 'release', tokenEnv: 'GIT_TOKEN' } }), /release/],
    ['wrong token', async () => ({ ...cfg('badtoken', await git.createBareRepo('badtoken', { files: { 'a.txt': 'a' } })), repo: { url: git.url('badtoken'), branch: 'main', tokenEnv: 'WRONG_TOKEN' } }), /auth|401|credentials|token/i],
    ['token variable not set', async () => ({ ...cfg('notoken', git.url('badtoken')), repo: { url: git.url('badtoken'), branch: 'main', tokenEnv: 'NOT_SET_ANYWHERE' } }), /NOT_SET_ANYWHERE/],
    ['unreachable remote (retried, then halted)', async () => cfg('unreach', 'http://127.0.0.1:1/nothing.git'), /ECONNREFUSED|unreachable|connect/i],
    ['non-UTF-8 task list', async () => cfg('latin1', await git.createBareRepo('latin1', { files: { 'ai_docs/tasks/tasks_list.md': Buffer.from([0x23, 0x23, 0x20, 0xe9, 0xff, 0x0a]) } })), /UTF-8/],
  ];
  for (const [name, make, message] of bad) {
    it(`bad input: ${name} → halted with a precise error`, async () => {
      const config = await make();
      await rt.registry.initialize(config as never);
      const s = await inState(rt, config.projectId as string, 'halted');
      expect(s.lastError).toMatch(message);
      expect(s.lastError).not.toContain(TOKEN);
      expect(s.lastError).not.toContain('nope-nope-nope');
    });
  }

  it('a huge task body is capped in the prompt and the task still runs', async () => {
    const body = (i: number) => `${'lorem ipsum '.repeat(100_000)}\n\`\`\`sh\necho ${i} > big${i}.txt\n\`\`\``;
    const url = await git.createBareRepo('huge', { files: { 'ai_docs/tasks/tasks_list.md': tasks(1, body), 'verify.sh': VERIFY } });
    await rt.registry.initialize(cfg('huge', url));
    const s = await inState(rt, 'huge', 'idle', 'halted');
    expect(s.state).toBe('idle');
    const prompt = await readFile(join(dataDir, 'inproc/artifacts/huge/1.1/1/prompt.md'), 'utf8');
    expect(Buffer.byteLength(prompt)).toBeLessThan(200 * 1024);
  });

  describe('doing nothing is not success; what the agent says decides a retry', () => {
    const runs = (id: string) =>
      rt.db.query<{ task_id: string; attempt: number; outcome: string | null }>(`select task_id, attempt, outcome from task_run where project_id = $1 order by attempt`, [id]);
    const commandAgent = (script: string) => ({ agent: { kind: 'command', argv: ['sh', '-c', script] } });

    it('an agent that exits 0 and changes nothing fails each attempt with feedback, then halts; nothing is pushed', async () => {
      const url = await git.createBareRepo('noop', { files: { 'ai_docs/tasks/tasks_list.md': tasks(1), 'verify.sh': VERIFY } });
      const before = await git.log('noop');
      await rt.registry.initialize(cfg('noop', url, commandAgent('echo "thinking…"; echo "I think it is done."')));
      const s = await inState(rt, 'noop', 'halted', 'idle');
      expect(s.state).toBe('halted');
      expect(s.lastError).toContain('made no changes');
      expect((await runs('noop')).map((r) => r.attempt)).toEqual([1, 2, 3]);
      const prompt3 = await readFile(join(dataDir, 'inproc/artifacts/noop/1.1/3/prompt.md'), 'utf8');
      expect(prompt3).toContain('the agent made no changes; its output ends:');
      expect(prompt3).toContain('I think it is done.');
      expect(await git.log('noop')).toBe(before);
    });

    it('a known fatal message (bad API key) halts at once, with the agent’s words, and spends no retries', async () => {
      const url = await git.createBareRepo('authfail', { files: { 'ai_docs/tasks/tasks_list.md': tasks(1), 'verify.sh': VERIFY } });
      await rt.registry.initialize(cfg('authfail', url, commandAgent('echo "litellm.AuthenticationError: invalid api key" >&2; exit 0')));
      const s = await inState(rt, 'authfail', 'halted', 'idle');
      expect(s.state).toBe('halted');
      expect(s.lastError).toContain('auth');
      expect(s.lastError).toContain('invalid api key');
      expect((await runs('authfail')).map((r) => r.attempt)).toEqual([1]);
    });

    it('a rate limit is retried with backoff in the same attempt, then the task completes', async () => {
      const url = await git.createBareRepo('ratelimit', { files: { 'ai_docs/tasks/tasks_list.md': tasks(1), 'verify.sh': VERIFY } });
      // Fails with a 429 the first time (a marker outside the worktree remembers), then edits.
      const marker = join(dataDir, 'ratelimit-once');
      const script = `if [ ! -e '${marker}' ]; then touch '${marker}'; echo "Error: 429 Too Many Requests: rate limit exceeded" >&2; exit 1; fi; echo done > done.txt`;
      await rt.registry.initialize(cfg('ratelimit', url, commandAgent(script)));
      const s = await inState(rt, 'ratelimit', 'idle', 'halted');
      expect(s.state).toBe('idle');
      expect((await runs('ratelimit')).map((r) => [r.attempt, r.outcome])).toEqual([[1, 'completed']]);
    });
  });

  describe('what the remote says is what the user sees', () => {
    const hook = async (repo: string, script: string) => {
      const file = join(git.repoPath(repo), 'hooks', 'pre-receive');
      await writeFile(file, `#!/bin/sh\n${script}\n`);
      await chmod(file, 0o755);
    };

    it('a push the remote refuses (a hook) halts at once with the remote’s own message, no non-fast-forward retry', async () => {
      const url = await git.createBareRepo('protected', { files: { 'ai_docs/tasks/tasks_list.md': tasks(1), 'verify.sh': VERIFY } });
      await hook('protected', `while read old new ref; do if [ "$ref" = refs/heads/main ]; then echo "GL-HOOK-ERR: main is protected; open a merge request" >&2; exit 1; fi; done`);
      const before = git.stats().receivePackPosts;
      await rt.registry.initialize(cfg('protected', url));
      const s = await inState(rt, 'protected', 'halted', 'idle');
      expect(s.state).toBe('halted');
      expect(s.substate).toBe(null);
      expect(s.lastError).toContain('recording failed');
      expect(s.lastError).toContain('main is protected; open a merge request');
      // One push of the task branch (integrate) and one refused push of main (record): no retries.
      expect(git.stats().receivePackPosts - before).toBe(2);
    });

    it('a remote that already has a `devteam` branch gets task branches in another namespace', async () => {
      const url = await git.createBareRepo('nsclash', { files: { 'ai_docs/tasks/tasks_list.md': tasks(1), 'verify.sh': VERIFY } });
      await nativeGit(git.repoPath('nsclash'), 'branch', 'devteam', 'main');
      await rt.registry.initialize(cfg('nsclash', url));
      expect((await inState(rt, 'nsclash', 'idle', 'halted')).state).toBe('idle');
      const branches = await nativeGit(git.repoPath('nsclash'), 'branch', '--format=%(refname:short)');
      expect(branches).toContain('devteam-runner/1.1-task-1');
      const log = await nativeGit(git.repoPath('nsclash'), 'show', 'main:ai_docs/tasks/task_outcomes.md');
      expect(log).toContain('branch devteam-runner/1.1-task-1');
    });

    it('the outcomes entry cites only refs that exist on the remote', async () => {
      const url = await git.createBareRepo('nobranches', { files: { 'ai_docs/tasks/tasks_list.md': tasks(1), 'verify.sh': VERIFY } });
      await hook('nobranches', `while read old new ref; do case "$ref" in refs/heads/main) ;; *) echo "only main may be pushed here" >&2; exit 1;; esac; done`);
      await rt.registry.initialize(cfg('nobranches', url));
      expect((await inState(rt, 'nobranches', 'idle', 'halted')).state).toBe('idle');
      const entry = parseOutcomes(await nativeGit(git.repoPath('nobranches'), 'show', 'main:ai_docs/tasks/task_outcomes.md')).get('1.1')!;
      const commit = (await nativeGit(git.repoPath('nobranches'), 'log', '-1', '--format=%H', '--grep=^DevTeam-Task: 1.1$', 'main')).trim();
      expect(entry.fields.artifacts).toContain(`commit ${commit.slice(0, 12)}`);
      expect(entry.fields.artifacts).not.toContain('branch ');
      // The entry's timestamp is the recorded commit's time, not earlier.
      const committed = (await nativeGit(git.repoPath('nobranches'), 'log', '-1', '--format=%cI', commit)).trim();
      expect(Date.parse(entry.fields.timestamp!)).toBe(Date.parse(committed));
    });
  });

  it('a task that creates a symlink to a directory and an executable script: committed as they are', async () => {
    const body = () => '```sh\nmkdir -p src && echo x > src/a && ln -s src srclink\nprintf "#!/bin/sh\\necho hi\\n" > run.sh && chmod +x run.sh\n```';
    const url = await git.createBareRepo('modes', { files: { 'ai_docs/tasks/tasks_list.md': tasks(1, body), 'verify.sh': VERIFY } });
    await rt.registry.initialize(cfg('modes', url));
    const s = await inState(rt, 'modes', 'idle', 'halted');
    expect(s.lastError).toBeNull();
    expect(s.state).toBe('idle');
    const tree = await nativeGit(git.repoPath('modes'), 'ls-tree', '-r', 'main');
    expect(tree).toMatch(/^120000 blob \w+\tsrclink$/m);
    expect(tree).toMatch(/^100755 blob \w+\trun\.sh$/m);
    expect(await nativeGit(git.repoPath('modes'), 'show', 'main:srclink')).toBe('src');
  });
});
