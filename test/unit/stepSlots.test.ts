/**
 * The node-wide EXECUTE/VERIFY cap also holds for work the merge train does outside a task's own
 * executing/verifying states: a step's `ctx.withSlot` waits for a slot of the real SlotPool and
 * gives it back when the work settles, failed or not.
 */
import { createActor, toPromise } from 'xstate';
import { describe, expect, it } from 'vitest';
import { SlotPool } from '../../src/actors/slots.ts';
import { provideProjectSteps, type ProjectBinding, type ProjectSteps } from '../../src/actors/steps.ts';
import { systemClock } from '../../src/infra/clock.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { Writable } from 'node:stream';

describe('ctx.withSlot (the merge train re-verify under the node-wide cap)', () => {
  it('waits while every slot is taken, runs once one frees, and releases on success and on failure', async () => {
    const pool = new SlotPool(1);
    await pool.acquire('other/1.1'); // another project's task is executing: the only slot is taken
    const order: string[] = [];
    let fail = false;
    const steps = {
      integrate: async (_i: unknown, ctx: { withSlot<R>(f: () => Promise<R>): Promise<R> }) =>
        ctx.withSlot(async () => {
          order.push(`verify (slots in use ${pool.inUse})`);
          if (fail) throw new Error('build broke');
          return { kind: 'merged', targetOid: 'x', alreadyIntegrated: false };
        }),
    } as unknown as ProjectSteps;
    const binding: ProjectBinding = {
      steps,
      hooks: {
        logger: createLogger({ level: 'silent' }, new Writable({ write: (_c, _e, cb) => cb() }) as never),
        clock: systemClock,
        log: () => undefined,
        track: () => undefined,
        acquireSlot: (key, signal) => pool.acquire(key, signal),
        releaseSlot: (key) => pool.release(key),
        committed: async () => undefined,
        transientRetries: 0,
      },
    };
    const slots = provideProjectSteps(() => binding);
    const input = { projectId: 'p1', taskId: '1.2', title: 't', attempt: 1 };
    const run = () => toPromise(createActor(slots.integrate, { input }).start());

    const first = run();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual([]); // waiting for the slot
    expect(pool.waiting()).toEqual(['p1/train']);
    pool.release('other/1.1');
    await first;
    expect(order).toEqual(['verify (slots in use 1)']);
    expect(pool.inUse).toBe(0);

    fail = true;
    await expect(run()).rejects.toThrow('build broke');
    expect(pool.inUse).toBe(0);
  });
});
