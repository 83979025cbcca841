/**
 * `npm run migrate` / `npm run migrate:down [-- --to <name>|0]`: apply or revert migrations on
 * DATABASE_URL, or on the embedded PGlite under DEVTEAM_DATA_DIR when it is unset.
 */
import { loadConfigOrExit } from '../config.ts';
import { createLogger } from '../logger.ts';
import { openDatabase } from './orm.ts';

const [direction = 'up', ...rest] = process.argv.slice(2);
const config = loadConfigOrExit();
const logger = createLogger({ level: config.LOG_LEVEL });
const db = await openDatabase({ databaseUrl: config.DATABASE_URL, dataDir: config.DEVTEAM_DATA_DIR, logger });
try {
  if (direction === 'up') {
    const done = await db.migrateUp();
    logger.info({ applied: done }, done.length ? 'migrations applied' : 'database is up to date');
  } else if (direction === 'down') {
    const i = rest.indexOf('--to');
    const to = i >= 0 ? (rest[i + 1] === '0' ? 0 : rest[i + 1]) : undefined;
    const done = await db.migrateDown(to === undefined ? {} : { to });
    logger.info({ reverted: done }, done.length ? 'migrations reverted' : 'nothing to revert');
  } else {
    process.stderr.write(`usage: migrate up | down [--to <name>|0]\n`);
    process.exitCode = 2;
  }
} finally {
  await db.close();
}
