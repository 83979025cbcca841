/**
 * Persisted-transition benchmark: N projects walking their task lists with snapshot + status +
 * task_run persisted per transition (group commit), beside a raw `pg` baseline writing the same
 * rows with one INSERT … ON CONFLICT transaction per transition, in the same run.
 *
 *   npx tsx bench/persist.ts [projects=200] [tasks=5]     (real Postgres; BENCH_PGLITE=1 for embedded)
 */
import pg from 'pg';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createRuntime } from '../src/actors/runtime.ts';
import { TransitionWriter } from '../src/actors/writer.ts';
import { loadConfig } from '../src/infra/config.ts';
import { silentLogger } from '../src/infra/logger.ts';
import { inState } from '../test/support/runtime.ts';
import { instantSteps, pct, scratchDb } from './support.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const projects = Number(process.argv[2] ?? 200);
const tasks = Number(process.argv[3] ?? 5);
const pglite = process.env.BENCH_PGLITE === '1';
/** Per-step delay: 0 = saturate (max throughput); > 0 = a paced offered load for latency. */
const delayMs = Number(process.argv[4] ?? 0);

async function runner(url: string | undefined, dataDir: string) {
  const lat: number[] = [];
  const steady: number[] = [];
  let steadyFrom = Infinity;
  const orig = TransitionWriter.prototype.write;
  TransitionWriter.prototype.write = function (w) {
    const t0 = performance.now();
    const p = orig.call(this, w);
    void p.then(() => {
      lat.push(performance.now() - t0);
      if (t0 >= steadyFrom) steady.push(performance.now() - t0);
    }, () => undefined);
    return p;
  };
  const rt = await createRuntime({ config: loadConfig({ DATABASE_URL: url, DEVTEAM_DATA_DIR: dataDir, DEVTEAM_MAX_CONCURRENT_STEPS: '1024' }), logger: silentLogger(), makeSteps: instantSteps(tasks, { delayMs }) });
  const ids = Array.from({ length: projects }, (_, i) => `bench-${i}`);
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(ids.map((id) => rt.registry.initialize({ projectId: id })));
  steadyFrom = performance.now() + 1000; // after the start-up burst of initializes
  await Promise.all(ids.map((id) => inState(rt, id, 'idle')));
  await rt.writer.flush();
  const secs = (performance.now() - t0) / 1000;
  loop.disable();
  const cpu = process.cpuUsage(cpu0);
  process.stdout.write(`  runner event-loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms, CPU ${((cpu.user + cpu.system) / 1000 / lat.length).toFixed(3)} ms per transition\n`);
  const batches = rt.writer.batches;
  await rt.close();
  TransitionWriter.prototype.write = orig;
  return { transitions: lat.length, perSec: lat.length / secs, p50: pct(lat, 50), p99: pct(lat, 99), batches, steadyP99: pct(steady, 99), steadyN: steady.length };
}

/** The same rows, one transaction per transition, 4 connections, all projects concurrently. */
async function baseline(url: string, transitionsPerProject: number) {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  await pool.query(`create table if not exists base_snapshot (project_id text primary key, seq bigint, machine_version text, snapshot jsonb, fence bigint, updated_at timestamptz)`);
  await pool.query(`create table if not exists base_project (id text primary key, state text, status jsonb, seq bigint, updated_at timestamptz)`);
  const snapshot = JSON.stringify({ status: 'active', value: { active: 'executing' }, context: { projectId: 'x', currentTask: { id: '1.1', title: 'Task 1', attempt: 1 }, completedTaskIds: ['1.0'], run: { promptSha256: 'a'.repeat(64) } }, children: {} });
  const status = JSON.stringify({ projectId: 'x', state: 'executing', seq: 1 });
  const lat: number[] = [];
  const steady: number[] = [];
  const t0 = performance.now();
  const steadyFrom = t0 + 1000;
  await Promise.all(
    Array.from({ length: projects }, async (_, p) => {
      for (let seq = 1; seq <= transitionsPerProject; seq++) {
        if (delayMs) await new Promise((r) => setTimeout(r, delayMs * (0.5 + Math.random())));
        const s = performance.now();
        const c = await pool.connect();
        try {
          await c.query('begin');
          await c.query(
            `insert into base_snapshot values ($1, $2, '3.1.0', $3, 0, now()) on conflict (project_id) do update set seq = excluded.seq, snapshot = excluded.snapshot, updated_at = now()`,
            [`p${p}`, seq, snapshot],
          );
          await c.query(`insert into base_project values ($1, 'executing', $2, $3, now()) on conflict (id) do update set status = excluded.status, seq = excluded.seq, updated_at = now()`, [`p${p}`, status, seq]);
          await c.query('commit');
        } finally {
          c.release();
        }
        lat.push(performance.now() - s);
        if (s >= steadyFrom) steady.push(performance.now() - s);
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  await pool.end();
  return { transitions: lat.length, perSec: lat.length / secs, p50: pct(lat, 50), p99: pct(lat, 99), steadyP99: pct(steady, 99), steadyN: steady.length };
}

const db = pglite ? null : await scratchDb('benchpersist');
const dataDir = mkdtempSync(join(tmpdir(), 'bench-persist-'));
try {
  const r = await runner(db?.url, dataDir);
  const fmt = (x: { transitions: number; perSec: number; p50: number; p99: number }) =>
    `${x.transitions} transitions, ${x.perSec.toFixed(0)}/s, p50 ${x.p50.toFixed(2)} ms, p99 ${x.p99.toFixed(2)} ms`;
  process.stdout.write(`runner (${pglite ? 'embedded PGlite' : 'Postgres'}, ${projects} projects × ${tasks} tasks, step delay ${delayMs} ms): ${fmt(r)}, ${r.batches} transactions (${(r.transitions / r.batches).toFixed(1)} transitions/tx)\n`);
  if (db) {
    const b = await baseline(db.url, Math.round(r.transitions / projects));
    process.stdout.write(`raw pg baseline (1 tx per transition, pool 4): ${fmt(b)}\n`);
    process.stdout.write(`ratio runner/baseline: p99 ${(r.p99 / b.p99).toFixed(2)}×, throughput ${(r.perSec / b.perSec).toFixed(2)}×\n`);
    process.stdout.write(`steady state (after the first second): runner p99 ${r.steadyP99.toFixed(2)} ms (${r.steadyN}), baseline p99 ${b.steadyP99.toFixed(2)} ms (${b.steadyN}), ratio ${(r.steadyP99 / b.steadyP99).toFixed(2)}×\n`);
  }
} finally {
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
