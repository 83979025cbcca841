/**
 * Embedded Postgres: PGlite (data under DEVTEAM_DATA_DIR/pgdata) served over the Postgres wire
 * protocol on a Unix socket, so the same @mikro-orm/postgresql driver and migrations serve both.
 * PGlite is a single session: the socket server and the pool are both capped at one connection.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import type { Logger } from '../logger.ts';

export interface EmbeddedPostgres {
  /** Connection options for the driver (host = socket directory, or 127.0.0.1 with a port). */
  connection: { host: string; port: number; user: string; dbName: string };
  /** Socket directory, for `host=` style options. */
  socketDir: string;
  close(): Promise<void>;
}

export async function startEmbeddedPostgres(opts: { dataDir: string; port?: number; logger: Logger }): Promise<EmbeddedPostgres> {
  const dataDir = resolve(opts.dataDir, 'pgdata');
  const socketDir = resolve(opts.dataDir, 'run');
  await mkdir(dataDir, { recursive: true });
  await mkdir(socketDir, { recursive: true });
  const started = Date.now();
  const db = await PGlite.create({ dataDir });
  let server: PGLiteSocketServer;
  let connection: EmbeddedPostgres['connection'];
  if (opts.port) {
    server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: opts.port, maxConnections: 1 });
    connection = { host: '127.0.0.1', port: opts.port, user: 'postgres', dbName: 'postgres' };
  } else {
    const path = join(socketDir, '.s.PGSQL.5432');
    await rm(path, { force: true }); // a stale socket from a killed process
    server = new PGLiteSocketServer({ db, path, maxConnections: 1 });
    connection = { host: socketDir, port: 5432, user: 'postgres', dbName: 'postgres' };
  }
  await server.start();
  opts.logger.info({ dataDir, ms: Date.now() - started }, 'embedded PGlite started');
  return {
    connection,
    socketDir,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
