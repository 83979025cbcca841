/**
 * kill -9 in the middle of a step, on real Postgres and on embedded PGlite: the project resumes
 * in the same step for the same task and attempt, the step runs again, seq never goes backwards,
 * and each task completes exactly once.
 */
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/infra/db/orm.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { spawnTs } from '../support/child.ts';
import { createTestDatabase, requirePostgres, tempDir } from '../support/db.ts';

const CHILD = join(import.meta.dirname, '../support/durableChild.ts');
const skipPg = await requirePostgres();
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function scenario(env: { DUR_DB_URL?: string; DUR_DATA_DIR: string }, query: (sql: string, p?: unknown[]) => Promise<any[]>) {
  const base = { ...env, DUR_PROJECT: 'dur', DUR_TASKS: '1.1,1.2,1.3' };
  const a = spawnTs(CHILD, { ...base, DUR_BLOCK: '1.2:1' });
  cleanups.push(async () => void a.proc.kill('SIGKILL'));
  await a.waitFor((l) => l.ev === 'step' && l.name === 'runAgent' && l.taskId === '1.2', 'runAgent 1.2');
  const executing = await a.waitFor((l) => l.ev === 'transition' && l.taskId === '1.2' && l.to === 'active.executing', 'executing 1.2');
  a.proc.kill('SIGKILL');
  expect((await a.exited).signal).toBe('SIGKILL');
  const seqsA = a.lines.filter((l) => l.ev === 'transition').map((l) => l.seq);

  const b = spawnTs(CHILD, base);
  cleanups.push(async () => void b.proc.kill('SIGKILL'));
  await b.waitFor((l) => l.ev === 'step' && l.name === 'runAgent' && l.taskId === '1.2', 'runAgent 1.2 again');
  const again = b.lines.find((l) => l.ev === 'step' && l.name === 'runAgent');
  expect(again).toMatchObject({ taskId: '1.2', attempt: 1 }); // same task, same attempt, step ran again
  expect(b.lines.filter((l) => l.ev === 'step' && l.name === 'prepareTask')).toEqual([]); // resumed in executing, not re-prepared
  await b.waitFor((l) => l.ev === 'status' && l.state === 'idle', 'idle');
  const seqsB = b.lines.filter((l) => l.ev === 'transition').map((l) => l.seq);
  // seq strictly increases within and across incarnations
  const all = [...seqsA, ...seqsB];
  expect(all).toEqual([...all].sort((x, y) => x - y));
  expect(new Set(all).size).toBe(all.length);
  expect(seqsB[0]).toBeGreaterThan(executing.seq);

  const runs = await query(`select task_id, attempt, outcome from task_run where project_id = 'dur' order by task_id, attempt`);
  expect(runs).toEqual([
    { task_id: '1.1', attempt: 1, outcome: 'completed' },
    { task_id: '1.2', attempt: 1, outcome: 'completed' },
    { task_id: '1.3', attempt: 1, outcome: 'completed' },
  ]);
  const [proj] = await query(`select state, seq from project where id = 'dur'`);
  expect(proj.state).toBe('idle');
  expect(Number(proj.seq)).toBe(seqsB.at(-1));

  // SIGTERM shuts down cleanly (exit 0) and the next boot restores the same state.
  b.proc.kill('SIGTERM');
  await b.waitFor((l) => l.ev === 'closed', 'closed');
  expect((await b.exited).code).toBe(0);
}

describe.skipIf(!!skipPg)('durability on real Postgres', () => {
  it('SIGKILL while executing → resumes executing the same task and attempt', async () => {
    const tdb = await createTestDatabase('dur');
    cleanups.push(tdb.drop);
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const client = new pg.Client({ connectionString: tdb.url });
    await scenario({ DUR_DB_URL: tdb.url, DUR_DATA_DIR: dir.path }, async (sql, p) => {
      if (!(client as any)._connected) await client.connect();
      return (await client.query(sql, p as any[])).rows;
    });
    await client.end();
  });
});

describe('durability on embedded PGlite', () => {
  it('SIGKILL while executing → resumes executing the same task and attempt', async () => {
    const dir = await tempDir();
    cleanups.push(dir.remove);
    const env = { DUR_DATA_DIR: dir.path };
    let rows: any[] = [];
    // PGlite is single-process: inspect the data after the child has exited.
    await scenario(env, async (sql) => {
      const db = await openDatabase({ dataDir: dir.path, logger: silentLogger() }).catch(() => null);
      if (!db) return rows;
      rows = await db.query(sql);
      await db.close();
      return rows;
    });
  });
});
