/**
 * The statechart's legend, written from the chart data: what the highlights mean, the notation
 * (unlabelled arrows, guards, border arrows, history, parallel regions), and one line per consolidated edge
 * saying which transitions of the machine it stands for.
 */
import { h } from '../dom.ts';
import { eventFamily } from './consolidate.ts';
import type { LaidOutChart, LaidOutEdge } from './types.ts';

const short = (id: string) => id.slice(id.lastIndexOf('.') + 1) || 'root';

/** One legend line per lift or fan-out an edge draws: its label, then the transitions it stands for. */
export function describeEdge(e: LaidOutEdge): Array<{ title: string; text: string }> {
  return e.groups.map((g) => {
    const families = [...new Set(g.members.map((m) => eventFamily(m.event)))].join(', ');
    if (g.role === 'lifted') {
      const from = [...new Set(g.members.map((m) => short(m.source)))];
      return { title: `${g.label} → ${short(e.target)}`, text: `${families} from any of ${from.length} states inside ${short(e.source)}: ${from.join(', ')}` };
    }
    const to = [...new Set(g.members.map((m) => `${short(m.target)}${m.guard ? ` [${m.guard}]` : m.fallback ? ' (else)' : ''}`))];
    return { title: `${short(e.source)}: ${g.label}`, text: `enters the state its guard picks — ${to.join(', ')}` };
  });
}

/** The legend element for `chart`. */
export function createLegend(chart: LaidOutChart): HTMLElement {
  const item = (...children: Array<Node | string>) => h('li', {}, ...children);
  const keys = h(
    'ul',
    { class: 'chart-legend-keys' },
    item(h('span', { class: 'lg-swatch lg-now' }), 'current state'),
    item(h('span', { class: 'lg-swatch lg-resume' }), 'RESUME returns here'),
    item(h('span', { class: 'lg-line lg-fired' }), 'last transition'),
    item(h('span', { class: 'lg-line' }), 'no label: the step is done; [guard] / else: which way it goes'),
    item(h('span', { class: 'lg-line lg-group' }), "from or to a box's border: any state inside it"),
    ...(chart.nodes.some((n) => n.kind === 'history') ? [item(h('b', {}, 'H*'), ' where RESUME returns (the state PAUSE left)')] : []),
    ...(chart.nodes.some((n) => n.parallel) ? [item(h('span', { class: 'lg-swatch lg-region' }), 'regions of a parallel state: all active at once')] : []),
  );
  const groups = chart.edges.flatMap((e) =>
    describeEdge(e).map((d) => h('li', { 'data-legend-edge': e.id, title: `${d.title}: ${d.text}` }, h('b', {}, d.title), ` — ${d.text}`)),
  );
  return h('div', { class: 'chart-legend' }, keys, h('ul', { class: 'chart-legend-groups' }, ...groups));
}
