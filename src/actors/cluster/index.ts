/**
 * Run this node as a cluster member (REDIS_URL + Postgres): hold shard leases, restore the
 * projects of shards gained, stop those of shards lost, apply commands that arrive on owned
 * shards' streams, route every command to its project's owner, and relay hub events so every
 * node sees every project.
 *
 *   const cluster = await startCluster({ runtime, redis, config });
 *   startServer(cluster.view(), { plugins: [webSocketPlugin({ hub: cluster.clusterHub }) …] })
 *
 * `view()` is the runtime with a cluster-aware registry (initialize/command/delete/wake travel to
 * the owner; status reads the relayed projection), so the unchanged REST layer works on any node.
 *
 * Fencing: the fence of a project is the epoch of its shard's lease (a cluster-wide Redis counter
 * raised to at least the highest fence stored in Postgres at start, so it strictly increases
 * across owners even if Redis lost its data). Before restoring a gained shard the new owner
 * stamps its epoch on the shard's snapshot rows, so a stale owner's next write is rejected
 * (FencedWriteError) even if the new owner has not written yet.
 */
import { hostname } from 'node:os';
import type { Command, ProjectStatus } from '../../domain/status.ts';
import { projectRepository } from '../../infra/db/projectRepository.ts';
import type { RedisHandle } from '../../infra/redis.ts';
import { HostGoneError, OwnerUnavailableError, ProjectNotFoundError, TaskChoiceError } from '../errors.ts';
import type { EventEffects } from '../events/worker.ts';
import type { CommandResult } from '../host.ts';
import type { HubEvent } from '../hub.ts';
import type { InitializeResult } from '../registry.ts';
import type { Runtime } from '../runtime.ts';
import { CommandRouter, NotAppliedHereError, type ClusterCommand, type Reply } from './commandRouter.ts';
import { routedProjects } from './routedProjects.ts';
import { ShardManager } from './shardManager.ts';
import { clusterKeys, shardOf, type ClusterKeys } from './shards.ts';
import { StatusRelay, type ClusterHub } from './statusRelay.ts';

export interface ClusterOptions {
  runtime: Runtime;
  redis: RedisHandle;
  nodeId?: string;
  /** Redis key prefix (default config DEVTEAM_CLUSTER_PREFIX or 'devteam'). */
  prefix?: string;
  shards?: number;
  ttlMs?: number;
  renewMs?: number;
  /** How long a routed command waits for the owner before answering with the current status. */
  commandTimeoutMs?: number;
  /** Removes a deleted project's files/container on the owner. */
  purge?: (projectId: string) => Promise<void>;
  /** Push remote hub events into runtime.hub too (for consumers that only know runtime.hub). */
  mirrorIntoLocalHub?: boolean;
}

export type RoutedCommandResult = CommandResult | { ok: 'timeout'; status: ProjectStatus };

/** Thrown by beforePush when this node does not hold the project's shard lease right now. */
export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
  constructor(readonly projectId: string, readonly shard: number) {
    super(`lease of shard ${shard} (project ${projectId}) is not held by this node; not pushing`);
  }
}

export interface Cluster {
  nodeId: string;
  keys: ClusterKeys;
  shards: number;
  manager: ShardManager;
  router: CommandRouter;
  relay: StatusRelay;
  /** Cluster-wide hub events (local + remote), Hub-shaped for the WebSocket gateway. */
  clusterHub: ClusterHub;
  shardOf(projectId: string): number;
  /** The fence (lease epoch) for a project hosted here; 0 when its shard is not held. */
  fence(projectId: string): number;
  /** Re-check the lease (locally, then in Redis) right before a push; throws LeaseLostError and stops the shard's actors when lost. */
  checkLease(projectId: string): Promise<void>;
  /** Send a control command to the owner and wait (bounded) for its result. */
  routeCommand(projectId: string, cmd: Command, opts?: { timeoutMs?: number; stopTimeoutMs?: number; taskId?: string }): Promise<RoutedCommandResult>;
  initialize(config: Record<string, unknown> & { projectId: string }, opts?: { timeoutMs?: number }): Promise<InitializeResult>;
  /** Wake the owner's actor (fire and forget through the stream; resolves after the XADD). */
  wake(projectId: string, type: 'REPO_UPDATED' | 'TASKS_CHANGED'): Promise<boolean>;
  /** The latest known status from any node (relayed projection, else Postgres). */
  status(projectId: string): Promise<ProjectStatus>;
  /** EventEffects for the event worker: commands and wake-ups go to the owner. */
  effects: EventEffects;
  /** The runtime whose `projects` are routed to their owners (for startServer). */
  view(): Runtime;
  /** Delete through the owner (bounded wait). */
  remove(projectId: string): Promise<{ ok: true } | { ok: false; state: string }>;
  /** Resolves once the first lease round ran and its restores finished. */
  ready(): Promise<void>;
  /** Clean leave: stop actors, release leases (others take over at once), stop consuming. */
  close(): Promise<void>;
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const rt = o.runtime;
  const { config, registry, db, clock } = rt;
  const repo = projectRepository(db);
  const cfg = config as Partial<Record<string, unknown>>;
  const nodeId = o.nodeId ?? (cfg.DEVTEAM_NODE_ID as string | undefined) ?? `${hostname()}-${process.pid}`;
  const keys = clusterKeys(o.prefix ?? (cfg.DEVTEAM_CLUSTER_PREFIX as string | undefined) ?? 'devteam');
  const shards = o.shards ?? config.DEVTEAM_SHARDS;
  const ttlMs = o.ttlMs ?? (cfg.DEVTEAM_LEASE_TTL_MS as number | undefined) ?? 15_000;
  const renewMs = o.renewMs ?? (cfg.DEVTEAM_LEASE_RENEW_MS as number | undefined) ?? Math.floor(ttlMs / 3);
  const commandTimeoutMs = o.commandTimeoutMs ?? (cfg.DEVTEAM_COMMAND_TIMEOUT_MS as number | undefined) ?? 5000;
  const logger = rt.logger.child({ component: 'cluster', nodeId });
  const purge = o.purge ?? (async () => undefined);
  const shard = (id: string) => shardOf(id, shards);
  const fences = new Map<number, number>();

  // Epochs must exceed every fence already stored (Redis may have been emptied).
  const maxFence = await repo.maxFence();

  let router!: CommandRouter;
  let relay!: StatusRelay;
  const manager: ShardManager = new ShardManager({
    redis: o.redis.client,
    keys,
    nodeId,
    shards,
    ttlMs,
    renewMs,
    logger,
    async onGained(gained) {
      for (const [s, e] of gained) fences.set(s, e);
      const started = clock.now();
      const ids = (await repo.ids()).filter((id) => gained.has(shard(id)));
      // Stamp the new epoch first: from here on a stale owner's write of these rows is rejected.
      await repo.stampFences(ids, ids.map((id) => gained.get(shard(id))!));
      const stillMine = (id: string) => {
        const s = shard(id);
        return gained.has(s) && manager.epoch(s) === gained.get(s);
      };
      // A host left from an earlier epoch of these shards (created while they were being
      // dropped) carries a stale fence: replace it, never keep it.
      const stale = ids.filter((id) => registry.hosts.has(id));
      if (stale.length) await registry.release(stale);
      const r = await registry.boot(stillMine);
      // Shards dropped again while booting: hosts created after the drop's release go too.
      const orphans = ids.filter((id) => registry.hosts.has(id) && !stillMine(id));
      if (orphans.length) await registry.release(orphans);
      // Announce the restored state so other nodes' streams see the takeover (a missed seq → flagged reset).
      const ts = new Date(clock.now()).toISOString();
      const events: HubEvent[] = [];
      for (const id of ids) {
        const st = registry.get(id) ? rt.projection.get(id) : undefined;
        if (st) events.push({ type: 'status', projectId: id, seq: st.seq, ts, payload: st });
      }
      relay.announce(events);
      router.setShards(manager.owned());
      logger.info({ shards: [...gained.keys()], projects: ids.length, restored: r.restored, halted: r.halted.length, ms: clock.now() - started }, 'shards restored');
    },
    async onLost(lost) {
      const set = new Set(lost);
      for (const s of lost) fences.delete(s);
      router?.setShards(manager.owned());
      const ids = [...registry.hosts.keys()].filter((id) => set.has(shard(id)));
      // registry.release disposes synchronously first (actors stopped, steps aborted) — before any await.
      await registry.release(ids);
      await rt.writer.flush();
      logger.info({ shards: lost, projects: ids.length }, 'shards released');
    },
  });
  await manager.leases.floorEpoch(maxFence);

  // A project whose write was fenced while this node still holds its shard (a host from an older
  // epoch): host it again at the current epoch, or the shard's commands would find no host.
  const rehosting = new Set<string>();
  const rehost = (projectId: string): void => {
    if (rehosting.has(projectId)) return; // one at a time per project (a sweep may ask again)
    rehosting.add(projectId);
    const s = shard(projectId);
    void manager
      .verify(s)
      .then(async (mine) => {
        if (!mine || registry.hosts.has(projectId)) return;
        const epoch = manager.epoch(s);
        await registry.boot((id) => id === projectId && manager.epoch(s) === epoch);
        logger.warn({ projectId, shard: s, epoch }, 'project hosted again at the current epoch');
      })
      .catch((err) => logger.error({ err, projectId }, 'could not re-host a fenced project'))
      .finally(() => rehosting.delete(projectId));
  };
  registry.onFenced = rehost;

  router = new CommandRouter({
    redis: o.redis,
    keys,
    nodeId,
    shards,
    logger,
    owns: (s) => manager.holds(s),
    apply: async (projectId, c) => {
      const s = shard(projectId);
      // The shard may be lost while a command is being applied (hand-over, lapse): a result that
      // did not take effect here is not recorded; the entry stays pending for the next owner.
      const lostMeanwhile = () => !manager.holds(s);
      switch (c.kind) {
        case 'command': {
          try {
            const r = await registry.command(projectId, c.cmd, { stopTimeoutMs: c.stopTimeoutMs, taskId: c.taskId });
            if (!r.ok && lostMeanwhile()) throw new NotAppliedHereError(projectId);
            return r;
          } catch (err) {
            // Released or fenced here: left pending. If the lease is still ours, host the project
            // again (the sweep retries the entry); else the real owner applies it.
            if (err instanceof HostGoneError) {
              if (manager.holds(s)) rehost(projectId);
              throw new NotAppliedHereError(projectId);
            }
            throw err;
          }
        }
        case 'initialize': {
          const r = await registry.initialize(c.config);
          if (lostMeanwhile()) {
            await registry.release([projectId]);
            throw new NotAppliedHereError(projectId);
          }
          return r;
        }
        case 'wake': {
          const ok = registry.wake(projectId, c.type);
          if (!ok && lostMeanwhile()) throw new NotAppliedHereError(projectId);
          return ok;
        }
        case 'delete':
          return registry.delete(projectId, purge);
      }
    },
  });
  relay = new StatusRelay({
    redis: o.redis,
    channel: keys.hub,
    nodeId,
    hub: rt.hub,
    projection: rt.projection,
    logger,
    hostedHere: (id) => registry.hosts.has(id),
    mirrorIntoLocalHub: o.mirrorIntoLocalHub,
  });
  await relay.start();
  await router.start();
  manager.start();

  const unwrap = (projectId: string, r: Reply): unknown => {
    if (r.ok) return r.value;
    if (r.code === 'ProjectNotFoundError') throw new ProjectNotFoundError(projectId);
    if (r.code === 'TaskChoiceError' && r.data) {
      const d = r.data as { command: Command; choices: string[] };
      throw new TaskChoiceError(d.command, d.choices);
    }
    throw new Error(r.error);
  };

  const status = async (projectId: string): Promise<ProjectStatus> => {
    const live = rt.projection.get(projectId);
    if (live) return live;
    const stored = await repo.status(projectId);
    if (!stored) throw new ProjectNotFoundError(projectId);
    return stored;
  };

  const routeCommand: Cluster['routeCommand'] = async (projectId, cmd, opts = {}) => {
    const c: ClusterCommand = { kind: 'command', cmd, stopTimeoutMs: opts.stopTimeoutMs, ...(opts.taskId ? { taskId: opts.taskId } : {}) };
    const wait = opts.timeoutMs ?? (cmd === 'STOP' ? (opts.stopTimeoutMs ?? 30_000) + commandTimeoutMs : commandTimeoutMs);
    const r = await router.send(projectId, c, wait);
    if (r === 'timeout' || r === 'sent') return { ok: 'timeout', status: await status(projectId) };
    return unwrap(projectId, r) as CommandResult;
  };

  const initialize: Cluster['initialize'] = async (config, opts = {}) => {
    const r = await router.send(config.projectId, { kind: 'initialize', config }, opts.timeoutMs ?? Math.max(30_000, commandTimeoutMs));
    if (r === 'timeout' || r === 'sent') throw new OwnerUnavailableError(config.projectId, 'initialize');
    return unwrap(config.projectId, r) as InitializeResult;
  };

  const wake: Cluster['wake'] = async (projectId, type) => {
    await router.send(projectId, { kind: 'wake', type }, 0);
    return true;
  };

  let readyP: Promise<void> | undefined;
  let closed: Promise<void> | undefined;
  const cluster: Cluster = {
    nodeId,
    keys,
    shards,
    manager,
    router,
    relay,
    clusterHub: relay.clusterHub,
    shardOf: shard,
    fence: (id) => fences.get(shard(id)) ?? 0,
    async checkLease(projectId) {
      const s = shard(projectId);
      if (!(await manager.verify(s))) throw new LeaseLostError(projectId, s);
    },
    routeCommand,
    initialize,
    wake,
    status,
    effects: {
      // EventEffects.wake is synchronous: the XADD runs in the background (logged on failure).
      wake: (projectId, type) => {
        void wake(projectId, type).catch((err) => logger.warn({ err: (err as Error).message, projectId }, 'wake not routed'));
        return true;
      },
      command: async (projectId, cmd) => {
        const r = await routeCommand(projectId, cmd);
        if (r.ok === 'timeout') throw new Error(`owner of ${projectId} did not answer in time (left queued)`);
        return r;
      },
    },
    async remove(projectId) {
      const r = await router.send(projectId, { kind: 'delete' }, Math.max(30_000, commandTimeoutMs));
      if (r === 'timeout' || r === 'sent') throw new OwnerUnavailableError(projectId, 'delete');
      return unwrap(projectId, r) as { ok: true } | { ok: false; state: string };
    },
    view() {
      return { ...rt, hub: rt.hub, projects: routedProjects(cluster, rt, commandTimeoutMs) };
    },
    ready: () =>
      (readyP ??= (async () => {
        await manager.tick();
        await manager.settled();
      })()),
    close: () =>
      (closed ??= (async () => {
        await manager.drain();
        await router.close();
        await relay.close();
      })()),
  };
  return cluster;
}
