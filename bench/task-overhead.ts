/**
 * Orchestration overhead per task: script tasks that append one byte to a file (a task must change
 * something) and a verify of `true`,
 * so the time is all runner (select, prep, exec, verify, integrate, record incl. push) — with the
 * local sandbox and with Docker, beside a bare spawn of `true` / `docker exec true`.
 *
 *   npx tsx bench/task-overhead.ts [tasks=20] [local|docker|both]
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { filter } from 'rxjs';
import { createProjectSteps } from '../src/actors/projectSteps.ts';
import { createRuntime } from '../src/actors/runtime.ts';
import { loadConfig } from '../src/infra/config.ts';
import { createLogger, silentLogger } from '../src/infra/logger.ts';
import { detectDocker } from '../src/infra/sandbox/detect.ts';
import { startGitServer } from '../test/support/gitServer.ts';
import { inState } from '../test/support/runtime.ts';
import { pct, scratchDb } from './support.ts';

const n = Number(process.argv[2] ?? 20);
const which = process.argv[3] ?? 'both';
const exec = promisify(execFile);
const median = (v: number[]) => pct(v, 50);

async function runner(kind: 'local' | 'docker', image?: string) {
  const root = mkdtempSync(join(tmpdir(), 'bench-git-'));
  const data = mkdtempSync(join(tmpdir(), 'bench-data-'));
  const git = await startGitServer({ root });
  const db = await scratchDb('benchtask');
  try {
    const list = `## Phase 1: Noop (Dependencies: None)\n\n` + Array.from({ length: n }, (_, i) => `### 1.${i + 1} Noop ${i + 1} (Dependencies: None)\n\`\`\`sh\nprintf x >> noop.txt\n\`\`\`\n`).join('\n');
    const url = await git.createBareRepo('noop', { files: { 'ai_docs/tasks/tasks_list.md': list } });
    const rt = await createRuntime({
      config: loadConfig({ DATABASE_URL: db.url, DEVTEAM_DATA_DIR: data, DEVTEAM_IDLE_FETCH_SEC: '3600', LOG_LEVEL: 'info', ...(image ? { DEVTEAM_SANDBOX_IMAGE: image } : {}) }),
      logger: process.env.BENCH_LOG ? createLogger({ level: 'info' }, process.stderr as never) : silentLogger(),
      makeSteps: (p, base) => createProjectSteps({ project: p, ...base }),
    });
    const started = new Map<string, number>();
    const durations: number[] = [];
    rt.hub.all$.pipe(filter((e) => e.type === 'task')).subscribe((e) => {
      if (e.type !== 'task') return;
      if (e.payload.event === 'started') started.set(e.payload.taskId, performance.now());
      if (e.payload.event === 'completed') durations.push(performance.now() - started.get(e.payload.taskId)!);
    });
    await rt.registry.initialize({ projectId: 'noop', repo: { url, branch: 'main' }, verify: { command: ['true'] }, agent: { kind: 'script' }, sandbox: { kind } });
    const s = await inState(rt, 'noop', 'idle', 'halted');
    if (s.state !== 'idle') throw new Error(`bench project halted: ${s.lastError}`);
    await rt.registry.command('noop', 'STOP');
    await rt.close();
    return durations.slice(1); // the first task includes the warm-up
  } finally {
    await git.close();
    await db.drop();
    rmSync(root, { recursive: true, force: true });
    rmSync(data, { recursive: true, force: true });
  }
}

async function bareSpawn(times: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < times; i++) {
    const t = performance.now();
    await new Promise<void>((r) => spawn('true').on('exit', () => r()));
    out.push(performance.now() - t);
  }
  return out;
}

async function bareDockerExec(image: string, times: number): Promise<number[]> {
  const name = `bench-exec-${process.pid}`;
  await exec('docker', ['run', '-d', '--rm', '--name', name, image, 'sleep', 'infinity']);
  try {
    const out: number[] = [];
    for (let i = 0; i < times; i++) {
      const t = performance.now();
      await exec('docker', ['exec', name, 'true']);
      out.push(performance.now() - t);
    }
    return out;
  } finally {
    await exec('docker', ['rm', '-f', name]).catch(() => undefined);
  }
}

if (which !== 'docker') {
  const r = await runner('local');
  const b = await bareSpawn(50);
  process.stdout.write(`local sandbox: median ${median(r).toFixed(0)} ms per task (${r.length} tasks); bare spawn of true ${median(b).toFixed(1)} ms; ratio ${(median(r) / median(b)).toFixed(0)}×\n`);
}
if (which !== 'local') {
  const image = process.env.BENCH_IMAGE ?? 'devteam-sandbox-test:latest';
  if (!(await detectDocker())) process.stdout.write('docker: no engine answers; skipped\n');
  else {
    const r = await runner('docker', image);
    const b = await bareDockerExec(image, 20);
    process.stdout.write(`docker sandbox: median ${median(r).toFixed(0)} ms per task (${r.length} tasks); bare docker exec true ${median(b).toFixed(0)} ms; ratio ${(median(r) / median(b)).toFixed(1)}×\n`);
  }
}
