/**
 * `Projects` on a cluster node: every write travels to the project's owner through its shard's
 * stream and waits (bounded) for the owner's answer; reads come from the relayed projection and
 * the shared database. A routed command whose owner does not answer in time answers with the
 * current status and `timedOut: true` (202 — it stays queued for the owner); an initialize or
 * delete that no node applied in time is an OwnerUnavailableError (503).
 */
import type { ProjectStatus } from '../../domain/status.ts';
import { storedProjects, type Projects } from '../projects.ts';
import type { Runtime } from '../runtime.ts';
import type { Cluster } from './index.ts';

export function routedProjects(c: Cluster, rt: Pick<Runtime, 'db' | 'projection'>, commandTimeoutMs: number): Projects {
  const live = (id: string): ProjectStatus | undefined => rt.projection.get(id);
  const stored = storedProjects(rt.db, live);
  const accepted = (id: string) => live(id)?.acceptedCommands ?? [];
  return {
    ...stored,
    async initialize(config) {
      const r = await c.initialize(config);
      return r.code === 'conflict' ? { ...r, acceptedCommands: accepted(config.projectId) } : r;
    },
    async command(projectId, cmd, opts = {}) {
      const r = await c.routeCommand(projectId, cmd, {
        stopTimeoutMs: opts.stopTimeoutMs,
        taskId: opts.taskId,
        timeoutMs: cmd === 'STOP' ? (opts.stopTimeoutMs ?? 30_000) + commandTimeoutMs : commandTimeoutMs,
      });
      if (r.ok === 'timeout') return { ok: true, status: r.status, noop: false, timedOut: true };
      return r;
    },
    async delete(projectId) {
      const r = await c.remove(projectId);
      return r.ok ? r : { ...r, acceptedCommands: accepted(projectId) };
    },
    wake: (projectId, type) => c.wake(projectId, type),
  };
}
