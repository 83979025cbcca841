/**
 * `npm run bench`: the spine's benchmarks, each in its own process so they do not disturb each
 * other — persisted transitions beside a raw pg baseline (saturated and paced), and restore of
 * 10,000 projects (Postgres, then embedded PGlite). Other benches: bench/*.ts (see README).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const loader = `file://${join(import.meta.dirname, '../node_modules/tsx/dist/esm/index.mjs')}`;
const run = (args: string[], env: Record<string, string> = {}) => {
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', loader, ...args], { stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) process.exitCode = r.status ?? 1;
};
const only = process.argv[2];
if (!only || only === 'persist') {
  run([join(import.meta.dirname, 'persist.ts'), '200', '5', '0']);
  run([join(import.meta.dirname, 'persist.ts'), '400', '5', '100']);
  run([join(import.meta.dirname, 'persist.ts'), '200', '5', '0'], { BENCH_PGLITE: '1' });
}
if (!only || only === 'restore') {
  run([join(import.meta.dirname, 'restore.ts'), '10000']);
  run([join(import.meta.dirname, 'restore.ts'), '10000'], { BENCH_PGLITE: '1' });
}
