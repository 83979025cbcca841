/**
 * Team mode makespan: a 24-task graph (6 layers of 4 tasks; every task of layer k depends on one
 * or two tasks of layer k-1, so the critical path is 6 tasks and the width 4). Each task is a
 * script agent that sleeps STEP seconds and writes its own declared file; every task is really
 * merged and pushed to a local git smart-HTTP server (Postgres, native git worktrees, local
 * sandbox). The same graph runs with parallelism 1, 2 and 4, each on a fresh repo + database.
 *
 * Makespan: from registry.initialize to the project's `idle` status with all 24 tasks done.
 *
 * Where the time goes comes from the durable history (project_event: every committed transition
 * of the project and task actors, with its timestamp):
 *   dispatch  last dependency pushed (or initialize, for layer 1) → the task actor starts
 *   prepare   preparing → waitingForSlot         slot   waitingForSlot → executing
 *   execute   executing → verifying              verify verifying → ready
 *   queue     ready → the train starts integrating it
 *   merge     train integrating → recording (commit, rebase + re-verify when the target moved,
 *             merge, task-branch push, outcomes commit)
 *   push      train recording → waiting (push of the target, worktree removal)
 * The k-th train cycle that ends in `recording → waiting` is the k-th task that goes `done`.
 *
 * Ideal for the graph: 6 × step + 24 × train, where step (prepare+slot+execute+verify, the
 * task's non-merge time) and train (merge+push, one serial train cycle) are the means of the
 * parallelism-1 run, in which nothing contends and no merge needs a re-verify.
 *
 *   npx tsx bench/team.ts [--step 2] [--p 1,2,4] [--limit 3600]        (npm run bench:team)
 *   Postgres: BENCH_PG_URL / TEST_PG_URL (default postgres://postgres@127.0.0.1:5432/test)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createProjectSteps } from '../src/actors/projectSteps.ts';
import { createRuntime } from '../src/actors/runtime.ts';
import type { ProjectStatus } from '../src/domain/status.ts';
import { loadConfig } from '../src/infra/config.ts';
import { createLogger, silentLogger } from '../src/infra/logger.ts';
import { nativeGit, startGitServer } from '../test/support/gitServer.ts';
import { pct, scratchDb } from './support.ts';

const arg = (k: string, d: string) => {
  const i = process.argv.indexOf(`--${k}`);
  return i > 0 ? process.argv[i + 1]! : d;
};
const STEP_SEC = Number(arg('step', '2'));
const PARALLELISMS = arg('p', '1,2,4').split(',').map(Number);
const LIMIT_SEC = Number(arg('limit', '3600'));
const LAYERS = 6;
const WIDTH = 4;
const N = LAYERS * WIDTH;

/** Layer k, column i (1-based) depends on layer k-1 column i, and on column i+1 too when i is odd. */
function graph(): Array<{ id: string; deps: string[]; layer: number }> {
  const out = [];
  for (let k = 1; k <= LAYERS; k++) {
    for (let i = 1; i <= WIDTH; i++) {
      const deps = k === 1 ? [] : i % 2 === 1 ? [`${k - 1}.${i}`, `${k - 1}.${(i % WIDTH) + 1}`] : [`${k - 1}.${i}`];
      out.push({ id: `${k}.${i}`, deps, layer: k });
    }
  }
  return out;
}

function taskList(): string {
  const task = (id: string, deps: string[]) =>
    `### ${id} Task ${id} (Dependencies: ${deps.length ? `[${deps.join(', ')}]` : 'None'})\n` +
    `Files: \`out/${id}.txt\`\n\n` +
    '```sh\n' +
    `sleep ${STEP_SEC}\nmkdir -p out && echo ${id} > out/${id}.txt\n` +
    '```\n';
  return '## Phase 1: Graph (Dependencies: None)\n\n' + graph().map((t) => task(t.id, t.deps)).join('\n');
}

interface TaskTimes {
  start: number;
  slot: number;
  exec: number;
  verify: number;
  ready: number;
  done: number;
  /** The train cycle that merged it. */
  int: number;
  rec: number;
  end: number;
  attempts: number;
}

interface RunResult {
  parallelism: number;
  makespanMs: number;
  initMs: number;
  reworks: number;
  maxLanes: number;
  trainBusyMs: number;
  /** Ends of train cycles (lanes freed), ms since epoch: what wakes the dispatcher. */
  cycleEnds: number[];
  /** initialize → the project actor is running (sync, sandbox, tools). */
  runningAt: number;
  /** CPU seconds of this process and its reaped children (runner, git, sandbox scripts, git server). */
  cpuSec: number;
  /** Requests the git server answered (fetch = upload-pack POST, push = receive-pack POST). */
  http: { requests: number; uploadPackPosts: number; receivePackPosts: number };
  /** 1-minute load average at the end of the run. */
  load: number;
  tasks: Map<string, TaskTimes>;
}

/** utime + stime + cutime + cstime of this process (/proc/self/stat), seconds. */
function cpuSec(): number {
  try {
    const f = readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
  } catch {
    return NaN;
  }
}

const ms = (iso: string | Date) => (iso instanceof Date ? iso.getTime() : Date.parse(iso));

async function run(parallelism: number): Promise<RunResult> {
  const root = mkdtempSync(join(tmpdir(), 'bench-team-git-'));
  const data = mkdtempSync(join(tmpdir(), 'bench-team-data-'));
  const git = await startGitServer({ root });
  const db = await scratchDb('benchteam');
  const id = `team-p${parallelism}`;
  try {
    const url = await git.createBareRepo(id, { files: { 'verify.sh': 'echo build ok\n', 'ai_docs/tasks/tasks_list.md': taskList() } });
    const rt = await createRuntime({
      config: loadConfig({ DATABASE_URL: db.url, DEVTEAM_DATA_DIR: data, DEVTEAM_IDLE_FETCH_SEC: '3600', LOG_LEVEL: 'warn' }),
      logger: process.env.BENCH_LOG ? createLogger({ level: 'info' }, process.stderr as never) : silentLogger(),
      makeSteps: (p, base) => createProjectSteps({ project: p, ...base }),
    });
    let maxLanes = 0;
    // Own wait (test/support's inState gives up after 300 s; a loaded machine needs longer).
    let settle!: (s: ProjectStatus) => void;
    let fail!: (e: Error) => void;
    const finished = new Promise<ProjectStatus>((res, rej) => ((settle = res), (fail = rej)));
    const limit = setTimeout(() => fail(new Error(`${id}: not idle after ${LIMIT_SEC} s; last: ${JSON.stringify(rt.projection.get(id))}`)), LIMIT_SEC * 1000);
    const sub = rt.hub.project$(id).subscribe((e) => {
      if (e.type !== 'status') return;
      const st = e.payload as ProjectStatus;
      maxLanes = Math.max(maxLanes, st.lanes.length);
      if (st.state === 'idle') settle(st);
      if (st.state === 'halted' || st.lanes.some((l) => l.state === 'halted')) fail(new Error(`${id} halted: ${st.lastError}`));
    });
    const cpu0 = cpuSec();
    const t0 = Date.now();
    const r = await rt.registry.initialize({
      projectId: id,
      repo: { url, branch: 'main' },
      verify: { command: ['sh', 'verify.sh'], timeoutSec: 120 },
      agent: { kind: 'script', timeoutSec: 180 },
      sandbox: { kind: 'local' },
      parallelism,
    });
    if (r.code !== 'created') throw new Error(`initialize: ${JSON.stringify(r)}`);
    const idle = await finished.finally(() => clearTimeout(limit)).catch(async (e: unknown) => {
      await rt.close().catch(() => undefined);
      throw e;
    });
    const t1 = Date.now();
    const cpu1 = cpuSec();
    const http = git.stats();
    sub.unsubscribe();
    if (idle.completedTaskIds.length !== N) throw new Error(`idle with ${idle.completedTaskIds.length}/${N} tasks done`);
    await rt.registry.command(id, 'STOP');
    await rt.close();

    // The remote really has every task's file.
    const files = (await nativeGit(root, '--git-dir', git.repoPath(id), 'ls-tree', '--name-only', 'main', 'out/')).trim().split('\n').filter(Boolean);
    if (files.length !== N) throw new Error(`remote main has ${files.length}/${N} task files`);

    return { parallelism, makespanMs: t1 - t0, maxLanes, cpuSec: cpu1 - cpu0, http, load: os.loadavg()[0]!, ...(await fromHistory(db.url, id, t0)) };
  } finally {
    await git.close();
    await db.drop();
    rmSync(root, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  }
}

/** Per-task timelines and train cycles from the durable history (project_event). */
async function fromHistory(dbUrl: string, projectId: string, t0: number): Promise<Omit<RunResult, 'parallelism' | 'makespanMs' | 'maxLanes' | 'cpuSec' | 'http' | 'load'>> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  const rows = (
    await c.query<{ type: string; ts: Date; payload: { from: string | null; to: string; event: string; taskId?: string } }>(
      `select type, ts, payload from project_event where project_id = $1 and type = 'transition' order by seq, n`,
      [projectId],
    )
  ).rows;
  await c.end();

  const tasks = new Map<string, TaskTimes>();
  const get = (t: string) => {
    let x = tasks.get(t);
    if (!x) tasks.set(t, (x = { start: NaN, slot: NaN, exec: NaN, verify: NaN, ready: NaN, done: NaN, int: NaN, rec: NaN, end: NaN, attempts: 0 }));
    return x;
  };
  const cycles: Array<{ int: number; rec: number; end: number }> = [];
  const doneOrder: string[] = [];
  let cur: { int: number; rec: number } | null = null;
  let initMs = NaN;
  let reworks = 0;
  for (const r of rows) {
    const at = ms(r.ts);
    const p = r.payload;
    if (p.taskId) {
      const t = get(p.taskId);
      const to = p.to.replace(/^active\./, '');
      // First value wins except after a rework (a new attempt restarts the timeline).
      if (to === 'preparing') {
        if (p.from === null) t.start = at;
        t.attempts++;
      } else if (to === 'waitingForSlot') t.slot = at;
      else if (to === 'executing') t.exec = at;
      else if (to === 'verifying') t.verify = at;
      else if (to === 'ready') t.ready = at;
      else if (to === 'done') {
        t.done = at;
        doneOrder.push(p.taskId);
      }
      continue;
    }
    if (Number.isNaN(initMs) && p.to.includes('running.')) initMs = at - t0;
    // Train cycles by the train region's step events: `waiting` has an eventless transition, so a
    // cycle may go recording → integrating (the next queued task) in one recorded transition.
    const toTrain = /running\.train\.(\w+)/.exec(p.to)?.[1];
    const fromTrain = /running\.train\.(\w+)/.exec(p.from ?? '')?.[1];
    if (p.event === 'done.recording' && cur) {
      cycles.push({ ...cur, end: at });
      cur = null;
    } else if (p.event === 'done.integrating' && cur) {
      if (toTrain === 'recording') cur.rec = at;
      else {
        reworks++;
        cur = null;
      }
    }
    if (toTrain === 'integrating' && (fromTrain !== 'integrating' || p.event.startsWith('done.'))) cur = { int: at, rec: NaN };
  }
  doneOrder.forEach((taskId, k) => {
    const cy = cycles[k];
    if (cy) Object.assign(get(taskId), cy);
  });
  const trainBusyMs = cycles.reduce((s, cy) => s + (cy.end - cy.int), 0);
  if (process.env.BENCH_DUMP) for (const r of rows) process.stderr.write(`${ms(r.ts) - t0}\t${JSON.stringify(r.payload)}\n`);
  return { initMs, runningAt: t0 + initMs, reworks, trainBusyMs, cycleEnds: cycles.map((c) => c.end), tasks };
}

// ---- run and report ----

const mean = (v: number[]) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN);
const med = (v: number[]) => pct(v, 50);
const s = (x: number) => (x / 1000).toFixed(2);

function phases(r: RunResult, g: ReturnType<typeof graph>) {
  const list = g.map((t) => ({ t, x: r.tasks.get(t.id)! }));
  const pushedAt = (id: string) => r.tasks.get(id)!.end;
  const col = (f: (x: TaskTimes, t: (typeof g)[number]) => number) => list.map(({ t, x }) => f(x, t)).filter((v) => Number.isFinite(v));
  return {
    // The lane freed last before the task started (or the project running, for the first round).
    dispatch: col((x) => x.start - Math.max(r.runningAt, ...r.cycleEnds.filter((e) => e <= x.start))),
    // The task's last dependency pushed → the task started (dispatch + waiting for a free lane).
    depsToStart: col((x, t) => (t.deps.length ? x.start - Math.max(...t.deps.map(pushedAt)) : NaN)),
    prepare: col((x) => x.slot - x.start),
    slot: col((x) => x.exec - x.slot),
    execute: col((x) => x.verify - x.exec),
    verify: col((x) => x.ready - x.verify),
    step: col((x) => x.ready - x.start),
    queue: col((x) => x.int - x.ready),
    merge: col((x) => x.rec - x.int),
    push: col((x) => x.end - x.rec),
    train: col((x) => x.end - x.int),
  };
}

process.stderr.write(`team bench: ${N} tasks (${LAYERS} layers × ${WIDTH}), ${STEP_SEC}s agent step, parallelism ${PARALLELISMS.join(', ')}; ${os.cpus().length} cpus, load ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}\n`);
const g = graph();
const results: RunResult[] = [];
for (const p of PARALLELISMS) {
  const r = await run(p);
  results.push(r);
  process.stderr.write(`  parallelism ${p}: ${s(r.makespanMs)} s\n`);
}

const names = ['depsToStart', 'dispatch', 'prepare', 'slot', 'execute', 'verify', 'step', 'queue', 'merge', 'push', 'train'] as const;
const ph = results.map((r) => phases(r, g));
const lines: string[] = [];
lines.push(`per-task phases, median (mean) seconds, from project_event timestamps`);
lines.push(['phase'.padEnd(12), ...results.map((r) => `p${r.parallelism}`.padStart(15))].join(''));
for (const n of names) lines.push([n.padEnd(12), ...ph.map((x) => `${s(med(x[n]))} (${s(mean(x[n]))})`.padStart(15))].join(''));
lines.push(['init'.padEnd(12), ...results.map((r) => s(r.initMs).padStart(15))].join(''));
lines.push(['train busy'.padEnd(12), ...results.map((r) => `${s(r.trainBusyMs)} ${((100 * r.trainBusyMs) / r.makespanMs).toFixed(0)}%`.padStart(15))].join(''));
lines.push(['max lanes'.padEnd(12), ...results.map((r) => String(r.maxLanes).padStart(15))].join(''));
lines.push(['reworks'.padEnd(12), ...results.map((r) => String(r.reworks).padStart(15))].join(''));
lines.push(['cpu s'.padEnd(12), ...results.map((r) => `${r.cpuSec.toFixed(0)} (${(r.cpuSec / N).toFixed(2)}/task)`.padStart(15))].join(''));
lines.push(['git http'.padEnd(12), ...results.map((r) => `${(r.http.requests / N).toFixed(1)} req/task`.padStart(15))].join(''));
lines.push(['fetch/push'.padEnd(12), ...results.map((r) => `${(r.http.uploadPackPosts / N).toFixed(1)}/${(r.http.receivePackPosts / N).toFixed(1)} per task`.padStart(15))].join(''));
lines.push(['load 1m'.padEnd(12), ...results.map((r) => r.load.toFixed(1).padStart(15))].join(''));

const base = results.find((r) => r.parallelism === 1);
const p1 = base ? ph[results.indexOf(base)]! : null;
const stepMs = p1 ? mean(p1.step) : NaN;
const trainMs = p1 ? mean(p1.train) : NaN;
const idealMs = LAYERS * stepMs + N * trainMs;
const mk = (p: number) => results.find((r) => r.parallelism === p)?.makespanMs ?? NaN;
lines.push('');
lines.push(`ideal = ${LAYERS} × step ${s(stepMs)} s + ${N} × train ${s(trainMs)} s = ${s(idealMs)} s (step, train: means of the p1 run)`);
lines.push(['parallelism'.padEnd(12), 'makespan s'.padStart(12), 'speedup vs p1'.padStart(15), '÷ ideal'.padStart(10)].join(''));
for (const r of results) lines.push([String(r.parallelism).padEnd(12), s(r.makespanMs).padStart(12), `${(mk(1) / r.makespanMs).toFixed(2)}×`.padStart(15), `${(r.makespanMs / idealMs).toFixed(2)}×`.padStart(10)].join(''));
const speedup4 = mk(1) / mk(4);
const vsIdeal4 = mk(4) / idealMs;
lines.push(`goals: p1/p4 ≥ 2.5× → ${speedup4.toFixed(2)}× ${speedup4 >= 2.5 ? 'met' : 'NOT met'}; p4/ideal ≤ 1.3× → ${vsIdeal4.toFixed(2)}× ${vsIdeal4 <= 1.3 ? 'met' : 'NOT met'}`);
process.stdout.write(lines.join('\n') + '\n');

const r2 = (x: number) => Math.round(x * 100) / 100;
const summary = {
  bench: 'team',
  tasks: N,
  layers: LAYERS,
  width: WIDTH,
  stepSec: STEP_SEC,
  cpus: os.cpus().length,
  loadavg: os.loadavg().map((l) => r2(l)),
  makespanSec: Object.fromEntries(results.map((r) => [`p${r.parallelism}`, r2(r.makespanMs / 1000)])),
  speedupP1P2: r2(mk(1) / mk(2)),
  speedupP1P4: r2(speedup4),
  idealSec: r2(idealMs / 1000),
  idealStepSec: r2(stepMs / 1000),
  idealTrainSec: r2(trainMs / 1000),
  p4OverIdeal: r2(vsIdeal4),
  phasesMedianSec: Object.fromEntries(results.map((r, i) => [`p${r.parallelism}`, Object.fromEntries(names.map((n) => [n, r2(med(ph[i]![n]) / 1000)]))])),
  trainBusyShare: Object.fromEntries(results.map((r) => [`p${r.parallelism}`, r2(r.trainBusyMs / r.makespanMs)])),
  reworks: Object.fromEntries(results.map((r) => [`p${r.parallelism}`, r.reworks])),
  gitHttpPerTask: Object.fromEntries(results.map((r) => [`p${r.parallelism}`, { requests: r2(r.http.requests / N), fetches: r2(r.http.uploadPackPosts / N), pushes: r2(r.http.receivePackPosts / N) }])),
  cpuSecPerTask: Object.fromEntries(results.map((r) => [`p${r.parallelism}`, r2(r.cpuSec / N)])),
};
process.stdout.write(JSON.stringify(summary) + '\n');
