/**
 * GitWorkspace against a real `git http-backend` server over HTTP, checked with native git.
 */
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.ts';
import { createGitWorkspace, GitError, type GitWorkspace, type IntegrateArgs } from '../../src/infra/git/index.ts';
import { nativeGit, startGitServer, type GitServer } from '../support/gitServer.ts';

const TOKEN = 'tok-S3CRET-9f8e7d6c5b4a';
const author = { name: 'DevTeam Runner', email: 'runner@example.test' };
let root: string;
let server: GitServer;
let logs = '';
const logger = createLogger({ level: 'debug' }, { write: (s: string) => void (logs += s) });

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'git-ws-test-'));
  server = await startGitServer({ root: join(root, 'srv'), token: TOKEN });
});
afterAll(async () => {
  await server?.close();
  await rm(root, { recursive: true, force: true });
});

function ws(name: string, over: Partial<Parameters<typeof createGitWorkspace>[0]> = {}): GitWorkspace {
  return createGitWorkspace({
    dataDir: join(root, 'data'), projectId: name, url: server.url(name), branch: 'main',
    token: TOKEN, author, logger, ...over,
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

async function expectGitError(p: Promise<unknown>, code: GitError['code']): Promise<GitError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(GitError);
  expect((err as GitError).code).toBe(code);
  return err as GitError;
}

async function packCount(dir: string): Promise<number> {
  return (await readdir(join(dir, '.git/objects/pack'))).filter((f) => f.endsWith('.pack')).length;
}

async function allFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...(await allFiles(p)));
    else out.push(p);
  }
  return out;
}

describe('sync', () => {
  it('clones once, then only fetches', async () => {
    await server.createBareRepo('sync1', { files: { 'README.md': 'hello\n', 'src/a.txt': 'a\n' } });
    const w = ws('sync1');
    const first = await w.sync();
    expect(first.cloned).toBe(true);
    expect(await readFile(join(w.dir, 'src/a.txt'), 'utf8')).toBe('a\n');
    await mkdir(join(w.dir, '.git/devteam'), { recursive: true });
    await writeFile(join(w.dir, '.git/devteam/marker'), 'kept');
    const packs = await packCount(w.dir);

    const second = await w.sync();
    expect(second).toEqual({ headOid: first.headOid, cloned: false });
    expect(await readFile(join(w.dir, '.git/devteam/marker'), 'utf8')).toBe('kept');
    expect(await packCount(w.dir)).toBe(packs); // nothing new downloaded

    const up = await server.commitUpstream('sync1', { 'src/b.txt': 'b\n' });
    const third = await w.sync();
    expect(third).toEqual({ headOid: up, cloned: false });
    expect(await readFile(join(w.dir, 'src/b.txt'), 'utf8')).toBe('b\n');
    expect(await w.remoteHead()).toBe(up);
  });

  it('replaces a half-finished clone', async () => {
    await server.createBareRepo('half', { files: { 'x.txt': 'x\n' } });
    const w = ws('half');
    await mkdir(join(w.dir, '.git/objects'), { recursive: true });
    await writeFile(join(w.dir, 'junk'), 'junk');
    const r = await w.sync();
    expect(r.cloned).toBe(true);
    expect(await w.listFilesAtTarget()).toEqual(['x.txt']);
    await expect(stat(join(w.dir, 'junk'))).rejects.toThrow();
  });

  it('names a missing target branch', async () => {
    await server.createBareRepo('nobranch', { files: { 'x.txt': 'x\n' } });
    const err = await expectGitError(ws('nobranch', { branch: 'release' }).sync(), 'branch_missing');
    expect(err.message).toContain('release');
  });

  it('reports an unreachable remote as a transient network error', async () => {
    const probe = http.createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((r) => probe.close(() => r()));
    const err = await expectGitError(ws('closed', { url: `http://127.0.0.1:${port}/closed.git` }).sync(), 'network');
    expect(err.transient).toBe(true);
  });

  it('stops on the caller\'s abort signal with its reason', async () => {
    await server.createBareRepo('abort', { files: { 'x.txt': 'x\n' } });
    const reason = new Error('shutting down');
    await expect(ws('abort').sync(AbortSignal.abort(reason))).rejects.toBe(reason);
    expect((await ws('abort').sync()).cloned).toBe(true);
  });

  it('refuses a metadata host before connecting', async () => {
    const w = ws('meta', { url: 'http://169.254.169.254/repo.git' });
    await expectGitError(w.sync(), 'forbidden_host');
    await expectGitError(ws('loop', { allowPrivateHosts: false }).sync(), 'forbidden_host');
  });
});

describe('auth and secrecy', () => {
  it('rejects a wrong or missing token with an auth error that does not echo it', async () => {
    await server.createBareRepo('auth1', { files: { 'x.txt': 'x\n' } });
    const wrong = 'wrong-tok-123456';
    const e1 = await expectGitError(ws('auth1', { token: wrong, projectId: 'auth1-wrong' }).sync(), 'auth');
    expect(e1.message).not.toContain(wrong);
    expect(e1.message).toContain('tokenEnv');
    const e2 = await expectGitError(ws('auth1', { token: undefined, projectId: 'auth1-none' }).sync(), 'auth');
    expect(e2.message).toContain('tokenEnv');
  });

  it('never writes the token to .git, logs or errors', async () => {
    await server.createBareRepo('secret', { files: { 'x.txt': 'x\n' } });
    const w = ws('secret');
    await w.sync();
    await w.prepareTaskBranch('devteam/s1');
    await writeFile(join(w.dir, 'y.txt'), 'y\n');
    await w.integrate(args('s1'));
    await w.publish(args('s1'));
    expect(await readFile(join(w.dir, '.git/config'), 'utf8')).not.toContain(TOKEN);
    const files = await allFiles(join(w.dir, '.git'));
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect((await readFile(f)).includes(TOKEN), f).toBe(false);
    expect(logs).toContain('git push done');
    expect(logs).not.toContain(TOKEN);
  });

  it('ignores a remote URL the agent rewrote in .git/config', async () => {
    await server.createBareRepo('rewire', { files: { 'x.txt': 'x\n' } });
    const w = ws('rewire');
    await w.sync();
    await w.prepareTaskBranch('devteam/r1');
    await nativeGit(w.dir, 'config', 'remote.origin.url', 'http://127.0.0.1:1/evil.git');
    await nativeGit(w.dir, 'config', 'http.corsProxy', 'http://127.0.0.1:1/');
    await writeFile(join(w.dir, 'z.txt'), 'z\n');
    await w.integrate(args('r1'));
    expect((await w.publish(args('r1'))).pushed).toBe(true);
    expect(await w.isTaskOnRemote('r1')).toBe(true);
  });
});

describe('working tree', () => {
  it('prepare resets tracked changes and removes untracked files but keeps .git/devteam', async () => {
    const files = { 'a.txt': 'a\n', 'same.txt': 'same\n', 'dir/b.txt': 'b\n', '.gitignore': '*.log\n' };
    await server.createBareRepo('prep', { files });
    const w = ws('prep');
    const { headOid } = await w.sync();
    await writeFile(join(w.dir, 'a.txt'), 'dirty\n');
    const st = await stat(join(w.dir, 'same.txt'));
    await writeFile(join(w.dir, 'same.txt'), 'SAME\n'); // same size, mtime put back
    await utimes(join(w.dir, 'same.txt'), st.atime, st.mtime);
    await rm(join(w.dir, 'dir/b.txt'));
    await mkdir(join(w.dir, 'junk/deep'), { recursive: true });
    await writeFile(join(w.dir, 'junk/deep/x'), 'x');
    await writeFile(join(w.dir, 'debug.log'), 'ignored but left over');
    await mkdir(join(w.dir, '.git/devteam'), { recursive: true });
    await writeFile(join(w.dir, '.git/devteam/state.json'), '{}');

    expect((await w.workingTreeSummary()).changedFiles).toEqual(['a.txt', 'dir/b.txt', 'junk/deep/x', 'same.txt']);
    const { baseOid } = await w.prepareTaskBranch('devteam/p1');
    expect(baseOid).toBe(headOid);
    expect(await readFile(join(w.dir, 'a.txt'), 'utf8')).toBe('a\n');
    expect(await readFile(join(w.dir, 'dir/b.txt'), 'utf8')).toBe('b\n');
    expect(await readFile(join(w.dir, 'same.txt'), 'utf8')).toBe('same\n');
    await expect(stat(join(w.dir, 'junk'))).rejects.toThrow();
    await expect(stat(join(w.dir, 'debug.log'))).rejects.toThrow();
    expect(await readFile(join(w.dir, '.git/devteam/state.json'), 'utf8')).toBe('{}');
    expect((await w.workingTreeSummary()).changedFiles).toEqual([]);
    expect((await nativeGit(w.dir, 'status', '--porcelain', '--ignored')).trim()).toBe('');
    expect((await nativeGit(w.dir, 'symbolic-ref', 'HEAD')).trim()).toBe('refs/heads/devteam/p1');
  });

  it('summarises changes as files, diffstat and patch', async () => {
    await server.createBareRepo('sum', { files: { 'a.txt': 'one\ntwo\nthree\n', 'gone.txt': 'bye\n' } });
    const w = ws('sum');
    await w.sync();
    await w.prepareTaskBranch('devteam/sum');
    await writeFile(join(w.dir, 'a.txt'), 'one\nTWO\nthree\n');
    await rm(join(w.dir, 'gone.txt'));
    await writeFile(join(w.dir, 'new.txt'), 'fresh\n');
    const s = await w.workingTreeSummary();
    expect(s.changedFiles).toEqual(['a.txt', 'gone.txt', 'new.txt']);
    expect(s.diffstat).toContain('3 files changed');
    expect(s.diffstat).toContain('M a.txt');
    expect(s.patch).toContain('-two\n+TWO\n');
    expect(s.patch).toContain('+++ /dev/null');
    expect(s.patch).toContain('+fresh\n');
  });

  it('reads text at the target, rejects non-UTF-8', async () => {
    await server.createBareRepo('utf', { files: { 'ok.md': 'héllo\n', 'bin.dat': new Uint8Array([0xff, 0xfe, 0x80, 0x41]) } });
    const w = ws('utf');
    await w.sync();
    expect(await w.readAtTarget('ok.md')).toBe('héllo\n');
    expect(await w.readAtTarget('missing.md')).toBeNull();
    expect(await w.listFilesAtTarget()).toEqual(['bin.dat', 'ok.md']);
    const err = await expectGitError(w.readAtTarget('bin.dat'), 'non_utf8');
    expect(err.message).toContain('bin.dat');
  });
});
