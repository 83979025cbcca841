import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, type Database } from '../../src/infra/db/orm.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { createTestDatabase, requirePostgres, tempDir } from '../support/db.ts';

const skipPg = await requirePostgres();

async function tables(db: Database): Promise<string[]> {
  const rows = await db.query<{ table_name: string }>(
    `select table_name from information_schema.tables where table_schema = 'public' and table_name <> 'mikro_orm_migrations' order by 1`,
  );
  return rows.map((r) => r.table_name);
}

const ALL = ['Migration20261124000001_init', 'Migration20261124000002_idempotency_outbox', 'Migration20261124000003_task_run_branch', 'Migration20261201000004_team_history'];
const TABLES = ['actor_snapshot', 'event', 'idempotency_key', 'outbox', 'project', 'project_event', 'task_run'];

async function upDownUp(db: Database) {
  expect(await db.migrateUp()).toEqual(ALL);
  expect(await tables(db)).toEqual(TABLES);
  await db.query(`insert into project (id, config, state) values ('p', '{}', 'idle')`);
  await db.migrateDown({ to: 0 });
  expect(await tables(db)).toEqual([]);
  expect(await db.migrateUp()).toEqual(ALL);
  expect(await tables(db)).toEqual(TABLES);
  expect(await db.query(`select * from project`)).toEqual([]);
  expect(await db.migrateUp()).toEqual([]);
}

describe.skipIf(!!skipPg)('migrations on real Postgres', () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c();
  });
  it('up → down → up', async () => {
    const tdb = await createTestDatabase();
    cleanups.push(tdb.drop);
    const db = await openDatabase({ databaseUrl: tdb.url, dataDir: '/nonexistent', logger: silentLogger() });
    cleanups.push(() => db.close());
    await upDownUp(db);
  });
});

describe('migrations on embedded PGlite', () => {
  it('up → down → up, and data survives a reopen', async () => {
    const dir = await tempDir();
    try {
      let db = await openDatabase({ dataDir: dir.path, logger: silentLogger() });
      expect(db.embedded).toBe(true);
      await upDownUp(db);
      await db.query(`insert into project (id, config, state) values ('kept', '{"a":1}', 'idle')`);
      await db.close();
      db = await openDatabase({ dataDir: dir.path, logger: silentLogger() });
      expect(await db.migrateUp()).toEqual([]);
      expect(await db.query(`select id, config from project`)).toEqual([{ id: 'kept', config: { a: 1 } }]);
      await db.close();
    } finally {
      await dir.remove();
    }
  });
});

describe('database down at boot', () => {
  it('retries with backoff and then gives a clear error without the password', async () => {
    const waits: number[] = [];
    const clock = { now: () => 0, sleep: async (ms: number) => void waits.push(ms) };
    const err = await openDatabase({
      databaseUrl: 'postgres://u:s3cret@127.0.0.1:1/x',
      dataDir: '/nonexistent',
      logger: silentLogger(),
      clock,
      maxAttempts: 4,
    }).catch((e) => e);
    expect(err.name).toBe('DatabaseError');
    expect(err.message).toMatch(/unreachable after 4 attempts/);
    expect(err.message).not.toContain('s3cret');
    expect(waits).toEqual([250, 500, 1000]);
  });
});
