/**
 * The dashboard in a real browser against a real runner: the demo's embedded runner (PGlite,
 * local sandbox, script agent, WebSocket stream, API token) and its git smart-HTTP server with
 * the demo repository. Task 1.1 waits for a gate file so the test can watch `executing`, pause,
 * resume, then open the gate and watch the project walk executing → verifying → integrating →
 * recording → … → idle. Chromium is Debian's (scripts/install-chromium.sh) driven by
 * playwright-core; screenshots go to test-artifacts/.
 */
import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedRunner, type EmbeddedRunner } from '../../src/demo/embedded.ts';
import { startGitHttpServer, type GitHttpServer } from '../../src/demo/gitHttpServer.ts';
import { sampleRepoFiles } from '../../src/demo/sampleRepo.ts';
import { DEFAULT_TASK_LIST_PATH } from '../../src/domain/projectConfig.ts';
import { tempDir } from '../support/db.ts';
import { launchChromium, requireChromium } from './chromium.ts';

const ROOT = resolve(import.meta.dirname, '../..');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const TOKEN = 'dash_' + 'k3Jv9Qx2Lm7Rt4Wz';
const skip = requireChromium();

/**
 * The demo's Phase 1 only (3 tasks: the test watches one task's whole walk, not the machine's speed
 * on 29), and task 1.1's sh block first waits for `gate`, so the test decides when it finishes.
 */
function gated(fullList: string, gate: string): string {
  const cut = fullList.indexOf('\n## Phase 2');
  const taskList = cut < 0 ? fullList : fullList.slice(0, cut + 1);
  const wait = `while [ ! -e '${gate}' ]; do sleep 0.1; done\n`;
  const at = taskList.indexOf('```sh\n', taskList.indexOf('### 1.1 '));
  if (at < 0) throw new Error('demo task list has no sh block for 1.1');
  return taskList.slice(0, at + 6) + wait + taskList.slice(at + 6);
}

describe.skipIf(!!skip)('dashboard in Chromium against a real runner', () => {
  let browser: Browser;
  let page: Page;
  let runner: EmbeddedRunner;
  let git: GitHttpServer;
  let repoUrl = '';
  let gate = '';
  const cleanups: Array<() => Promise<unknown>> = [];
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`) });
  /** The node highlighted as active on the diagram. */
  const activeNode = () => page.locator('.chart-canvas').getAttribute('data-active');
  const waitActive = (node: string, timeout = 300_000) =>
    page.waitForFunction(`document.querySelector('.chart-canvas')?.dataset.active === ${JSON.stringify(node)}`, null, { timeout });
  const button = (cmd: string) => page.locator(`button[data-command="${cmd}"]`);
  /** Wait until no CSS animation (fired edge, entered node) is still running. */
  const animationsDone = () => page.waitForFunction(`document.getAnimations().every((a) => a.playState !== 'running')`);
  /**
   * At this viewport, without scrolling anything: every state's box lies inside the chart
   * panel's canvas, the canvas inside the window, and every text of the chart renders ≥ 11 px.
   */
  const checkChartFits = async (width: number, height: number) => {
    await page.setViewportSize({ width, height });
    await page.waitForFunction(`(() => { const c = document.querySelector('.chart-canvas').getBoundingClientRect(); return c.width > 0 && c.right <= ${width}; })()`);
    const r = (await page.evaluate(`(() => {
      const canvas = document.querySelector('.chart-canvas');
      const c = canvas.getBoundingClientRect();
      const svg = canvas.querySelector('svg.statechart');
      const scale = svg.getScreenCTM().a;
      const states = [...svg.querySelectorAll('[data-state]')].map((n) => {
        const b = n.getBoundingClientRect();
        return { id: n.getAttribute('data-state'), left: b.left, top: b.top, right: b.right, bottom: b.bottom };
      });
      const fonts = [...svg.querySelectorAll('text')].map((t) => ({ text: t.textContent, px: parseFloat(getComputedStyle(t).fontSize) * scale }));
      return { canvas: { left: c.left, top: c.top, right: c.right, bottom: c.bottom }, states, fonts,
        scrolled: document.scrollingElement.scrollTop + document.querySelector('.main').scrollTop + canvas.scrollTop };
    })()`)) as {
      canvas: { left: number; top: number; right: number; bottom: number };
      states: Array<{ id: string; left: number; top: number; right: number; bottom: number }>;
      fonts: Array<{ text: string; px: number }>;
      scrolled: number;
    };
    expect(r.scrolled).toBe(0);
    expect(r.canvas.left).toBeGreaterThanOrEqual(0);
    expect(r.canvas.top).toBeGreaterThanOrEqual(0);
    expect(r.canvas.right).toBeLessThanOrEqual(width);
    expect(r.canvas.bottom).toBeLessThanOrEqual(height);
    expect(r.states.length).toBeGreaterThanOrEqual(19);
    for (const s of r.states) {
      expect({ id: s.id, inside: s.left >= r.canvas.left && s.top >= r.canvas.top && s.right <= r.canvas.right && s.bottom <= r.canvas.bottom }).toEqual({ id: s.id, inside: true });
    }
    expect(r.fonts.length).toBeGreaterThan(20);
    for (const f of r.fonts) expect({ text: f.text, legible: f.px >= 11 }).toEqual({ text: f.text, legible: true });
    await animationsDone();
    await shot(`chart-${width}`);
  };

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    // Built by `npm test`'s pretest (scripts/ensure-web.mjs), never inside this hook.
    await promisify(execFile)(process.execPath, [join(ROOT, 'scripts/ensure-web.mjs'), '--check'], { cwd: ROOT, env: process.env }).catch((err) => {
      throw new Error(`the dashboard bundle is missing or older than src/web: run npm run build:web (${(err as { stderr?: string }).stderr?.trim() ?? err})`);
    });
    const dir = await tempDir('devteam-e2e-');
    cleanups.push(dir.remove);
    gate = join(dir.path, 'gate');
    git = await startGitHttpServer({ root: join(dir.path, 'git') });
    cleanups.push(() => git.close());
    const files = await sampleRepoFiles();
    files[DEFAULT_TASK_LIST_PATH] = gated(files[DEFAULT_TASK_LIST_PATH]!, gate);
    repoUrl = await git.createRepo('demo-e2e', files);
    runner = await startEmbeddedRunner({ dataDir: join(dir.path, 'runner'), port: 0, token: TOKEN });
    cleanups.push(() => runner.close());
    browser = await launchChromium();
    cleanups.push(() => browser.close());
    page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
  }, 600_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it('initializes the demo through the form, pauses, resumes and follows it to idle', async () => {
    const pageErrors: string[] = [];
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // The token arrives once in the query, then lives in sessionStorage (and leaves the URL).
    await page.goto(`${runner.url}/?token=${TOKEN}`);
    await page.waitForSelector('.conn[data-conn="open"]');
    expect(new URL(page.url()).search).toBe('');
    await page.waitForSelector('svg.statechart [data-state="active.initializing.syncingRepo"]');
    // Every state of the machine is on the diagram.
    for (const id of ['active', 'active.initializing', 'active.executing', 'active.verifying', 'paused', 'halted', 'stopping', 'stopped']) {
      expect(await page.locator(`svg.statechart [data-state="${id}"]`).count()).toBe(1);
    }
    await shot('empty');

    await page.locator('.init-panel summary').click();
    await page.fill('input[name=projectId]', 'demo');
    await page.fill('input[name=repoUrl]', repoUrl);
    await page.fill('input[name=branch]', 'main');
    await page.fill('input[name=verify]', 'sh verify.sh');
    await page.selectOption('select[name=agentKind]', 'script');
    await page.selectOption('select[name=sandbox]', 'local');
    await page.locator('.init-form button[type=submit]').click();
    await page.waitForSelector('.prow[data-id="demo"]');

    // Task 1.1 runs (and waits for the gate): executing, highlighted, PAUSE enabled.
    await waitActive('active.executing');
    await expect.poll(() => page.locator('dd[data-field=task]').textContent()).toContain('1.1');
    await expect.poll(() => button('PAUSE').isEnabled()).toBe(true);
    expect(await button('RESUME').isEnabled()).toBe(false);
    await shot('executing');

    // The chart fits the panel, legibly, at laptop and desktop sizes (task 1.1 waits meanwhile).
    await checkChartFits(1280, 720);
    await checkChartFits(1440, 900);
    // Zoom and pan: buttons and keyboard; "Fit" returns to the whole chart.
    const zoom = async () => Number(await page.locator('.chart-canvas').getAttribute('data-zoom'));
    expect(await zoom()).toBe(1);
    await page.locator('.chart-zoom-in').click();
    expect(await zoom()).toBeGreaterThan(1);
    await page.locator('.chart-fit').click();
    expect(await zoom()).toBe(1);
    await page.locator('.chart-canvas').focus();
    await page.keyboard.press('+');
    expect(await zoom()).toBeGreaterThan(1);
    await page.keyboard.press('0');
    expect(await zoom()).toBe(1);
    await page.setViewportSize({ width: 1600, height: 1100 });

    await button('PAUSE').click();
    await waitActive('paused');
    await expect.poll(() => button('RESUME').isEnabled()).toBe(true);
    expect(await button('PAUSE').isEnabled()).toBe(false);
    expect(await button('RETRY').isEnabled()).toBe(false);
    expect(await page.locator('dd[data-field=state]').textContent()).toBe('paused (executing)');
    expect(await page.locator('svg.statechart [data-state="paused"]').getAttribute('class')).toContain('is-active');
    expect(await page.locator('svg.statechart [data-state="active.executing"]').getAttribute('class')).toContain('is-resume');
    expect(await page.locator('.prow[data-id="demo"]').getAttribute('data-state')).toBe('paused');
    await shot('paused');

    // Record every active node from here on, then resume and open the gate.
    await page.evaluate(`(() => {
      const c = document.querySelector('.chart-canvas');
      window.__seen = [c.dataset.active];
      new MutationObserver(() => { if (window.__seen[window.__seen.length - 1] !== c.dataset.active) window.__seen.push(c.dataset.active); })
        .observe(c, { attributes: true, attributeFilter: ['data-active'] });
    })()`);
    await button('RESUME').click();
    await waitActive('active.executing');
    await expect.poll(() => button('RESUME').isEnabled()).toBe(false);
    expect(await button('PAUSE').isEnabled()).toBe(true);
    await shot('resumed');

    await writeFile(gate, 'go');
    await waitActive('active.idle');
    await expect.poll(() => page.locator('.prow[data-id="demo"] .prow-count').textContent()).toMatch(/^(\d+)\/\1$/);
    await animationsDone(); // let the highlight's CSS fade finish for the picture
    await shot('idle');
    await page.locator('.log-panel').scrollIntoViewIfNeeded();
    expect(await page.locator('.logtail div').count()).toBeGreaterThan(0);
    await shot('idle-log');

    const timeline = await page.locator('.timeline tbody').textContent();
    expect(timeline).toContain('active.executing → active.verifying');
    expect(timeline).toContain('active.verifying → active.integrating');
    expect(timeline).toContain('active.recording → active.selecting');
    const seen = (await page.evaluate('window.__seen')) as string[];
    const order = ['active.executing', 'active.verifying', 'active.integrating', 'active.recording', 'active.selecting'];
    const firstAt = order.map((n) => seen.indexOf(n));
    expect(firstAt.every((i) => i >= 0)).toBe(true);
    expect([...firstAt].sort((a, b) => a - b)).toEqual(firstAt);
    // The last transition is drawn as fired on the diagram; the log tail has the runner's lines.
    expect(await page.locator('svg.statechart .sc-edge.fired').count()).toBeGreaterThan(0);
    expect(await activeNode()).toBe('active.idle');
    expect(pageErrors).toEqual([]);
  }, 900_000);
});
