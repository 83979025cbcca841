/**
 * The whole loop with real parts: a git smart-HTTP server with token auth, isomorphic-git
 * workspace, local-process sandbox, script agent, build-only verify with retries, integrate,
 * push and the outcomes log — driven through the actor and checked with the native git CLI.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectSteps } from '../../src/actors/projectSteps.ts';
import { createRuntime, type Runtime } from '../../src/actors/runtime.ts';
import { parseOutcomes } from '../../src/domain/outcomesLog.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { createTestDatabase, requirePostgres, tempDir } from '../support/db.ts';
import { nativeGit, startGitServer, type GitServer } from '../support/gitServer.ts';
import { inState, waitForStatus } from '../support/runtime.ts';

const skipPg = await requirePostgres();
const TOKEN = 'tok_' + 'x7Yp2Qm9Lr4Zs8Vb';
const VERIFY = `if [ -e BROKEN ]; then echo "verify: $(cat BROKEN)" >&2; exit 1; fi\necho build ok\n`;

describe.skipIf(!!skipPg)('pipeline: select → prep → execute → verify → integrate → record', () => {
  let git: GitServer;
  let rt: Runtime;
  let logs = '';
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  beforeAll(async () => {
    const root = await tempDir('gitroot-');
    cleanups.push(root.remove);
    git = await startGitServer({ root: root.path, token: TOKEN });
    cleanups.push(() => git.close());
    const data = await tempDir('data-');
    cleanups.push(data.remove);
    const db = await createTestDatabase('pipe');
    cleanups.push(db.drop);
    const tasks = await readFile(join(import.meta.dirname, '../fixtures/pipeline_tasks.md'), 'utf8');
    const seedLog = (await readFile(join(import.meta.dirname, '../fixtures/seed_outcomes_log.md'), 'utf8')).split('## Phase 2')[0]!;
    await git.createBareRepo('app', { files: { 'ai_docs/tasks/tasks_list.md': tasks, 'verify.sh': VERIFY } });
    await git.createBareRepo('seeded', { files: { 'ai_docs/tasks/tasks_list.md': tasks.split('## Phase 2')[0]!, 'verify.sh': VERIFY, 'ai_docs/tasks/task_outcomes.md': seedLog.replace(/1\.1 Compose up\/down scripts verified/, '1.1 Create the readme').replace(/1\.2 Run Alembic migrations/, '1.2 Add a source file').replace(/### 1\.3[\s\S]*?(?=---)/, '') } });
    const config = loadConfig({ DATABASE_URL: db.url, DEVTEAM_DATA_DIR: data.path, LOG_LEVEL: 'debug', DEVTEAM_IDLE_FETCH_SEC: '3600' });
    const sink = new Writable({ write(c, _e, cb) { logs += c.toString(); cb(); } });
    const logger = createLogger({ level: 'debug' }, sink as never);
    rt = await createRuntime({ config, logger, makeSteps: (project, base) => createProjectSteps({ project, ...base, env: { ...process.env, GIT_TOKEN: TOKEN } }) });
    cleanups.push(() => rt.close());
  });

  const projectConfig = (id: string, repo: string) => ({
    projectId: id,
    repo: { url: git.url(repo), branch: 'main', tokenEnv: 'GIT_TOKEN' },
    verify: { command: ['sh', 'verify.sh'], timeoutSec: 60 },
    agent: { kind: 'script' as const },
    sandbox: { kind: 'local' as const },
  });

  it('walks the task list: retries, halts, SKIP, blocked tasks, idle — and the remote shows it all', async () => {
    const created = await rt.registry.initialize(projectConfig('app', 'app'));
    expect(created.code).toBe('created');
    // 2.2 passes on its 3rd attempt; 3.1 fails 3 times and halts.
    const halted = await inState(rt, 'app', 'halted');
    expect(halted.currentTask).toMatchObject({ id: '3.1', attempt: 3 });
    expect(halted.lastError).toContain('verify `sh verify.sh` exited 1');
    expect(halted.lastError).toContain('this task cannot pass');
    expect(halted.completedTaskIds).toEqual(['1.1', '1.2', '2.1', '2.2']);
    expect(halted.tools).toMatchObject({ git: expect.any(String), sh: expect.any(String) });

    const skipped = await rt.registry.command('app', 'SKIP');
    expect(skipped.ok).toBe(true);
    const idle = await inState(rt, 'app', 'idle');
    expect(idle.completedTaskIds).toEqual(['1.1', '1.2', '2.1', '2.2', '3.3']);
    expect(idle.skippedTaskIds).toEqual(['3.1']);
    expect(idle.blockedTaskIds).toEqual(['3.2']);
    expect(idle.taskCounts).toEqual({ total: 7, done: 5, skipped: 1, remaining: 1 });

    // The remote, read with the native git CLI.
    const clone = await tempDir('clone-');
    cleanups.push(clone.remove);
    await nativeGit(clone.path, 'clone', '-q', `http://x:${TOKEN}@${git.url('app').replace(/^http:\/\//, '')}`, 'c');
    const c = join(clone.path, 'c');
    const subjects = (await nativeGit(c, 'log', '--reverse', '--first-parent', '--format=%s', 'main')).trim().split('\n');
    const taskOrder = subjects.map((s) => /^(\d\.\d) /.exec(s)?.[1]).filter(Boolean);
    expect(taskOrder).toEqual(['1.1', '1.2', '2.1', '2.2', '3.3']);
    expect(await readFile(join(c, 'tries.txt'), 'utf8')).toBe('try\ntry\ntry\n');
    await expect(readFile(join(c, 'BROKEN'))).rejects.toThrow();
    const branches = await nativeGit(c, 'ls-remote', '--heads', 'origin');
    for (const b of ['devteam/1.1-create-the-readme', 'devteam/2.2-flaky-until-the-third-attempt', 'devteam/3.3-independent-of-the-broken-one']) expect(branches).toContain(`refs/heads/${b}`);
    const log = await readFile(join(c, 'ai_docs/tasks/task_outcomes.md'), 'utf8');
    const entries = parseOutcomes(log);
    expect([...entries.values()].filter((e) => e.filled).map((e) => e.taskId).sort()).toEqual(['1.1', '1.2', '2.1', '2.2', '3.3']);
    expect(entries.get('2.2')!.fields.validationEvidence).toContain('exited 0');
    expect(entries.get('2.2')!.fields.verificationNotes).toContain('attempt 3');
    expect(entries.get('1.1')!.fields.executor).toMatch(/script agent; devteam-runner .*; node v20/);
    expect(log.match(/- Timestamp: \d{4}-/g)).toHaveLength(5);

    // task_run history: 2.2 has attempts 1..3 (2 failed), 3.1 has 3 failed, skipped on the last.
    const runs = await rt.db.query<{ task_id: string; attempt: number; outcome: string; prompt_sha256: string; artifacts: string[] }>(
      `select task_id, attempt, outcome, prompt_sha256, artifacts from task_run where project_id = 'app' order by task_id, attempt`,
    );
    expect(runs.filter((r) => r.task_id === '2.2').map((r) => r.outcome)).toEqual(['failed', 'failed', 'completed']);
    expect(runs.filter((r) => r.task_id === '3.1').map((r) => r.outcome)).toEqual(['failed', 'failed', 'skipped']);
    expect(runs.every((r) => /^[0-9a-f]{64}$/.test(r.prompt_sha256))).toBe(true);
    const done22 = runs.find((r) => r.task_id === '2.2' && r.attempt === 3)!;
    expect(done22.artifacts).toEqual(['prompt.md', 'agent.log', 'diff.patch', 'verify.log']);
    const artDir = join(rt.config.DEVTEAM_DATA_DIR, 'artifacts/app/2.2/2');
    expect((await readdir(artDir)).sort()).toEqual(['agent.log', 'diff.patch', 'prompt.md', 'verify.log']);
    expect(await readFile(join(artDir, 'verify.log'), 'utf8')).toContain('verify: not yet: 2 tries');
    expect(await readFile(join(artDir, 'prompt.md'), 'utf8')).toContain('not yet: 1 tries'); // attempt 2 got attempt 1's failure

    // The token is nowhere: workspace, database, logs, artifacts.
    const grep = async (dir: string) => (await nativeGit(dir, 'grep', '-r', '-l', '--no-index', '-I', TOKEN, '.').catch(() => '')).trim();
    expect(await grep(join(rt.config.DEVTEAM_DATA_DIR, 'repos/app'))).toBe('');
    expect(await grep(join(rt.config.DEVTEAM_DATA_DIR, 'artifacts'))).toBe('');
    const dump = JSON.stringify(await rt.db.query(`select * from project`)) + JSON.stringify(await rt.db.query(`select * from actor_snapshot`)) + JSON.stringify(await rt.db.query(`select * from task_run`));
    expect(dump).not.toContain(TOKEN);
    expect(logs.length).toBeGreaterThan(1000);
    expect(logs).not.toContain(TOKEN);
  });

  it('fills the seed-style empty template blocks of an existing outcomes log exactly once', async () => {
    await rt.registry.initialize(projectConfig('seeded', 'seeded'));
    const idle = await inState(rt, 'seeded', 'idle');
    expect(idle.completedTaskIds).toEqual(['1.1', '1.2']);
    const clone = await tempDir('clone2-');
    cleanups.push(clone.remove);
    await nativeGit(clone.path, 'clone', '-q', `http://x:${TOKEN}@${git.url('seeded').replace(/^http:\/\//, '')}`, 'c');
    const log = await readFile(join(clone.path, 'c/ai_docs/tasks/task_outcomes.md'), 'utf8');
    expect(log.match(/### 1\.1 /g)).toHaveLength(1);
    expect(log.match(/- Outputs Summary:/g)).toHaveLength(3); // the header template + two filled blocks, no appended duplicates
    expect([...parseOutcomes(log).values()].filter((e) => e.filled).map((e) => e.taskId)).toEqual(['1.1', '1.2']);
    // A second wake finds nothing to do and writes nothing.
    const before = await git.log('seeded');
    expect(rt.registry.wake('seeded', 'REPO_UPDATED')).toBe(true);
    await waitForStatus(rt, 'seeded', (s) => s.state === 'idle' && s.seq > idle.seq);
    expect(await git.log('seeded')).toBe(before);
  });
});
