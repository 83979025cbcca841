/**
 * Clone / fetch benchmark: isomorphic-git (as used by the runner) beside native git, in
 * the same run, against `git http-backend` on loopback.
 *
 * Repo: ≥ 2,000 files, ≥ 200 commits (built with `git fast-import`), plus 10 further
 * commits kept on a side ref. Each repetition resets `main` to commit 200, clones, then
 * moves `main` to commit 210 and fetches. The server runs in a child process so the
 * in-process isomorphic-git client does not share its event loop.
 *
 * Run: npx tsx bench/git-clone.ts [--reps 5] [--files 2000] [--commits 200]
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { silentLogger } from '../src/infra/logger.ts';
import { createGitWorkspace } from '../src/infra/git/index.ts';
import { gitEnv, nativeGit, startGitServer } from '../test/support/gitServer.ts';

const execFileP = promisify(execFile);
const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};

/** Child mode: serve `root` and print the port; exit when stdin closes. */
async function serve(root: string): Promise<void> {
  const srv = await startGitServer({ root });
  process.stdout.write(`${JSON.stringify({ url: srv.url('bench') })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => void srv.close().then(() => process.exit(0)));
}

/** Deterministic pseudo-random text. */
function textFor(seed: number, lines: number): string {
  let x = seed * 2654435761 >>> 0;
  const words = ['alpha', 'beta', 'gamma', 'delta', 'const', 'return', 'value', 'export', 'function', 'index'];
  let out = '';
  for (let l = 0; l < lines; l++) {
    for (let w = 0; w < 8; w++) {
      x = (x * 1103515245 + 12345) >>> 0;
      out += words[x % words.length] + (w < 7 ? ' ' : '\n');
    }
  }
  return out;
}

/** fast-import stream: commit 1 adds all files, each later commit rewrites 10 files. */
function fastImportStream(files: number, commits: number, extra: number): string {
  const parts: string[] = [];
  const data = (s: string) => `data ${Buffer.byteLength(s)}\n${s}\n`;
  const path = (i: number) => `src/mod${String(i % 50).padStart(2, '0')}/file${i}.ts`;
  for (let c = 1; c <= commits + extra; c++) {
    const touched = c === 1 ? Array.from({ length: files }, (_, i) => i) : Array.from({ length: 10 }, (_, k) => (c * 37 + k * 101) % files);
    const ref = c <= commits ? 'refs/heads/main' : 'refs/bench/next';
    let s = `commit ${ref}\nmark :${c}\ncommitter Bench <b@example.test> ${1_700_000_000 + c} +0000\n${data(`commit ${c}`)}`;
    if (c === commits + 1) s += `from :${commits}\n`;
    for (const i of touched) s += `M 100644 inline ${path(i)}\n${data(textFor(i * 1000 + c, 30))}`;
    parts.push(s);
  }
  return parts.join('');
}

async function fastImport(bare: string, stream: string): Promise<void> {
  const child = spawn('git', ['fast-import', '--quiet'], { cwd: bare, env: gitEnv(), stdio: ['pipe', 'ignore', 'inherit'] });
  const done = new Promise<void>((res, rej) => child.on('close', (code) => (code === 0 ? res() : rej(new Error(`fast-import ${code}`)))));
  child.stdin.end(stream);
  await done;
}

/** Time an in-process async op while sampling RSS every 10 ms. */
async function timeInProcess(fn: () => Promise<unknown>): Promise<{ ms: number; peakRss: number }> {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
  const t0 = performance.now();
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return { ms: performance.now() - t0, peakRss: Math.max(peak, process.memoryUsage().rss) };
}

/** Time native git under /usr/bin/time for its max RSS (KiB). */
async function timeNative(cwd: string, args: string[]): Promise<{ ms: number; peakRss: number }> {
  const t0 = performance.now();
  const { stderr } = await execFileP('/usr/bin/time', ['-f', 'MAXRSS=%M', 'git', ...args], { cwd, env: gitEnv(), maxBuffer: 64 << 20 });
  const ms = performance.now() - t0;
  const kib = Number(/MAXRSS=(\d+)/.exec(stderr)?.[1] ?? 0);
  return { ms, peakRss: kib * 1024 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mib = (b: number) => `${(b / 1048576).toFixed(0)} MiB`;

async function main(): Promise<void> {
  const reps = arg('reps', 5);
  const files = arg('files', 2000);
  const commits = arg('commits', 200);
  const root = await mkdtemp(join(tmpdir(), 'git-bench-'));
  let server: ChildProcess | undefined;
  try {
    const srvRoot = join(root, 'srv');
    const bare = join(srvRoot, 'bench.git');
    fs.mkdirSync(srvRoot, { recursive: true });
    await nativeGit(srvRoot, 'init', '--bare', '-q', '-b', 'main', bare);
    let t = performance.now();
    await fastImport(bare, fastImportStream(files, commits, 10));
    await nativeGit(bare, 'repack', '-adq');
    const c200 = (await nativeGit(bare, 'rev-parse', 'main')).trim();
    const c210 = (await nativeGit(bare, 'rev-parse', 'refs/bench/next')).trim();
    const count = (await nativeGit(bare, 'rev-list', '--count', 'main')).trim();
    const nfiles = (await nativeGit(bare, 'ls-tree', '-r', '--name-only', 'main')).trim().split('\n').length;
    const packKiB = (await nativeGit(bare, 'count-objects', '-v')).match(/size-pack: (\d+)/)?.[1];
    process.stdout.write(`repo: ${nfiles} files, ${count} commits (+10 for fetch), pack ${packKiB} KiB, built in ${(performance.now() - t).toFixed(0)} ms\n`);

    server = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), '--serve', srvRoot], { stdio: ['pipe', 'pipe', 'inherit'] });
    const url: string = await new Promise((res, rej) => {
      server!.stdout!.once('data', (d: Buffer) => res(JSON.parse(d.toString()).url));
      server!.once('exit', (c) => rej(new Error(`server exited ${c}`)));
    });

    const rows: Record<string, { ms: number[]; rss: number[] }> = {};
    const rec = (k: string, r: { ms: number; peakRss: number }) => {
      rows[k] ??= { ms: [], rss: [] };
      rows[k].ms.push(r.ms);
      rows[k].rss.push(r.peakRss);
    };
    for (let i = 0; i < reps; i++) {
      const rep = join(root, `rep${i}`);
      fs.mkdirSync(rep);
      await nativeGit(bare, 'update-ref', 'refs/heads/main', c200);
      const isoDir = join(rep, 'iso');
      const wsData = join(rep, 'ws');
      rec('clone iso', await timeInProcess(() => git.clone({ fs, http, dir: isoDir, url, ref: 'main', singleBranch: true, noTags: true })));
      rec('clone native', await timeNative(rep, ['clone', '-q', '--single-branch', '--branch', 'main', '--no-tags', url, 'native']));
      const ws = createGitWorkspace({ dataDir: wsData, projectId: 'p', url, branch: 'main', author: { name: 'b', email: 'b@x' }, logger: silentLogger() });
      rec('clone workspace.sync', await timeInProcess(() => ws.sync()));

      await nativeGit(bare, 'update-ref', 'refs/heads/main', c210);
      rec('fetch iso', await timeInProcess(() => git.fetch({ fs, http, dir: isoDir, url, ref: 'main', singleBranch: true, tags: false })));
      rec('fetch native', await timeNative(join(rep, 'native'), ['fetch', '-q', 'origin', 'main']));
      rec('fetch workspace.sync', await timeInProcess(() => ws.sync()));
      await rm(rep, { recursive: true, force: true });
    }

    const med = (k: string) => median(rows[k].ms);
    process.stdout.write(`\n${reps} repetitions, medians (peak RSS: in-process = whole bench process incl. the test harness; native = git child max RSS)\n`);
    process.stdout.write('operation              median ms   peak RSS\n');
    for (const [k, v] of Object.entries(rows)) {
      process.stdout.write(`${k.padEnd(22)} ${med(k).toFixed(0).padStart(9)}   ${mib(Math.max(...v.rss)).padStart(8)}\n`);
    }
    process.stdout.write(`\nratio iso/native: clone ${(med('clone iso') / med('clone native')).toFixed(2)}x, fetch ${(med('fetch iso') / med('fetch native')).toFixed(2)}x\n`);
    process.stdout.write(`ratio workspace.sync/native: clone ${(med('clone workspace.sync') / med('clone native')).toFixed(2)}x, fetch ${(med('fetch workspace.sync') / med('fetch native')).toFixed(2)}x\n`);
  } finally {
    server?.stdin?.end();
    await rm(root, { recursive: true, force: true });
  }
}

if (process.argv.includes('--serve')) void serve(process.argv[process.argv.indexOf('--serve') + 1]);
else await main();
