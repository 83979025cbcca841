#!/usr/bin/env node
/**
 * Builds the dashboard: src/web/main.ts → dist/web/assets/app.js (+ app.css from
 * src/web/styles.css) and dist/web/index.html. Everything is bundled (no CDN). The statecharts
 * (project coordinator and task actor) are laid out here, in Node, from the current machine
 * definitions (scripts/chart-layout.ts, elkjs) and embedded as the module `devteam:statechart`;
 * elkjs itself never enters the bundle.
 *
 *   node scripts/build-web.mjs [--outdir dist/web] [--dev]
 *
 * Bare imports resolve from the project's node_modules; NODE_PATH (':'-separated) adds extra
 * lookup directories, e.g. a scratch install used before a package is added to package.json.
 */
import { mkdir, copyFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as esbuild from 'esbuild';
import { tsImport } from 'tsx/esm/api';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { outdir: { type: 'string', default: join(root, 'dist/web') }, dev: { type: 'boolean', default: false } } });
const outdir = resolve(values.outdir);
const assets = join(outdir, 'assets');
const nodePaths = (process.env.NODE_PATH ?? '').split(':').filter(Boolean);

await mkdir(assets, { recursive: true });
const started = Date.now();
const { chartLayout } = await tsImport('./chart-layout.ts', import.meta.url);
const { chart, summary } = await chartLayout();
process.stdout.write(`${summary}\n`);

/** `devteam:statechart` → the charts laid out above; elkjs → an error (it is build-time only). */
const statechart = {
  name: 'statechart',
  setup(build) {
    build.onResolve({ filter: /^devteam:statechart$/ }, (a) => ({ path: a.path, namespace: 'statechart' }));
    build.onLoad({ filter: /.*/, namespace: 'statechart' }, () => ({ contents: JSON.stringify(chart), loader: 'json' }));
    build.onResolve({ filter: /^elkjs(\/|$)/ }, (a) => ({ errors: [{ text: `${a.importer} imports elkjs: the statechart is laid out at build time, elkjs must stay out of the browser bundle` }] }));
  },
};
const result = await esbuild.build({
  entryPoints: [join(root, 'src/web/main.ts')],
  outfile: join(assets, 'app.js'),
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: ['es2022'],
  minify: !values.dev,
  sourcemap: values.dev ? 'inline' : 'linked',
  legalComments: 'linked',
  nodePaths,
  plugins: [statechart],
  define: { 'process.env.NODE_ENV': values.dev ? '"development"' : '"production"' },
  metafile: true,
  logLevel: 'warning',
});
await esbuild.build({
  entryPoints: [join(root, 'src/web/styles.css')],
  outfile: join(assets, 'app.css'),
  bundle: true,
  minify: !values.dev,
  logLevel: 'warning',
});
await copyFile(join(root, 'src/web/index.html'), join(outdir, 'index.html'));
// The embedded layouts, for inspection (and for the test that checks they are the current machines').
await writeFile(join(outdir, 'statechart.json'), JSON.stringify(chart) + '\n');
const bytes = Object.entries(result.metafile.outputs).reduce((n, [file, o]) => (file.endsWith('.js') ? n + o.bytes : n), 0);
await writeFile(join(outdir, 'build.json'), JSON.stringify({ builtAt: new Date().toISOString(), ms: Date.now() - started, bytes }, null, 2) + '\n');
process.stdout.write(`dashboard built in ${Date.now() - started} ms → ${outdir} (app.js ${Math.round(bytes / 1024)} KiB)\n`);
