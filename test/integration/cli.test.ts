/**
 * `devteam` spawned as a real process (bin/devteam.js) against a real server process
 * (test/support/serverChild.ts): every command's output and exit code — including unknown
 * projects (1), an unreachable server (2), bad flags (2 with a usage line), state conflicts (1),
 * `--json` that parses, `watch` following a project live to idle (0) and to halted/stopped (1),
 * and the bearer token from --token / DEVTEAM_API_TOKEN on REST and on the stream.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnTs, type Child } from '../support/child.ts';
import { tempDir } from '../support/db.ts';

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

const BIN = join(import.meta.dirname, '../../bin/devteam.js');
const CHILD = join(import.meta.dirname, '../support/serverChild.ts');
const TOKEN = 'cli-test-token-0123456789';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}
interface Running extends Promise<Run> {
  /** Resolves once stdout contains `text` (or matches it). */
  output(text: string | RegExp): Promise<void>;
}

function devteam(args: string[], env: Record<string, string> = {}): Running {
  const base = { ...process.env };
  delete base.DEVTEAM_URL;
  delete base.DEVTEAM_API_TOKEN;
  const proc = spawn(process.execPath, [BIN, ...args], { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters: Array<{ text: string | RegExp; resolve: () => void }> = [];
  const has = (t: string | RegExp) => (typeof t === 'string' ? stdout.includes(t) : t.test(stdout));
  proc.stdout.on('data', (d) => {
    stdout += d;
    for (const w of [...waiters]) if (has(w.text)) (waiters.splice(waiters.indexOf(w), 1), w.resolve());
  });
  proc.stderr.on('data', (d) => (stderr += d));
  const done = new Promise<Run>((resolve) => proc.on('close', (code) => resolve({ code, stdout, stderr })));
  return Object.assign(done, {
    output: (text: string | RegExp) =>
      has(text)
        ? Promise.resolve()
        : new Promise<void>((resolve, reject) => {
            waiters.push({ text, resolve });
            void done.then((r) => reject(new Error(`exited ${r.code} before printing ${JSON.stringify(text)}; stdout:\n${r.stdout}\nstderr:\n${r.stderr}`)));
          }),
  });
}

const lines = (s: string) => s.split('\n').filter(Boolean);

describe('devteam CLI against a real server', () => {
  let dir: { path: string; remove(): Promise<void> };
  let server: Child;
  let url: string;
  let down: string;
  const init = (id: string, ...extra: string[]) => ['init', id, '--url', url, '--repo', 'http://127.0.0.1:9/x.git', '--verify', 'sh -c "exit 0"', '--agent', 'script', '--sandbox', 'local', ...extra];

  beforeAll(async () => {
    dir = await tempDir('cli-');
    const port = await freePort();
    server = spawnTs(CHILD, { SC_PORT: String(port), SC_DATA_DIR: dir.path, SC_TASKS: '6', SC_BLOCK: 'blk:1.2:1', SC_BLOCK_ONCE: 'live:1.3:1', SC_FAIL: 'halts:1.2' });
    url = (await server.waitFor((l) => l.ev === 'ready', 'server ready')).url;
    down = `http://127.0.0.1:${await freePort()}`;
  });
  afterAll(async () => {
    server?.proc.kill('SIGKILL');
    await server?.exited;
    await dir?.remove();
  });

  it('usage: --help, bad flags, missing arguments, unknown commands → exit 2 with a usage line', async () => {
    const help = await devteam(['--help']);
    expect(help.code).toBe(0);
    for (const cmd of ['serve', 'init', 'status', 'pause', 'resume', 'stop', 'retry', 'skip', 'watch', 'demo']) expect(help.stdout).toContain(`devteam ${cmd}`);
    const cases: Array<[string[], RegExp]> = [
      [['status', '--bogus'], /^devteam: Unknown option '--bogus'$/],
      [['pause'], /^devteam: 'pause' needs a projectId$/],
      [['frobnicate'], /^devteam: unknown command 'frobnicate'$/],
      [['status', 'a', 'b'], /^devteam: unexpected argument 'b'$/],
      [['watch', 'x', '--repo', 'y'], /^devteam: option '--repo' is not valid for 'watch'$/],
      [['init', 'p', '--repo', 'http://x/y.git', '--agent', 'script'], /^devteam: init needs --verify$/],
      [['init', 'p', '--repo', 'http://x/y.git', '--verify', 'true', '--agent', 'robot'], /^devteam: --agent must be script, aider or command, got 'robot'$/],
      [['init', 'p', '--repo', 'http://x/y.git', '--verify', 'true', '--agent', 'command'], /^devteam: --agent command needs --agent-argv$/],
      [['watch', 'x', '--tail', 'many'], /^devteam: --tail must be an integer ≥ 1, got 'many'$/],
    ];
    const results = await Promise.all(cases.map(([args]) => devteam([...args, '--url', down])));
    results.forEach((r, i) => {
      expect(r.code, cases[i]![0].join(' ')).toBe(2);
      const err = lines(r.stderr);
      expect(err).toHaveLength(2);
      expect(err[0]).toMatch(cases[i]![1]);
      expect(err[1]).toMatch(/^usage: devteam /);
      expect(r.stdout).toBe('');
    });
  });

  it('server down → exit 2 with one "cannot reach" line, for REST commands and watch', async () => {
    const rs = await Promise.all([devteam(['status', '--url', down]), devteam(['pause', 'p', '--url', down]), devteam(['watch', 'p'], { DEVTEAM_URL: down })]);
    for (const r of rs) {
      expect(r.code).toBe(2);
      expect(lines(r.stderr)).toHaveLength(1);
      expect(r.stderr).toMatch(new RegExp(`^devteam: cannot reach DevTeam Runner at ${down.replace(/\./g, '\\.')}: .*ECONNREFUSED`));
    }
  });

  it('init, status (table, detail, --json), unknown project', async () => {
    const empty = await devteam(['status', '--url', url]);
    expect(empty).toMatchObject({ code: 0, stdout: 'no projects\n', stderr: '' });

    const created = await devteam(init('blk'));
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^blk: created; state initializing( \(initializing\.\w+\))?\n$/);
    const again = await devteam([...init('blk'), '--json']);
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ created: false, outcome: 'unchanged', status: { projectId: 'blk' } });

    const detail = await devteam(['status', 'blk'], { DEVTEAM_URL: url });
    expect(detail.code).toBe(0);
    expect(detail.stdout).toMatch(/^project {3}blk\nstate {5}\w+/);
    expect(detail.stdout).toMatch(/progress {2}\[[█░]{24}\] \d\/6 done/);
    const one = JSON.parse((await devteam(['status', 'blk', '--json', '--url', url])).stdout);
    expect(one).toMatchObject({ projectId: 'blk', taskCounts: { total: 6 } });

    await devteam(init('halts'));
    const table = await devteam(['status', '--url', url]);
    expect(table.code).toBe(0);
    expect(lines(table.stdout)[0]).toMatch(/^PROJECT\s+STATE\s+TASK\s+PROGRESS\s+SEQ\s+UPDATED$/);
    expect(lines(table.stdout).slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['blk', 'halts']);
    const list = JSON.parse((await devteam(['status', '--json', '--limit', '1', '--url', url])).stdout);
    expect(list.map((s: { projectId: string }) => s.projectId)).toEqual(['blk', 'halts']);

    const unknown = await devteam(['status', 'nope', '--url', url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('devteam: 404 project nope not found\n');
    expect(unknown.stdout).toBe('');
    const bad = await devteam(init('Bad_Id'));
    expect(bad.code).toBe(1);
    expect(lines(bad.stderr)).toHaveLength(1);
    expect(bad.stderr).toMatch(/^devteam: 400 body\.projectId: /);
  });

  it('pause / resume / stop / retry / skip / delete: output, no-ops and state conflicts', async () => {
    // blk blocks forever in its 1.2 agent step; watch shows it live and exits 1 when it is stopped.
    const watch = devteam(['watch', 'blk', '--url', url]);
    await watch.output('blk: executing');
    const paused = await devteam(['pause', 'blk', '--url', url]);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/^paused blk; state paused \(executing\); \[[█░]+\] 1\/6 done \(5 left\); accepts RESUME, STOP\n$/);
    const noop = await devteam(['pause', 'blk', '--url', url]);
    expect(noop.stdout).toMatch(/^blk: already paused \(no change\)/);
    const conflict = await devteam(['retry', 'blk', '--url', url]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toBe('devteam: 409 RETRY is not accepted while project blk is paused (state paused; accepts RESUME, STOP)\n');
    const resumed = await devteam(['resume', 'blk', '--json', '--url', url]);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ noop: false, pending: false, status: { projectId: 'blk' } });
    const notStopped = await devteam(['delete', 'blk', '--url', url]);
    expect(notStopped.code).toBe(1);
    expect(notStopped.stderr).toMatch(/^devteam: 409 project blk is \w+; only a stopped project can be deleted/);
    const stopped = await devteam(['stop', 'blk', '--url', url]);
    expect(stopped.code).toBe(0);
    expect(stopped.stdout).toMatch(/^stopped blk; state stopped;/);
    const w = await watch;
    expect(w.code).toBe(1);
    expect(w.stdout).toContain('→ paused');
    expect(w.stdout).toMatch(/blk is stopped: \[[█░]+\] 1\/6 done/);
    expect((await devteam(['stop', 'blk', '--url', url])).stdout).toMatch(/^blk: already stopped \(no change\)/);
    expect(await devteam(['delete', 'blk', '--url', url])).toMatchObject({ code: 0, stdout: 'deleted blk\n' });
    expect((await devteam(['pause', 'blk', '--url', url])).stderr).toBe('devteam: 404 project blk not found\n');

    // halts: 1.2's verify always fails → halted; watch exits 1; retry halts again; skip → idle → watch exits 0.
    const h1 = await devteam(['watch', 'halts', '--url', url]);
    expect(h1.code).toBe(1);
    expect(h1.stdout).toMatch(/halts is halted: .* — .*verify of 1\.2 fails on purpose/);
    const retried = await devteam(['retry', 'halts', '--url', url]);
    expect(retried.code).toBe(0);
    expect(retried.stdout).toMatch(/^retrying halts; state \w+/);
    expect((await devteam(['watch', 'halts', '--url', url])).code).toBe(1);
    const skipped = await devteam(['skip', 'halts', '--url', url]);
    expect(skipped.code).toBe(0);
    expect(skipped.stdout).toMatch(/^skipped the halted task of halts; state \w+/);
    const h3 = await devteam(['watch', 'halts', '--json', '--url', url]);
    expect(h3.code).toBe(0);
    const events = lines(h3.stdout).map((l) => JSON.parse(l));
    expect(events.at(-1)).toMatchObject({ type: 'result', exitCode: 0, status: { state: 'idle', skippedTaskIds: ['1.2'], taskCounts: { done: 5, skipped: 1 } } });
  });

  it('watch follows a project live through pause/resume to idle → exit 0', async () => {
    await devteam(init('live'));
    const watch = devteam(['watch', 'live', '--url', url]);
    // The project blocks in 1.3's agent step until that step is aborted once (by PAUSE).
    // Either live (1.3's own lane transition) or, if 1.1/1.2 finished before watch subscribed, the summary line.
    await watch.output(/task 1\.3 started[^]*task 1\.3: \S+ → executing|live: executing(?: \([^)]*\))? · task 1\.3 /);
    await devteam(['pause', 'live', '--url', url]);
    await watch.output(/→ paused|live: paused/);
    await devteam(['resume', 'live', '--url', url]);
    const r = await watch;
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const out = r.stdout;
    for (const t of ['1.3', '1.4', '1.5', '1.6']) expect(out).toContain(`task ${t} completed (attempt 1)`);
    // Pause and resume as the project's and the blocked lane's transitions.
    expect(out).toMatch(/seq \d+ {2}\S+ → paused {2}\(PAUSE\)\n/);
    expect(out).toMatch(/seq \d+ {2}task 1\.3: executing → paused {2}\(PAUSE\)\n/);
    expect(out).toMatch(/seq \d+ {2}paused → \S+ {2}\(RESUME\)\n/);
    expect(out).toMatch(/seq \d+ {2}task 1\.3: paused → executing {2}\(RESUME\)\n/);
    // The project's `to` is its leaves joined by ','; its dispatch region goes selecting → idle after the last merge.
    expect(out).toMatch(/seq \d+ {2}task 1\.6: ready → done {2}\(MERGED\)\n/);
    expect(out).toMatch(/seq \d+ {2}\S*dispatch\.selecting\S* → \S*dispatch\.idle\S* {2}\(done\.selecting\)\n/);
    expect(out.trimEnd().split('\n').at(-1)).toBe('live is idle: [████████████████████████] 6/6 done');
  });
});

describe('devteam CLI with a bearer token', () => {
  let dir: { path: string; remove(): Promise<void> };
  let server: Child;
  let url: string;
  beforeAll(async () => {
    dir = await tempDir('cli-tok-');
    server = spawnTs(CHILD, { SC_PORT: String(await freePort()), SC_DATA_DIR: dir.path, SC_TASKS: '3', SC_TOKEN: TOKEN });
    url = (await server.waitFor((l) => l.ev === 'ready', 'server ready')).url;
  });
  afterAll(async () => {
    server?.proc.kill('SIGKILL');
    await server?.exited;
    await dir?.remove();
  });

  it('needs the token on REST and the stream; takes it from --token or DEVTEAM_API_TOKEN', async () => {
    const denied = await devteam(['status', '--url', url]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toBe('devteam: 401 a valid bearer token is required\n');
    const initArgs = ['init', 'tok', '--url', url, '--repo', 'http://127.0.0.1:9/x.git', '--verify', 'true', '--agent', 'script', '--sandbox', 'local'];
    expect((await devteam([...initArgs, '--token', TOKEN])).code).toBe(0);
    const watched = await devteam(['watch', 'tok', '--url', url], { DEVTEAM_API_TOKEN: TOKEN });
    expect(watched.code).toBe(0);
    expect(watched.stdout).toContain('tok is idle: [████████████████████████] 3/3 done');
  });
});
