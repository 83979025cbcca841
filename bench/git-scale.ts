/**
 * Git at real scale: a generated repository (default ≥ 3,000 files, ≥ 10,000 commits, built with
 * `git fast-import`) served over smart HTTP on 127.0.0.1; the runner (a real `src/main.ts` server
 * process on Postgres, local sandbox, script agent) runs N one-line tasks through the whole loop,
 * and in the same run native git does the same steps by hand. Reports clone time, per-task time,
 * remote growth and the runner's peak RSS, each with its ratio to the by-hand baseline.
 *
 *   npx tsx bench/git-scale.ts [files=3000] [commits=10000] [tasks=3]
 *   BENCH_ENGINE=isomorphic-git npx tsx bench/git-scale.ts 2000 200   # the fallback engine
 *
 * Goals (issue "Git at native speed"): clone ≤ 1.2× native; per task ≤ 1.5× native + 1 s;
 * remote growth ≤ 2× native; runner peak RSS ≤ 300 MiB.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { startGitServer } from '../test/support/gitServer.ts';
import { scratchDb } from './support.ts';

const FILES = Number(process.argv[2] ?? 3000);
const COMMITS = Number(process.argv[3] ?? 10000);
const TASKS = Number(process.argv[4] ?? 3);
const ROOT = resolve(import.meta.dirname, '..');
const run = promisify(execFile);
const git = (cwd: string, ...args: string[]) =>
  run('git', args, { cwd, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, GIT_AUTHOR_NAME: 'b', GIT_AUTHOR_EMAIL: 'b@b', GIT_COMMITTER_NAME: 'b', GIT_COMMITTER_EMAIL: 'b@b' } }).then((r) => r.stdout);
const secs = (ms: number) => (ms / 1000).toFixed(2);
const now = () => performance.now();

/** A bare repo with FILES files (≈1 KiB each) and COMMITS commits, the task list and verify script. */
async function generate(bare: string): Promise<void> {
  await git(tmpdir(), 'init', '--bare', '-q', '-b', 'main', bare);
  const tasks = Array.from({ length: TASKS }, (_, i) => `### 1.${i + 1} Append line ${i + 1} (Dependencies: None)\n\`\`\`sh\nprintf 'Appended by task 1.${i + 1}.\\n' >> docs/guide/scale.md\n\`\`\`\n`).join('\n');
  const listText = `# Tasks\n\n## Phase 1: Scale (Dependencies: None)\n\n${tasks}`;
  const chunks: string[] = [];
  const blob = (text: string) => `data ${Buffer.byteLength(text)}\n${text}\n`;
  const body = (i: number, v: number) => `// file ${i} version ${v}\n${'export const x = 1; // padding padding padding padding\n'.repeat(18)}`;
  let t = 1_700_000_000;
  const commit = (msg: string, ops: string[]) => {
    chunks.push(`commit refs/heads/main\ncommitter Bench <b@b> ${t++} +0000\n${blob(msg)}${ops.join('')}\n`);
  };
  const first: string[] = [];
  for (let i = 0; i < FILES; i++) first.push(`M 100644 inline src/m${Math.floor(i / 100)}/f${i}.ts\n${blob(body(i, 0))}`);
  first.push(`M 100644 inline ai_docs/tasks/tasks_list.md\n${blob(listText)}`);
  first.push(`M 100644 inline docs/guide/scale.md\n${blob('# Scale\n')}`);
  first.push(`M 100644 inline verify.sh\n${blob('#!/bin/sh\ntest -f docs/guide/scale.md && echo build ok\n')}`);
  commit('initial', first);
  for (let c = 1; c < COMMITS; c++) {
    const i = (c * 7919) % FILES;
    commit(`change ${c}`, [`M 100644 inline src/m${Math.floor(i / 100)}/f${i}.ts\n${blob(body(i, c))}`]);
  }
  await new Promise<void>((res, rej) => {
    const p = spawn('git', ['fast-import', '--quiet'], { cwd: bare, stdio: ['pipe', 'ignore', 'inherit'] });
    p.on('error', rej);
    p.on('close', (code) => (code === 0 ? res() : rej(new Error(`fast-import exited ${code}`))));
    p.stdin.end(chunks.join(''));
  });
  await git(bare, 'gc', '-q', '--aggressive', '--prune=now');
}

const duKiB = async (dir: string) => Number((await run('du', ['-sk', dir])).stdout.split('\t')[0]);

async function byHand(url: string, bare: string, work: string) {
  const before = await duKiB(bare);
  let t0 = now();
  await git(work, 'clone', '-q', '--single-branch', '--branch', 'main', url, 'c');
  const clone = now() - t0;
  const c = join(work, 'c');
  const per: number[] = [];
  for (let i = 1; i <= TASKS; i++) {
    t0 = now();
    const b = `devteam/1.${i}-append-line-${i}`;
    await git(c, 'worktree', 'add', '-q', '-b', b, `../t${i}`, 'main');
    const wt = join(work, `t${i}`);
    await writeFile(join(wt, 'docs/guide/scale.md'), `${readFileSync(join(wt, 'docs/guide/scale.md'), 'utf8')}Appended by task 1.${i}.\n`);
    await run('sh', ['verify.sh'], { cwd: wt });
    await git(wt, 'add', '-A');
    await git(wt, 'commit', '-q', '-m', `1.${i} Append line ${i}`);
    await git(c, 'merge', '-q', '--ff-only', b);
    await mkdir(join(c, 'ai_docs/tasks'), { recursive: true });
    await writeFile(join(c, 'ai_docs/tasks/task_outcomes.md'), `outcome ${i}\n`, { flag: 'a' });
    await git(c, 'add', '-A');
    await git(c, 'commit', '-q', '-m', `Record outcome of 1.${i}`);
    await git(c, 'push', '-q', 'origin', 'main', b);
    await git(c, 'worktree', 'remove', '--force', `../t${i}`);
    per.push(now() - t0);
  }
  return { clone, per, growthKiB: (await duKiB(bare)) - before };
}

const freePort = () =>
  new Promise<number>((res) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });

async function viaRunner(url: string, bare: string, data: string, dbUrl: string) {
  const before = await duKiB(bare);
  const port = await freePort();
  const env = {
    ...process.env,
    DATABASE_URL: dbUrl,
    DEVTEAM_DATA_DIR: data,
    DEVTEAM_PORT: String(port),
    DEVTEAM_IDLE_FETCH_SEC: '3600',
    LOG_LEVEL: 'info',
    ...(process.env.BENCH_ENGINE ? { DEVTEAM_GIT_ENGINE: process.env.BENCH_ENGINE } : {}),
  };
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/main.ts')], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let cloneMs = NaN;
  let logs = '';
  const onLog = (b: Buffer) => {
    logs += b.toString();
    for (let i = logs.indexOf('\n'); i >= 0; i = logs.indexOf('\n')) {
      const line = logs.slice(0, i);
      logs = logs.slice(i + 1);
      if (process.env.BENCH_LOG) process.stderr.write(`${line}\n`);
      if (line.includes('"git clone done"')) cloneMs = JSON.parse(line).ms;
    }
  };
  proc.stdout!.on('data', onLog);
  proc.stderr!.on('data', onLog);
  const base = `http://127.0.0.1:${port}/api/devteam/automation`;
  let peakKiB = 0;
  const sample = setInterval(() => {
    try {
      const m = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      if (m) peakKiB = Math.max(peakKiB, Number(m[1]));
    } catch {
      /* exited */
    }
  }, 200);
  try {
    for (;;) {
      if (await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false)) break;
      if (proc.exitCode !== null) throw new Error('runner exited during start-up');
      await new Promise((r) => setTimeout(r, 100));
    }
    const t0 = now();
    const init = await fetch(`${base}/initialize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ projectId: 'scale', repo: { url, branch: 'main' }, verify: { command: ['sh', 'verify.sh'] }, agent: { kind: 'script' }, sandbox: { kind: 'local' } }),
    });
    if (!init.ok) throw new Error(`initialize: ${init.status} ${await init.text()}`);
    let status: { state: string; lastError: string | null } = { state: '', lastError: null };
    for (;;) {
      status = await (await fetch(`${base}/status/scale`)).json();
      if (status.state === 'idle' || status.state === 'halted') break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const total = now() - t0;
    if (status.state !== 'idle') throw new Error(`runner halted: ${status.lastError}`);
    const runs = (await (await fetch(`${base}/projects/scale/runs`)).json()) as { items: Array<{ startedAt: string; finishedAt: string }> };
    const per = runs.items.map((r) => Date.parse(r.finishedAt) - Date.parse(r.startedAt));
    return { total, per, cloneMs, growthKiB: (await duKiB(bare)) - before, peakMiB: peakKiB / 1024 };
  } finally {
    clearInterval(sample);
    proc.kill('SIGTERM');
    await new Promise((r) => proc.once('close', r));
  }
}

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'bench-scale-'));
  const srv = await startGitServer({ root: join(dir, 'srv') });
  const db = await scratchDb('benchscale');
  try {
    let t0 = now();
    const template = join(dir, 'template.git');
    await generate(template);
    const files = (await git(template, 'ls-tree', '-r', '--name-only', 'main')).trim().split('\n').length;
    const commits = Number((await git(template, 'rev-list', '--count', 'main')).trim());
    console.log(`repository: ${files} files, ${commits} commits, ${(await duKiB(template)) / 1024 | 0} MiB packed (generated in ${secs(now() - t0)} s)`);
    for (const name of ['hand', 'runner']) await run('cp', ['-a', template, srv.repoPath(name)]);

    const hand = await byHand(srv.url('hand'), srv.repoPath('hand'), await mkdirTemp(dir, 'hand-'));
    const r = await viaRunner(srv.url('runner'), srv.repoPath('runner'), await mkdirTemp(dir, 'data-'), db.url);
    const clone = r.cloneMs;
    const handTask = hand.per.reduce((a, b) => a + b, 0) / hand.per.length;
    const runnerTask = r.per.reduce((a, b) => a + b, 0) / r.per.length;
    console.log(`engine: ${process.env.BENCH_ENGINE ?? 'default'}`);
    console.log(`clone: by hand ${secs(hand.clone)} s; runner ${secs(clone)} s (${(clone / hand.clone).toFixed(2)}×; goal ≤ 1.2×)`);
    console.log(`per task: by hand ${secs(handTask)} s; runner ${secs(runnerTask)} s (${(runnerTask / handTask).toFixed(2)}×; goal ≤ 1.5× + 1 s = ${secs(1.5 * handTask + 1000)} s) [runner: ${r.per.map(secs).join(', ')}]`);
    console.log(`remote growth: by hand ${hand.growthKiB} KiB; runner ${r.growthKiB} KiB (${(r.growthKiB / Math.max(1, hand.growthKiB)).toFixed(2)}×)`);
    console.log(`runner peak RSS: ${r.peakMiB.toFixed(0)} MiB (goal ≤ 300); whole project ${secs(r.total)} s`);
  } finally {
    await srv.close();
    await db.drop();
    rmSync(dir, { recursive: true, force: true });
  }
}

async function mkdirTemp(parent: string, prefix: string): Promise<string> {
  const d = join(parent, `${prefix}${Math.random().toString(36).slice(2)}`);
  await mkdir(d, { recursive: true });
  return d;
}

await main();
