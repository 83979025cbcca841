/**
 * `devteam demo` / `npm run demo`: the whole product on one machine with only Node and git.
 * Creates the sample repository, serves it over smart HTTP from 127.0.0.1 (the runner speaks
 * only HTTP(S) to remotes), starts the runner in-process unless one already answers at the
 * URL, initializes project `demo`, prints the dashboard URL and follows it like `watch` until
 * every task is done — then reports the time from start to all tasks done. `--keep` leaves
 * everything running for the dashboard; otherwise it all shuts down and the exit code says
 * whether every task finished (0) or not (1; 2 when the runner could not be reached).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createClient, type DevTeamClient } from '../client/rest.ts';
import type { WebSocketCtor } from '../client/stream.ts';
import { watchProject } from '../cli/watch.ts';
import { DEMO_PROJECT_ID, demoProjectConfig, sampleRepoFiles } from './sampleRepo.ts';
import { startGitHttpServer, type GitHttpServer } from './gitHttpServer.ts';
import type { EmbeddedRunner } from './embedded.ts';

export interface DemoOptions {
  /** Where a runner may already answer (default http://127.0.0.1:8787). */
  url: string;
  /** True when the URL was chosen explicitly (flag or DEVTEAM_URL). */
  urlGiven: boolean;
  token?: string;
  /** Port for the in-process runner; 0 picks a free one (and skips probing for a running one). */
  port: number;
  /** Keep data here (default: a temporary directory, removed at the end unless --keep). */
  dataDir?: string;
  keep: boolean;
  json: boolean;
  tail?: number;
  out: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  err: { write(s: string): unknown };
  WebSocket: WebSocketCtor;
}

async function answers(client: DevTeamClient): Promise<boolean> {
  try {
    await client.healthz({ signal: AbortSignal.timeout(2000) });
    return true;
  } catch {
    return false;
  }
}

export async function runDemo(o: DemoOptions): Promise<number | null> {
  const say = (human: string, json?: Record<string, unknown>) => {
    if (o.json) {
      if (json) o.out.write(`${JSON.stringify(json)}\n`);
    } else o.out.write(`${human}\n`);
  };
  const tempData = !o.dataDir;
  const dataDir = o.dataDir ? resolve(o.dataDir) : await mkdtemp(join(tmpdir(), 'devteam-demo-'));
  await mkdir(dataDir, { recursive: true });
  let git: GitHttpServer | undefined;
  let runner: EmbeddedRunner | undefined;
  const cleanup = async () => {
    await runner?.close().catch(() => undefined);
    await git?.close().catch(() => undefined);
    if (tempData) await rm(dataDir, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    let baseUrl = o.urlGiven ? o.url : `http://127.0.0.1:${o.port}`;
    let client = createClient({ baseUrl, token: o.token });
    const external = (o.urlGiven || o.port !== 0) && (await answers(client));
    if (!external && o.urlGiven && !['127.0.0.1', 'localhost'].includes(new URL(o.url).hostname)) {
      o.err.write(`devteam: cannot reach DevTeam Runner at ${o.url} (the demo starts its own runner only on 127.0.0.1)\n`);
      await cleanup();
      return 2;
    }
    // The git server + sample repo and the embedded runner (database boot, migrations) start side by side.
    const startRunner = async () => {
      if (external) return;
      const { startEmbeddedRunner } = await import('./embedded.ts');
      runner = await startEmbeddedRunner({ dataDir: join(dataDir, 'runner'), port: o.urlGiven ? Number(new URL(o.url).port || 8787) : o.port, token: o.token });
      baseUrl = runner.url;
      client = createClient({ baseUrl, token: o.token });
    };
    // A fresh repository name per run, so a runner that already knows project `demo` re-reads it.
    const repoName = `demo-${Date.now().toString(36)}`;
    const startGit = async () => {
      git = await startGitHttpServer({ root: join(dataDir, 'git') });
      return git.createRepo(repoName, await sampleRepoFiles());
    };
    const [repoUrl] = await Promise.all([startGit(), startRunner()]);
    const init = await client.initialize(demoProjectConfig(repoUrl));
    const dashboard = `${baseUrl}/`;
    say(
      [
        'DevTeam Runner demo',
        `  dashboard   ${dashboard}`,
        `  runner      ${external ? `already running at ${baseUrl}` : `in-process (embedded PGlite, local sandbox, script agent); log ${runner!.logFile}`}`,
        `  repository  ${repoUrl}  (clone it to see the commits and ai_docs/tasks/task_outcomes.md)`,
        `  project     ${DEMO_PROJECT_ID} (${init.created ? 'created' : init.outcome ?? 'updated'}), ${init.status.taskCounts.total || 'all'} tasks`,
        '',
      ].join('\n'),
      { type: 'demo', dashboard, url: baseUrl, repository: repoUrl, repoPath: git!.repoPath(repoName), dataDir, external, projectId: DEMO_PROJECT_ID },
    );

    const result = await watchProject({ client, stream: { token: o.token, WebSocket: o.WebSocket }, projectId: DEMO_PROJECT_ID, out: o.out, json: o.json, tail: o.tail });
    const seconds = performance.now() / 1000;
    const c = result.status?.taskCounts;
    const allDone = result.exitCode === 0 && !!c && c.total > 0 && c.done === c.total;
    if (result.error) o.err.write(`devteam: ${result.error}\n`);
    say(
      allDone ? `all ${c!.total} tasks done in ${seconds.toFixed(1)} s (from start)` : `demo did not finish: ${result.status?.state ?? 'unknown'}${result.status?.lastError ? ` — ${result.status.lastError.split('\n')[0]}` : ''}`,
      { type: 'demo-result', allDone, seconds: Number(seconds.toFixed(3)), taskCounts: c ?? null, state: result.status?.state ?? null },
    );
    const code = allDone ? 0 : result.exitCode === 2 ? 2 : 1;
    if (o.keep) {
      say(`still serving ${dashboard} and ${repoUrl} — press Ctrl-C to stop`, { type: 'demo-keep', dashboard });
      const stop = () => void cleanup().then(() => process.exit(code));
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      return null;
    }
    await cleanup();
    return code;
  } catch (err) {
    await cleanup();
    throw err;
  }
}
