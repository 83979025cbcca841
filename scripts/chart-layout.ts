/**
 * Build step: lays the dashboard's statechart out from the current machine definition
 * (src/machines/project.machine.ts → graph → consolidation → elkjs) in Node. scripts/build-web.mjs
 * runs it on every build and embeds the result in the bundle as the module `devteam:statechart`,
 * so the layout can never be stale and the browser never loads elkjs.
 *
 *   tsx scripts/chart-layout.ts [out.json]     (writes the laid-out chart as JSON, for inspection)
 */
import { writeFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import type { LaidOutChart } from '../src/web/chart/types.ts';
import { fitScale, layoutMachine, TARGET_BOX } from '../src/web/layout.ts';

/** The laid-out chart and a one-line summary for the build log. */
export async function chartLayout(): Promise<{ chart: LaidOutChart; summary: string }> {
  const started = Date.now();
  const chart = await layoutMachine();
  const summary =
    `statechart laid out in ${Date.now() - started} ms: ${chart.nodes.length} states, ${chart.edges.length} edges, ` +
    `${chart.width}×${chart.height} (fits ${TARGET_BOX.width}×${TARGET_BOX.height} at ${fitScale(chart).toFixed(2)}×)`;
  return { chart, summary };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { chart, summary } = await chartLayout();
  const out = process.argv[2];
  if (out) await writeFile(out, JSON.stringify(chart) + '\n');
  process.stdout.write(`${summary}\n`);
}
