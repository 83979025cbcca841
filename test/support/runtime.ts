/** Helpers to drive a real runtime in tests: wait for a project state via the hub, no sleeps. */
import { filter, firstValueFrom, merge, of } from 'rxjs';
import type { Runtime } from '../../src/actors/runtime.ts';
import type { ProjectStatus } from '../../src/domain/status.ts';

export function waitForStatus(rt: Runtime, projectId: string, pred: (s: ProjectStatus) => boolean, what = 'status'): Promise<ProjectStatus> {
  const now = rt.projection.get(projectId);
  const src = rt.hub.project$(projectId).pipe(filter((e) => e.type === 'status'));
  return Promise.race([
    firstValueFrom(merge(now ? of({ payload: now } as any) : of(), src).pipe(filter((e: any) => pred(e.payload)))).then((e: any) => e.payload as ProjectStatus),
    new Promise<never>((_, rej) => {
      const t = setTimeout(() => rej(new Error(`timed out waiting for ${what}; last: ${JSON.stringify(rt.projection.get(projectId))}`)), 300_000);
      t.unref();
    }),
  ]);
}

/**
 * Resolves once the project is in one of `states`. A project that halts while the test waits for
 * something else fails the wait at once with its error, instead of at the safety timeout.
 */
export const inState = (rt: Runtime, id: string, ...states: string[]) => {
  let unexpected: ProjectStatus | null = null;
  return waitForStatus(
    rt,
    id,
    (s) => {
      if (states.includes(s.state)) return true;
      if (s.state === 'halted') unexpected = s;
      return unexpected !== null;
    },
    states.join('|'),
  ).then((s) => {
    if (unexpected && !states.includes(s.state)) throw new Error(`project ${id} is ${s.state} while waiting for ${states.join('|')}: ${s.lastError ?? 'no error'}`);
    return s;
  });
};

/**
 * Wait (bounded, 60 s) for a condition that has no event of its own, re-checking it every few
 * milliseconds. The test proceeds as soon as the condition holds; the interval is not a sleep
 * that the test's correctness depends on.
 */
export async function until(cond: () => boolean | Promise<boolean>, what = 'condition', limitMs = 300_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
