/**
 * Exactly once under kill -9, for real: a runner process with the real steps (native git, script
 * agent, local or Docker sandbox) works through tasks whose scripts fork background work (a
 * background subshell, a `setsid` daemon) and whose verify takes a while; the test SIGKILLs the
 * runner at random moments of EXECUTE and VERIFY, starts it again, and repeats until the project
 * is idle. On the remote, every task's effect — the script's own line, the background subshell's
 * line and the daemon's line — is there exactly once, and the outcomes log has one entry per task.
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
const skipDocker = await requireDockerTestImage(undefined, 'Docker exactly-once test');
const TASKS = ['1.1', '1.2', '1.3', '1.4'];

const taskList = () =>
  '## Phase 1: Durability (Dependencies: None)\n\n' +
  TASKS.map(
    (id, i) =>
      `### ${id} Append for ${id} (Dependencies: ${i === 0 ? 'None' : `[${TASKS[i - 1]}]`})\n` +
      '```sh\n' +
      `(sleep 0.2; printf 'bg ${id}\\n' >> docs/bg.md) &\n` +
      `setsid sh -c 'sleep 0.3; printf "daemon ${id}\\n" >> docs/daemon.md' < /dev/null > /dev/null 2>&1 &\n` +
      `sleep 0.5\n` +
      `printf 'Appended by task ${id}.\\n' >> docs/guide.md\n` +
      `wait; sleep 0.2\n` +
      '```\n',
  ).join('\n');

const VERIFY = '#!/bin/sh\nsleep 0.4\ntest -f docs/guide.md && echo build ok\n';

describe.skipIf(!!skipPg).each([
  ['local', null],
  ['docker', skipDocker],
] as const)('exactly once under random SIGKILLs (%s sandbox)', (kind, skip) => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });

  it.skipIf(!!skip)('every task’s effect reaches the remote once, however often the runner dies', async () => {
    const seed = Number(process.env.DEVTEAM_TEST_SEED ?? Date.now() % 100_000);
    const rand = prng(seed);
    process.stderr.write(`exactly-once (${kind}): seed ${seed}\n`);
    const dir = await tempDir(`once-${kind}-`);
    cleanups.push(() => dir.remove());
    const db = await createTestDatabase(`once_${kind}`);
    cleanups.push(() => db.drop());
    const git = await startGitServer({ root: join(dir.path, 'git') });
    cleanups.push(() => git.close());
    const url = await git.createBareRepo('once', { files: { 'ai_docs/tasks/tasks_list.md': taskList(), 'verify.sh': VERIFY, 'docs/guide.md': '# Guide\n' } });
    const projectId = `once-${kind}`;
    const config = {
      projectId,
      repo: { url, branch: 'main' },
      verify: { command: ['sh', 'verify.sh'], timeoutSec: 120 },
      agent: { kind: 'script', timeoutSec: 120 },
      sandbox: kind === 'docker' ? { kind: 'docker', image: await ensureTestImage() } : { kind: 'local' },
    };
    const env = { RC_DB_URL: db.url, RC_DATA_DIR: join(dir.path, 'data'), RC_CONFIG: JSON.stringify(config) };
    let kills = 0;
    for (let incarnation = 0; ; incarnation++) {
      const child = spawnTs(CHILD, env);
      cleanups.push(async () => void child.proc.kill('SIGKILL'));
      const idle = child.waitFor((l) => l.ev === 'status' && (l.state === 'idle' || l.state === 'halted'), 'idle');
      if (kills >= 8) {
        const end = await idle;
        expect(end.state).toBe('idle');
        child.proc.kill('SIGTERM');
        await child.exited;
        break;
      }
      // Wait for the next EXECUTE or VERIFY to begin, then kill somewhere inside it.
      const step = await Promise.race([
        child.waitFor((l) => l.ev === 'transition' && l.taskId && (l.to === 'active.executing' || l.to === 'active.verifying'), 'a step'),
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
      kills++;
    }
    expect(kills).toBeGreaterThan(0);

    const clone = join(dir.path, 'clone');
    await nativeGit(dir.path, 'clone', '-q', git.repoPath('once'), clone);
    const count = async (file: string, line: string) =>
      (await nativeGit(clone, 'show', `main:${file}`)).split('\n').filter((l) => l === line).length;
    for (const id of TASKS) {
      expect(await count('docs/guide.md', `Appended by task ${id}.`), `guide line of ${id} (seed ${seed})`).toBe(1);
      expect(await count('docs/bg.md', `bg ${id}`), `background line of ${id} (seed ${seed})`).toBe(1);
      expect(await count('docs/daemon.md', `daemon ${id}`), `daemon line of ${id} (seed ${seed})`).toBe(1);
    }
    const entries = parseOutcomes(await nativeGit(clone, 'show', 'main:ai_docs/tasks/task_outcomes.md'));
    expect([...entries.keys()].sort()).toEqual(TASKS);
    const subjects = (await nativeGit(clone, 'log', '--format=%s', 'main')).split('\n');
    for (const id of TASKS) expect(subjects.filter((s) => s.startsWith(`${id} `)), `one commit of ${id}`).toHaveLength(1);
  });
});
