/**
 * Composition root of the actor system on one node: database (+ migrations), group-commit
 * writer, hub, status projection, slot pool and registry. The server and worker build on it.
 */
import type { Config } from '../infra/config.ts';
import type { Clock } from '../infra/clock.ts';
import { systemClock } from '../infra/clock.ts';
import { openDatabase, type Database } from '../infra/db/orm.ts';
import type { Logger } from '../infra/logger.ts';
import { Hub } from './hub.ts';
import { createStatusProjection, type StatusProjection } from './projection.ts';
import { localProjects, type Projects } from './projects.ts';
import { Registry, type ProjectRecord } from './registry.ts';
import { SlotPool } from './slots.ts';
import type { ProjectSteps } from './steps.ts';
import { TransitionWriter } from './writer.ts';

export interface Runtime {
  config: Config;
  db: Database;
  hub: Hub;
  projection: StatusProjection;
  slots: SlotPool;
  writer: TransitionWriter;
  registry: Registry;
  /** The one way in for REST, events and the CLI's server side (local here; routed on a cluster node). */
  projects: Projects;
  logger: Logger;
  clock: Clock;
  /** Cancel steps, flush writes, close the database. Idempotent. */
  close(): Promise<void>;
}

export interface RuntimeOptions {
  config: Config;
  logger: Logger;
  clock?: Clock;
  makeSteps(project: ProjectRecord, runtime: Pick<Runtime, 'db' | 'hub' | 'logger' | 'clock' | 'config'>): ProjectSteps;
  resolveConfig?: (config: Record<string, unknown>) => Promise<Record<string, unknown>>;
  /** Restore persisted projects at start (default true). */
  boot?: boolean;
  db?: Database;
  /** Ownership epoch per project written with every snapshot (multi-node; see src/actors/cluster). */
  fence?: (projectId: string) => number;
}

export async function createRuntime(o: RuntimeOptions): Promise<Runtime> {
  const clock = o.clock ?? systemClock;
  const db = o.db ?? (await openDatabase({ databaseUrl: o.config.DATABASE_URL, dataDir: o.config.DEVTEAM_DATA_DIR, logger: o.logger, clock }));
  await db.migrateUp();
  const hub = new Hub();
  const projection = createStatusProjection();
  const slots = new SlotPool(o.config.DEVTEAM_MAX_CONCURRENT_STEPS);
  // One lane per pooled connection (PGlite is a single session).
  const writer = new TransitionWriter(db, o.logger.child({ component: 'writer' }), clock, db.embedded ? 1 : 4);
  const base = { db, hub, logger: o.logger, clock, config: o.config };
  const registry = new Registry({ db, writer, hub, projection, slots, logger: o.logger, clock, makeSteps: (p) => o.makeSteps(p, base), resolveConfig: o.resolveConfig, fence: o.fence });
  let closed: Promise<void> | undefined;
  const rt: Runtime = {
    ...base,
    projection,
    slots,
    writer,
    registry,
    projects: localProjects(registry, db),
    close: () =>
      (closed ??= (async () => {
        await registry.shutdown();
        await writer.close();
        hub.complete();
        if (!o.db) await db.close();
      })()),
  };
  if (o.boot !== false) {
    const started = clock.now();
    const r = await registry.boot();
    o.logger.info({ restored: r.restored, halted: r.halted.length, ms: clock.now() - started }, 'projects restored');
  }
  return rt;
}
