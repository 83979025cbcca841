/**
 * Low-level `docker exec` plumbing for the docker sandbox: start an exec with a wrapper that makes
 * its processes killable, wait until it is really gone, and kill it.
 *
 * Docker cannot signal an exec'd process. So every command runs as
 *   sh -c '<record $$ in /tmp/devteam-exec-<id>.pid>; "$@"; ...' sh <argv...>
 * with DEVTEAM_EXEC_ID=<id> in its environment. The exec'd shell is a session and process-group
 * leader (runc does that for execs), so a second exec can `kill -KILL -<pid>` the whole group and,
 * as a fallback, every process whose environment carries the marker (children that left the group).
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Duplex } from 'node:stream';
import type Docker from 'dockerode';
import { createDemuxer } from './dockerDemux.ts';
import { isEngineDown, statusOf, toSandboxError } from './detect.ts';
import { SandboxError, type OutputStream } from './types.ts';

export const EXEC_MARKER_ENV = 'DEVTEAM_EXEC_ID';

/** The wrapper: record our pid (the process-group id), run argv as a child, clean up, keep its status. */
const WRAPPER =
  '{ echo $$ > "/tmp/devteam-exec-$' +
  EXEC_MARKER_ENV +
  '.pid"; } 2>/dev/null; "$@"; s=$?; rm -f "/tmp/devteam-exec-$' +
  EXEC_MARKER_ENV +
  '.pid"; exit $s';

/** Kill the recorded group, then anything still carrying the marker; never fails. $1 = exec id. */
const KILLER = [
  'f="/tmp/devteam-exec-$1.pid"',
  'if [ -s "$f" ]; then p=$(cat "$f"); kill -s KILL -- "-$p" 2>/dev/null || kill -s KILL "$p" 2>/dev/null; rm -f "$f"; fi',
  'for d in /proc/[0-9]*; do',
  '  [ "${d#/proc/}" = "$$" ] && continue',
  `  if tr '\\000' '\\n' < "$d/environ" 2>/dev/null | grep -qx "${EXEC_MARKER_ENV}=$1"; then kill -s KILL "\${d#/proc/}" 2>/dev/null; fi`,
  'done',
  'true',
].join('\n');

export interface StartExecArgs {
  argv: string[];
  env?: Record<string, string>;
  workingDir: string;
  onData: (stream: OutputStream, chunk: Buffer) => void;
}

/** How an exec ended, as seen from the engine. */
export type ExecEnd = { kind: 'exited'; exitCode: number | null } | { kind: 'container_gone' };

export interface RunningExec {
  /** Marker id (also names the pid file). */
  readonly id: string;
  /** Settles once the stream has ended and the engine reports the exec no longer running. */
  readonly finished: Promise<ExecEnd>;
}

/** Create and start an exec of `argv` under the kill wrapper; output is demuxed into onData in wire order. */
export async function startExec(container: Docker.Container, args: StartExecArgs): Promise<RunningExec> {
  const id = randomUUID().replace(/-/g, '').slice(0, 20);
  const env = Object.entries(args.env ?? {}).map(([k, v]) => `${k}=${v}`);
  env.push(`${EXEC_MARKER_ENV}=${id}`);
  let exec: Docker.Exec;
  let stream: Duplex;
  try {
    exec = await container.exec({
      Cmd: ['sh', '-c', WRAPPER, 'sh', ...args.argv],
      Env: env,
      WorkingDir: args.workingDir,
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    stream = await exec.start({ hijack: true, stdin: false });
  } catch (err) {
    if (containerNotRunning(err)) {
      throw new SandboxError(`container not available for exec: ${(err as Error).message}`, 'container_failed', true, {
        cause: err,
      });
    }
    throw toSandboxError(err, 'exec start', 'exec_failed');
  }
  const demux = createDemuxer(args.onData);
  const streamEnded = new Promise<void>((resolve) => {
    // 'error' too: the engine going away ends the stream; inspect below then reports why.
    stream.on('data', (chunk: Buffer) => demux.push(chunk));
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
    stream.once('error', () => resolve());
  });
  const finished = streamEnded.then(() => waitNotRunning(container, exec));
  // Avoid an unhandled rejection if the caller is itself failing; it still awaits `finished`.
  finished.catch(() => undefined);
  return { id, finished };
}

/**
 * Poll the exec (after its stream ended) until the engine reports it stopped. The stream usually
 * ends only once the process has exited, so this normally takes one round trip.
 */
async function waitNotRunning(container: Docker.Container, exec: Docker.Exec): Promise<ExecEnd> {
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    let info: Docker.ExecInspectInfo;
    try {
      info = await exec.inspect();
    } catch (err) {
      if (statusOf(err) === 404) return { kind: 'container_gone' };
      throw toSandboxError(err, 'exec inspect', 'exec_failed');
    }
    if (!info.Running) return { kind: 'exited', exitCode: info.ExitCode ?? null };
    // An exec of a container that died may keep Running=true: check the container too.
    if (!(await containerRunning(container))) return { kind: 'container_gone' };
    await delay(wait);
  }
}

/** Exec create/start refused because the container is gone or not running (404, 409, or 500 "not running"). */
function containerNotRunning(err: unknown): boolean {
  const status = statusOf(err);
  if (status === 404 || status === 409) return true;
  return status === 500 && /not running|stopped|deleted|paused/i.test((err as Error).message);
}

/** True when the container exists and is running. */
export async function containerRunning(container: Docker.Container): Promise<boolean> {
  try {
    const info = await container.inspect();
    return info.State.Running === true && info.State.Paused !== true;
  } catch (err) {
    if (statusOf(err) === 404) return false;
    throw toSandboxError(err, 'container inspect', 'container_failed');
  }
}

/**
 * Kill everything exec `id` started and wait until the exec is gone. The kill is retried
 * (with growing patience) in case it raced the process start.
 */
export async function killExec(container: Docker.Container, running: RunningExec): Promise<ExecEnd> {
  for (let attempt = 1; ; attempt++) {
    await runQuiet(container, ['sh', '-c', KILLER, 'sh', running.id]);
    const patience = 500 * attempt;
    const outcome = await Promise.race([running.finished, delay(patience, 'pending' as const)]);
    if (outcome !== 'pending') return outcome;
    if (attempt >= 8) {
      throw new SandboxError(`could not kill exec ${running.id} inside the container`, 'exec_failed', true);
    }
  }
}

/** Run a short helper command (probe, kill) and return its exit code; output is discarded. */
export async function runQuiet(container: Docker.Container, cmd: string[], workingDir = '/'): Promise<number | null> {
  let exec: Docker.Exec;
  try {
    exec = await container.exec({ Cmd: cmd, WorkingDir: workingDir, AttachStdout: true, AttachStderr: true, Tty: false });
    const stream = await exec.start({ hijack: true, stdin: false });
    await new Promise<void>((resolve) => {
      stream.on('data', () => undefined);
      stream.once('end', () => resolve());
      stream.once('close', () => resolve());
      stream.once('error', () => resolve());
    });
  } catch (err) {
    // Whatever the engine says (404, 409, 500 "not running"...), the helper could not run.
    if (isEngineDown(err)) throw toSandboxError(err, 'helper exec', 'exec_failed');
    return null;
  }
  const end = await waitNotRunning(container, exec);
  return end.kind === 'exited' ? end.exitCode : null;
}
