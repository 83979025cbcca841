/**
 * GitWorkspace integrate + publish against a real `git http-backend` server (token auth),
 * with the remote inspected through native git, on both engines. Uses a fake renderOutcomes.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/infra/logger.ts';
import { createGitWorkspace, GitError, type GitEngine, type GitWorkspace, type IntegrateArgs } from '../../src/infra/git/index.ts';
import { nativeGit, startGitServer, type GitServer } from '../support/gitServer.ts';

const TOKEN = 'tok-integrate-5e4d3c2b1a';
const author = { name: 'DevTeam Runner', email: 'runner@example.test' };
let root: string;
let server: GitServer;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'git-int-test-'));
  server = await startGitServer({ root: join(root, 'srv'), token: TOKEN });
});
afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

let engine: GitEngine = 'native';
/** Repository names are per engine (both suites share one server). */
const repo = (name: string) => `${engine === 'native' ? 'n' : 'i'}-${name}`;
function ws(name: string): GitWorkspace {
  return createGitWorkspace({
    dataDir: join(root, 'data'), projectId: repo(name), url: server.url(repo(name)), branch: 'main',
    token: TOKEN, author, logger: silentLogger(), engine,
  });
}

function args(taskId: string, over: Partial<IntegrateArgs> = {}): IntegrateArgs {
  return {
    taskId, taskTitle: `Title ${taskId}`, taskBranch: `devteam/${taskId}`,
    commitMessage: `Do ${taskId}`, outcomesPath: 'docs/OUTCOMES.md',
    renderOutcomes: (cur) => `${cur ?? '# Outcomes\n'}- ${taskId} done\n`,
    ...over,
  };
}

const count = (hay: string, needle: string) => hay.split(needle).length - 1;

describe.each(['native', 'isomorphic-git'] as const)('integrate and publish (%s engine)', (e) => {
  beforeAll(() => {
    engine = e;
  });

  it('integrates and publishes five tasks in a row, each commit once on the remote', async () => {
    await server.createBareRepo(repo('five'), { files: { 'README.md': 'r\n', 'old.txt': 'old\n' } });
    const w = ws('five');
    await w.sync();
    for (let i = 1; i <= 5; i++) {
      const id = `t${i}`;
      const t = await w.prepareTask(`devteam/${id}`);
      await writeFile(join(t.dir, `f${i}.txt`), `${i}\n`);
      if (i === 3) await rm(join(t.dir, 'old.txt'));
      const r = await w.integrate(args(id));
      expect(r.alreadyIntegrated).toBe(false);
      expect(r.changedFiles).toEqual(i === 3 ? ['f3.txt', 'old.txt'] : [`f${i}.txt`]);
      const p = await w.publish(args(id));
      expect(p).toMatchObject({ pushed: true, retries: 0, targetOid: r.targetOid });
    }
    const log = await server.log(repo('five'));
    for (let i = 1; i <= 5; i++) {
      expect(count(log, `DevTeam-Task: t${i}\n`)).toBe(1);
      expect(count(log, `DevTeam-Outcome: t${i}\n`)).toBe(1);
      expect(await w.isTaskOnRemote(`t${i}`)).toBe(true);
    }
    expect(await w.isTaskOnRemote('t6')).toBe(false);
    const branches = await nativeGit(server.repoPath(repo('five')), 'branch', '--format=%(refname:short)');
    for (let i = 1; i <= 5; i++) expect(branches).toContain(`devteam/t${i}`);
    const outcomes = await nativeGit(server.repoPath(repo('five')), 'show', 'main:docs/OUTCOMES.md');
    expect(outcomes).toBe('# Outcomes\n- t1 done\n- t2 done\n- t3 done\n- t4 done\n- t5 done\n');
    const tree = await nativeGit(server.repoPath(repo('five')), 'ls-tree', '-r', '--name-only', 'main');
    expect(tree.trim().split('\n')).toEqual(['README.md', 'docs/OUTCOMES.md', 'f1.txt', 'f2.txt', 'f3.txt', 'f4.txt', 'f5.txt']);
    const authorLine = await nativeGit(server.repoPath(repo('five')), 'log', '-1', '--format=%an <%ae>', 'main');
    expect(authorLine.trim()).toBe('DevTeam Runner <runner@example.test>');
  });

  it('retries after an upstream push and keeps the upstream commit', async () => {
    await server.createBareRepo(repo('race'), { files: { 'README.md': 'r\n' } });
    const w = ws('race');
    await w.sync();
    const t = await w.prepareTask('devteam/race1');
    await writeFile(join(t.dir, 'mine.txt'), 'mine\n');
    const up = await server.commitUpstream(repo('race'), { 'theirs.txt': 'theirs\n' });
    await w.integrate(args('race1'));
    const p = await w.publish(args('race1'));
    expect(p.retries).toBeGreaterThanOrEqual(1);
    expect(p.pushed).toBe(true);
    const bare = server.repoPath(repo('race'));
    await nativeGit(bare, 'merge-base', '--is-ancestor', up, 'main'); // throws if not
    expect((await nativeGit(bare, 'rev-parse', 'main')).trim()).toBe(p.targetOid);
    const log = await server.log(repo('race'));
    expect(count(log, 'DevTeam-Task: race1\n')).toBe(1);
    expect(count(log, 'DevTeam-Outcome: race1\n')).toBe(1);
    expect(await w.readAtTarget('theirs.txt')).toBe('theirs\n');
    expect(await w.isTaskOnRemote('race1')).toBe(true);
  });

  it('reports a conflict with the upstream change', async () => {
    await server.createBareRepo(repo('clash'), { files: { 'shared.txt': 'base\n' } });
    const w = ws('clash');
    await w.sync();
    const t = await w.prepareTask('devteam/c1');
    await writeFile(join(t.dir, 'shared.txt'), 'ours\n');
    await server.commitUpstream(repo('clash'), { 'shared.txt': 'theirs\n' });
    await w.integrate(args('c1'));
    const err = await w.publish(args('c1')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GitError);
    expect(err).toMatchObject({ code: 'conflict', details: { paths: ['shared.txt'] } });
  });

  it('is idempotent: repeated integrate/publish, and after a restart', async () => {
    await server.createBareRepo(repo('idem'), { files: { 'README.md': 'r\n' } });
    const w = ws('idem');
    await w.sync();
    const t = await w.prepareTask('devteam/i1');
    await writeFile(join(t.dir, 'i1.txt'), 'i1\n');
    const a = await w.integrate(args('i1'));
    const b = await w.integrate(args('i1'));
    expect(b).toEqual({ ...a, alreadyIntegrated: true });

    // A "restart" before publishing: a new workspace object syncs and keeps the unpublished work.
    const w2 = ws('idem');
    const s = await w2.sync();
    expect(s).toEqual({ headOid: a.targetOid, cloned: false });
    expect((await w2.integrate(args('i1'))).alreadyIntegrated).toBe(true);
    expect(await w2.isTaskOnRemote('i1')).toBe(false);
    expect((await w2.publish(args('i1'))).pushed).toBe(true);
    const again = await w2.publish(args('i1'));
    expect(again).toMatchObject({ pushed: false, retries: 0, targetOid: a.targetOid });
    const log = await server.log(repo('idem'));
    expect(count(log, 'DevTeam-Task: i1\n')).toBe(1);
    expect(count(log, 'DevTeam-Outcome: i1\n')).toBe(1);
  });

  it('never force-pushes the task branch; a diverged old attempt on the remote stays', async () => {
    await server.createBareRepo(repo('retry'), { files: { 'README.md': 'r\n' } });
    const bare = server.repoPath(repo('retry'));
    // An earlier attempt's branch on the remote, not part of main's history.
    const work = await mkdtemp(join(root, 'old-'));
    await nativeGit(work, 'clone', '-q', bare, '.');
    await nativeGit(work, 'checkout', '-q', '-b', 'devteam/q1');
    await writeFile(join(work, 'q.txt'), 'attempt 1\n');
    await nativeGit(work, 'add', '-A');
    await nativeGit(work, 'commit', '-q', '-m', 'old attempt');
    await nativeGit(work, 'push', '-q', 'origin', 'devteam/q1');
    const old = (await nativeGit(bare, 'rev-parse', 'devteam/q1')).trim();

    const w = ws('retry');
    await w.sync();
    const t = await w.prepareTask('devteam/q1');
    await writeFile(join(t.dir, 'q.txt'), 'attempt 2\n');
    await w.integrate(args('q1'));
    const p = await w.publish(args('q1'));
    expect(p).toMatchObject({ pushed: true, retries: 0, taskBranchPushed: false });
    expect((await nativeGit(bare, 'rev-parse', 'devteam/q1')).trim()).toBe(old);
    expect(await nativeGit(bare, 'show', 'main:q.txt')).toBe('attempt 2\n');
  });

  it('resumes an integrate that stopped after the task commit', async () => {
    await server.createBareRepo(repo('resume'), { files: { 'README.md': 'r\n' } });
    const w = ws('resume');
    await w.sync();
    const t = await w.prepareTask('devteam/x1');
    await writeFile(join(t.dir, 'x.txt'), 'x\n');
    // Simulate the crash window: the task commit exists, the merge did not happen.
    await nativeGit(t.dir, 'add', '-A');
    await nativeGit(t.dir, 'commit', '-q', '-m', 'Do x1\n\nDevTeam-Task: x1');
    const r = await w.integrate(args('x1'));
    expect(r.changedFiles).toEqual(['x.txt']);
    await w.publish(args('x1'));
    const log = await server.log(repo('resume'));
    expect(count(log, 'DevTeam-Task: x1\n')).toBe(1);
    expect(count(log, 'DevTeam-Outcome: x1\n')).toBe(1);
  });
});
