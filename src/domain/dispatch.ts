/**
 * Which tasks start now (team mode). Pure.
 *
 * A task may start when every dependency is integrated (done), it is not done, skipped or already
 * in flight, and the paths it touches do not overlap those of any task in flight (or of a task
 * picked in the same round): a task's paths are the globs of its `Files:` line (declared), and
 * once its EXECUTE ran, the paths it really changed. Tasks are taken in task-list order until
 * `parallelism` are in flight. A task that declares nothing and has not run yet claims nothing:
 * it may run beside others, and a clash is caught at merge time (the merge train re-executes the
 * later task on the new head with the conflict as feedback).
 *
 * Globs follow picomatch (the matcher of micromatch/fast-glob): `src/**`, `*.md`, `docs/{a,b}.md`.
 */
import picomatch from 'picomatch';
import type { Task } from './taskList.ts';

/** A task in flight and what it touches. */
export interface InFlight {
  id: string;
  /** Declared globs (the task's `Files:` line); empty when none are declared. */
  declared: string[];
  /** Paths its latest EXECUTE changed (known once an attempt ran), repository-relative. */
  changed: string[];
}

export interface DispatchInput {
  /** The task list, in document order. */
  tasks: Array<Pick<Task, 'id' | 'dependencies'> & { files?: string[] }>;
  doneIds: ReadonlySet<string>;
  skippedIds: ReadonlySet<string>;
  /** Tasks that cannot run now for other reasons (halted lanes). */
  blockedIds?: ReadonlySet<string>;
  inFlight: InFlight[];
  parallelism: number;
}

/** Ids of the tasks to start now, in task-list order. */
export function planDispatch(input: DispatchInput): string[] {
  const free = input.parallelism - input.inFlight.length;
  if (free <= 0) return [];
  const busy = new Set(input.inFlight.map((f) => f.id));
  const claims: Claim[] = input.inFlight.map((f) => claimOf(f.declared, f.changed));
  const picked: string[] = [];
  for (const t of input.tasks) {
    if (picked.length >= free) break;
    if (busy.has(t.id) || input.doneIds.has(t.id) || input.skippedIds.has(t.id) || input.blockedIds?.has(t.id)) continue;
    if (!t.dependencies.every((d) => input.doneIds.has(d))) continue;
    const mine = claimOf(t.files ?? [], []);
    if (claims.some((c) => overlaps(c, mine))) continue;
    picked.push(t.id);
    claims.push(mine);
  }
  return picked;
}

/** What one task may touch: globs and literal paths. */
interface Claim {
  globs: string[];
  paths: string[];
}

function claimOf(declared: string[], changed: string[]): Claim {
  const globs = declared.map(normalize).filter(Boolean);
  const paths = changed.map(normalize).filter(Boolean);
  return { globs, paths };
}

const normalize = (p: string) => p.trim().replace(/^\.\//, '').replace(/\/+$/, '/**');

/** Two claims overlap when a path of one matches a glob of the other, or their globs may meet. */
export function overlaps(a: Claim, b: Claim): boolean {
  const matchAny = (globs: string[], path: string) => globs.some((g) => picomatch(g, { dot: true })(path));
  if (a.paths.some((p) => b.paths.includes(p) || matchAny(b.globs, p))) return true;
  if (b.paths.some((p) => matchAny(a.globs, p))) return true;
  return a.globs.some((g) => b.globs.some((h) => globsMayMeet(g, h)));
}

/**
 * Conservative: two globs may match a common path when either matches the other read as a path,
 * or the literal directory prefix of one contains the other's (e.g. `src/**` and `src/a/*.ts`).
 */
export function globsMayMeet(a: string, b: string): boolean {
  const m = (g: string, p: string) => picomatch(g, { dot: true })(p);
  if (a === b || m(a, b) || m(b, a)) return true;
  const base = (g: string) => picomatch.scan(g).base;
  const [ba, bb] = [base(a), base(b)];
  const isGlob = (g: string) => picomatch.scan(g).isGlob;
  // A literal path lies under the other's literal directory: only then can the glob reach it.
  if (!isGlob(a) && !isGlob(b)) return false;
  const within = (dir: string, other: string) => dir === '' || other === dir || other.startsWith(`${dir}/`);
  return within(ba, bb) || within(bb, ba);
}
