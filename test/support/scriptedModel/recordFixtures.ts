/**
 * Records the REAL agents' stdout against the scripted model into test/fixtures/agents/.
 *   npx tsx test/support/scriptedModel/recordFixtures.ts [claude|codex|gemini|opencode ...]
 * Needs the CLIs from scripts/install-agent-clis.sh. For each agent and scenario it writes
 * `<agent>-<scenario>.jsonl` (stdout lines, verbatim) and adds an entry to
 * `recordings.json` (exit code, verdict, requests the endpoint saw, usage it reported).
 * Refuses to write anything that contains the canary API key.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CliAgentKind } from '../../../src/infra/agents/cli/events.ts';
import { binaryPresent, CANARY_KEY, commitTurn, editTurn, INSTALL_HINT, runScenario } from './agentHarness.ts';
import type { FailureKind, Script } from './server.ts';

const OUT = fileURLToPath(new URL('../../fixtures/agents/', import.meta.url));
const AGENTS: CliAgentKind[] = ['claude', 'codex', 'gemini', 'opencode'];

interface Scenario { name: string; script: (kind: CliAgentKind, ws: string) => Script; model?: string }
const fail = (kind: FailureKind): Scenario => ({ name: `error-${kind}`, script: () => ({ fail: { kind, retryAfterSec: 1 } }) });
export const SCENARIOS: Scenario[] = [
  { name: 'edit', script: (k, ws) => ({ turns: [editTurn(k, ws, 'hello from the scripted model\n'), commitTurn(k), { kind: 'text', text: 'Created hello.txt; committing is left to the runner.' }] }) },
  fail('auth'), fail('unknown-model'), fail('rate-limit'), fail('overloaded'), fail('quota'),
];

async function main(): Promise<void> {
  const wanted = (process.argv.slice(2).length ? process.argv.slice(2) : AGENTS) as CliAgentKind[];
  const indexFile = path.join(OUT, 'recordings.json');
  const index = JSON.parse(await readFile(indexFile, 'utf8').catch(() => '{}')) as Record<string, unknown>;
  for (const kind of wanted) {
    if (!binaryPresent(kind)) throw new Error(`${kind} is not installed: ${INSTALL_HINT}`);
    for (const sc of SCENARIOS) {
      const t0 = Date.now();
      const run = await runScenario(kind, (ws) => sc.script(kind, ws), { maxRetries: sc.name === 'edit' ? undefined : 0 });
      try {
        const text = `${run.stdout.join('\n')}\n`;
        const meta = {
          agent: kind,
          scenario: sc.name,
          recordedAt: new Date().toISOString(),
          version: run.result.executor.version,
          model: run.result.executor.model,
          exitCode: run.result.exec.exitCode,
          durationMs: Date.now() - t0,
          verdict: run.result.verdict,
          parsedUsage: run.result.usage,
          endpointUsageMain: run.model.reportedUsage('main'),
          endpointUsageAll: run.model.reportedUsage('all'),
          requests: run.model.requests.map((r) => ({ method: r.method, url: r.url, role: r.role, status: r.status, model: r.model, keyMatched: r.keyMatched })),
          stderrTail: run.stderr.slice(-15).map((l) => l.slice(0, 300)),
        };
        const metaText = JSON.stringify(meta);
        if (text.includes(CANARY_KEY) || metaText.includes(CANARY_KEY)) throw new Error(`${kind}/${sc.name}: output contains the API key; not recording`);
        await writeFile(path.join(OUT, `${kind}-${sc.name}.jsonl`), text);
        index[`${kind}-${sc.name}`] = meta;
        process.stdout.write(`${kind}/${sc.name}: exit ${meta.exitCode}, ${meta.verdict.class}/${meta.verdict.reason}, ${run.stdout.length} lines, ${meta.requests.length} requests, ${meta.durationMs} ms\n`);
      } finally {
        await run.cleanup();
      }
    }
  }
  await writeFile(indexFile, `${JSON.stringify(index, null, 1)}\n`);
}

await main();
