/**
 * The status projection (@xstate/store): the latest committed status of every project, for
 * readers (REST, WebSocket snapshots, UI). Updated only after a transition's transaction commits.
 * The map is mutated in place and a version bumped, so an update is O(1) with 10k projects.
 */
import { createStore } from '@xstate/store';
import type { ProjectStatus } from '../domain/status.ts';

export function createStatusProjection() {
  const store = createStore({
    context: { projects: new Map<string, ProjectStatus>(), version: 0 },
    on: {
      upsert: (ctx, ev: { status: ProjectStatus }) => {
        const cur = ctx.projects.get(ev.status.projectId);
        if (cur && cur.seq > ev.status.seq) return ctx; // never go backwards
        // Frozen: readers share it, and the HTTP layer may cache its serialized form.
        ctx.projects.set(ev.status.projectId, Object.freeze(ev.status));
        return { projects: ctx.projects, version: ctx.version + 1 };
      },
      remove: (ctx, ev: { projectId: string }) => {
        if (!ctx.projects.delete(ev.projectId)) return ctx;
        return { projects: ctx.projects, version: ctx.version + 1 };
      },
    },
  });
  return {
    store,
    upsert: (status: ProjectStatus) => store.trigger.upsert({ status }),
    remove: (projectId: string) => store.trigger.remove({ projectId }),
    get: (projectId: string): ProjectStatus | undefined => store.getSnapshot().context.projects.get(projectId),
    all: (): ProjectStatus[] => [...store.getSnapshot().context.projects.values()],
    size: () => store.getSnapshot().context.projects.size,
  };
}

export type StatusProjection = ReturnType<typeof createStatusProjection>;
