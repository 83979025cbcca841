/**
 * The laid-out statechart as an SVG string (no DOM needed). Nodes and edges carry data
 * attributes (`data-state`, `data-edge`, `data-from`, `data-to`) that the dashboard uses to
 * highlight the active state and animate the last transition with CSS classes.
 */
import { METRICS, type LaidOutChart, type LaidOutEdge, type LaidOutNode } from './layout.ts';

const ESC: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ESC[c]!);
const r = (n: number) => Math.round(n * 10) / 10;

function nodeSvg(n: LaidOutNode): string {
  const attrs = `class="sc-node sc-${n.kind}${n.initial ? ' sc-initial' : ''}" data-state="${esc(n.id)}"`;
  if (n.kind === 'history') {
    const cx = r(n.x + n.w / 2);
    const cy = r(n.y + n.h / 2);
    return `<g ${attrs}><title>${esc(n.id)} (history)</title><circle cx="${cx}" cy="${cy}" r="${r(n.w / 2)}"/><text class="sc-hist" x="${cx}" y="${r(cy + 4)}" text-anchor="middle">${esc(n.label)}</text></g>`;
  }
  const rect = `<rect x="${r(n.x)}" y="${r(n.y)}" width="${r(n.w)}" height="${r(n.h)}" rx="${n.kind === 'compound' ? 10 : 8}"/>`;
  const inner = n.kind === 'final' ? `<rect class="sc-final-inner" x="${r(n.x + 3)}" y="${r(n.y + 3)}" width="${r(n.w - 6)}" height="${r(n.h - 6)}" rx="6"/>` : '';
  if (n.kind === 'compound') {
    return `<g ${attrs}><title>${esc(n.id)}</title>${rect}<text class="sc-title" x="${r(n.x + 12)}" y="${r(n.y + 21)}">${esc(n.label)}</text></g>`;
  }
  const cx = r(n.x + n.w / 2);
  const nameY = n.invokes ? n.y + 19 : n.y + n.h / 2 + METRICS.stateFont * 0.35;
  const invoke = n.invokes ? `<text class="sc-invoke" x="${cx}" y="${r(n.y + 35)}" text-anchor="middle">⟳ ${esc(n.invokes)}</text>` : '';
  return `<g ${attrs}><title>${esc(n.id)}</title>${rect}${inner}<text class="sc-name" x="${cx}" y="${r(nameY)}" text-anchor="middle">${esc(n.label)}</text>${invoke}</g>`;
}

function edgeSvg(e: LaidOutEdge): string {
  if (e.points.length < 2) return '';
  const d = 'M' + e.points.map(([x, y]) => `${r(x)} ${r(y)}`).join(' L');
  let label = '';
  if (e.label) {
    const lines = e.labels
      .map((t, i) => `<tspan x="${r(e.label!.x + 3)}" y="${r(e.label!.y + METRICS.lineH * (i + 1) - 1)}">${esc(t)}</tspan>`)
      .join('');
    label = `<rect class="sc-label-bg" x="${r(e.label.x)}" y="${r(e.label.y)}" width="${r(e.label.w)}" height="${r(e.label.h)}" rx="3"/><text class="sc-label">${lines}</text>`;
  }
  return `<g class="sc-edge" data-edge="${e.id}" data-from="${esc(e.source)}" data-to="${esc(e.target)}"><title>${esc(e.source || 'root')} → ${esc(e.target)}: ${esc([...e.labels, ...e.guards].join(', '))}</title><path d="${d}" marker-end="url(#sc-arrow)"/>${label}</g>`;
}

/** Compound nodes first (behind), then edges, then atomic nodes on top. */
export function renderSvg(chart: LaidOutChart): string {
  const compounds = chart.nodes.filter((n) => n.kind === 'compound').map(nodeSvg).join('');
  const leaves = chart.nodes.filter((n) => n.kind !== 'compound').map(nodeSvg).join('');
  const edges = chart.edges.map(edgeSvg).join('');
  const defs =
    '<defs><marker id="sc-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0 L10 5 L0 10 z"/></marker></defs>';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="statechart" viewBox="0 0 ${chart.width} ${chart.height}" width="${chart.width}" height="${chart.height}" role="img" aria-label="Project statechart">` +
    `${defs}<g class="sc-compounds">${compounds}</g><g class="sc-edges">${edges}</g><g class="sc-leaves">${leaves}</g></svg>`
  );
}
