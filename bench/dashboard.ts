/**
 * Dashboard benchmark: 1,000 projects and 100 envelopes/s (bench/dashboardServer.ts speaks the
 * real REST/WS contract), the built dashboard in headless Chromium (playwright-core), measured
 * over a window with a Chrome trace (frames, renderer main-thread busy time) and CDP
 * Performance metrics (script time). Goal: ≥ 30 fps and < 300 ms/s scripting.
 *
 *   npm run build:web && tsx bench/dashboard.ts [--projects 1000] [--rate 100] [--seconds 10]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { launchChromium } from '../test/e2e/chromium.ts';
import { startFakeDashboardServer } from './dashboardServer.ts';

const { values } = parseArgs({
  options: {
    projects: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '100' },
    seconds: { type: 'string', default: '10' },
    web: { type: 'string', default: resolve(import.meta.dirname, '../dist/web') },
    out: { type: 'string', default: resolve(import.meta.dirname, '../test-artifacts') },
  },
});
const projects = Number(values.projects);
const rate = Number(values.rate);
const seconds = Number(values.seconds);

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  args?: { name?: string };
}

/** Total length of the union of [start, end) intervals (nested trace events counted once). */
function unionMs(spans: Array<[number, number]>): number {
  spans.sort((x, y) => x[0] - y[0]);
  let total = 0;
  let end = -Infinity;
  for (const [s, e] of spans) {
    if (e <= end) continue;
    total += e - Math.max(s, end);
    end = e;
  }
  return total / 1000;
}

const SCRIPT_EVENTS = new Set(['FunctionCall', 'EvaluateScript', 'TimerFire', 'FireAnimationFrame', 'EventDispatch', 'v8.callFunction', 'RunMicrotasks']);

/** Renderer main thread (CrRendererMain): busy time, script time and frames, per second of trace. */
function analyzeTrace(json: string) {
  const events = (JSON.parse(json) as { traceEvents: TraceEvent[] }).traceEvents;
  const mains = new Set(events.filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
  const busy: Array<[number, number]> = [];
  const script: Array<[number, number]> = [];
  let frames = 0;
  let t0 = Infinity;
  let t1 = 0;
  for (const e of events) {
    if (e.ph === 'M' || !(e.ts > 0)) continue;
    t0 = Math.min(t0, e.ts);
    t1 = Math.max(t1, e.ts + (e.dur ?? 0));
    if (e.name === 'DrawFrame') frames++;
    if (e.ph !== 'X' || !mains.has(`${e.pid}:${e.tid}`)) continue;
    const span: [number, number] = [e.ts, e.ts + (e.dur ?? 0)];
    if (e.name === 'RunTask' || e.name === 'ThreadControllerImpl::RunTask') busy.push(span);
    if (SCRIPT_EVENTS.has(e.name)) script.push(span);
  }
  const spanS = (t1 - t0) / 1e6;
  return { spanS, busyMsPerS: unionMs(busy) / spanS, scriptMsPerS: unionMs(script) / spanS, drawFramesPerS: frames / spanS };
}

const server = await startFakeDashboardServer({ webDir: values.web, projects, rate });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  await page.goto(server.url);
  await page.waitForFunction((n) => (window as any).devteam?.store.getSnapshot().context.ids.length >= n, projects, { timeout: 60_000 });
  await page.evaluate(() => (window as any).devteam.chartReady);
  await page.waitForTimeout(2000); // warm-up: snapshots applied, JIT warm
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Performance.enable');
  const metrics = async () => Object.fromEntries(((await cdp.send('Performance.getMetrics')) as { metrics: Array<{ name: string; value: number }> }).metrics.map((m) => [m.name, m.value]));
  // In-page frame counter (rAF callbacks actually delivered).
  // (A string: tsx would wrap a named inner function with a helper the page does not have.)
  await page.evaluate('window.__frames = 0; (function tick() { window.__frames++; requestAnimationFrame(tick); })()');
  // Window 1, untraced: frames delivered to rAF and CDP Performance metrics.
  const m0 = await metrics();
  const f0 = (await page.evaluate('window.__frames')) as number;
  const e0 = (await page.evaluate('window.devteam.store.getSnapshot().context.envelopes')) as number;
  const sent0 = server.sent;
  const started = performance.now();
  await page.waitForTimeout(seconds * 1000);
  const elapsed = (performance.now() - started) / 1000;
  const m1 = await metrics();
  const f1 = (await page.evaluate('window.__frames')) as number;
  const e1 = (await page.evaluate('window.devteam.store.getSnapshot().context.envelopes')) as number;
  const sent1 = server.sent;
  // Window 2, traced (tracing itself costs main-thread time, so it gets its own window).
  await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline.frame', 'toplevel'] });
  await page.waitForTimeout(seconds * 1000);
  const trace = analyzeTrace((await browser.stopTracing()).toString('utf8'));
  await mkdir(values.out, { recursive: true });
  await page.screenshot({ path: join(values.out, 'bench-dashboard.png') });
  const d = (k: string) => ((m1[k] ?? 0) - (m0[k] ?? 0)) / elapsed;
  const result = {
    projects,
    targetRate: rate,
    envelopesSentPerS: (sent1 - sent0) / elapsed,
    envelopesAppliedPerS: (e1 - e0) / elapsed,
    fps: (f1 - f0) / elapsed,
    scriptMsPerS: d('ScriptDuration') * 1000,
    taskMsPerS: d('TaskDuration') * 1000,
    layoutMsPerS: d('LayoutDuration') * 1000,
    styleMsPerS: d('RecalcStyleDuration') * 1000,
    trace,
    jsHeapMB: (m1.JSHeapUsedSize ?? 0) / 1048576,
    domNodes: m1.Nodes,
  };
  await writeFile(join(values.out, 'bench-dashboard.json'), JSON.stringify(result, null, 2) + '\n');
  const f = (n: number) => n.toFixed(1);
  process.stdout.write(
    [
      `dashboard bench: ${projects} projects, ${f(result.envelopesSentPerS)} envelopes/s sent, ${f(result.envelopesAppliedPerS)}/s applied, ${f(elapsed)} s window`,
      `  fps (rAF):                  ${f(result.fps)}   (goal ≥ 30)`,
      `  scripting (CDP):            ${f(result.scriptMsPerS)} ms/s   (goal < 300)`,
      `  main-thread busy (trace):   ${f(trace.busyMsPerS)} ms/s; script in trace ${f(trace.scriptMsPerS)} ms/s; DrawFrame ${f(trace.drawFramesPerS)}/s`,
      `  layout ${f(result.layoutMsPerS)} ms/s, style ${f(result.styleMsPerS)} ms/s, task ${f(result.taskMsPerS)} ms/s`,
      `  JS heap ${f(result.jsHeapMB)} MB, DOM nodes ${result.domNodes}`,
      `  ${result.fps >= 30 && result.scriptMsPerS < 300 ? 'PASS' : 'FAIL'}`,
    ].join('\n') + '\n',
  );
} finally {
  await browser.close();
  await server.close();
}
