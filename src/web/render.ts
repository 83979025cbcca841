/**
 * Batched rendering: store updates only mark the view dirty; the DOM is updated once per
 * animation frame, however many envelopes arrived in between. Each view gets the current and
 * the previously rendered context and skips work when the parts it shows are unchanged.
 */
import type { UiContext, UiStore } from './store.ts';

export type View = (ctx: UiContext, prev: UiContext | null) => void;

export interface RenderLoop {
  /** Request a frame (e.g. after a scroll) even if the store did not change. */
  invalidate(): void;
  stop(): void;
  /** Frames rendered so far. */
  readonly frames: number;
}

export function startRenderLoop(store: UiStore, views: View[]): RenderLoop {
  let prev: UiContext | null = null;
  let scheduled = false;
  let force = false;
  let frames = 0;
  const frame = () => {
    scheduled = false;
    const ctx = store.getSnapshot().context;
    const p = force ? null : prev;
    force = false;
    for (const v of views) v(ctx, p);
    prev = ctx;
    frames++;
  };
  const schedule = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(frame);
  };
  const sub = store.subscribe(schedule);
  frame();
  return {
    invalidate() {
      force = true;
      schedule();
    },
    stop: () => sub.unsubscribe(),
    get frames() {
      return frames;
    },
  };
}
