/**
 * The local sandbox: the shared behavioural suite, plus what only a host-process
 * sandbox can show (process groups, pid files, kill-on-boot) and the line/tail plumbing.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, readlink, realpath, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/infra/logger.ts';
import { createLineSplitter, TailBuffer } from '../../src/infra/sandbox/lines.ts';
import { createLocalSandbox } from '../../src/infra/sandbox/local.ts';
import { SandboxError } from '../../src/infra/sandbox/types.ts';
import { MY_PID, sandboxSuite } from '../support/sandboxSuite.ts';

const make = (workspaceDir: string, extra: { pidDir?: string } = {}) =>
  createLocalSandbox({
    kind: 'local',
    projectId: 'suite',
    workspaceDir,
    defaultImage: 'unused',
    logger: silentLogger(),
    killGraceMs: 500,
    ...extra,
  });

sandboxSuite('local sandbox', async (ws) => make(ws), {
  isAlive: async (_sb, pidFile, ws) => running(await readFile(path.join(ws, pidFile), 'utf8')),
});

/**
 * The host pid of the process MY_PID described (`<pid> <pid namespace inode>`: its number in
 * its own PID namespace, and that namespace), or null when no such process exists any more.
 */
async function hostPid(me: string): Promise<number | null> {
  const [nsPid, ns] = me.trim().split(/\s+/);
  if (!nsPid || !ns) throw new Error(`not a MY_PID value: ${JSON.stringify(me)}`);
  for (const d of await readdir('/proc')) {
    if (!/^\d+$/.test(d) || (await readlink(`/proc/${d}/ns/pid`).catch(() => '')) !== `pid:[${ns}]`) continue;
    const status = await readFile(`/proc/${d}/status`, 'utf8').catch(() => '');
    if (/^NSpid:.*$/m.exec(status)?.[0].trim().split(/\s+/).at(-1) === nsPid) return Number(d);
  }
  return null;
}

/** Whether the process MY_PID described still runs (and is not a zombie). */
async function running(me: string): Promise<boolean> {
  const pid = await hostPid(me);
  return pid !== null && processRunning(pid);
}

/** Alive and not a zombie (orphans may never be reaped by pid 1 in some containers). */
async function processRunning(pid: number): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  return stat === null ? true : stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

/** Resolves with the first line of `stream` matching `re`. */
function firstLine(stream: NodeJS.ReadableStream, re: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    stream.on('data', (d: Buffer) => {
      buf += d.toString();
      const line = buf.split('\n').find((l) => re.test(l));
      if (line) resolve(line);
    });
    stream.on('end', () => reject(new Error(`stream ended without a line matching ${re}: ${buf}`)));
  });
}

describe('local sandbox: process groups and pid files', () => {
  let ws: string;
  beforeEach(async () => {
    ws = await mkdtemp(path.join(tmpdir(), 'devteam-local-'));
    await mkdir(path.join(ws, '.git'));
  });
  afterEach(async () => {
    await rm(ws, { recursive: true, force: true });
  });

  it('abort kills the whole group, including background children', async () => {
    const sb = make(ws);
    const ac = new AbortController();
    let child = '';
    const r = await sb.exec(['sh', '-c', `sh -c '${MY_PID}; echo $me > child.pid; exec sleep 300' & until [ -s child.pid ]; do sleep 0.05; done; echo "child $(cat child.pid)"; echo leader; wait`], {
      signal: ac.signal,
      onLine: (_s, line) => {
        if (line.startsWith('child ')) child = line.slice(6);
        if (line === 'leader') ac.abort();
      },
    });
    expect(r.aborted).toBe(true);
    // SIGTERM to the group: the leader (unshare) dies of it, or forwards it and reports the
    // script's death by SIGTERM as 128+15 — either way the command ended on the abort's SIGTERM.
    expect(r.signal === 'SIGTERM' || r.exitCode === 143, `signal ${r.signal}, exit ${r.exitCode}`).toBe(true);
    expect(child).toMatch(/^\d+ \d+$/);
    expect(await running(child)).toBe(false);
  });

  it('a background process left behind by a finished command is killed too', async () => {
    const sb = make(ws);
    const r = await sb.exec(['sh', '-c', `sh -c '${MY_PID}; echo $me; exec sleep 300' > out.txt 2>&1 & until [ -s out.txt ]; do sleep 0.05; done; cat out.txt`]);
    expect(r.exitCode).toBe(0);
    expect(await running(r.stdoutTail)).toBe(false);
  });

  it('records running groups under runner/pids and removes the file when done', async () => {
    const sb = make(ws);
    const pidDir = path.join(ws, 'runner', 'pids');
    let listed: string[] = [];
    const r = await sb.exec(['sh', '-c', `echo started; until [ -e go ]; do sleep 0.05; done`], {
      onLine: () => {
        // The record is written right after spawn; wait for it, then let the command finish.
        const poll = async (): Promise<void> => {
          listed = await readdir(pidDir).catch(() => []);
          // Written atomically (a .tmp file, then rename): wait for the record itself.
          if (!listed.some((f) => f.endsWith('.json'))) return void setTimeout(poll, 10);
          await writeFile(path.join(ws, 'go'), '');
        };
        void poll();
      },
      timeoutMs: 30_000,
    });
    expect(r.exitCode).toBe(0);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatch(/^\d+\.json$/);
    expect(await readdir(pidDir)).toEqual([]);
  });

  it("ensure() kills a group a previous (kill -9'd) incarnation left running", async () => {
    const pidDir = path.join(ws, 'custom-pids');
    await mkdir(pidDir);
    // Stand-in for a group started by a dead runner: its own process group, still running.
    const orphan = spawn('sh', ['-c', 'sleep 300 & echo "member $!"; wait'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    const memberPid = Number((await firstLine(orphan.stdout!, /^member /)).slice(7));
    const startTime = (await readFile(`/proc/${orphan.pid}/stat`, 'utf8').catch(() => null))
      ?.split(') ')[1]
      .split(' ')[19];
    const bootId = (await readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => null))?.trim() ?? null;
    await writeFile(
      path.join(pidDir, `${orphan.pid}.json`),
      JSON.stringify({ pgid: orphan.pid, startTime: startTime ?? null, bootId, owner: 999999, program: 'sh', startedAt: new Date().toISOString() }),
    );
    const exited = once(orphan, 'exit');

    const sb = make(ws, { pidDir });
    expect(await sb.ensure()).toEqual({ id: 'local-suite', created: true });
    const [, signal] = await exited;
    expect(signal).toBe('SIGKILL');
    expect(await processRunning(memberPid)).toBe(false);
    expect(await readdir(pidDir)).toEqual([]);
  });

  it('ensure() leaves a stale pid file alone when the pid now belongs to another process', async () => {
    const pidDir = path.join(ws, 'pids');
    await mkdir(pidDir);
    const bystander = spawn('sh', ['-c', 'echo up; exec sleep 300'], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
    await firstLine(bystander.stdout!, /^up$/);
    await writeFile(
      path.join(pidDir, `${bystander.pid}.json`),
      JSON.stringify({ pgid: bystander.pid, startTime: '1', bootId: null, owner: 999999, program: 'x', startedAt: '' }),
    );
    try {
      await make(ws, { pidDir }).ensure();
      expect(await processRunning(bystander.pid!)).toBe(true);
      expect(await readdir(pidDir)).toEqual([]);
    } finally {
      process.kill(-bystander.pid!, 'SIGKILL');
    }
  });

  it('remove() kills running commands of this project', async () => {
    const sb = make(ws);
    const running = sb.exec(['sh', '-c', 'echo started; while :; do sleep 1; done'], {
      onLine: (_s, line) => void (line === 'started' && sb.remove()),
    });
    const r = await running;
    expect(r.signal).toBe('SIGKILL');
  });

  it('reports a signal death, a missing cwd and a cwd escaping the workspace', async () => {
    const sb = make(ws);
    // Like `docker exec`, a process killed by signal N exits 128+N (the namespace's init reports it).
    expect(await sb.exec(['sh', '-c', 'kill -9 $$'])).toMatchObject({ exitCode: 137, oom: false });
    await expect(sb.exec(['true'], { cwd: 'nope' })).rejects.toBeInstanceOf(SandboxError);
    await expect(sb.exec(['true'], { cwd: '../..' })).rejects.toThrow(/outside the workspace/);
    await expect(sb.exec([])).rejects.toBeInstanceOf(SandboxError);
  });

  it('ensure() fails clearly when the workspace does not exist', async () => {
    await expect(make(path.join(ws, 'missing')).ensure()).rejects.toMatchObject({ code: 'not_found' });
  });
});

describe('line splitter and tail buffer', () => {
  it('splits across chunks, handles CRLF and multi-byte characters cut mid-sequence', () => {
    const lines: string[] = [];
    const s = createLineSplitter((l) => lines.push(l));
    const bytes = Buffer.from('héllo\r\nwörld\npartial €');
    for (let i = 0; i < bytes.length; i++) s.push(bytes.subarray(i, i + 1));
    s.flush();
    s.flush();
    expect(lines).toEqual(['héllo', 'wörld', 'partial €']);
  });

  it('emits an endless line in bounded pieces', () => {
    const lines: string[] = [];
    const s = createLineSplitter((l) => lines.push(l), { maxLineChars: 10 });
    s.push('x'.repeat(25));
    s.push('\n');
    s.flush();
    expect(lines).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
  });

  it('keeps only the last capBytes and counts everything', () => {
    const t = new TailBuffer(8);
    for (let i = 0; i < 1000; i++) t.push(`line${i}\n`);
    expect(t.toString()).toBe('\nline999\n'.slice(-8));
    expect(t.totalBytes).toBe(Array.from({ length: 1000 }, (_, i) => `line${i}\n`.length).reduce((a, b) => a + b, 0));
    const big = new TailBuffer(4);
    big.push(Buffer.alloc(1_000_000, 'a'));
    big.push('€'); // 3 bytes: the tail is 'a' + '€', the cut never splits a character
    expect(big.toString()).toBe('a€');
    expect(big.truncated).toBe(true);
  });
});

describe('processes of a step never outlive the runner', () => {
  let ws: string;
  beforeEach(async () => {
    ws = await realpath(await mkdtemp(path.join(tmpdir(), 'devteam-orphans-')));
  });
  afterEach(async () => {
    await rm(ws, { recursive: true, force: true });
  });

  /** A script that daemonizes a grandchild into its own session (setsid), which records its MY_PID. */
  const DAEMON = `setsid sh -c '${MY_PID}; echo $me > daemon.pid; exec sleep 300' < /dev/null > /dev/null 2>&1 & sleep 300`;

  async function runAndKill(env: Record<string, string>): Promise<string> {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '../support/sandboxChild.ts'), ws, DAEMON], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await firstLine(child.stdout!, /^ready$/);
    const pidFile = path.join(ws, 'daemon.pid');
    while (!(await readFile(pidFile, 'utf8').catch(() => '')).trim()) await new Promise((r) => setTimeout(r, 20));
    const daemon = (await readFile(pidFile, 'utf8')).trim();
    expect(await running(daemon)).toBe(true);
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
    return daemon;
  }

  it('a SIGKILLed runner takes a setsid daemon of its step with it (PID namespace + parent-death signal)', async () => {
    const daemon = await runAndKill({});
    // The kernel kills the namespace when its init dies; poll until it has.
    while (await running(daemon)) await new Promise((r) => setTimeout(r, 20));
    expect(await running(daemon)).toBe(false);
  });

  it('a runner with another data dir never kills a live runner\'s processes of a project with the same id', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '../support/sandboxChild.ts'), ws, DAEMON], {
      env: { ...process.env, DEVTEAM_PROCESS_CONTAINMENT: 'none' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = once(child, 'exit');
    let daemon = '';
    try {
      await firstLine(child.stdout!, /^ready$/);
      const pidFile = path.join(ws, 'daemon.pid');
      while (!(await readFile(pidFile, 'utf8').catch(() => '')).trim()) await new Promise((r) => setTimeout(r, 20));
      daemon = (await readFile(pidFile, 'utf8')).trim();
      const other = await realpath(await mkdtemp(path.join(tmpdir(), 'devteam-other-')));
      try {
        const sb = make(other); // same projectId ('suite'), another workspace and pid directory
        expect((await sb.exec(['true'])).exitCode).toBe(0); // its first exec sweeps
        await sb.ensure();
        expect(await running(daemon)).toBe(true);
      } finally {
        await rm(other, { recursive: true, force: true });
      }
    } finally {
      child.kill('SIGKILL');
      await exited;
      const pid = daemon ? await hostPid(daemon) : null;
      try {
        if (pid !== null) process.kill(pid, 'SIGKILL'); // no containment: the daemon outlives its runner
      } catch {
        /* gone */
      }
    }
  });

  it('without namespaces, the next runner kills what the dead one left before it runs anything', async () => {
    const daemon = await runAndKill({ DEVTEAM_PROCESS_CONTAINMENT: 'none' });
    expect(await running(daemon)).toBe(true); // nothing took it down
    const pid = await hostPid(daemon);
    try {
      const sb = make(ws);
      const r = await sb.exec(['true']); // the first exec of a new runner's sandbox sweeps first
      expect(r.exitCode).toBe(0);
      expect(await running(daemon)).toBe(false);
    } finally {
      try {
        if (pid !== null) process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });
});
