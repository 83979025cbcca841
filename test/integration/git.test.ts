/**
 * GitWorkspace against a real `git http-backend` server over HTTP, checked with native git —
 * the same behaviour on both engines (native git, and the isomorphic-git fallback).
 */
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.ts';
import { createGitWorkspace, GitError, type GitEngine, type GitWorkspace, type IntegrateArgs } from '../../src/infra/git/index.ts';
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

let engine: GitEngine = 'native';
/** Repository names are per engine (both suites share one server). */
const repo = (name: string) => `${engine === 'native' ? 'n' : 'i'}-${name}`;
function ws(name: string, over: Partial<Parameters<typeof createGitWorkspace>[0]> = {}): GitWorkspace {
  return createGitWorkspace({
    dataDir: join(root, 'data'), projectId: repo(name), url: server.url(repo(name)), branch: 'main',
    token: TOKEN, author, logger, engine, ...over,
  });
}
/** The engine's git directory (bare repo.git, or the checkout's .git). */
const gitDirOf = (w: GitWorkspace) => (w.engine === 'native' ? join(w.root, 'repo.git') : join(w.root, 'checkout', '.git'));

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

async function packCount(gitDir: string): Promise<number> {
  return (await readdir(join(gitDir, 'objects/pack'))).filter((f) => f.endsWith('.pack')).length;
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

describe.each(['native', 'isomorphic-git'] as const)('%s engine', (e) => {
  beforeAll(() => {
    engine = e;
  });

describe('sync', () => {
  it('clones once, then only fetches', async () => {
    await server.createBareRepo(repo('sync1'), { files: { 'README.md': 'hello\n', 'src/a.txt': 'a\n' } });
    const w = ws('sync1');
    const first = await w.sync();
    expect(first.cloned).toBe(true);
    expect(await w.readAtTarget('src/a.txt')).toBe('a\n');
    const packs = await packCount(gitDirOf(w));

    const second = await w.sync();
    expect(second).toEqual({ headOid: first.headOid, cloned: false });
    expect(await packCount(gitDirOf(w))).toBe(packs); // nothing new downloaded

    const up = await server.commitUpstream(repo('sync1'), { 'src/b.txt': 'b\n' });
    const third = await w.sync();
    expect(third).toEqual({ headOid: up, cloned: false });
    expect(await w.readAtTarget('src/b.txt')).toBe('b\n');
    expect(await w.remoteHead()).toBe(up);
  });

  it('replaces a half-finished clone', async () => {
    await server.createBareRepo(repo('half'), { files: { 'x.txt': 'x\n' } });
    const w = ws('half');
    await mkdir(join(gitDirOf(w), 'objects'), { recursive: true });
    await writeFile(join(w.root, 'junk'), 'junk');
    const r = await w.sync();
    expect(r.cloned).toBe(true);
    expect(await w.listFilesAtTarget()).toEqual(['x.txt']);
    await expect(stat(join(w.root, 'junk'))).rejects.toThrow();
  });

  it('names a missing target branch', async () => {
    await server.createBareRepo(repo('nobranch'), { files: { 'x.txt': 'x\n' } });
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

  it("stops on the caller's abort signal with its reason", async () => {
    await server.createBareRepo(repo('abort'), { files: { 'x.txt': 'x\n' } });
    const reason = new Error('shutting down');
    await expect(ws('abort').sync(AbortSignal.abort(reason))).rejects.toBe(reason);
    expect((await ws('abort').sync()).cloned).toBe(true);
  });

  it('refuses a metadata host before connecting', async () => {
    const w = ws('meta', { url: 'http://169.254.169.254/repo.git' });
    await expectGitError(w.sync(), 'forbidden_host');
    await expectGitError(ws('loop', { allowPrivateHosts: false }).sync(), 'forbidden_host');
  });

  it('does not follow a redirect to another host', async () => {
    const evil = http.createServer((req, res) => {
      res.writeHead(302, { location: `${server.url(repo('redir'))}${req.url?.replace(/^\/[^/]+\.git/, '') ?? ''}` });
      res.end();
    });
    await new Promise<void>((r) => evil.listen(0, '127.0.0.1', () => r()));
    await server.createBareRepo(repo('redir'), { files: { 'x.txt': 'x\n' } });
    try {
      const w = ws('redir', { url: `http://127.0.0.1:${(evil.address() as AddressInfo).port}/moved.git` });
      const err = await w.sync().then(() => null, (x: unknown) => x);
      expect(err).toBeInstanceOf(GitError);
      expect(await stat(gitDirOf(w)).then(() => true, () => false)).toBe(false);
    } finally {
      await new Promise<void>((r) => evil.close(() => r()));
    }
  });
});

describe('auth and secrecy', () => {
  it('rejects a wrong or missing token with an auth error that does not echo it', async () => {
    await server.createBareRepo(repo('auth1'), { files: { 'x.txt': 'x\n' } });
    const wrong = 'wrong-tok-123456';
    const e1 = await expectGitError(ws('auth1', { token: wrong, projectId: repo('auth1-wrong') }).sync(), 'auth');
    expect(e1.message).not.toContain(wrong);
    expect(e1.message).toContain('tokenEnv');
    const e2 = await expectGitError(ws('auth1', { token: undefined, projectId: repo('auth1-none') }).sync(), 'auth');
    expect(e2.message).toContain('tokenEnv');
  });

  it('never writes the token to disk, logs or errors', async () => {
    await server.createBareRepo(repo('secret'), { files: { 'x.txt': 'x\n' } });
    const w = ws('secret');
    await w.sync();
    const t = await w.prepareTask('devteam/s1');
    await writeFile(join(t.dir, 'y.txt'), 'y\n');
    await w.integrate(args('s1'));
    await w.publish(args('s1'));
    const files = await allFiles(w.root);
    expect(files.length).toBeGreaterThan(10);
    for (const f of files) expect((await readFile(f)).includes(TOKEN), f).toBe(false);
    expect(logs).toContain('git push done');
    expect(logs).not.toContain(TOKEN);
  });

  it('ignores a remote URL the agent rewrote in the git config', async () => {
    await server.createBareRepo(repo('rewire'), { files: { 'x.txt': 'x\n' } });
    const w = ws('rewire');
    await w.sync();
    const t = await w.prepareTask('devteam/r1');
    await nativeGit(t.dir, 'config', 'remote.origin.url', 'http://127.0.0.1:1/evil.git');
    await nativeGit(t.dir, 'config', 'http.corsProxy', 'http://127.0.0.1:1/');
    await writeFile(join(t.dir, 'z.txt'), 'z\n');
    await w.integrate(args('r1'));
    expect((await w.publish(args('r1'))).pushed).toBe(true);
    expect(await w.isTaskOnRemote('r1')).toBe(true);
  });
});

describe('working tree', () => {
  it('prepare resets tracked changes and removes untracked and ignored files', async () => {
    const files = { 'a.txt': 'a\n', 'same.txt': 'same\n', 'dir/b.txt': 'b\n', '.gitignore': '*.log\n' };
    await server.createBareRepo(repo('prep'), { files });
    const w = ws('prep');
    const { headOid } = await w.sync();
    const t0 = await w.prepareTask('devteam/p1');
    await writeFile(join(t0.dir, 'a.txt'), 'dirty\n');
    const st = await stat(join(t0.dir, 'same.txt'));
    await writeFile(join(t0.dir, 'same.txt'), 'SAME\n'); // same size, mtime put back
    await utimes(join(t0.dir, 'same.txt'), st.atime, st.mtime);
    await rm(join(t0.dir, 'dir/b.txt'));
    await mkdir(join(t0.dir, 'junk/deep'), { recursive: true });
    await writeFile(join(t0.dir, 'junk/deep/x'), 'x');
    await writeFile(join(t0.dir, 'debug.log'), 'ignored but left over');

    expect((await w.workingTreeSummary('devteam/p1')).changedFiles).toEqual(['a.txt', 'dir/b.txt', 'junk/deep/x', 'same.txt']);
    const t = await w.prepareTask('devteam/p1');
    expect(t.baseOid).toBe(headOid);
    expect(t.dir).toBe(t0.dir);
    expect(await readFile(join(t.dir, 'a.txt'), 'utf8')).toBe('a\n');
    expect(await readFile(join(t.dir, 'dir/b.txt'), 'utf8')).toBe('b\n');
    expect(await readFile(join(t.dir, 'same.txt'), 'utf8')).toBe('same\n');
    await expect(stat(join(t.dir, 'junk'))).rejects.toThrow();
    await expect(stat(join(t.dir, 'debug.log'))).rejects.toThrow();
    expect((await w.workingTreeSummary('devteam/p1')).changedFiles).toEqual([]);
    expect((await nativeGit(t.dir, 'status', '--porcelain', '--ignored')).trim()).toBe('');
    expect((await nativeGit(t.dir, 'symbolic-ref', 'HEAD')).trim()).toBe('refs/heads/devteam/p1');
  });

  it('summarises changes as files, diffstat and patch', async () => {
    await server.createBareRepo(repo('sum'), { files: { 'a.txt': 'one\ntwo\nthree\n', 'gone.txt': 'bye\n' } });
    const w = ws('sum');
    await w.sync();
    const t = await w.prepareTask('devteam/sum');
    await writeFile(join(t.dir, 'a.txt'), 'one\nTWO\nthree\n');
    await rm(join(t.dir, 'gone.txt'));
    await writeFile(join(t.dir, 'new.txt'), 'fresh\n');
    const s = await w.workingTreeSummary('devteam/sum');
    expect(s.changedFiles).toEqual(['a.txt', 'gone.txt', 'new.txt']);
    expect(s.diffstat).toContain('3 files changed');
    expect(s.diffstat).toContain('M a.txt');
    expect(s.patch).toContain('-two\n+TWO\n');
    expect(s.patch).toContain('+++ /dev/null');
    expect(s.patch).toContain('+fresh\n');
  });

  it('commits symlinks (never followed) and executable bits as they are', async () => {
    await server.createBareRepo(repo('modes'), { files: { 'src/a.txt': 'a\n' } });
    const w = ws('modes');
    await w.sync();
    const t = await w.prepareTask('devteam/m1');
    await symlink('src', join(t.dir, 'srclink'));
    await symlink('/etc/passwd', join(t.dir, 'outside'));
    await writeFile(join(t.dir, 'run.sh'), '#!/bin/sh\necho hi\n');
    await chmod(join(t.dir, 'run.sh'), 0o755);
    const sum = await w.workingTreeSummary('devteam/m1');
    expect(sum.changedFiles).toEqual(['outside', 'run.sh', 'srclink']);
    expect(sum.patch).not.toContain('root:'); // /etc/passwd was not read
    await w.integrate(args('m1'));
    await w.publish(args('m1'));
    const tree = await nativeGit(server.repoPath(repo('modes')), 'ls-tree', '-r', 'main');
    expect(tree).toMatch(/^120000 blob \w+\tsrclink$/m);
    expect(tree).toMatch(/^120000 blob \w+\toutside$/m);
    expect(tree).toMatch(/^100755 blob \w+\trun\.sh$/m);
    expect(await nativeGit(server.repoPath(repo('modes')), 'show', 'main:outside')).toBe('/etc/passwd');
  });

  it('reads text at the target, rejects non-UTF-8', async () => {
    await server.createBareRepo(repo('utf'), { files: { 'ok.md': 'héllo\n', 'bin.dat': new Uint8Array([0xff, 0xfe, 0x80, 0x41]) } });
    const w = ws('utf');
    await w.sync();
    expect(await w.readAtTarget('ok.md')).toBe('héllo\n');
    expect(await w.readAtTarget('missing.md')).toBeNull();
    expect(await w.listFilesAtTarget()).toEqual(['bin.dat', 'ok.md']);
    const err = await expectGitError(w.readAtTarget('bin.dat'), 'non_utf8');
    expect(err.message).toContain('bin.dat');
  });
});
});

describe('native engine only', () => {
  // isomorphic-git 1.44's fetch resolves the remote HEAD even for a named ref and throws NotFound
  // when HEAD dangles (its CodeCommit fallback): the fallback engine keeps that limitation.
  beforeAll(() => {
    engine = 'native';
  });
  it('commits a nested repository as a submodule gitlink (mode 160000)', async () => {
    await server.createBareRepo(repo('gitlink'), { files: { 'a.txt': 'a\n' } });
    const w = ws('gitlink');
    await w.sync();
    const t = await w.prepareTask('devteam/g1');
    const sub = join(t.dir, 'vendor/lib');
    await mkdir(sub, { recursive: true });
    await nativeGit(sub, 'init', '-q');
    await writeFile(join(sub, 'x'), 'x\n');
    await nativeGit(sub, 'add', 'x');
    await nativeGit(sub, 'commit', '-q', '-m', 'lib');
    const head = (await nativeGit(sub, 'rev-parse', 'HEAD')).trim();
    await w.integrate(args('g1'));
    await w.publish(args('g1'));
    const tree = await nativeGit(server.repoPath(repo('gitlink')), 'ls-tree', '-r', 'main');
    expect(tree).toContain(`160000 commit ${head}\tvendor/lib`);
  });

  it('clones the configured branch when the remote HEAD names another one', async () => {
    // `git init --bare` leaves HEAD at refs/heads/master while only main exists.
    await server.createBareRepo(repo('headless'), { files: { 'x.txt': 'x\n' } });
    await nativeGit(server.repoPath(repo('headless')), 'symbolic-ref', 'HEAD', 'refs/heads/master');
    const w = ws('headless');
    expect((await w.sync()).cloned).toBe(true);
    expect(await w.readAtTarget('x.txt')).toBe('x\n');
  });
});
