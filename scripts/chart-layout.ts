/**
 * Build step: lays the dashboard's statecharts out from the current machine definitions
 * (src/machines/project.machine.ts and task.machine.ts → graph → consolidation → elkjs) in Node.
 * scripts/build-web.mjs runs it on every build and embeds the result in the bundle as the module
 * `devteam:statechart`, so the layout can never be stale and the browser never loads elkjs.
 *
 *   tsx scripts/chart-layout.ts [out.json]     (writes the laid-out charts as JSON, for inspection)
 */
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { Charts } from '../src/web/chart/types.ts';
import { METRICS } from '../src/web/chart/metrics.ts';
import { fitScale, layoutCharts, PANEL_BOX } from '../src/web/layout.ts';

/** The laid-out charts and a summary for the build log (size, scale in its panel, smallest text). */
export async function chartLayout(): Promise<{ chart: Charts; summary: string }> {
  const started = Date.now();
  const chart = await layoutCharts();
  const lines = (Object.keys(chart) as Array<keyof Charts>).map((name) => {
    const c = chart[name];
    const box = PANEL_BOX[name];
    const scale = fitScale(c, box);
    return (
      `  ${name}: ${c.nodes.length} states, ${c.edges.length} edges, ${c.width}×${c.height}, fits ${box.width}×${box.height} ` +
      `at ${scale.toFixed(2)}× (smallest text ${(METRICS.edgeFont * scale).toFixed(1)} px)`
    );
  });
  return { chart, summary: [`statecharts laid out in ${Date.now() - started} ms:`, ...lines].join('\n') };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { chart, summary } = await chartLayout();
  const out = process.argv[2];
  if (out) await writeFile(out, JSON.stringify(chart) + '\n');
  process.stdout.write(`${summary}\n`);
}
