/**
 * Opens the database: real Postgres when DATABASE_URL is set, else embedded PGlite; connects
 * with bounded exponential backoff (a database that is down at boot is retried, not crash-looped).
 */
import { MikroORM } from '@mikro-orm/postgresql';
import { CompiledQuery } from 'kysely';
import { Migrator } from '@mikro-orm/migrations';
import { migrationsList } from '../../../migrations/index.ts';
import type { Clock } from '../clock.ts';
import { systemClock } from '../clock.ts';
import type { Logger } from '../logger.ts';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded.ts';
import { entities } from './entities.ts';

export class DatabaseError extends Error {
  override name = 'DatabaseError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export interface Database {
  orm: MikroORM;
  embedded: boolean;
  /** Runs SQL on the driver's connection (inside `trx` when given). */
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
  /** A round trip to the server (`select 1`): readiness probes. */
  ping(): Promise<void>;
  /** One transaction; everything inside must use the callback's `q`. */
  transaction<T>(fn: (q: <R = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<R[]>) => Promise<T>): Promise<T>;
  migrateUp(): Promise<string[]>;
  migrateDown(opts?: { to?: string | 0 }): Promise<string[]>;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  databaseUrl?: string;
  dataDir: string;
  logger: Logger;
  clock?: Clock;
  /** Connection attempts before giving up (default: keep trying for ~2 minutes). */
  maxAttempts?: number;
  pgliteport?: number;
  /** Pool size for real Postgres (PGlite is always 1). */
  poolMax?: number;
}

export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  const clock = opts.clock ?? systemClock;
  let embedded: EmbeddedPostgres | undefined;
  let target: { clientUrl: string } | EmbeddedPostgres['connection'];
  if (opts.databaseUrl) target = { clientUrl: opts.databaseUrl };
  else {
    embedded = await startEmbeddedPostgres({ dataDir: opts.dataDir, port: opts.pgliteport, logger: opts.logger });
    target = embedded.connection;
  }
  const url = opts.databaseUrl ?? `embedded PGlite (${opts.dataDir})`;
  const poolMax = embedded ? 1 : (opts.poolMax ?? 4);
  const maxAttempts = opts.maxAttempts ?? 12;
  let orm: MikroORM | undefined;
  for (let attempt = 1; ; attempt++) {
    try {
      orm = await MikroORM.init({
        ...target,
        entities,
        extensions: [Migrator],
        migrations: { migrationsList, transactional: true, snapshot: false, tableName: 'mikro_orm_migrations' },
        pool: { min: 0, max: poolMax },
        debug: false,
        logger: (message: string) => opts.logger.debug({ component: 'orm' }, message),
        allowGlobalContext: true,
        discovery: { warnWhenNoEntities: false },
      });
      await orm.connect();
      if (!(await orm.isConnected())) throw new Error('connection check failed');
      break;
    } catch (err) {
      await orm?.close(true).catch(() => undefined);
      orm = undefined;
      const safe = opts.databaseUrl ? redactUrl(opts.databaseUrl) : url;
      if (attempt >= maxAttempts) {
        await embedded?.close().catch(() => undefined);
        throw new DatabaseError(`Database ${safe} unreachable after ${attempt} attempts: ${(err as Error).message}`, { cause: err });
      }
      const delay = Math.min(10_000, 250 * 2 ** (attempt - 1));
      opts.logger.warn({ attempt, delayMs: delay, db: safe, err: (err as Error).message }, 'database unreachable, retrying');
      await clock.sleep(delay);
    }
  }
  const conn = orm!.em.getConnection();
  /** Real server-side parameters ($1, $2 …) through the driver's own Kysely client. */
  const run = async (sql: string, params: unknown[] = [], ctx?: unknown): Promise<any[]> => {
    const executor = (ctx ?? conn.getClient()) as { executeQuery(q: CompiledQuery): Promise<{ rows: unknown[] }> };
    const res = await executor.executeQuery(CompiledQuery.raw(sql, params));
    return res.rows as any[];
  };
  const db: Database = {
    orm: orm!,
    embedded: !!embedded,
    query: (sql, params) => run(sql, params),
    ping: async () => void (await run('select 1')),
    transaction: (fn) =>
      orm!.em.fork().transactional(async (em) => {
        const ctx = em.getTransactionContext();
        return fn((sql, params) => run(sql, params, ctx));
      }),
    async migrateUp() {
      const done = await orm!.migrator.up();
      return done.map((m) => m.name);
    },
    async migrateDown(o = {}) {
      const done = await orm!.migrator.down(o.to === undefined ? undefined : { to: o.to });
      return done.map((m) => m.name);
    },
    async close() {
      await orm!.close(true);
      await embedded?.close();
    },
  };
  return db;
}

/** Never log credentials that a DATABASE_URL may carry. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
