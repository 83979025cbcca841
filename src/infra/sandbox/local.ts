/**
 * The local sandbox: runs commands as plain host processes in the project's workspace.
 * No isolation beyond a minimal environment — meant for development, CI and hosts
 * without a container engine.
 *
 * Processes never outlive the runner (../process/bound.ts): every exec runs as the init of its
 * own PID namespace with the parent-death signal set, so a SIGKILLed runner takes every process
 * of its steps with it — including ones a script moved to another process group or session.
 * Where namespaces are not available two fallbacks remain: every exec leads its own process group
 * (`detached: true`) whose id is recorded in a pid directory (default `<workspaceDir>/runner/pids`,
 * or `pidDir`), and every process carries DEVTEAM_SANDBOX_OWNER=<projectId>:<pid-dir hash>:<runner instance> in
 * its environment. Before the first exec of a sandbox object (a restarted runner re-running a
 * step) and in ensure(), groups recorded by another runner and processes marked by another,
 * dead runner instance of the same pid directory are killed.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../logger.ts';
import { containToRunnerLife } from '../process/bound.ts';
import { createLineSplitter, DEFAULT_TAIL_BYTES, TailBuffer } from './lines.ts';
import { SandboxError, type ExecOptions, type ExecResult, type Sandbox, type SandboxFactoryOptions } from './types.ts';

export interface LocalSandboxOptions extends SandboxFactoryOptions {
  /** Where running process-group ids are recorded (default `<workspaceDir>/runner/pids`). */
  pidDir?: string;
  /** Grace between SIGTERM and SIGKILL when a timeout/abort kills a group (default 2000 ms). */
  killGraceMs?: number;
}

/** Environment variables of the runner that a child inherits; everything else (secrets!) is dropped. */
const INHERITED_ENV = ['PATH', 'HOME', 'LANG'] as const;
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** Groups started by this process (any LocalSandbox instance); ensure() never kills these. */
const liveGroups = new Set<number>();
const BOOT_ID = readBootId();
/** This runner process's identity in the DEVTEAM_SANDBOX_OWNER marker. */
const INSTANCE = `${process.pid}-${Math.random().toString(36).slice(2, 10)}`;
const OWNER_ENV = 'DEVTEAM_SANDBOX_OWNER';

interface PidRecord {
  pgid: number;
  /** Leader start time (clock ticks since boot, /proc/<pid>/stat field 22) to detect pid reuse. */
  startTime: string | null;
  bootId: string | null;
  owner: number;
  program: string;
  startedAt: string;
}

export function createLocalSandbox(opts: LocalSandboxOptions): Sandbox {
  const workdir = path.resolve(opts.workspaceDir);
  const pidDir = path.resolve(opts.pidDir ?? path.join(workdir, 'runner', 'pids'));
  const grace = opts.killGraceMs ?? 2000;
  const log: Logger = opts.logger.child({ sandbox: 'local', projectId: opts.projectId });
  const mine = new Set<number>();
  let ensured = false;
  let swept: Promise<void> | null = null;
  /** Once per sandbox object: what a previous runner left behind goes before anything runs. */
  // The marker names the runner's pid directory too: two runners on one host (other data dirs)
  // hosting projects with the same id never kill each other's processes.
  const scope = createHash('sha256').update(pidDir).digest('hex').slice(0, 12);
  const marker = `${opts.projectId}:${scope}`;
  const sweepOnce = () => (swept ??= killRecorded(false).then(() => killMarked(marker, false, log)));

  const pidFile = (pgid: number): string => path.join(pidDir, `${pgid}.json`);

  async function record(pgid: number, program: string): Promise<void> {
    const rec: PidRecord = {
      pgid,
      startTime: (await readProcStat(pgid))?.startTime ?? null,
      bootId: BOOT_ID,
      owner: process.pid,
      program,
      startedAt: new Date().toISOString(),
    };
    await mkdir(pidDir, { recursive: true });
    // Atomic (write + rename): another runner's sweep never reads a half-written record.
    const tmp = `${pidFile(pgid)}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(rec));
    await rename(tmp, pidFile(pgid));
  }

  /** Kill recorded groups not started by this process (or all, for remove()), then drop their files. */
  async function killRecorded(includeOwn: boolean): Promise<void> {
    const names = await readdir(pidDir).catch(() => [] as string[]);
    for (const name of names.filter((n) => n.endsWith('.json'))) {
      const file = path.join(pidDir, name);
      const rec = await readFile(file, 'utf8').then(
        (t) => {
          try {
            return JSON.parse(t) as PidRecord;
          } catch {
            return null; // written by a runner that died mid-write (before records were atomic)
          }
        },
        () => null,
      );
      if (!rec || !Number.isInteger(rec.pgid) || rec.pgid <= 1) {
        await unlink(file).catch(() => undefined);
        continue;
      }
      if (liveGroups.has(rec.pgid) && !includeOwn) continue;
      if (await isSameGroup(rec)) {
        log.warn({ pgid: rec.pgid, program: rec.program, owner: rec.owner }, 'killing left-over process group');
        signalGroup(rec.pgid, 'SIGKILL');
        if (!(await waitGroupGone(rec.pgid, grace * 2))) log.error({ pgid: rec.pgid }, 'process group survived SIGKILL');
      }
      if (!liveGroups.has(rec.pgid)) await unlink(file).catch(() => undefined);
    }
  }

  async function resolveCwd(rel: string | undefined): Promise<string> {
    const abs = path.resolve(workdir, rel ?? '.');
    const inside = path.relative(workdir, abs);
    if (inside.startsWith('..') || path.isAbsolute(inside)) {
      throw new SandboxError(`cwd '${rel}' is outside the workspace`, 'exec_failed');
    }
    const st = await stat(abs).catch(() => null);
    if (!st?.isDirectory()) throw new SandboxError(`cwd '${rel ?? '.'}' does not exist in the workspace`, 'exec_failed');
    return abs;
  }

  async function exec(argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
    if (argv.length === 0 || !argv[0]) throw new SandboxError('exec needs a non-empty argv', 'exec_failed');
    const t0 = performance.now();
    const out = new TailBuffer(o.tailBytes ?? DEFAULT_TAIL_BYTES);
    const err = new TailBuffer(o.tailBytes ?? DEFAULT_TAIL_BYTES);
    const result = (r: Partial<ExecResult>): ExecResult => ({
      exitCode: null,
      signal: null,
      timedOut: false,
      aborted: false,
      oom: false,
      stdoutTail: out.toString(),
      stderrTail: err.toString(),
      outputBytes: out.totalBytes + err.totalBytes,
      durationMs: Math.round(performance.now() - t0),
      ...r,
    });
    if (o.signal?.aborted) return result({ aborted: true });
    const cwd = await resolveCwd(o.cwd);
    await sweepOnce();
    const env: Record<string, string> = { ...childEnv(o.env), [OWNER_ENV]: `${marker}:${INSTANCE}` };
    if (o.signal?.aborted) return result({ aborted: true }); // no await between here and the listener below

    let child: ReturnType<typeof spawn>;
    try {
      const [file, args] = containToRunnerLife(argv[0], argv.slice(1));
      child = spawn(file, args, { cwd, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (cause) {
      throw new SandboxError(`cannot start '${argv[0]}': ${(cause as Error).message}`, 'exec_failed', false, { cause });
    }
    const splitOut = createLineSplitter((l) => o.onLine?.('stdout', l));
    const splitErr = createLineSplitter((l) => o.onLine?.('stderr', l));
    child.stdout?.on('data', (b: Buffer) => (out.push(b), splitOut.push(b)));
    child.stderr?.on('data', (b: Buffer) => (err.push(b), splitErr.push(b)));

    const pgid = child.pid;
    if (pgid === undefined) {
      // spawn failed (ENOENT/EACCES): report like a shell would, not as an exception.
      const e = await new Promise<NodeJS.ErrnoException>((resolve) => child.once('error', resolve));
      const missing = e.code === 'ENOENT';
      const msg = missing
        ? `${argv[0]}: command not found (no such program on PATH=${env.PATH})`
        : `${argv[0]}: cannot execute (${e.code ?? e.message})`;
      err.push(`${msg}\n`);
      o.onLine?.('stderr', msg);
      return result({ exitCode: missing ? 127 : 126 });
    }
    child.on('error', (e) => log.warn({ err: e, pgid }, 'child process error'));
    liveGroups.add(pgid);
    mine.add(pgid);
    const recorded = record(pgid, argv[0]).catch((e) => log.warn({ err: e, pgid }, 'could not record process group'));
    log.debug({ pgid, program: argv[0], argc: argv.length }, 'exec started');

    let timedOut = false;
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    const terminate = (): void => {
      if (killTimer) return;
      signalGroup(pgid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(pgid, 'SIGKILL'), grace);
    };
    const timer = o.timeoutMs !== undefined ? setTimeout(() => ((timedOut = true), terminate()), o.timeoutMs) : undefined;
    const onAbort = (): void => {
      if (!timedOut) aborted = true;
      terminate();
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });

    let closeFallback: NodeJS.Timeout | undefined;
    const [exitCode, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => {
      child.once('exit', () => {
        // The leader is gone: kill what it left in its group so nothing lingers or holds our pipes
        // (unless a timeout/abort is already giving the group its SIGTERM grace).
        if (!killTimer) signalGroup(pgid, 'SIGKILL');
        // A process that escaped the group (setsid) may still hold the pipes: stop waiting after a grace.
        closeFallback = setTimeout(() => (child.stdout?.destroy(), child.stderr?.destroy()), grace);
      });
      child.once('close', (code, sig) => resolve([code, sig]));
    });
    clearTimeout(timer);
    clearTimeout(killTimer);
    clearTimeout(closeFallback);
    o.signal?.removeEventListener('abort', onAbort);
    splitOut.flush();
    splitErr.flush();
    signalGroup(pgid, 'SIGKILL'); // members that closed their stdio but are still running
    if (!(await waitGroupGone(pgid, grace))) log.warn({ pgid }, 'process group still has members after exit');
    await recorded;
    liveGroups.delete(pgid);
    mine.delete(pgid);
    await unlink(pidFile(pgid)).catch(() => undefined);
    log.debug({ pgid, exitCode, signal, timedOut, aborted }, 'exec finished');
    return result({ exitCode, signal, timedOut, aborted });
  }

  return {
    kind: 'local',
    workdir,
    async ensure(signal) {
      signal?.throwIfAborted();
      const st = await stat(workdir).catch(() => null);
      if (!st?.isDirectory()) throw new SandboxError(`workspace ${workdir} does not exist`, 'not_found');
      await killRecorded(false);
      await killMarked(marker, false, log);
      const created = !ensured;
      ensured = true;
      return { id: `local-${opts.projectId}`, created };
    },
    exec,
    async remove() {
      for (const pgid of mine) signalGroup(pgid, 'SIGKILL');
      await killRecorded(true);
      await killMarked(marker, true, log);
      ensured = false;
    },
  };
}

/**
 * SIGKILL every process whose environment carries this sandbox's DEVTEAM_SANDBOX_OWNER marker
 * (`<projectId>:<pid-dir hash>`) from another runner instance that is no longer alive (or from any
 * instance, with `all`). Reads /proc/<pid>/environ; no-op without /proc.
 */
async function killMarked(owner: string, all: boolean, log: Logger): Promise<void> {
  const pids = await readdir('/proc').catch(() => [] as string[]);
  const prefix = `${OWNER_ENV}=${owner}:`;
  for (const p of pids) {
    if (!/^\d+$/.test(p) || Number(p) === process.pid) continue;
    const env = await readFile(`/proc/${p}/environ`, 'latin1').catch(() => '');
    const marker = env.split('\0').find((e) => e.startsWith(prefix));
    if (!marker || (!all && (marker === `${prefix}${INSTANCE}` || (await runnerAlive(marker.slice(prefix.length)))))) continue;
    try {
      process.kill(Number(p), 'SIGKILL');
      log.warn({ pid: Number(p), marker }, 'killed a process left behind by an earlier runner');
    } catch {
      /* gone, or not ours */
    }
  }
}

/** Whether the runner instance `<pid>-<random>` of a marker still runs (then its processes are not left behind). */
async function runnerAlive(instance: string): Promise<boolean> {
  const pid = Number(instance.split('-')[0]);
  if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const st = await readProcStat(pid);
  return !st || (st.state !== 'Z' && st.state !== 'X'); // a zombie runner is dead; no /proc: kill(0) said it exists
}

/** The minimal child environment: PATH, HOME, LANG from the runner, then the exec's own env. */
function childEnv(extra: Record<string, string> | undefined): Record<string, string> {
  const env: Record<string, string> = { PATH: DEFAULT_PATH, LANG: 'C.UTF-8' };
  for (const k of INHERITED_ENV) {
    const v = process.env[k];
    if (v) env[k] = v;
  }
  return { ...env, ...extra };
}

/** Signal a whole process group. Never throws (it runs in event handlers); false if nothing was signalled. */
function signalGroup(pgid: number, sig: NodeJS.Signals): boolean {
  try {
    return process.kill(-pgid, sig);
  } catch {
    return false; // ESRCH: already gone; EPERM: not ours
  }
}

function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return null;
  }
}

async function readProcStat(pid: number): Promise<{ state: string; pgrp: number; startTime: string } | null> {
  const text = await readFile(`/proc/${pid}/stat`, 'utf8').catch(() => null);
  if (!text) return null;
  // "pid (comm) state ppid pgrp ..." — comm may contain spaces/parens, so cut at the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { state: f[0], pgrp: Number(f[2]), startTime: f[19] };
}

/**
 * Whether a recorded group is still the one we started: same boot, and the leader pid (if
 * it still exists) was not reused by an unrelated process. Without /proc we trust the file.
 */
async function isSameGroup(rec: PidRecord): Promise<boolean> {
  if (rec.bootId && BOOT_ID && rec.bootId !== BOOT_ID) return false;
  const leader = await readProcStat(rec.pgid);
  if (leader && rec.startTime && leader.startTime !== rec.startTime) return false;
  return true;
}

/**
 * True when no live (non-zombie) process remains in the group. Zombies count as gone:
 * orphans are reparented to pid 1, which in some containers never reaps them.
 */
async function groupHasLiveMembers(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const pids = await readdir('/proc').catch(() => null);
  if (!pids) return true;
  for (const p of pids) {
    if (!/^\d+$/.test(p)) continue;
    const st = await readProcStat(Number(p));
    if (st && st.pgrp === pgid && st.state !== 'Z' && st.state !== 'X') return true;
  }
  return false;
}

/** Poll (bounded) until the group has no live members; false if it outlived `maxMs`. */
async function waitGroupGone(pgid: number, maxMs: number): Promise<boolean> {
  const until = performance.now() + maxMs;
  for (let wait = 5; ; wait = Math.min(wait * 2, 50)) {
    if (!(await groupHasLiveMembers(pgid))) return true;
    if (performance.now() > until) return false;
    await delay(wait);
  }
}
