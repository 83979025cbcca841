#!/usr/bin/env node
// Build the dashboard (dist/web) when it is missing or older than its sources, so `npm start`
// serves it at / with no separate build step.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const out = 'dist/web/index.html';
const newest = (dir) =>
  readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
    const p = join(dir, e.name);
    return Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }, 0);
const sources = Math.max(newest('src/web'), newest('src/machines'), newest('src/domain'));
if (!existsSync(out) || statSync(out).mtimeMs < sources) {
  process.stderr.write('devteam: building the dashboard (dist/web)…\n');
  execFileSync(process.execPath, ['scripts/build-web.mjs'], { stdio: 'inherit' });
}
