/**
 * Shut down when the program that started the service goes away.
 *
 * `npm start` runs the service as a descendant of npm (npm → [sh] → tsx → node); npm does not pass
 * a SIGTERM on before it exits, so `kill -TERM <npm>` would leave the service running as an orphan.
 * At start this records the service's ancestors up to and including npm itself (the first ancestor
 * whose environment lacks `npm_lifecycle_event`, which npm sets only for its scripts), each with
 * its start time (/proc/<pid>/stat field 22, so a reused pid does not count), and polls them;
 * when one is gone, `onGone` runs as if the service had been signalled. Without /proc the parent
 * pid is compared instead. Enabled when started by npm, or with DEVTEAM_EXIT_WITH_PARENT=1.
 */
import { readFileSync } from 'node:fs';

interface Proc {
  pid: number;
  start: string;
}

function stat(pid: number): { ppid: number; start: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' '); // fields from 3 on
    return { ppid: Number(rest[1]), start: rest[19]! };
  } catch {
    return null;
  }
}

function hasNpmEnv(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').some((e) => e.startsWith('npm_lifecycle_event='));
  } catch {
    return false;
  }
}

/** The ancestors to watch (see the module comment); empty when /proc is not readable. */
export function launcherChain(maxDepth = 6): Proc[] {
  const chain: Proc[] = [];
  let pid = process.ppid;
  for (let i = 0; i < maxDepth && pid > 1; i++) {
    const s = stat(pid);
    if (!s) break;
    chain.push({ pid, start: s.start });
    if (!hasNpmEnv(pid)) break; // npm itself (or whoever started us directly)
    pid = s.ppid;
  }
  return chain;
}

/** Calls `onGone` once when a watched ancestor exits. No-op unless started by npm or DEVTEAM_EXIT_WITH_PARENT=1. */
export function watchLauncher(env: NodeJS.ProcessEnv, onGone: (why: string) => void, everyMs = 500): void {
  if (!env.npm_lifecycle_event && env.DEVTEAM_EXIT_WITH_PARENT !== '1') return;
  const chain = launcherChain();
  const parent = process.ppid;
  const timer = setInterval(() => {
    const gone = chain.length ? chain.find((p) => stat(p.pid)?.start !== p.start) : process.ppid !== parent ? { pid: parent } : undefined;
    if (gone) {
      clearInterval(timer);
      onGone(`launcher process ${gone.pid} exited`);
    }
  }, everyMs);
  timer.unref();
}
