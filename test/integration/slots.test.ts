/**
 * Node-wide concurrency cap: at most N projects in EXECUTE/VERIFY; the rest wait in
 * waitingForSlot, are served in arrival order, and can be paused or stopped while waiting.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/actors/runtime.ts';
import type { ProjectSteps } from '../../src/actors/steps.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { instantSteps } from '../../bench/support.ts';
import { tempDir } from '../support/db.ts';
import { inState, until, waitForStatus } from '../support/runtime.ts';

describe('concurrency slots (embedded PGlite)', () => {
  let rt: Runtime;
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  it('caps EXECUTE/VERIFY at N, serves waiters FIFO, and PAUSE/STOP work while waiting', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const release = new Map<string, () => void>();
    const executing: string[] = [];
    let maxConcurrent = 0;
    let running = 0;
    rt = await createRuntime({
      config: loadConfig({ DEVTEAM_DATA_DIR: dir.path, DEVTEAM_MAX_CONCURRENT_STEPS: '2' }),
      logger: silentLogger(),
      makeSteps: (p) => {
        const base = instantSteps(1)(p);
        const steps: ProjectSteps = {
          ...base,
          runAgent: async (i, ctx) => {
            running++;
            maxConcurrent = Math.max(maxConcurrent, running);
            executing.push(p.id);
            try {
              await new Promise<void>((resolve, reject) => {
                release.set(p.id, resolve);
                ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason), { once: true });
              });
            } finally {
              running--;
            }
            return base.runAgent(i, ctx);
          },
        };
        return steps;
      },
    });
    cleanups.push(() => rt.close());
    const rel = async (id: string) => {
      await until(() => release.has(id), `${id}'s agent step`);
      release.get(id)!();
    };
    for (const id of ['a', 'b', 'c', 'd', 'e']) {
      await rt.registry.initialize({ projectId: id });
      if (id === 'a' || id === 'b') await inState(rt, id, 'executing');
      else await inState(rt, id, 'waitingForSlot');
    }
    await until(() => rt.slots.waiting().length === 3, 'three waiters');
    expect(rt.slots.waiting()).toEqual(['c/1.1', 'd/1.1', 'e/1.1']);
    expect(rt.projection.get('c')!.state).toBe('waitingForSlot');

    // PAUSE while waiting leaves the queue; STOP too.
    expect((await rt.registry.command('d', 'PAUSE')).ok).toBe(true);
    expect(rt.slots.waiting()).toEqual(['c/1.1', 'e/1.1']);
    const stopped = await rt.registry.command('e', 'STOP');
    expect(stopped.ok && stopped.status.state).toBe('stopped');
    expect(rt.slots.waiting()).toEqual(['c/1.1']);

    // a finishes → c (first in line) gets the slot.
    await rel('a');
    await inState(rt, 'a', 'idle');
    await inState(rt, 'c', 'executing');
    // d resumes → waits again behind nobody, gets the slot when b finishes.
    await rt.registry.command('d', 'RESUME');
    await inState(rt, 'd', 'waitingForSlot');
    await rel('b');
    await inState(rt, 'd', 'executing');
    await rel('c');
    await rel('d');
    await Promise.all(['c', 'd'].map((id) => inState(rt, id, 'idle')));
    expect(maxConcurrent).toBe(2);
    expect(executing).toEqual(['a', 'b', 'c', 'd']);
    await waitForStatus(rt, 'e', (s) => s.state === 'stopped');
  });
});
