/**
 * Zoom and pan for the statechart by moving the SVG's viewBox (the drawing stays vector-sharp):
 * fit by default; wheel or pinch zooms about the pointer, dragging pans, and the keyboard does
 * both when the canvas has focus (+/− zoom, 0 fits, arrows pan). The canvas reports the zoom
 * relative to "fit" in `data-zoom`.
 */
import type { Box } from './types.ts';

/** The chart's view: what the buttons and the panel call. */
export interface Viewport {
  fit(): void;
  /** Zoom by `factor` (> 1 zooms in) about a point in chart units (default: the view's centre). */
  zoomBy(factor: number, at?: { x: number; y: number }): void;
  /** Move the view by a distance in chart units. */
  panBy(dx: number, dy: number): void;
  /** Pan so that `box` (chart units) is in view, if it is not. */
  reveal(box: Box): void;
  destroy(): void;
}

const MIN_ZOOM = 1; // the fitted view is the widest
const MAX_ZOOM = 6;

/** Attach zoom and pan to `svg` (a child of `host`) for a drawing of `size` chart units. */
export function createViewport(host: HTMLElement, svg: SVGSVGElement, size: { width: number; height: number }): Viewport {
  let vb = { x: 0, y: 0, w: size.width, h: size.height };
  const apply = () => {
    svg.setAttribute('viewBox', `${vb.x.toFixed(1)} ${vb.y.toFixed(1)} ${vb.w.toFixed(1)} ${vb.h.toFixed(1)}`);
    host.dataset.zoom = (size.width / vb.w).toFixed(2);
  };
  /** Client (CSS px) → chart units. */
  const toChart = (clientX: number, clientY: number) => {
    const m = svg.getScreenCTM();
    if (!m) return { x: vb.x + vb.w / 2, y: vb.y + vb.h / 2 };
    const p = new DOMPoint(clientX, clientY).matrixTransform(m.inverse());
    return { x: p.x, y: p.y };
  };
  const pxPerUnit = () => svg.getScreenCTM()?.a || 1;

  const view: Viewport = {
    fit() {
      vb = { x: 0, y: 0, w: size.width, h: size.height };
      apply();
    },
    zoomBy(factor, at = { x: vb.x + vb.w / 2, y: vb.y + vb.h / 2 }) {
      const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, (size.width / vb.w) * factor));
      const k = size.width / zoom / vb.w; // new width / old width
      vb = { x: at.x - (at.x - vb.x) * k, y: at.y - (at.y - vb.y) * k, w: vb.w * k, h: vb.h * k };
      if (zoom === MIN_ZOOM) vb = { x: 0, y: 0, w: size.width, h: size.height };
      apply();
    },
    panBy(dx, dy) {
      vb = { ...vb, x: vb.x + dx, y: vb.y + dy };
      apply();
    },
    reveal(b) {
      const margin = 12;
      const inside = b.x >= vb.x && b.y >= vb.y && b.x + b.w <= vb.x + vb.w && b.y + b.h <= vb.y + vb.h;
      if (inside || vb.w >= size.width) return;
      view.panBy(b.x + b.w / 2 - (vb.x + vb.w / 2) + (b.w > vb.w ? margin : 0), b.y + b.h / 2 - (vb.y + vb.h / 2));
    },
    destroy() {
      ac.abort();
    },
  };

  const ac = new AbortController();
  const on = <K extends keyof HTMLElementEventMap>(type: K, fn: (e: HTMLElementEventMap[K]) => void, passive = true) =>
    host.addEventListener(type, fn, { signal: ac.signal, passive });

  on(
    'wheel',
    (e) => {
      e.preventDefault();
      // Trackpad pinches arrive as ctrl+wheel with small deltas; mouse wheels in lines or pixels.
      const delta = e.deltaMode === 1 ? e.deltaY * 16 : e.deltaY;
      view.zoomBy(Math.exp(-delta * (e.ctrlKey ? 0.01 : 0.0015)), toChart(e.clientX, e.clientY));
    },
    false,
  );

  // Drag pans; two pointers pinch.
  const pointers = new Map<number, { x: number; y: number }>();
  let pinch = 0;
  on('pointerdown', (e) => {
    if (e.button !== 0) return;
    pointers.set(e.pointerId, { x: e.clientX, y: e.clientY });
    host.setPointerCapture(e.pointerId);
    host.classList.add('is-dragging');
  });
  on('pointermove', (e) => {
    const last = pointers.get(e.pointerId);
    if (!last) return;
    const now = { x: e.clientX, y: e.clientY };
    if (pointers.size === 1) {
      const k = pxPerUnit();
      view.panBy(-(now.x - last.x) / k, -(now.y - last.y) / k);
    }
    pointers.set(e.pointerId, now);
    if (pointers.size === 2) {
      const [a, b] = [...pointers.values()] as [{ x: number; y: number }, { x: number; y: number }];
      const d = Math.hypot(a.x - b.x, a.y - b.y);
      if (pinch > 0) view.zoomBy(d / pinch, toChart((a.x + b.x) / 2, (a.y + b.y) / 2));
      pinch = d;
    }
  });
  const release = (e: PointerEvent) => {
    pointers.delete(e.pointerId);
    pinch = 0;
    if (!pointers.size) host.classList.remove('is-dragging');
  };
  on('pointerup', release);
  on('pointercancel', release);

  on(
    'keydown',
    (e) => {
      const step = 0.1;
      const keys: Record<string, () => void> = {
        '+': () => view.zoomBy(1.25),
        '=': () => view.zoomBy(1.25),
        '-': () => view.zoomBy(0.8),
        '0': () => view.fit(),
        ArrowLeft: () => view.panBy(-vb.w * step, 0),
        ArrowRight: () => view.panBy(vb.w * step, 0),
        ArrowUp: () => view.panBy(0, -vb.h * step),
        ArrowDown: () => view.panBy(0, vb.h * step),
      };
      const act = keys[e.key];
      if (!act || e.altKey || e.metaKey || e.ctrlKey) return;
      e.preventDefault();
      act();
    },
    false,
  );

  apply();
  return view;
}
