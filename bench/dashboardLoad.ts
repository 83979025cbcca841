/**
 * Dashboard first-load benchmark: time from navigation start until the dashboard is usable
 * (the statechart is drawn with the selected project's active state highlighted), in headless
 * Chromium against the stand-in server (bench/dashboardServer.ts), for one or more builds of the
 * dashboard measured alternately in the same process, each load in a fresh browser context
 * (cold cache). The moment is taken in the page by a MutationObserver installed before any
 * script runs, so it needs no cooperation from the code under test and no polling interval.
 *
 *   tsx bench/dashboardLoad.ts [--web dist/web] [--web /tmp/other-build] [--runs 7] [--projects 1000]
 */
import { stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from '../test/e2e/chromium.ts';
import { startFakeDashboardServer, type FakeDashboardServer } from './dashboardServer.ts';

const { values } = parseArgs({
  options: {
    web: { type: 'string', multiple: true, default: [resolve(import.meta.dirname, '../dist/web')] },
    runs: { type: 'string', default: '7' },
    projects: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '0' },
    width: { type: 'string', default: '1280' },
    height: { type: 'string', default: '720' },
  },
});

/** Installed before the page's scripts: records when the chart first shows an active state. */
const PROBE = `(() => {
  const check = () => {
    const c = document.querySelector('.chart-canvas');
    return !!(c && c.dataset.active && c.querySelector('svg [data-state].is-active'));
  };
  const obs = new MutationObserver(() => {
    if (window.__usableAt === undefined && check()) { window.__usableAt = performance.now(); obs.disconnect(); }
  });
  obs.observe(document, { subtree: true, childList: true, attributes: true });
})()`;

interface Sample {
  usableMs: number;
  domContentLoadedMs: number;
  scriptMs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const dirs = (values.web as string[]).map((d) => resolve(d));
const runs = Number(values.runs);
const servers: FakeDashboardServer[] = [];
for (const d of dirs) servers.push(await startFakeDashboardServer({ webDir: d, projects: Number(values.projects), rate: Number(values.rate) }));
const browser = await launchChromium();
const samples: Sample[][] = dirs.map(() => []);
try {
  for (let r = 0; r < runs; r++) {
    for (let i = 0; i < dirs.length; i++) {
      const context = await browser.newContext({ viewport: { width: Number(values.width), height: Number(values.height) } });
      const page = await context.newPage();
      await page.addInitScript(PROBE);
      await page.goto(servers[i]!.url);
      await page.waitForFunction('window.__usableAt !== undefined', null, { timeout: 60_000 });
      const s = (await page.evaluate(`(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const js = performance.getEntriesByType('resource').find((e) => e.name.endsWith('/app.js'));
        return { usableMs: window.__usableAt, domContentLoadedMs: nav.domContentLoadedEventEnd, scriptMs: js ? js.responseEnd : -1 };
      })()`)) as Sample;
      samples[i]!.push(s);
      await context.close();
    }
  }
} finally {
  await browser.close();
  for (const s of servers) await s.close();
}

const f = (n: number) => n.toFixed(0).padStart(6);
const lines = [`dashboard first load: ${values.projects} projects, ${values.width}×${values.height}, ${runs} cold loads per build (medians, ms from navigation start)`];
const usable: number[] = [];
for (let i = 0; i < dirs.length; i++) {
  const bytes = (await stat(join(dirs[i]!, 'assets/app.js'))).size;
  const u = median(samples[i]!.map((s) => s.usableMs));
  usable.push(u);
  lines.push(
    `  ${dirs[i]}: app.js ${(bytes / 1024).toFixed(0)} KiB; app.js loaded ${f(median(samples[i]!.map((s) => s.scriptMs)))}; DOMContentLoaded ${f(median(samples[i]!.map((s) => s.domContentLoadedMs)))}; usable ${f(u)} (min ${f(Math.min(...samples[i]!.map((s) => s.usableMs)))}, max ${f(Math.max(...samples[i]!.map((s) => s.usableMs)))})`,
  );
}
if (usable.length > 1) lines.push(`  ratio usable[0] / usable[i]: ${usable.map((u) => (usable[0]! / u).toFixed(2)).join(', ')}`);
process.stdout.write(lines.join('\n') + '\n');
