/**
 * The dashboard bundle as built by scripts/build-web.mjs: its script stays small (the statecharts
 * are laid out at build time, so elkjs is not in it, nor the machine definitions or xstate) and the
 * layouts it embeds — the project coordinator's and the task actor's — are the ones the current
 * machine definitions produce: they are regenerated on every build, never stale.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { layoutCharts } from '../../src/web/layout.ts';

const ROOT = resolve(import.meta.dirname, '../..');
/** First-load budget for the dashboard's script. */
const MAX_APP_JS = 300 * 1024;

describe('dashboard bundle', () => {
  let out = '';
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'devteam-web-'));
    await promisify(execFile)(process.execPath, [join(ROOT, 'scripts/build-web.mjs'), '--outdir', out], { cwd: ROOT });
  }, 120_000);
  afterAll(() => rm(out, { recursive: true, force: true }));

  it(`keeps app.js under ${MAX_APP_JS / 1024} KiB, without elkjs`, async () => {
    const js = join(out, 'assets/app.js');
    expect((await stat(js)).size).toBeLessThanOrEqual(MAX_APP_JS);
    const text = await readFile(js, 'utf8');
    expect(text).not.toContain('org.eclipse.elk');
    expect(text).toContain('data-state');
    // The charts are data: the page needs neither the machines nor xstate to draw and follow them.
    const map = JSON.parse(await readFile(`${js}.map`, 'utf8')) as { sources: string[] };
    expect(map.sources.filter((s) => /src\/machines\/|node_modules\/xstate\//.test(s))).toEqual([]);
  });

  it('embeds the layouts of the current machine definitions (project and task)', async () => {
    const embedded = JSON.parse(await readFile(join(out, 'statechart.json'), 'utf8'));
    expect(Object.keys(embedded).sort()).toEqual(['project', 'task']);
    expect(embedded).toEqual(JSON.parse(JSON.stringify(await layoutCharts())));
  }, 120_000);
});
