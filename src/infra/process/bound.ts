/**
 * Processes that never outlive the runner that started them.
 *
 * A runner can die by SIGKILL at any moment; whatever it started must die with it, or a restarted
 * step would run next to its own orphan (a task's change applied twice). Two levels:
 *
 *  - `bindToRunnerLife(file, args)`: the child gets the parent-death signal SIGKILL
 *    (`setpriv --pdeathsig KILL`, util-linux setpriv(1); prctl(2) PR_SET_PDEATHSIG). Enough for
 *    programs that do not daemonize (git).
 *  - `containToRunnerLife(file, args)`: additionally runs the program in a new PID namespace
 *    (`unshare --pid --fork --kill-child=SIGKILL`, util-linux unshare(1)); when the runner dies,
 *    setpriv's pdeathsig kills unshare, unshare's --kill-child kills the namespace's init, and the
 *    kernel kills every process left in the namespace (pid_namespaces(7)) — also the ones a script
 *    moved to another process group or session (`setsid`, `nohup … &`). The namespace's init is a
 *    small `sh` that starts the program as its child and reaps orphans (like `docker run --init`),
 *    so the program keeps ordinary signal semantics (an init ignores default-action signals) and
 *    no zombies pile up. Exit codes pass through; a program killed by signal N exits 128+N.
 *    `--mount-proc` gives the namespace its own /proc (in a private mount namespace): without
 *    it /proc is the host's, where the pids a program gets from fork(2) name other processes or
 *    none — bubblewrap (Codex's sandbox) opens `/proc/<child>/ns` right after clone(2), died
 *    with "open /proc/<pid>/ns/ns failed", and its orphaned child held Codex's pipe: Codex
 *    hung on its first tool call. Unwrapped of it only where a mount namespace is refused.
 *    Needs root or unprivileged user namespaces (then `--map-current-user`); probed once.
 *
 * When a wrapper is unavailable (no util-linux, namespaces forbidden) the program runs unwrapped
 * and the caller's other defences apply (process-group kill, the env-marker sweep of
 * ./sweep.ts before a step runs again). `containment()` says which level is in force.
 */
import { spawnSync } from 'node:child_process';

export type Containment = 'pid-namespace' | 'pdeathsig' | 'none';

interface Probe {
  pdeathsig: boolean;
  unshare: string[] | null;
}

let probed: Probe | null = null;

/**
 * The namespace's init: run the program as a child, wait for it (dash's wait reaps any child,
 * including orphans reparented to the init), exit with its status.
 */
const INIT = '"$@" & c=$!; while :; do wait "$c"; r=$?; kill -0 "$c" 2>/dev/null || exit "$r"; done';

function ok(cmd: string, args: string[]): boolean {
  try {
    const r = spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
    return r.status === 0;
  } catch {
    return false;
  }
}

function probe(): Probe {
  if (probed) return probed;
  if (process.env.DEVTEAM_PROCESS_CONTAINMENT === 'none' || process.platform !== 'linux') return (probed = { pdeathsig: false, unshare: null });
  const pdeathsig = ok('setpriv', ['--pdeathsig', 'KILL', '--', 'true']);
  let unshare: string[] | null = null;
  if (process.env.DEVTEAM_PROCESS_CONTAINMENT !== 'pdeathsig') {
    const base = ['--pid', '--fork', '--kill-child=SIGKILL'];
    const users = process.getuid?.() === 0 ? [[], ['--map-current-user']] : [['--map-current-user'], ['--map-root-user']];
    // --mount-proc first (see the module comment); without it only where it cannot be had.
    const candidates = users.flatMap((extra) => [[...extra, ...base, '--mount-proc'], [...extra, ...base]]);
    unshare = candidates.find((c) => ok('unshare', [...c, '--', 'true'])) ?? null;
  }
  return (probed = { pdeathsig, unshare });
}

/** What `containToRunnerLife` provides on this machine. */
export function containment(): Containment {
  const p = probe();
  return p.unshare && p.pdeathsig ? 'pid-namespace' : p.pdeathsig ? 'pdeathsig' : 'none';
}

/** `[file, args]` for spawn: the child dies with the runner (pdeathsig) when setpriv is there. */
export function bindToRunnerLife(file: string, args: string[]): [string, string[]] {
  return probe().pdeathsig ? ['setpriv', ['--pdeathsig', 'KILL', '--', file, ...args]] : [file, args];
}

/**
 * `[file, args]` for spawn: the program and every process it ever starts die with the runner
 * (see the module comment). Exit codes pass through (127 when `file` is not found).
 */
export function containToRunnerLife(file: string, args: string[]): [string, string[]] {
  const p = probe();
  if (!p.pdeathsig) return [file, args];
  if (!p.unshare) return bindToRunnerLife(file, args);
  return ['setpriv', ['--pdeathsig', 'KILL', '--', 'unshare', ...p.unshare, '--', '/bin/sh', '-c', INIT, 'devteam-init', file, ...args]];
}
