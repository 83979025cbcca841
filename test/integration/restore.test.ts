/**
 * Boot-time restore with bad persisted snapshots: another machine version or a state that does
 * not exist halts that project with a clear error; the rest boot normally.
 */
import { describe, expect, it } from 'vitest';
import { createRuntime } from '../../src/actors/runtime.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { instantSteps } from '../../bench/support.ts';
import { MACHINE_VERSION } from '../../src/machines/project.machine.ts';
import { tempDir } from '../support/db.ts';
import { inState } from '../support/runtime.ts';

describe('restore with bad snapshots (embedded PGlite)', () => {
  it('halts only the projects whose snapshot cannot be restored', async () => {
    const dir = await tempDir();
    try {
      const config = loadConfig({ DEVTEAM_DATA_DIR: dir.path });
      let rt = await createRuntime({ config, logger: silentLogger(), makeSteps: instantSteps(2, { blockIn: 'runAgent' }) });
      for (const id of ['good', 'oldversion', 'ghoststate', 'garbage']) {
        await rt.registry.initialize({ projectId: id });
        await inState(rt, id, 'executing');
      }
      await rt.close();
      rt = await createRuntime({ config, logger: silentLogger(), boot: false, makeSteps: instantSteps(2) });
      await rt.db.query(`update actor_snapshot set machine_version = '2.0.0' where project_id = 'oldversion' and actor_id = 'project'`);
      await rt.db.query(`update actor_snapshot set snapshot = jsonb_set(snapshot, '{value}', '{"active": "dreaming"}') where project_id = 'ghoststate' and actor_id = 'project'`);
      await rt.db.query(`update actor_snapshot set snapshot = '{"nonsense": true}' where project_id = 'garbage' and actor_id = 'project'`);
      const seqBefore = Number((await rt.db.query<{ seq: string }>(`select seq from project where id = 'oldversion'`))[0]!.seq);
      await rt.close();

      rt = await createRuntime({ config, logger: silentLogger(), makeSteps: instantSteps(2) });
      try {
        // The good one resumes executing and finishes its tasks.
        const good = await inState(rt, 'good', 'idle');
        expect(good.completedTaskIds).toEqual(['1.1', '1.2']);
        const old = await inState(rt, 'oldversion', 'halted');
        expect(old.lastError).toBe(`persisted snapshot of project is for machine version 2.0.0, this runner runs ${MACHINE_VERSION}; re-initialize or RETRY`);
        expect(old.seq).toBe(seqBefore + 1); // the halt itself is a recorded transition
        expect((await inState(rt, 'ghoststate', 'halted')).lastError).toMatch(/^persisted snapshot is malformed: /);
        expect((await inState(rt, 'garbage', 'halted')).lastError).toMatch(/^persisted snapshot is malformed: /);
        // RETRY starts a halted project over from initializing.
        const retried = await rt.registry.command('garbage', 'RETRY');
        expect(retried.ok).toBe(true);
        expect((await inState(rt, 'garbage', 'idle')).completedTaskIds).toEqual(['1.1', '1.2']);
      } finally {
        await rt.close();
      }
    } finally {
      await dir.remove();
    }
  });
});
