/**
 * The behavioural contract every Sandbox implementation must pass (local, docker).
 *
 * Commands only assume a POSIX `sh` plus coreutils inside the sandbox, and the
 * workspace being shared with the host (the test writes/reads files in workspaceDir).
 * Synchronisation is by lines and files, never by sleeping: a command that must wait
 * for the test polls for a file the test creates when it has seen the expected line.
 */
import { mkdtemp, mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { OutputStream, Sandbox } from '../../src/infra/sandbox/types.ts';

/** Bound for commands that should finish quickly, so a broken implementation fails instead of hanging. */
const SAFETY_TIMEOUT_MS = 30_000;
const MIB = 1024 * 1024;
/** Timeout for the kill tests: long enough that the command normally gets going (its pid is checked after). */
const KILL_TEST_TIMEOUT_MS = 1000;

export interface SandboxSuiteOptions {
  /** When set, the suite is registered but skipped, with this reason in its name. */
  skip?: string;
  /**
   * Whether the process whose pid (as `MY_PID` reports it) is in `pidFile` still runs. Default:
   * asked inside the sandbox (docker: one pid namespace per container). The local sandbox gives
   * every exec its own PID namespace, so it looks the process up from the host.
   */
  isAlive?: (sb: Sandbox, pidFile: string, ws: string) => Promise<boolean>;
}

/**
 * A `sh` fragment that sets `me` to `<pid> <pid namespace inode>`: the shell's pid as its own
 * PID namespace numbers it (the container's in docker, the exec's own namespace in the local
 * sandbox, which mounts a /proc of its own) and the inode of /proc/self/ns/pid, by which the
 * host finds the process (the local sandbox's isAlive). Its first word is the in-sandbox pid.
 */
export const MY_PID = 'read -r me _ < /proc/self/stat; me="$me $(readlink /proc/self/ns/pid 2>/dev/null | tr -cd 0-9)"';

/** True when the process whose pid is in `pidFile` (workspace-relative) still exists inside the sandbox. */
export async function isAliveInSandbox(sb: Sandbox, pidFile: string): Promise<boolean> {
  const r = await sb.exec(
    // A zombie (state Z/X in /proc/<pid>/stat) is dead, only not yet reaped: `kill -0` would call it alive.
    ['sh', '-c', 'read -r pid _ < "$1" || exit 2; st=$(sed "s/.*) //" "/proc/$pid/stat" 2>/dev/null | cut -d" " -f1); if [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]; then echo alive; else echo gone; fi', 'sh', pidFile],
    { timeoutMs: SAFETY_TIMEOUT_MS },
  );
  expect(r.exitCode, `liveness probe failed: ${r.stderrTail}`).toBe(0);
  return r.stdoutTail.trim() === 'alive';
}

/** A `sh` fragment that waits (polling) until the test creates `file` in the workspace. */
export function waitForFile(file: string): string {
  return `until [ -e '${file}' ]; do sleep 0.05; done`;
}

export function sandboxSuite(
  name: string,
  make: (workspaceDir: string) => Promise<Sandbox>,
  opts: SandboxSuiteOptions = {},
): void {
  const title = opts.skip ? `${name} (skipped: ${opts.skip})` : name;
  describe.skipIf(Boolean(opts.skip))(title, () => {
    let ws: string;
    let sb: Sandbox;
    let firstEnsure: { id: string; created: boolean };

    beforeAll(async () => {
      // realpath: `pwd` reports the physical path (macOS /tmp is a symlink).
      ws = await realpath(await mkdtemp(path.join(tmpdir(), 'devteam-sbx-')));
      sb = await make(ws);
      firstEnsure = await sb.ensure();
    });

    afterAll(async () => {
      await sb?.remove();
      if (ws) await rm(ws, { recursive: true, force: true });
    });

    it('ensure() is idempotent: same id, not created again', async () => {
      expect(firstEnsure.id).toEqual(expect.any(String));
      const again = await sb.ensure();
      expect(again).toEqual({ id: firstEnsure.id, created: false });
    });

    it('streams stdout/stderr lines live and in production order', async () => {
      // Each line is printed only after the test has seen the previous one, so the
      // observed order proves live streaming and correct stream attribution.
      const script = [
        'echo out-1',
        waitForFile('live-ack-1'),
        'echo err-1 >&2',
        waitForFile('live-ack-2'),
        'echo out-2',
        waitForFile('live-ack-3'),
        'echo err-2 >&2',
      ].join('\n');
      const seen: Array<[OutputStream, string]> = [];
      const acks: Record<string, string> = { 'out-1': 'live-ack-1', 'err-1': 'live-ack-2', 'out-2': 'live-ack-3' };
      const r = await sb.exec(['sh', '-c', script], {
        timeoutMs: SAFETY_TIMEOUT_MS,
        onLine: (stream, line) => {
          seen.push([stream, line]);
          const ack = acks[line];
          if (ack) void writeFile(path.join(ws, ack), '');
        },
      });
      expect(r.exitCode).toBe(0);
      expect(seen).toEqual([
        ['stdout', 'out-1'],
        ['stderr', 'err-1'],
        ['stdout', 'out-2'],
        ['stderr', 'err-2'],
      ]);
      expect(r.stdoutTail).toBe('out-1\nout-2\n');
      expect(r.stderrTail).toBe('err-1\nerr-2\n');
    });

    it('keeps per-stream order over many lines and flushes a final partial line', async () => {
      const script =
        'i=1; while [ $i -le 2000 ]; do echo "o$i"; echo "e$i" >&2; i=$((i+1)); done; printf "last-no-newline"';
      const out: string[] = [];
      const err: string[] = [];
      const r = await sb.exec(['sh', '-c', script], {
        timeoutMs: SAFETY_TIMEOUT_MS,
        onLine: (stream, line) => (stream === 'stdout' ? out : err).push(line),
      });
      expect(r.exitCode).toBe(0);
      expect(out).toEqual([...Array.from({ length: 2000 }, (_, i) => `o${i + 1}`), 'last-no-newline']);
      expect(err).toEqual(Array.from({ length: 2000 }, (_, i) => `e${i + 1}`));
    });

    it('reports exit codes', async () => {
      const ok = await sb.exec(['sh', '-c', 'exit 0'], { timeoutMs: SAFETY_TIMEOUT_MS });
      const three = await sb.exec(['sh', '-c', 'echo failing >&2; exit 3'], { timeoutMs: SAFETY_TIMEOUT_MS });
      expect(ok).toMatchObject({ exitCode: 0, timedOut: false, aborted: false, oom: false });
      expect(three).toMatchObject({ exitCode: 3, timedOut: false, aborted: false, stderrTail: 'failing\n' });
      expect(three.durationMs).toBeGreaterThanOrEqual(0);
    });

    it('passes argv verbatim, without a shell', async () => {
      const tricky = ['$HOME', 'a b', "it's", '`id`', '*', ''];
      const r = await sb.exec(['sh', '-c', 'for a in "$@"; do printf "[%s]\\n" "$a"; done', 'sh', ...tricky], {
        timeoutMs: SAFETY_TIMEOUT_MS,
      });
      expect(r.stdoutTail).toBe(tricky.map((a) => `[${a}]\n`).join(''));
    });

    it('runs in the workspace root by default and in opts.cwd when given', async () => {
      await mkdir(path.join(ws, 'sub', 'dir'), { recursive: true });
      const root = await sb.exec(['sh', '-c', 'echo root > cwd-marker.txt; pwd'], { timeoutMs: SAFETY_TIMEOUT_MS });
      const sub = await sb.exec(['sh', '-c', 'echo sub > cwd-marker.txt; pwd'], { cwd: 'sub/dir', timeoutMs: SAFETY_TIMEOUT_MS });
      expect(await readFile(path.join(ws, 'cwd-marker.txt'), 'utf8')).toBe('root\n');
      expect(await readFile(path.join(ws, 'sub', 'dir', 'cwd-marker.txt'), 'utf8')).toBe('sub\n');
      expect(root.stdoutTail.trim()).toBe(sb.workdir);
      expect(sub.stdoutTail.trim()).toBe(path.posix.join(sb.workdir, 'sub/dir'));
    });

    it("passes opts.env but not the runner's own environment", async () => {
      process.env.DEVTEAM_SUITE_RUNNER_SECRET = 'must-not-leak';
      try {
        const r = await sb.exec(
          ['sh', '-c', 'echo "foo=$FOO"; echo "secret=${DEVTEAM_SUITE_RUNNER_SECRET:-unset}"; [ -n "$PATH" ] && echo path-set'],
          { env: { FOO: 'bar baz' }, timeoutMs: SAFETY_TIMEOUT_MS },
        );
        expect(r.stdoutTail).toBe('foo=bar baz\nsecret=unset\npath-set\n');
      } finally {
        delete process.env.DEVTEAM_SUITE_RUNNER_SECRET;
      }
    });

    const alive = (pidFile: string) => (opts.isAlive ?? isAliveInSandbox)(sb, pidFile, ws);

    it('timeout kills the process and reports timedOut', async () => {
      const r = await sb.exec(['sh', '-c', `${MY_PID}; echo $me > timeout.pid; echo started; while :; do sleep 1; done`], {
        timeoutMs: KILL_TEST_TIMEOUT_MS,
      });
      expect(r.timedOut).toBe(true);
      expect(r.aborted).toBe(false);
      expect(r.exitCode).not.toBe(0);
      // On a very slow host the timeout may fire before the pid is written; then nothing ran to check.
      if (existsSync(path.join(ws, 'timeout.pid'))) expect(await alive('timeout.pid')).toBe(false);
    });

    it('timeout also kills a process that ignores SIGTERM', async () => {
      const r = await sb.exec(['sh', '-c', `trap "" TERM; ${MY_PID}; echo $me > stubborn.pid; while :; do sleep 1; done`], {
        timeoutMs: KILL_TEST_TIMEOUT_MS,
      });
      expect(r.timedOut).toBe(true);
      expect(r.exitCode).not.toBe(0);
      if (existsSync(path.join(ws, 'stubborn.pid'))) expect(await alive('stubborn.pid')).toBe(false);
    });

    it('abort kills the process before exec() settles', async () => {
      const ac = new AbortController();
      const r = await sb.exec(['sh', '-c', `${MY_PID}; echo $me > abort.pid; echo ready; while :; do sleep 1; done`], {
        signal: ac.signal,
        timeoutMs: SAFETY_TIMEOUT_MS,
        onLine: (_stream, line) => {
          if (line === 'ready') ac.abort();
        },
      });
      expect(r.aborted).toBe(true);
      expect(r.timedOut).toBe(false);
      expect(r.exitCode).not.toBe(0);
      expect(await alive('abort.pid')).toBe(false);
    });

    it('an already-aborted signal runs nothing', async () => {
      const ac = new AbortController();
      ac.abort();
      const r = await sb.exec(['sh', '-c', 'echo ran > pre-aborted.txt'], { signal: ac.signal });
      expect(r.aborted).toBe(true);
      expect(existsSync(path.join(ws, 'pre-aborted.txt'))).toBe(false);
    });

    it('5 MB of output: tails are capped, outputBytes counts everything', async () => {
      const pattern = 'abcdefghijklmnopqrstuvwxyz0123456789';
      let lines = 0;
      const r = await sb.exec(
        ['sh', '-c', `yes '${pattern}' | head -c ${5 * MIB}; yes '${pattern}' | head -c ${MIB} >&2`],
        { timeoutMs: SAFETY_TIMEOUT_MS, onLine: () => void lines++ },
      );
      expect(r.exitCode).toBe(0);
      expect(r.outputBytes).toBe(6 * MIB);
      expect(Buffer.byteLength(r.stdoutTail)).toBeLessThanOrEqual(64 * 1024);
      expect(Buffer.byteLength(r.stdoutTail)).toBeGreaterThan(60 * 1024);
      expect(Buffer.byteLength(r.stderrTail)).toBeLessThanOrEqual(64 * 1024);
      // 6 MiB / 37 bytes per line, rounded up per stream for the partial last line.
      expect(lines).toBe(Math.ceil((5 * MIB) / 37) + Math.ceil(MIB / 37));
      const full = `${pattern}\n`.repeat(Math.ceil((5 * MIB) / 37) + 1).slice(0, 5 * MIB);
      expect(full.endsWith(r.stdoutTail)).toBe(true);

      const small = await sb.exec(['sh', '-c', `yes '${pattern}' | head -c ${MIB}`], {
        timeoutMs: SAFETY_TIMEOUT_MS,
        tailBytes: 1000,
      });
      expect(Buffer.byteLength(small.stdoutTail)).toBeLessThanOrEqual(1000);
      expect(small.outputBytes).toBe(MIB);
    });

    it('a missing binary is exit code 127 with a message naming it (not a throw)', async () => {
      const r = await sb.exec(['devteam-no-such-program-xyz', '--version'], { timeoutMs: SAFETY_TIMEOUT_MS });
      expect(r.exitCode).toBe(127);
      expect(r.stderrTail).toContain('devteam-no-such-program-xyz');
      expect(r.timedOut).toBe(false);
    });

    it('remove() is idempotent and ensure() brings the sandbox back', async () => {
      await sb.remove();
      await sb.remove();
      const back = await sb.ensure();
      expect(back.id).toBe(firstEnsure.id);
      const r = await sb.exec(['sh', '-c', 'echo back'], { timeoutMs: SAFETY_TIMEOUT_MS });
      expect(r.stdoutTail).toBe('back\n');
    });
  });
}
