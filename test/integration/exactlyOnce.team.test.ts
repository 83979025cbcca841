/**
 * Exactly once under kill -9 with several lanes in flight (team mode, parallelism 3): a runner
 * process with the real steps works through a graph of width 3 whose task scripts fork background
 * work; the test SIGKILLs it at random moments of any lane's EXECUTE or VERIFY and of the merge
 * train (integrating, recording), starts it again, and repeats until the project is idle. Then,
 * on the remote: every task's effect is there exactly once, the outcomes log has one entry per
 * task, one commit per task, and no task's commit comes before its dependencies' commits.
 * The random schedule's seed is printed; DEVTEAM_TEST_SEED replays one.
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseOutcomes } from '../../src/domain/outcomesLog.ts';
import { spawnTs } from '../support/child.ts';
import { createTestDatabase, requirePostgres, tempDir } from '../support/db.ts';
import { ensureTestImage, requireDockerTestImage } from '../support/dockerImage.ts';
import { nativeGit, startGitServer } from '../support/gitServer.ts';
import { prng } from '../support/prng.ts';

const CHILD = join(import.meta.dirname, '../support/realChild.ts');
const skipPg = await requirePostgres();
const skipDocker = await requireDockerTestImage(undefined, 'Docker team exactly-once test');

/** Width 3, critical path 3: 1.x have no dependencies; 2.1 ← 1.1 + 1.2, 2.2 ← 1.3, 3.1 ← 2.1 + 2.2. */
const GRAPH: Record<string, string[]> = { '1.1': [], '1.2': [], '1.3': [], '2.1': ['1.1', '1.2'], '2.2': ['1.3'], '3.1': ['2.1', '2.2'] };
const TASKS = Object.keys(GRAPH);

const taskList = () =>
  '## Phase 1: Team (Dependencies: None)\n\n' +
  TASKS.map((id) => {
    const deps = GRAPH[id]!;
    const f = id.replace('.', '-');
    return (
      `### ${id} Append for ${id} (Dependencies: ${deps.length ? `[${deps.join(', ')}]` : 'None'})\n` +
      '```sh\n' +
      `(sleep 0.2; printf 'bg ${id}\\n' >> docs/bg-${f}.md) &\n` +
      `setsid sh -c 'sleep 0.3; printf "daemon ${id}\\n" >> docs/daemon-${f}.md' < /dev/null > /dev/null 2>&1 &\n` +
      `sleep 0.5\n` +
      `printf 'Appended by task ${id}.\\n' >> docs/guide-${f}.md\n` +
      `wait; sleep 0.2\n` +
      '```\n'
    );
  }).join('\n');

const VERIFY = '#!/bin/sh\nsleep 0.4\nls docs >/dev/null && echo build ok\n';

describe.skipIf(!!skipPg).each([
  ['local', null],
  ['docker', skipDocker],
] as const)('team mode: exactly once under random SIGKILLs with 3 lanes (%s sandbox)', (kind, skip) => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it.skipIf(!!skip)('every task’s effect reaches the remote once, in dependency order, however often the runner dies', async () => {
    const seed = Number(process.env.DEVTEAM_TEST_SEED ?? Date.now() % 100_000);
    const rand = prng(seed);
    process.stderr.write(`team exactly-once (${kind}): seed ${seed}\n`);
    const dir = await tempDir(`team-once-${kind}-`);
    cleanups.push(() => dir.remove());
    const db = await createTestDatabase(`team_once_${kind}`);
    cleanups.push(() => db.drop());
    const git = await startGitServer({ root: join(dir.path, 'git') });
    cleanups.push(() => git.close());
    const url = await git.createBareRepo('team', { files: { 'ai_docs/tasks/tasks_list.md': taskList(), 'verify.sh': VERIFY, 'docs/README.md': '# Docs\n' } });
    const projectId = `team-once-${kind}`;
    const config = {
      projectId,
      repo: { url, branch: 'main' },
      parallelism: 3,
      verify: { command: ['sh', 'verify.sh'], timeoutSec: 120 },
      agent: { kind: 'script', timeoutSec: 120 },
      sandbox: kind === 'docker' ? { kind: 'docker', image: await ensureTestImage() } : { kind: 'local' },
    };
    const env = { RC_DB_URL: db.url, RC_DATA_DIR: join(dir.path, 'data'), RC_CONFIG: JSON.stringify(config) };
    let kills = 0;
    let maxLanes = 0;
    const killedIn = new Set<string>();
    for (let incarnation = 0; ; incarnation++) {
      const child = spawnTs(CHILD, env);
      cleanups.push(async () => void child.proc.kill('SIGKILL'));
      const idle = child.waitFor((l) => l.ev === 'status' && (l.state === 'idle' || l.state === 'halted'), 'idle');
      void child.waitFor((l) => {
        if (l.ev === 'status' && typeof l.lanes === 'number') maxLanes = Math.max(maxLanes, l.lanes);
        return false;
      }, 'lane count').catch(() => undefined);
      if (kills >= 8) {
        const end = await idle;
        expect(end.state).toBe('idle');
        child.proc.kill('SIGTERM');
        await child.exited;
        break;
      }
      // Wait for a lane's EXECUTE / VERIFY or the train's merge / record to begin, then kill inside it.
      const step = await Promise.race([
        child.waitFor(
          (l) =>
            l.ev === 'transition' &&
            ((l.taskId && (l.to === 'active.executing' || l.to === 'active.verifying')) || (!l.taskId && /train\.(integrating|recording)/.test(String(l.to)))),
          'a step',
        ),
        idle,
      ]);
      if (step.ev === 'status') {
        child.proc.kill('SIGTERM');
        await child.exited;
        break;
      }
      await new Promise((r) => setTimeout(r, Math.floor(rand() * 900)));
      child.proc.kill('SIGKILL');
      await child.exited;
      killedIn.add(step.taskId ? String(step.to) : 'train');
      kills++;
    }
    expect(kills).toBeGreaterThan(0);
    expect(maxLanes, 'several lanes were in flight at once').toBeGreaterThan(1);

    const clone = join(dir.path, 'clone');
    await nativeGit(dir.path, 'clone', '-q', git.repoPath('team'), clone);
    const count = async (file: string, line: string) =>
      (await nativeGit(clone, 'show', `main:${file}`)).split('\n').filter((l) => l === line).length;
    for (const id of TASKS) {
      const f = id.replace('.', '-');
      expect(await count(`docs/guide-${f}.md`, `Appended by task ${id}.`), `guide line of ${id} (seed ${seed})`).toBe(1);
      expect(await count(`docs/bg-${f}.md`, `bg ${id}`), `background line of ${id} (seed ${seed})`).toBe(1);
      expect(await count(`docs/daemon-${f}.md`, `daemon ${id}`), `daemon line of ${id} (seed ${seed})`).toBe(1);
    }
    const entries = parseOutcomes(await nativeGit(clone, 'show', 'main:ai_docs/tasks/task_outcomes.md'));
    expect([...entries.keys()].sort()).toEqual([...TASKS].sort());
    // One commit per task, and each after the commits of its dependencies (first-parent order).
    const subjects = (await nativeGit(clone, 'log', '--reverse', '--first-parent', '--format=%s', 'main')).split('\n');
    const at = new Map<string, number>();
    for (const id of TASKS) {
      const idx = subjects.flatMap((s, i) => (s.startsWith(`${id} `) ? [i] : []));
      expect(idx, `one commit of ${id} (seed ${seed})`).toHaveLength(1);
      at.set(id, idx[0]!);
    }
    for (const [id, deps] of Object.entries(GRAPH)) for (const d of deps) expect(at.get(d)!, `${d} lands before ${id} (seed ${seed})`).toBeLessThan(at.get(id)!);
    process.stderr.write(`team exactly-once (${kind}): ${kills} kills in ${[...killedIn].join(', ')}\n`);
  });
});
