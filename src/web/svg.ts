/**
 * The laid-out statechart as an SVG string (no DOM needed). Nodes and edges carry data
 * attributes (`data-state`, `data-edge`, `data-from`, `data-to`, `data-role`) that the dashboard
 * uses to highlight the active state and animate the last transition with CSS classes; every
 * edge has a tooltip listing the machine transitions it stands for.
 */
import { METRICS } from './chart/metrics.ts';
import type { LaidOutChart, LaidOutEdge, LaidOutNode } from './chart/types.ts';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Escape text for SVG/HTML content and attribute values. */
export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESC[c]!);
const r = (n: number) => Math.round(n * 10) / 10;

function nodeSvg(n: LaidOutNode, region: boolean): string {
  const extra = `${n.initial ? ' sc-initial' : ''}${n.parallel ? ' sc-parallel' : ''}${region ? ' sc-region' : ''}`;
  const attrs = `class="sc-node sc-${n.kind}${extra}" data-state="${esc(n.id)}"`;
  if (n.kind === 'history') {
    const cx = r(n.x + n.w / 2);
    const cy = r(n.y + n.h / 2);
    return `<g ${attrs}><title>${esc(n.id)}: history — RESUME re-enters the state that was left</title><circle cx="${cx}" cy="${cy}" r="${r(n.w / 2)}"/><text class="sc-hist" x="${cx}" y="${r(cy + 4.5)}" text-anchor="middle">${esc(n.label)}</text></g>`;
  }
  const rect = `<rect x="${r(n.x)}" y="${r(n.y)}" width="${r(n.w)}" height="${r(n.h)}" rx="${n.kind === 'compound' ? 12 : 9}"/>`;
  const initial = n.initial && n.kind !== 'compound' ? `<circle class="sc-initial-dot" cx="${r(n.x)}" cy="${r(n.y)}" r="4.5"/>` : '';
  if (n.kind === 'compound') {
    const what = n.parallel ? ' — parallel: all its regions are active at once' : region ? ' — a region of a parallel state' : '';
    return `<g ${attrs}><title>${esc(n.id + what)}</title>${rect}<text class="sc-title" x="${r(n.x + 12)}" y="${r(n.y + METRICS.titleFont + 6)}">${esc(n.label)}</text></g>`;
  }
  const inner = n.kind === 'final' ? `<rect class="sc-final-inner" x="${r(n.x + 4)}" y="${r(n.y + 4)}" width="${r(n.w - 8)}" height="${r(n.h - 8)}" rx="6"/>` : '';
  const cx = r(n.x + n.w / 2);
  const nameY = n.y + n.h / 2 + METRICS.stateFont * 0.36;
  const tip = n.invokes ? `${n.id} — runs ${n.invokes}` : n.id;
  return `<g ${attrs}><title>${esc(tip)}</title>${rect}${inner}${initial}<text class="sc-name" x="${cx}" y="${r(nameY)}" text-anchor="middle">${esc(n.label)}</text></g>`;
}

/** An orthogonal polyline with rounded bends. */
function pathD(points: Array<[number, number]>): string {
  const R = 7;
  let d = `M${r(points[0]![0])} ${r(points[0]![1])}`;
  for (let i = 1; i < points.length - 1; i++) {
    const [px, py] = points[i - 1]!;
    const [x, y] = points[i]!;
    const [nx, ny] = points[i + 1]!;
    const a = Math.min(R, Math.hypot(x - px, y - py) / 2, Math.hypot(nx - x, ny - y) / 2);
    const ux = Math.sign(x - px) * a;
    const uy = Math.sign(y - py) * a;
    const vx = Math.sign(nx - x) * a;
    const vy = Math.sign(ny - y) * a;
    d += ` L${r(x - ux)} ${r(y - uy)} Q${r(x)} ${r(y)} ${r(x + vx)} ${r(y + vy)}`;
  }
  const last = points[points.length - 1]!;
  return `${d} L${r(last[0])} ${r(last[1])}`;
}

/** The tooltip of an edge: its note, then one line per machine transition. */
export function edgeTooltip(e: LaidOutEdge): string {
  const lines = e.members.map((m) => `${m.source || 'root'} → ${m.target}: ${m.event}${m.guard ? ` [${m.guard}]` : m.fallback ? ' (else)' : ''}`);
  return [e.note, ...lines].filter(Boolean).join('\n');
}

function edgeSvg(e: LaidOutEdge, marker: string): string {
  if (e.points.length < 2) return '';
  let label = '';
  if (e.label && e.labels.length) {
    const lines = e.labels
      .map((t, i) => `<tspan x="${r(e.label!.x + e.label!.w / 2)}" y="${r(e.label!.y + 2 + METRICS.lineH * (i + 1) - 4)}">${esc(t)}</tspan>`)
      .join('');
    label = `<rect class="sc-label-bg" x="${r(e.label.x)}" y="${r(e.label.y)}" width="${r(e.label.w)}" height="${r(e.label.h)}" rx="4"/><text class="sc-label" text-anchor="middle">${lines}</text>`;
  }
  const role = e.role === 'step' ? '' : ` sc-${e.role}`;
  return (
    `<g class="sc-edge${role}" data-edge="${e.id}" data-role="${e.role}" data-from="${esc(e.source)}" data-to="${esc(e.target)}"><title>${esc(edgeTooltip(e))}</title>` +
    `<path class="sc-hit" d="${pathD(e.points)}"/><path class="sc-line" d="${pathD(e.points)}" marker-end="url(#${marker}-arrow${role ? '-group' : ''})"/>${label}</g>`
  );
}

/** Compound nodes first (behind), then leaf nodes, then edges with their labels on top. */
export function renderSvg(chart: LaidOutChart, opts: { label: string; id: string } = { label: 'Project statechart', id: 'sc' }): string {
  const parallel = new Set(chart.nodes.filter((n) => n.parallel).map((n) => n.id));
  const draw = (n: LaidOutNode) => nodeSvg(n, n.parent !== null && parallel.has(n.parent));
  const compounds = chart.nodes.filter((n) => n.kind === 'compound').map(draw).join('');
  const leaves = chart.nodes.filter((n) => n.kind !== 'compound').map(draw).join('');
  const edges = chart.edges.map((e) => edgeSvg(e, opts.id)).join('');
  // Marker ids are prefixed per chart: two charts share one document.
  const marker = (id: string, cls: string) => `<marker id="${opts.id}-${id}" class="${cls}" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="9" markerHeight="9" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z"/></marker>`;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="statechart" viewBox="0 0 ${chart.width} ${chart.height}" role="img" aria-label="${esc(opts.label)}">` +
    `<defs>${marker('arrow', 'sc-marker')}${marker('arrow-group', 'sc-marker sc-marker-group')}</defs><g class="sc-compounds">${compounds}</g><g class="sc-leaves">${leaves}</g><g class="sc-edges">${edges}</g></svg>`
  );
}
