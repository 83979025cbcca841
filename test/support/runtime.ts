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
      const t = setTimeout(() => rej(new Error(`timed out waiting for ${what}; last: ${JSON.stringify(rt.projection.get(projectId))}`)), 90_000);
      t.unref();
    }),
  ]);
}

export const inState = (rt: Runtime, id: string, ...states: string[]) => waitForStatus(rt, id, (s) => states.includes(s.state), states.join('|'));

/** Wait (bounded) for a condition that has no event of its own, re-checking on each macrotask turn. */
export async function until(cond: () => boolean, what = 'condition', limit = 200_000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (cond()) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`timed out waiting for ${what}`);
}
