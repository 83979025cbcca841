/**
 * The dashboard in a real browser against a real runner: the demo's embedded runner (PGlite,
 * local sandbox, script agent, WebSocket stream, API token) and its git smart-HTTP server with
 * the demo repository. Two charts: the project coordinator and the task actor of a lane.
 *
 * 1. One lane: task 1.1 waits for a gate file so the test can watch its lane `executing` on the
 *    task chart, pause, resume, then open the gate and watch the lane walk executing → verifying →
 *    ready → done while the project's merge train integrates and records, until the project is idle.
 * 2. Parallelism 2: after 1.1, tasks 1.2 and 1.3 run side by side — 1.2 waits for a gate, 1.3
 *    fails until a flag file is removed, so its lane halts; the lanes panel shows both, the halted
 *    one with its error and RETRY / SKIP, and RETRY sends `{ "taskId": "1.3" }`.
 *
 * Chromium is Debian's (scripts/install-chromium.sh) driven by playwright-core; screenshots go to
 * test-artifacts/.
 */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
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
 * The demo's Phase 1 only (3 tasks: the test watches whole walks, not the machine's speed on 29),
 * with a shell prelude put in front of some tasks' sh blocks (e.g. waiting for a gate file, so the
 * test decides when the task finishes).
 */
function phase1(fullList: string, preludes: Record<string, string>): string {
  const cut = fullList.indexOf('\n## Phase 2');
  let taskList = cut < 0 ? fullList : fullList.slice(0, cut + 1);
  for (const [id, prelude] of Object.entries(preludes)) {
    const at = taskList.indexOf('```sh\n', taskList.indexOf(`### ${id} `));
    if (at < 0) throw new Error(`demo task list has no sh block for ${id}`);
    taskList = taskList.slice(0, at + 6) + prelude + taskList.slice(at + 6);
  }
  return taskList;
}
const waitFor = (file: string) => `while [ ! -e '${file}' ]; do sleep 0.1; done\n`;
const failWhile = (file: string) => `if [ -e '${file}' ]; then echo "told to fail by ${file}"; exit 1; fi\n`;

describe.skipIf(!!skip)('dashboard in Chromium against a real runner', () => {
  let browser: Browser;
  let page: Page;
  let runner: EmbeddedRunner;
  let git: GitHttpServer;
  let repoUrl = '';
  let teamRepoUrl = '';
  let gate = '';
  let teamGate = '';
  let failFlag = '';
  const cleanups: Array<() => Promise<unknown>> = [];
  const shot = (name: string) => page.screenshot({ path: join(ARTIFACTS, `dashboard-${name}.png`) });
  /** The leaves highlighted as active on a chart (comma-joined for the project's parallel regions). */
  const canvas = (chart: 'project' | 'task') => `.chart-canvas[data-chart="${chart}"]`;
  const activeNode = (chart: 'project' | 'task') => page.locator(canvas(chart)).getAttribute('data-active');
  const waitActive = (chart: 'project' | 'task', node: string, timeout = 300_000) =>
    page.waitForFunction(`document.querySelector('${canvas(chart)}')?.dataset.active === ${JSON.stringify(node)}`, null, { timeout });
  const run = (dispatch: string, train: string) => `active.running.dispatch.${dispatch},active.running.train.${train}`;
  /** Record every value a chart's `data-active` takes from now on (in window.__seen[chart]). */
  const recordActive = (chart: 'project' | 'task') =>
    page.evaluate(`(() => {
      const c = document.querySelector('${canvas(chart)}');
      window.__seen = window.__seen || {};
      const seen = (window.__seen['${chart}'] = [c.dataset.active]);
      new MutationObserver(() => { if (seen[seen.length - 1] !== c.dataset.active) seen.push(c.dataset.active); })
        .observe(c, { attributes: true, attributeFilter: ['data-active'] });
    })()`);
  const button = (cmd: string) => page.locator(`button[data-command="${cmd}"]`);
  /** Wait until no CSS animation (fired edge, entered node) is still running. */
  const animationsDone = () => page.waitForFunction(`document.getAnimations().every((a) => a.playState !== 'running')`);
  /**
   * At this viewport: every state's box lies inside the chart panel's canvas and every text of the
   * chart renders ≥ 11 px; for the project chart, without scrolling anything, with the canvas
   * inside the window (the task chart's panel is further down the page).
   */
  const checkChartFits = async (width: number, height: number, chart: 'project' | 'task' = 'project') => {
    await page.setViewportSize({ width, height });
    await page.waitForFunction(`(() => { const c = document.querySelector('${canvas(chart)}').getBoundingClientRect(); return c.width > 0 && c.right <= ${width}; })()`);
    if (chart === 'task') await page.locator(canvas(chart)).scrollIntoViewIfNeeded();
    const r = (await page.evaluate(`(() => {
      const canvas = document.querySelector('${canvas(chart)}');
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
    if (chart === 'project') {
      expect(r.scrolled).toBe(0);
      expect(r.canvas.top).toBeGreaterThanOrEqual(0);
      expect(r.canvas.bottom).toBeLessThanOrEqual(height);
    }
    expect(r.canvas.left).toBeGreaterThanOrEqual(0);
    expect(r.canvas.right).toBeLessThanOrEqual(width);
    expect(r.states.length).toBeGreaterThanOrEqual(chart === 'project' ? 20 : 11);
    for (const s of r.states) {
      expect({ id: s.id, inside: s.left >= r.canvas.left && s.top >= r.canvas.top && s.right <= r.canvas.right && s.bottom <= r.canvas.bottom }).toEqual({ id: s.id, inside: true });
    }
    expect(r.fonts.length).toBeGreaterThan(20);
    for (const f of r.fonts) expect({ chart, text: f.text, legible: f.px >= 11 }).toEqual({ chart, text: f.text, legible: true });
    await animationsDone();
    await shot(`${chart}-chart-${width}`);
    await page.evaluate(`document.querySelector('.main').scrollTop = 0`);
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
    teamGate = join(dir.path, 'team-gate');
    failFlag = join(dir.path, 'fail-1.3');
    await writeFile(failFlag, 'fail');
    git = await startGitHttpServer({ root: join(dir.path, 'git') });
    cleanups.push(() => git.close());
    const files = await sampleRepoFiles();
    const list = files[DEFAULT_TASK_LIST_PATH]!;
    repoUrl = await git.createRepo('demo-e2e', { ...files, [DEFAULT_TASK_LIST_PATH]: phase1(list, { '1.1': waitFor(gate) }) });
    teamRepoUrl = await git.createRepo('team-e2e', { ...files, [DEFAULT_TASK_LIST_PATH]: phase1(list, { '1.2': waitFor(teamGate), '1.3': failWhile(failFlag) }) });
    runner = await startEmbeddedRunner({ dataDir: join(dir.path, 'runner'), port: 0, token: TOKEN });
    cleanups.push(() => runner.close());
    browser = await launchChromium();
    cleanups.push(() => browser.close());
    page = await browser.newPage({ viewport: { width: 1600, height: 1100 } });
  }, 600_000);

  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  /** Fill and submit the init form. */
  const initialize = async (projectId: string, url: string, parallelism?: number) => {
    if (!(await page.locator('.init-form').isVisible())) await page.locator('.init-panel summary').click();
    await page.fill('input[name=projectId]', projectId);
    await page.fill('input[name=repoUrl]', url);
    await page.fill('input[name=branch]', 'main');
    await page.fill('input[name=verify]', 'sh verify.sh');
    await page.selectOption('select[name=agentKind]', 'script');
    await page.selectOption('select[name=sandbox]', 'local');
    if (parallelism) await page.fill('input[name=parallelism]', String(parallelism));
    await page.locator('.init-form button[type=submit]').click();
    await page.waitForSelector(`.prow[data-id="${projectId}"]`);
  };
  const pageErrors: string[] = [];

  it('initializes the demo through the form, pauses, resumes and follows it to idle', async () => {
    page.on('pageerror', (e) => pageErrors.push(e.message));
    // The token arrives once in the query, then lives in sessionStorage (and leaves the URL).
    await page.goto(`${runner.url}/?token=${TOKEN}`);
    await page.waitForSelector('.conn[data-conn="open"]');
    expect(new URL(page.url()).search).toBe('');
    await page.waitForSelector('svg.statechart [data-state="active.initializing.syncingRepo"]');
    // Every state of both machines is on its diagram.
    for (const id of ['active', 'active.initializing', 'active.running', 'active.running.dispatch.selecting', 'active.running.train.integrating', 'paused', 'halted', 'stopping', 'stopped']) {
      expect(await page.locator(`${canvas('project')} svg [data-state="${id}"]`).count()).toBe(1);
    }
    for (const id of ['active', 'active.preparing', 'active.executing', 'active.verifying', 'active.ready', 'paused', 'halted', 'done', 'skipped', 'stopped']) {
      expect(await page.locator(`${canvas('task')} svg [data-state="${id}"]`).count()).toBe(1);
    }
    await shot('empty');

    await initialize('demo', repoUrl);

    // Task 1.1 runs (and waits for the gate): its lane is executing on the task chart, the
    // dispatcher watches, the train waits; PAUSE enabled.
    await waitActive('task', 'active.executing');
    expect(await page.locator(canvas('task')).getAttribute('data-task')).toBe('1.1');
    await waitActive('project', run('watching', 'waiting'));
    expect(await page.locator(`${canvas('project')} [data-state="active.running"]`).getAttribute('class')).toContain('is-ancestor');
    await expect.poll(() => page.locator('dd[data-field=task]').textContent()).toContain('1.1');
    await expect.poll(() => page.locator('.lane[data-task="1.1"]').getAttribute('data-state')).toBe('executing');
    expect(await page.locator('.lane[data-task="1.1"] dd[data-field=attempt]').textContent()).toBe('1');
    expect(await page.locator('.lane[data-task="1.1"] .lane-actions').isVisible()).toBe(false);
    await expect.poll(() => button('PAUSE').isEnabled()).toBe(true);
    expect(await button('RESUME').isEnabled()).toBe(false);
    await shot('executing');

    // The charts fit their panels, legibly, at laptop and desktop sizes (task 1.1 waits meanwhile).
    await checkChartFits(1280, 720);
    await checkChartFits(1440, 900);
    await checkChartFits(1280, 720, 'task');
    // Zoom and pan: buttons and keyboard; "Fit" returns to the whole chart.
    const zoom = async () => Number(await page.locator(canvas('project')).getAttribute('data-zoom'));
    expect(await zoom()).toBe(1);
    await page.locator('.chart-project .chart-zoom-in').click();
    expect(await zoom()).toBeGreaterThan(1);
    await page.locator('.chart-project .chart-fit').click();
    expect(await zoom()).toBe(1);
    await page.locator(canvas('project')).focus();
    await page.keyboard.press('+');
    expect(await zoom()).toBeGreaterThan(1);
    await page.keyboard.press('0');
    expect(await zoom()).toBe(1);
    await page.setViewportSize({ width: 1600, height: 1100 });

    await button('PAUSE').click();
    await waitActive('project', 'paused');
    await waitActive('task', 'paused');
    await expect.poll(() => button('RESUME').isEnabled()).toBe(true);
    expect(await button('PAUSE').isEnabled()).toBe(false);
    expect(await button('RETRY').isEnabled()).toBe(false);
    expect(await page.locator('dd[data-field=state]').textContent()).toBe('paused (1 lane)');
    expect(await page.locator(`${canvas('project')} [data-state="paused"]`).getAttribute('class')).toContain('is-active');
    expect(await page.locator(`${canvas('project')} [data-state="active.running.dispatch.watching"]`).getAttribute('class')).toContain('is-resume');
    expect(await page.locator('.prow[data-id="demo"]').getAttribute('data-state')).toBe('paused');
    await shot('paused');

    // Record every active leaf from here on, then resume and open the gate.
    await recordActive('project');
    await recordActive('task');
    await button('RESUME').click();
    await waitActive('task', 'active.executing');
    await expect.poll(() => button('RESUME').isEnabled()).toBe(false);
    expect(await button('PAUSE').isEnabled()).toBe(true);
    await shot('resumed');

    await writeFile(gate, 'go');
    await waitActive('project', run('idle', 'waiting'));
    await expect.poll(() => page.locator('.prow[data-id="demo"] .prow-count').textContent()).toMatch(/^(\d+)\/\1$/);
    expect(await page.locator('.lane').count()).toBe(0);
    await animationsDone(); // let the highlight's CSS fade finish for the picture
    await shot('idle');
    await page.locator('.log-panel').scrollIntoViewIfNeeded();
    expect(await page.locator('.logtail div').count()).toBeGreaterThan(0);
    await shot('idle-log');

    // The timeline has the lanes' transitions (task column) and the project's (changed leaves only).
    const timeline = await page.locator('.timeline tbody').textContent();
    expect(timeline).toContain('active.executing → active.verifying');
    expect(timeline).toContain('active.verifying → active.ready');
    expect(timeline).toContain('active.ready → done');
    expect(timeline).toContain('active.running.train.waiting → active.running.train.integrating');
    expect(timeline).toContain('active.running.train.integrating → active.running.train.recording');
    const seen = (await page.evaluate('window.__seen')) as { project: string[]; task: string[] };
    const inOrder = (list: string[], order: string[]) => {
      const at = order.map((n) => list.findIndex((x) => x === n));
      expect({ list, at: at.every((i) => i >= 0) && [...at].sort((a, b) => a - b).join() === at.join() }).toEqual({ list, at: true });
    };
    inOrder(seen.task, ['active.executing', 'active.verifying', 'active.ready', 'done']);
    inOrder(seen.project, [run('watching', 'integrating'), run('watching', 'recording'), run('idle', 'waiting')]);
    // The last transitions are drawn as fired on the diagrams.
    expect(await page.locator(`${canvas('project')} .sc-edge.fired`).count()).toBeGreaterThan(0);
    expect(await page.locator(`${canvas('task')} .sc-edge.fired`).count()).toBeGreaterThan(0);
    expect(await activeNode('project')).toBe(run('idle', 'waiting'));
    expect(pageErrors).toEqual([]);
  }, 900_000);

  it('shows two lanes side by side with parallelism 2, a halted one with RETRY / SKIP that name its task', async () => {
    const bodies: string[] = [];
    page.on('request', (r) => {
      if (r.method() === 'POST' && /\/api\/devteam\/automation\/(retry|skip)\//.test(r.url())) bodies.push(`${r.url().replace(/^.*automation/, '')} ${r.postData() ?? ''}`);
    });
    await page.setViewportSize({ width: 1600, height: 1100 });
    await initialize('team', teamRepoUrl, 2);
    await page.locator('.prow[data-id="team"]').click();
    // 1.1 alone (1.2 and 1.3 depend on it), then 1.2 and 1.3 side by side: 1.2 waits for its gate,
    // 1.3 fails three times (1 + 2 retries) and its lane halts.
    await page.waitForSelector('.lane[data-task="1.3"][data-state="halted"]', { timeout: 300_000 });
    await expect.poll(() => page.locator('.lane[data-task="1.2"]').getAttribute('data-state'), { timeout: 60_000 }).toBe('executing');
    expect(await page.locator('.lanes .lane').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.task))).toEqual(['1.2', '1.3']);
    const [a, b] = await page.locator('.lanes .lane').evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON() as { top: number; left: number; right: number }));
    expect(b!.top).toBe(a!.top); // side by side
    expect(b!.left).toBeGreaterThanOrEqual(a!.right);
    expect(await page.locator('.lanes-count').textContent()).toBe('2 in flight');
    const halted = page.locator('.lane[data-task="1.3"]');
    expect(await halted.locator('dd[data-field=attempt]').textContent()).toBe('3');
    expect(await halted.locator('dd[data-field=since]').textContent()).toMatch(/^\d\d:\d\d:\d\d/);
    expect(await halted.locator('.lane-error').textContent()).toMatch(/\S/);
    expect(await halted.locator('button[data-lane-command="RETRY"]').isEnabled()).toBe(true);
    expect(await halted.locator('button[data-lane-command="SKIP"]').isEnabled()).toBe(true);
    expect(await page.locator('.lane[data-task="1.2"] .lane-actions').isVisible()).toBe(false);
    // The task chart shows the lane picked in the panel.
    await halted.click();
    await expect.poll(() => page.locator(canvas('task')).getAttribute('data-task')).toBe('1.3');
    await waitActive('task', 'halted');
    await page.locator('.lane[data-task="1.2"]').click();
    await waitActive('task', 'active.executing');
    expect(await page.locator(canvas('task')).getAttribute('data-task')).toBe('1.2');
    await shot('team-lanes');

    // RETRY on the halted lane names its task; 1.3 then passes and waits for (or goes through) the merge train.
    await rm(failFlag);
    await halted.locator('button[data-lane-command="RETRY"]').click();
    await expect.poll(() => bodies).toEqual(['/retry/team {"taskId":"1.3"}']);
    await expect.poll(() => page.locator('.lane[data-task="1.3"]').count(), { timeout: 300_000 }).toBe(0);
    expect(await page.evaluate(`window.devteam.store.getSnapshot().context.projects.team.status.completedTaskIds`)).toEqual(['1.1', '1.3']);

    await writeFile(teamGate, 'go');
    await waitActive('project', run('idle', 'waiting'));
    await expect.poll(() => page.locator('.prow[data-id="team"] .prow-count').textContent()).toBe('3/3');
    expect(await page.locator('.lane').count()).toBe(0);
    expect(await page.locator('.merge-queue').getAttribute('data-queue')).toBe('');
    await shot('team-idle');
    expect(pageErrors).toEqual([]);
  }, 900_000);
});
