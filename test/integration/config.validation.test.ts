/**
 * One bad project never takes the node down (real server, real steps, real git):
 *  - branch names follow git's own rules: `release+1` and `fëature` are valid and run; names git
 *    rejects are a 400 problem naming `repo.branch`, and nothing is stored;
 *  - other invalid configs (URL with credentials, an unknown agent placeholder) are 400s naming the
 *    field, nothing stored;
 *  - a stored config that no longer builds (edited in the database) halts only that project at the
 *    next boot, with a clear error, while the others boot and serve.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { problemSchema } from '../../src/server/http/errors.ts';
import { createTestDatabase, requirePostgres, tempDir } from '../support/db.ts';
import { startGitServer, type GitServer } from '../support/gitServer.ts';
import { startTestServer, type TestServer } from '../support/server.ts';

const skip = await requirePostgres();
const A = '/api/devteam/automation';
const TASKS = '## Phase 1: P (Dependencies: None)\n\n### 1.1 Hello (Dependencies: None)\n```sh\necho hi > hello.txt\n```\n';

describe.skipIf(!!skip)('project config validation and boot isolation', () => {
  let git: GitServer;
  let db: Awaited<ReturnType<typeof createTestDatabase>>;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let s: TestServer;
  beforeAll(async () => {
    dir = await tempDir('cfg-');
    db = await createTestDatabase('cfgval');
    git = await startGitServer({ root: join(dir.path, 'git') });
    s = await startTestServer({ realSteps: true, databaseUrl: db.url, dataDir: join(dir.path, 'data') });
  });
  afterAll(async () => {
    await s?.close();
    await git?.close();
    await db?.drop();
    await dir?.remove();
  });

  const body = (projectId: string, url: string, branch: string, extra: Record<string, unknown> = {}) => ({
    projectId,
    repo: { url, branch },
    verify: { command: ['test', '-f', 'hello.txt'] },
    agent: { kind: 'script' },
    sandbox: { kind: 'local' },
    ...extra,
  });
  const init = (b: unknown) => s.call(`${A}/initialize`, { method: 'POST', json: b });
  const problem = async (r: Response) => {
    expect(r.status).toBe(400);
    expect(r.headers.get('content-type')).toBe('application/problem+json');
    return problemSchema.parse(await r.json());
  };
  const stored = async (id: string) => (await s.runtime.db.query(`select id from project where id = $1`, [id])).length;

  it.each(['release+1', 'fëature', 'team/feature-x'])('branch %s is valid git: the project runs on it', async (branch) => {
    const id = `b-${Buffer.from(branch).toString('hex').slice(0, 20)}`;
    const url = await git.createBareRepo(id, { branch, files: { 'ai_docs/tasks/tasks_list.md': TASKS } });
    expect((await init(body(id, url, branch))).status).toBe(201);
    const st = await s.waitFor(id, (x) => x.state === 'idle' || x.state === 'halted');
    expect(st.lastError).toBeNull();
    expect(st.state).toBe('idle');
    expect(st.completedTaskIds).toEqual(['1.1']);
  });

  it.each([
    ['bad..name', 'repo.branch'],
    ['-leading-dash', 'repo.branch'],
    ['ends.lock', 'repo.branch'],
    ['has space', 'repo.branch'],
    ['a@{b}', 'repo.branch'],
    ['trailing/', 'repo.branch'],
  ])('branch %s is rejected with 400 naming %s; nothing is stored', async (branch, field) => {
    const id = `bad-${Math.random().toString(36).slice(2, 8)}`;
    const p = await problem(await init(body(id, git.url('x'), branch)));
    expect(p.detail).toContain(field);
    expect(p.detail).toContain('git');
    expect(await stored(id)).toBe(0);
    expect((await s.call(`${A}/status/${id}`)).status).toBe(404);
  });

  it('other invalid fields: a URL with credentials, an unknown agent placeholder — 400 naming the field, nothing stored', async () => {
    const p1 = await problem(await init(body('cred-url', 'http://user:pw@127.0.0.1:1/r.git', 'main')));
    expect(p1.detail).toContain('repo.url');
    expect(p1.detail).not.toContain('pw');
    const p2 = await problem(await init(body('bad-tpl', git.url('x'), 'main', { agent: { kind: 'command', argv: ['agent', '{prompt}'] } })));
    expect(p2.detail).toContain('agent.argv');
    expect(await stored('cred-url')).toBe(0);
    expect(await stored('bad-tpl')).toBe(0);
  });

  it('a stored config that no longer builds halts only its project at boot; the others boot and serve', async () => {
    const url = await git.createBareRepo('healthy', { files: { 'ai_docs/tasks/tasks_list.md': TASKS } });
    expect((await init(body('healthy', url, 'main'))).status).toBe(201);
    await s.waitFor('healthy', (x) => x.state === 'idle');
    const url2 = await git.createBareRepo('broken', { files: { 'ai_docs/tasks/tasks_list.md': TASKS } });
    expect((await init(body('broken', url2, 'main'))).status).toBe(201);
    await s.waitFor('broken', (x) => x.state === 'idle');
    await s.close();
    // Someone edits the database by hand: a field the schema rejects.
    const raw = await createTestDatabaseClient(db.url);
    await raw.query(`update project set config = jsonb_set(config, '{repo,branch}', '"bad..name"') where id = 'broken'`);
    await raw.end();

    s = await startTestServer({ realSteps: true, databaseUrl: db.url, dataDir: join(dir.path, 'data') });
    const broken = await s.waitFor('broken', (x) => x.state === 'halted');
    expect(broken.lastError).toContain('repo.branch');
    expect((await s.call(`${A}/status/healthy`)).status).toBe(200);
    expect(s.runtime.projection.get('healthy')?.state).toBe('idle');
    // The node still takes new projects.
    const url3 = await git.createBareRepo('after', { files: { 'ai_docs/tasks/tasks_list.md': TASKS } });
    expect((await init(body('after', url3, 'main'))).status).toBe(201);
    expect((await s.waitFor('after', (x) => x.state === 'idle' || x.state === 'halted')).state).toBe('idle');
  });
});

async function createTestDatabaseClient(url: string) {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  return c;
}
