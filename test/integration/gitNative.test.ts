/**
 * What the native git engine promises beyond the shared GitWorkspace behaviour (git.test.ts):
 *  - a hostile repository or agent cannot make the runner's git run code: hooks, core.fsmonitor,
 *    filter drivers (via .gitattributes + config the agent wrote), include.path, a rewritten
 *    worktree `.git` file;
 *  - the token never reaches argv (checked with a spy `git` that records every invocation);
 *  - an abort kills git's process tree;
 *  - pushes send only what is new (bytes received by the server for a one-line task on a
 *    repository with megabytes of history);
 *  - the project's worktrees are independent: two tasks prepared side by side.
 */
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitWorkspace, GitError, type GitWorkspace, type IntegrateArgs } from '../../src/infra/git/index.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { NativeRepo } from '../../src/infra/git/native/repo.ts';
import { tempDir } from '../support/db.ts';
import { nativeGit, startGitServer, type GitServer } from '../support/gitServer.ts';

const TOKEN = 'tok-native-7c6b5a4d3e2f';
const author = { name: 'DevTeam Runner', email: 'runner@example.test' };
let dir: { path: string; remove(): Promise<void> };
let server: GitServer;

beforeAll(async () => {
  dir = await tempDir('git-native-');
  server = await startGitServer({ root: join(dir.path, 'srv'), token: TOKEN });
});
afterAll(async () => {
  await server?.close();
  await dir?.remove();
});

function ws(name: string, over: Partial<Parameters<typeof createGitWorkspace>[0]> = {}): GitWorkspace {
  return createGitWorkspace({
    dataDir: join(dir.path, 'data'), projectId: name, url: server.url(name), branch: 'main',
    token: TOKEN, author, logger: silentLogger(), engine: 'native', ...over,
  });
}

const args = (taskId: string): IntegrateArgs => ({
  taskId, taskTitle: `Title ${taskId}`, taskBranch: `devteam/${taskId}`, commitMessage: `Do ${taskId}`,
  outcomesPath: 'docs/OUTCOMES.md', renderOutcomes: (cur) => `${cur ?? '# Outcomes\n'}- ${taskId} done\n`,
});

const exists = (p: string) => stat(p).then(() => true, () => false);

describe('native engine: nothing in the repository runs code on the runner', () => {
  it('ignores hooks, fsmonitor, filters, includes and a redirected .git file that the agent planted', async () => {
    await server.createBareRepo('hostile', { files: { 'a.txt': 'a\n', '.gitattributes': '*.txt filter=evil diff=evil\n' } });
    const w = ws('hostile');
    await w.sync();
    const t = await w.prepareTask('devteam/h1');
    const pwned = join(dir.path, 'pwned');
    const evil = `sh -c 'echo $0 >> ${pwned}'`;
    // What an agent can reach from its worktree: the common git dir (hooks, config), its own .git file.
    const gitDir = join(w.root, 'repo.git');
    await mkdir(join(gitDir, 'hooks'), { recursive: true });
    for (const hook of ['pre-commit', 'post-commit', 'pre-push', 'post-checkout', 'reference-transaction', 'post-index-change']) {
      await writeFile(join(gitDir, 'hooks', hook), `#!/bin/sh\necho hook-${hook} >> ${pwned}\n`);
      await chmod(join(gitDir, 'hooks', hook), 0o755);
    }
    await writeFile(join(dir.path, 'evil.cfg'), `[core]\n\tfsmonitor = ${evil} fsmonitor-include\n`);
    await nativeGit(t.dir, 'config', 'core.fsmonitor', `${evil} fsmonitor`);
    await nativeGit(t.dir, 'config', 'filter.evil.clean', `${evil} clean`);
    await nativeGit(t.dir, 'config', 'filter.evil.smudge', `${evil} smudge`);
    await nativeGit(t.dir, 'config', 'diff.evil.textconv', `${evil} textconv`);
    await nativeGit(t.dir, 'config', 'include.path', join(dir.path, 'evil.cfg'));
    await nativeGit(t.dir, 'config', 'core.hooksPath', join(gitDir, 'hooks'));
    // A fake git dir with a hostile config, and the worktree's .git file pointing at it.
    const fake = join(dir.path, 'fakegit');
    await nativeGit(dir.path, 'init', '-q', '--bare', fake);
    await writeFile(join(fake, 'config'), `[core]\n\tbare = false\n\tfsmonitor = ${evil} fake\n[filter "evil"]\n\tclean = ${evil} fake-clean\n`);
    await writeFile(join(t.dir, '.git'), `gitdir: ${fake}\n`);

    await writeFile(join(t.dir, 'a.txt'), 'changed\n');
    await writeFile(join(t.dir, 'b.txt'), 'new\n');
    const summary = await w.workingTreeSummary('devteam/h1');
    expect(summary.changedFiles).toEqual(['a.txt', 'b.txt']);
    await w.integrate(args('h1'));
    expect((await w.publish(args('h1'))).pushed).toBe(true);
    await w.prepareTask('devteam/h2');
    await w.sync();

    expect(await readFile(pwned, 'utf8').catch(() => '')).toBe('');
    // The change landed as written (no clean filter ran on it).
    expect(await nativeGit(server.repoPath('hostile'), 'show', 'main:a.txt')).toBe('changed\n');
    // The runner's config is its own again.
    expect(await readFile(join(gitDir, 'config'), 'utf8')).not.toContain('evil');
  });
});

describe('native engine: the token', () => {
  it('is never in argv: a spy git records every invocation of a clone, push and ls-remote', async () => {
    await server.createBareRepo('spy', { files: { 'x.txt': 'x\n' } });
    const log = join(dir.path, 'spy.log');
    // A `git` first on PATH that records its argv, then runs the real one.
    const bin = join(dir.path, 'spybin');
    await mkdir(bin, { recursive: true });
    await writeFile(join(bin, 'git'), `#!/bin/sh\nprintf '%s\\n' "ARGV $*" >> ${log}\nexec /usr/bin/git "$@"\n`);
    await chmod(join(bin, 'git'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      const w = ws('spy');
      await w.sync();
      const t = await w.prepareTask('devteam/s1');
      await writeFile(join(t.dir, 'y.txt'), 'y\n');
      await w.integrate(args('s1'));
      await w.publish(args('s1'));
      await w.remoteHead();
    } finally {
      process.env.PATH = path;
    }
    const text = await readFile(log, 'utf8');
    expect(text).toContain('ARGV fetch');
    expect(text).toContain('ARGV push');
    expect(text).toContain('ARGV ls-remote');
    expect(text).not.toContain(TOKEN);
  });

  it('goes only to the configured host: a redirect elsewhere is not followed and gets no credentials', async () => {
    let sawAuth = false;
    const other = http.createServer((req, res) => {
      if (req.headers.authorization) sawAuth = true;
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="x"' });
      res.end();
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    const redirector = http.createServer((req, res) => {
      res.writeHead(301, { location: `http://localhost:${(other.address() as AddressInfo).port}${req.url}` });
      res.end();
    });
    await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', () => r()));
    try {
      const w = ws('redirected', { url: `http://127.0.0.1:${(redirector.address() as AddressInfo).port}/r.git` });
      const err = await w.sync().then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(GitError);
      expect((err as GitError).message).not.toContain(TOKEN);
      expect(sawAuth).toBe(false);
    } finally {
      other.close();
      redirector.close();
    }
  });
});

describe('native engine: processes', () => {
  it('an abort mid-fetch kills git and everything it started', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const hang = http.createServer(() => undefined); // accepts, never answers
    hang.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
    try {
      const w = ws('hang', { url: `http://127.0.0.1:${(hang.address() as AddressInfo).port}/h.git` });
      const ac = new AbortController();
      const p = w.sync(ac.signal);
      // Wait until git is connected (the server saw the socket), then abort.
      while (sockets.size === 0) await new Promise((r) => setImmediate(r));
      const reason = new Error('pause');
      ac.abort(reason);
      await expect(p).rejects.toBe(reason);
      // The kill closed git's connection.
      await Promise.all([...sockets].map((s) => (s.closed ? null : new Promise((r) => s.once('close', r)))));
    } finally {
      hang.closeAllConnections();
      hang.close();
    }
  });
});

describe('native engine: pushes and worktrees', () => {
  it('a one-line task pushes only its own objects, not the history the remote has', async () => {
    // ≈ 4 MiB of incompressible history.
    const files: Record<string, Uint8Array> = {};
    for (let i = 0; i < 16; i++) files[`blob${i}.bin`] = randomBytes(256 * 1024);
    await server.createBareRepo('big', { files: { ...files, 'doc.md': '# Doc\n' } });
    const w = ws('big');
    await w.sync();
    const before = server.stats().receivePackBytes;
    const t = await w.prepareTask('devteam/b1');
    await writeFile(join(t.dir, 'doc.md'), '# Doc\nOne more line.\n');
    await w.integrate(args('b1'));
    expect((await w.publish(args('b1'))).pushed).toBe(true);
    const sent = server.stats().receivePackBytes - before;
    expect(sent).toBeGreaterThan(0);
    expect(sent).toBeLessThan(16 * 1024); // the whole history would be > 4 MiB
  });

  it('reads its refs in-process exactly as `git rev-parse` does: loose, packed, overridden, missing, other namespaces', async () => {
    await server.createBareRepo('refs', { files: { 'a.txt': 'a\n' } });
    const w = ws('refs');
    await w.sync();
    await w.prepareTask('devteam/r1-one');
    const gitDir = join(w.root, 'repo.git');
    const repo = new NativeRepo(w.root, 'main');
    const refs = ['refs/heads/main', 'refs/remotes/origin/main', 'refs/heads/devteam/r1-one', 'refs/heads/nope', 'refs/devteam/none/x', 'refs/tags/v1', 'HEAD'];
    const byGit = async () =>
      Promise.all(refs.map(async (r) => (await nativeGit(gitDir, '--git-dir', gitDir, 'rev-parse', '-q', '--verify', `${r}^{commit}`).catch(() => '')).trim() || null));
    const check = async () => expect(await Promise.all(refs.map((r) => repo.ref(r)))).toEqual(await byGit());
    await check();
    await nativeGit(gitDir, '--git-dir', gitDir, 'pack-refs', '--all'); // no loose files left
    await check();
    const head = (await repo.ref('refs/heads/main'))!;
    await nativeGit(gitDir, '--git-dir', gitDir, 'commit-tree', '-m', 'x', `${head}^{tree}`).then(async (oid) => {
      await nativeGit(gitDir, '--git-dir', gitDir, 'update-ref', 'refs/heads/devteam/r1-one', oid.trim()); // a loose file over the packed line
    });
    await check();
    await nativeGit(gitDir, '--git-dir', gitDir, 'update-ref', '-d', 'refs/heads/devteam/r1-one');
    await check();
  });

  it('publish pushes the target only: the task branch went out with integrate and is not pushed again', async () => {
    await server.createBareRepo('once', { files: { 'a.txt': 'a\n' } });
    const w = ws('once');
    await w.sync();
    const t = await w.prepareTask('devteam/o1');
    await writeFile(join(t.dir, 'a.txt'), 'b\n');
    await w.integrate(args('o1'));
    expect((await nativeGit(server.repoPath('once'), 'rev-parse', 'devteam/o1')).trim()).toBe((await nativeGit(t.dir, 'rev-parse', 'HEAD')).trim());
    const before = server.stats();
    const out = await w.publish(args('o1'));
    expect(out).toMatchObject({ pushed: true, taskBranchPushed: true });
    const after = server.stats();
    expect(after.receivePackPosts - before.receivePackPosts).toBe(1); // the target
    expect(after.requests - before.requests).toBe(3); // one authenticated push (401 challenge, ref advertisement, pack): no second push of the task branch
    // A re-run (as after a crash before the transition was written) pushes nothing at all.
    const again = server.stats();
    expect(await w.publish(args('o1'))).toMatchObject({ pushed: false, taskBranchPushed: true });
    expect(server.stats().requests - again.requests).toBe(0);
  });

  it('lanes preparing and removing task worktrees at once never break each other (prune beside add)', async () => {
    await server.createBareRepo('crowd', { files: { 'a.txt': 'a\n' } });
    const w = ws('crowd');
    await w.sync();
    const branches = Array.from({ length: 6 }, (_, i) => `devteam/c${i}-lane`);
    for (let round = 0; round < 3; round++) {
      const trees = await Promise.all(branches.map((b) => w.prepareTask(b)));
      for (const t of trees) expect(await exists(join(t.dir, 'a.txt'))).toBe(true);
      await Promise.all(branches.map((b, i) => (i % 2 === round % 2 ? w.removeTask(b) : rm(trees[i]!.dir, { recursive: true, force: true }))));
    }
  });

  it('keeps one worktree per task, side by side, and removes it when asked', async () => {
    await server.createBareRepo('lanes', { files: { 'a.txt': 'a\n' } });
    const w = ws('lanes');
    await w.sync();
    const [t1, t2] = await Promise.all([w.prepareTask('devteam/l1-one'), w.prepareTask('devteam/l2-two')]);
    expect(t1.worktree).toBe('tasks/l1-one');
    expect(t2.worktree).toBe('tasks/l2-two');
    await writeFile(join(t1.dir, 'one.txt'), '1\n');
    await writeFile(join(t2.dir, 'two.txt'), '2\n');
    expect((await w.workingTreeSummary('devteam/l1-one')).changedFiles).toEqual(['one.txt']);
    expect((await w.workingTreeSummary('devteam/l2-two')).changedFiles).toEqual(['two.txt']);
    // The worktree's .git file is relative, so the same tree resolves inside a container mount.
    expect(await readFile(join(t1.dir, '.git'), 'utf8')).toBe('gitdir: ../../repo.git/worktrees/l1-one\n');
    expect((await nativeGit(t1.dir, 'rev-parse', '--abbrev-ref', 'HEAD')).trim()).toBe('devteam/l1-one');
    await w.removeTask('devteam/l1-one');
    expect(await exists(t1.dir)).toBe(false);
    expect(await exists(t2.dir)).toBe(true);
    await rm(t2.dir, { recursive: true, force: true }); // a worktree deleted behind the runner's back
    const again = await w.prepareTask('devteam/l2-two');
    expect(await exists(join(again.dir, 'a.txt'))).toBe(true);
  });
});
