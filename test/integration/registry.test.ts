/**
 * Registry edge cases found in review: replacing the config of a paused project keeps it alive;
 * a NUL character in step output cannot wedge the writer; an aborted slot wait takes no slot; a
 * command to a project released or fenced here is HostGoneError, never a refusal or a lost write.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/actors/runtime.ts';
import { SlotPool } from '../../src/actors/slots.ts';
import type { ProjectSteps } from '../../src/actors/steps.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { instantSteps } from '../../bench/support.ts';
import { tempDir } from '../support/db.ts';
import { inState } from '../support/runtime.ts';
import { HostGoneError } from '../../src/actors/errors.ts';
import { projectRepository } from '../../src/infra/db/projectRepository.ts';

describe('registry edge cases (embedded PGlite)', () => {
  let rt: Runtime;
  let remove: () => Promise<void>;
  beforeAll(async () => {
    const dir = await tempDir();
    remove = dir.remove;
    rt = await createRuntime({
      config: loadConfig({ DEVTEAM_DATA_DIR: dir.path }),
      logger: silentLogger(),
      makeSteps: (p): ProjectSteps => {
        const steps = instantSteps(2)(p);
        if (p.id !== 'nul') return steps;
        return {
          ...steps,
          runVerify: async () => ({ ok: true, verify: { ok: true, exitCode: 0, durationMs: 1, outputTail: 'binary\u0000output', timedOut: false } }),
        };
      },
    });
  });
  afterAll(async () => {
    await rt.close();
    await remove();
  });

  it('a paused project whose config is replaced still resumes, pauses and stops', async () => {
    await rt.registry.initialize({ projectId: 'repl', v: 1 });
    await inState(rt, 'repl', 'idle');
    expect((await rt.registry.command('repl', 'PAUSE')).ok).toBe(true);
    const replaced = await rt.registry.initialize({ projectId: 'repl', v: 2 });
    expect(replaced).toMatchObject({ code: 'replaced', status: { state: 'paused' } });
    expect(rt.projection.get('repl')!.acceptedCommands).toEqual(['RESUME', 'STOP']);
    const resumed = await rt.registry.command('repl', 'RESUME');
    expect(resumed.ok && resumed.status.state).toBe('idle');
    expect(rt.registry.wake('repl', 'REPO_UPDATED')).toBe(true);
    await inState(rt, 'repl', 'idle');
    const stopped = await rt.registry.command('repl', 'STOP');
    expect(stopped.ok && stopped.status.state).toBe('stopped');
  });

  it('a NUL character in step output is dropped instead of wedging every write', async () => {
    await rt.registry.initialize({ projectId: 'nul' });
    const idle = await inState(rt, 'nul', 'idle');
    expect(idle.completedTaskIds).toEqual(['1.1', '1.2']);
    const [row] = await rt.db.query<{ verify: { outputTail: string } }>(`select verify from task_run where project_id = 'nul' and task_id = '1.1'`);
    expect(row!.verify.outputTail).toBe('binaryoutput');
    // Other projects keep persisting too.
    await rt.registry.initialize({ projectId: 'after-nul' });
    await inState(rt, 'after-nul', 'idle');
  });

  it('a command to a project released here is HostGoneError (its owner applies it), not a state refusal', async () => {
    await rt.registry.initialize({ projectId: 'gone', v: 1 });
    await inState(rt, 'gone', 'idle');
    await rt.registry.release(['gone']); // as on a lost shard lease
    await expect(rt.registry.command('gone', 'PAUSE')).rejects.toBeInstanceOf(HostGoneError);
    expect((await projectRepository(rt.db).status('gone'))?.state).toBe('idle');
    await rt.registry.boot((id) => id === 'gone'); // regained: hosted again, commands apply
    expect((await rt.registry.command('gone', 'PAUSE')).ok).toBe(true);
  });

  it('a command whose write is fenced by a newer owner is HostGoneError, and is not stored', async () => {
    await rt.registry.initialize({ projectId: 'fenced', v: 1 });
    await inState(rt, 'fenced', 'idle');
    await projectRepository(rt.db).stampFences(['fenced'], [7]); // another node took the project over
    await expect(rt.registry.command('fenced', 'PAUSE')).rejects.toBeInstanceOf(HostGoneError);
    expect((await projectRepository(rt.db).status('fenced'))?.state).toBe('idle');
    expect(rt.registry.hosts.has('fenced')).toBe(false);
  });
});

describe('slot pool', () => {
  it('an already-aborted wait takes no slot, whether the pool has room or not', async () => {
    const pool = new SlotPool(1);
    const ac = new AbortController();
    ac.abort(new Error('paused'));
    await expect(pool.acquire('a', ac.signal)).rejects.toThrow('paused');
    expect(pool.inUse).toBe(0);
    await pool.acquire('b');
    await expect(pool.acquire('c', ac.signal)).rejects.toThrow('paused');
    expect(pool.waiting()).toEqual([]);
    pool.release('b');
    expect(pool.inUse).toBe(0);
  });
});
