/**
 * Real databases for integration tests: a fresh Postgres database per test file (on the machine's
 * server, 127.0.0.1:5432) or an embedded PGlite in a temp dir. A missing Postgres skips loudly,
 * or fails under CI=true.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export async function postgresAvailable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    await c.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

/** Resolves to a skip reason, or throws under CI=true when the service is missing. */
export async function requirePostgres(): Promise<string | null> {
  if (await postgresAvailable()) return null;
  const reason = `PostgreSQL is not reachable at ${PG_ADMIN_URL}`;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: a missing service is a failure)`);
  process.stderr.write(`\n*** SKIPPING Postgres tests: ${reason} ***\n`);
  return reason;
}

export async function createTestDatabase(prefix = 'devteam'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists "${name}" with (force)`);
      await c.end();
    },
  };
}

export async function tempDir(prefix = 'devteam-'): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}
