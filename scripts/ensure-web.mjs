#!/usr/bin/env node
// Build the dashboard (dist/web) when it is missing or older than its sources, so `npm start`
// serves it at / and `npm test` tests it, with no separate build step.
// `--check`: build nothing; exit 1 when the bundle is missing or stale.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

process.chdir(join(dirname(fileURLToPath(import.meta.url)), '..'));
const out = 'dist/web/index.html';
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }, 0);
const sources = Math.max(newest('src/web'), newest('src/machines'), newest('src/domain'), statSync('scripts/build-web.mjs').mtimeMs);
const stale = !existsSync(out) || statSync(out).mtimeMs < sources;
if (process.argv.includes('--check')) {
  if (stale) process.stderr.write(`${out} is ${existsSync(out) ? 'older than its sources' : 'missing'}\n`);
  process.exit(stale ? 1 : 0);
}
if (stale) {
  process.stderr.write('devteam: building the dashboard (dist/web)…\n');
  execFileSync(process.execPath, ['scripts/build-web.mjs'], { stdio: 'inherit' });
}
