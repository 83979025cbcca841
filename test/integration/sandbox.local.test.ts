/**
 * The local sandbox: the shared behavioural suite, plus what only a host-process
 * sandbox can show (process groups, pid files, kill-on-boot) and the line/tail plumbing.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/infra/logger.ts';
import { createLineSplitter, TailBuffer } from '../../src/infra/sandbox/lines.ts';
import { createLocalSandbox } from '../../src/infra/sandbox/local.ts';
import { SandboxError } from '../../src/infra/sandbox/types.ts';
import { sandboxSuite } from '../support/sandboxSuite.ts';

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

sandboxSuite('local sandbox', async (ws) => make(ws));

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
    let childPid = 0;
    const r = await sb.exec(['sh', '-c', 'sleep 300 & echo "child $!"; echo "leader $$"; wait'], {
      signal: ac.signal,
      onLine: (_s, line) => {
        if (line.startsWith('child ')) childPid = Number(line.slice(6));
        if (line.startsWith('leader ')) ac.abort();
      },
    });
    expect(r.aborted).toBe(true);
    expect(r.signal).toBe('SIGTERM');
    expect(childPid).toBeGreaterThan(1);
    expect(await processRunning(childPid)).toBe(false);
  });

  it('a background process left behind by a finished command is killed too', async () => {
    const sb = make(ws);
    const r = await sb.exec(['sh', '-c', 'sleep 300 > /dev/null 2>&1 & echo $!']);
    expect(r.exitCode).toBe(0);
    expect(await processRunning(Number(r.stdoutTail.trim()))).toBe(false);
  });

  it('records running groups under runner/pids and removes the file when done', async () => {
    const sb = make(ws);
    const pidDir = path.join(ws, 'runner', 'pids');
    let listed: string[] = [];
    const r = await sb.exec(['sh', '-c', `echo $$; until [ -e go ]; do sleep 0.05; done`], {
      onLine: (_s, line) => {
        // The record is written right after spawn; wait for it, then let the command finish.
        const poll = async (): Promise<void> => {
          listed = await readdir(pidDir).catch(() => []);
          if (!listed.includes(`${line}.json`)) return void setTimeout(poll, 10);
          await writeFile(path.join(ws, 'go'), '');
        };
        void poll();
      },
      timeoutMs: 30_000,
    });
    expect(r.exitCode).toBe(0);
    expect(listed).toContain(`${r.stdoutTail.trim()}.json`);
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
    expect(await sb.exec(['sh', '-c', 'kill -9 $$'])).toMatchObject({ exitCode: null, signal: 'SIGKILL', oom: false });
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
