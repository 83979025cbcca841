/**
 * Restore benchmark: 10,000 persisted projects, each in `executing` with a step that blocks;
 * time from boot start until all are restored and running, and heap per idle actor.
 *
 *   node --expose-gc --import tsx bench/restore.ts [projects=10000]   (BENCH_PGLITE=1 for embedded)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime } from '../src/actors/runtime.ts';
import { loadConfig } from '../src/infra/config.ts';
import { openDatabase } from '../src/infra/db/orm.ts';
import { silentLogger } from '../src/infra/logger.ts';
import { inState } from '../test/support/runtime.ts';
import { instantSteps, scratchDb } from './support.ts';

const n = Number(process.argv[2] ?? 10_000);
const pglite = process.env.BENCH_PGLITE === '1';
const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);

const db = pglite ? null : await scratchDb('benchrestore');
const dataDir = mkdtempSync(join(tmpdir(), 'bench-restore-'));
try {
  const config = loadConfig({ DATABASE_URL: db?.url, DEVTEAM_DATA_DIR: dataDir, DEVTEAM_MAX_CONCURRENT_STEPS: '1024' });
  // 1. One real project driven into executing (blocking), to get a genuine persisted snapshot.
  const seedRt = await createRuntime({ config, logger: silentLogger(), makeSteps: instantSteps(3, { blockIn: 'runAgent' }) });
  await seedRt.registry.initialize({ projectId: 'seed' });
  await inState(seedRt, 'seed', 'executing');
  await seedRt.close();
  const d = await openDatabase({ databaseUrl: db?.url, dataDir, logger: silentLogger() });
  const [row] = await d.query<{ snapshot: any; seq: string; status: any }>(`select s.snapshot, s.seq, p.status from actor_snapshot s join project p on p.id = s.project_id where p.id = 'seed'`);
  const ids = Array.from({ length: n }, (_, i) => `p-${i}`);
  for (let i = 0; i < n; i += 2000) {
    const chunk = ids.slice(i, i + 2000);
    const seedText = JSON.stringify(row!.snapshot);
    const snaps = chunk.map((id) => seedText.replaceAll('"seed"', JSON.stringify(id)));
    const stats = chunk.map((id) => JSON.stringify({ ...row!.status, projectId: id }));
    await d.query(`insert into project (id, config, state, seq, status) select id, '{}', 'executing', $2, st from unnest($1::text[], $3::jsonb[]) as u(id, st)`, [chunk, row!.seq, stats]);
    await d.query(`insert into actor_snapshot (project_id, seq, machine_version, snapshot) select id, $2, '3.1.0', s from unnest($1::text[], $3::jsonb[]) as u(id, s)`, [chunk, row!.seq, snaps]);
  }
  await d.close();

  // 2. Boot: restore everything.
  gc();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const rt = await createRuntime({ config, logger: silentLogger(), makeSteps: instantSteps(3, { blockIn: 'runAgent' }) });
  const restoredMs = performance.now() - t0;
  const running = [...rt.registry.hosts.values()].filter((h) => h.status().state === 'executing').length;
  gc();
  const heapPer = (process.memoryUsage().heapUsed - heap0) / rt.registry.hosts.size;
  process.stdout.write(
    `restore (${pglite ? 'embedded PGlite' : 'Postgres'}): ${rt.registry.hosts.size} projects restored in ${restoredMs.toFixed(0)} ms (incl. DB open + migrations check), ${running} executing; heap ≈ ${(heapPer / 1024).toFixed(1)} KB per actor\n`,
  );
  await rt.close();
} finally {
  await db?.drop();
  rmSync(dataDir, { recursive: true, force: true });
}
