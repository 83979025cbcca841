/**
 * The RxJS hub: every committed transition, status change, task event and log line of every
 * project flows through here. Per-project subjects are created lazily so idle projects cost
 * nothing; `all$` carries everything (the WebSocket gateway and cross-node relay consume it).
 */
import { Subject, type Observable } from 'rxjs';
import type { ProjectStatus } from '../domain/status.ts';

export type LogStream = 'stdout' | 'stderr' | 'runner';

export type HubEvent =
  | { type: 'transition'; projectId: string; seq: number; ts: string; payload: { from: string | null; to: string; event: string; taskId?: string } }
  | { type: 'status'; projectId: string; seq: number; ts: string; payload: ProjectStatus }
  | { type: 'log'; projectId: string; seq: number; ts: string; payload: { stream: LogStream; line: string; taskId: string | null; attempt: number | null; n: number } }
  | { type: 'task'; projectId: string; seq: number; ts: string; payload: { taskId: string; event: 'started' | 'completed' | 'skipped' | 'failed'; attempt: number; n: number } }
  | { type: 'error'; projectId: string; seq: number; ts: string; payload: { message: string; code: string; n: number } };

export class Hub {
  readonly all$ = new Subject<HubEvent>();
  readonly #projects = new Map<string, Subject<HubEvent>>();

  publish(event: HubEvent): void {
    this.#projects.get(event.projectId)?.next(event);
    this.all$.next(event);
  }

  project$(projectId: string): Observable<HubEvent> {
    let s = this.#projects.get(projectId);
    if (!s) {
      s = new Subject<HubEvent>();
      this.#projects.set(projectId, s);
    }
    return s.asObservable();
  }

  /** Forget a deleted project's subject (completing its subscribers). */
  drop(projectId: string): void {
    this.#projects.get(projectId)?.complete();
    this.#projects.delete(projectId);
  }

  complete(): void {
    for (const s of this.#projects.values()) s.complete();
    this.#projects.clear();
    this.all$.complete();
  }
}
