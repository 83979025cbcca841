/**
 * `devteam demo` spawned as a real process, to completion: its own git smart-HTTP server, an
 * in-process runner on embedded PGlite (port 0), the local sandbox and the script agent walk
 * the whole shipped task list (templates/demo_tasks_list.md). Checked with native git on the
 * served repository: every task merged, its change present, and the outcomes log holding one
 * filled entry per task.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOutcomes } from '../../src/domain/outcomesLog.ts';
import { parseTaskList } from '../../src/domain/taskList.ts';
import { tempDir } from '../support/db.ts';
import { nativeGit } from '../support/gitServer.ts';

const BIN = join(import.meta.dirname, '../../bin/devteam.js');
const TEMPLATE = join(import.meta.dirname, '../../templates/demo_tasks_list.md');
const SEED = '/work/shared/seeds/task_outcomes_log.md';

describe('devteam demo', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('the shipped task list has the seed’s task ids and dependencies', async () => {
    const demo = parseTaskList(await readFile(TEMPLATE, 'utf8'));
    const heads = (md: string) => [...md.matchAll(/^### (\d+\.\d+) .*\(Dependencies: ([^)]*)\)$/gm)].map((m) => `${m[1]} ${m[2]}`);
    const seed = await readFile(SEED, 'utf8').catch(() => null);
    if (seed) expect(heads(await readFile(TEMPLATE, 'utf8'))).toEqual(heads(seed));
    expect(demo.tasks).toHaveLength(29);
    expect(demo.tasks.every((t) => /```sh\n/.test(t.body))).toBe(true);
  });

  it('runs every task to done, with one filled outcomes entry per task in the repository', async () => {
    const data = await tempDir('demo-');
    cleanups.push(data.remove);
    const env = { ...process.env };
    delete env.DEVTEAM_URL;
    delete env.DATABASE_URL;
    const proc = spawn(process.execPath, [BIN, 'demo', '--port', '0', '--data-dir', data.path, '--json'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    proc.stdout.on('data', (d) => (stdout += d));
    proc.stderr.on('data', (d) => (stderr += d));
    const closed = new Promise<number | null>((resolve) => proc.on('close', resolve));
    // If the test fails or times out: stop the demo before its data dir goes, and show where it was.
    cleanups.push(async () => {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGKILL');
      await closed;
      console.error(`demo killed; last output:\n${stdout.trim().split('\n').slice(-15).join('\n')}\n${stderr}`);
    });
    const code = await closed;
    expect(stderr).toBe('');
    expect(code).toBe(0);

    const events = stdout.trim().split('\n').map((l) => JSON.parse(l));
    const intro = events.find((e) => e.type === 'demo');
    expect(intro).toMatchObject({ external: false, projectId: 'demo', dashboard: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/) });
    const result = events.find((e) => e.type === 'demo-result');
    expect(result).toMatchObject({ allDone: true, state: 'idle', taskCounts: { total: 29, done: 29, skipped: 0, remaining: 0 } });
    console.info(`demo: all 29 tasks done ${result.seconds} s after start`);
    const completed = events.filter((e) => e.type === 'task' && e.payload.event === 'completed').map((e) => e.payload.taskId);
    expect(new Set(completed).size).toBe(completed.length);

    const clone = await tempDir('demo-clone-');
    cleanups.push(clone.remove);
    await nativeGit(clone.path, 'clone', '-q', intro.repoPath, 'c');
    const c = join(clone.path, 'c');
    const list = parseTaskList(await readFile(TEMPLATE, 'utf8')).tasks;
    const tasks = list.map((t) => t.id);
    const log = await readFile(join(c, 'ai_docs/tasks/task_outcomes.md'), 'utf8');
    const entries = parseOutcomes(log);
    expect([...entries.values()].filter((e) => e.filled).map((e) => e.taskId).sort()).toEqual([...tasks].sort());
    for (const id of tasks) expect(log.match(new RegExp(`^### ${id.replace('.', '\\.')} `, 'gm')), `one section for ${id}`).toHaveLength(1);
    expect(log.match(/^- Timestamp: \d{4}-\d{2}-\d{2}T/gm)).toHaveLength(tasks.length);
    // The tasks' changes are on main once each, every task after the tasks it depends on (three lanes
    // run independent tasks at once, so siblings may land in any order).
    const subjects = (await nativeGit(c, 'log', '--reverse', '--first-parent', '--format=%s', 'main')).trim().split('\n');
    const landed = subjects.map((s) => /^(\d+\.\d+) /.exec(s)?.[1]).filter((id): id is string => !!id);
    expect([...landed].sort()).toEqual([...tasks].sort());
    for (const t of list) for (const dep of t.dependencies) expect(landed.indexOf(dep), `${dep} lands before ${t.id}`).toBeLessThan(landed.indexOf(t.id));
    expect(await readFile(join(c, 'docs/rollback.md'), 'utf8')).toContain('# Rollback');
    expect((await readFile(join(c, 'src/api/routes.js'), 'utf8')).trim().split('\n')).toHaveLength(5);
  }, 1_800_000); // a safety net against a hang, not a pass criterion: 29 tasks through three lanes, real git and a local sandbox
});
