/**
 * Team mode with real parts: the project actor keeps several task actors in flight (native git
 * worktrees, local sandbox, script agent, Postgres), dispatches by dependencies and declared
 * files, and merges through the train. Concurrency is forced, never hoped for: tasks that must be
 * in flight together meet at a barrier (a directory outside the repository each one writes its
 * marker into and waits on), so a runner that ran them one by one fails the test instead of
 * passing it slowly. Every status envelope is recorded and checked against the rules.
 */
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, test as base } from 'vitest';
import { TaskChoiceError } from '../../src/actors/errors.ts';
import { createProjectSteps } from '../../src/actors/projectSteps.ts';
import { createRuntime, type Runtime } from '../../src/actors/runtime.ts';
import { parseOutcomes } from '../../src/domain/outcomesLog.ts';
import type { ProjectStatus } from '../../src/domain/status.ts';
import { loadConfig } from '../../src/infra/config.ts';
import { createLogger } from '../../src/infra/logger.ts';
import { createTestDatabase, requirePostgres, tempDir } from '../support/db.ts';
import { nativeGit, startGitServer } from '../support/gitServer.ts';
import { inState, waitForStatus } from '../support/runtime.ts';
import { startServer } from '../../src/server/index.ts';

const skipPg = await requirePostgres();

interface TeamFixture {
  /** Scratch directory outside every repository (barriers, flags, evidence). */
  scratch: string;
  /** Create a remote repo with these files and a project on it; returns the project id. */
  project(id: string, files: Record<string, string>, opts: { parallelism: number; verify?: string }): Promise<string>;
  rt: Runtime;
  /** Every status the project published, in seq order. */
  statuses(id: string): ProjectStatus[];
  /** A fresh clone of the project's remote. */
  clone(id: string): Promise<string>;
}

const test = base.extend<{ team: TeamFixture }>({
  // eslint-disable-next-line no-empty-pattern
  team: async ({}, use) => {
    const cleanups: Array<() => Promise<unknown>> = [];
    try {
      const dir = await tempDir('team-');
      cleanups.push(dir.remove);
      const git = await startGitServer({ root: join(dir.path, 'git') });
      cleanups.push(() => git.close());
      const db = await createTestDatabase('team');
      cleanups.push(db.drop);
      const sink = new Writable({ write: (_c, _e, cb) => cb() });
      const rt = await createRuntime({
        config: loadConfig({ DATABASE_URL: db.url, DEVTEAM_DATA_DIR: join(dir.path, 'data'), DEVTEAM_IDLE_FETCH_SEC: '3600', DEVTEAM_MAX_CONCURRENT_STEPS: '8' }),
        logger: createLogger({ level: 'warn' }, sink as never),
        makeSteps: (project, b) => createProjectSteps({ project, ...b, env: process.env }),
      });
      cleanups.push(() => rt.close());
      const seen = new Map<string, ProjectStatus[]>();
      const sub = rt.hub.all$.subscribe((e) => {
        if (e.type !== 'status') return;
        const list = seen.get(e.projectId) ?? [];
        list.push(e.payload as ProjectStatus);
        seen.set(e.projectId, list);
      });
      cleanups.push(async () => sub.unsubscribe());
      const scratch = join(dir.path, 'scratch');
      await mkdir(scratch);
      await use({
        scratch,
        rt,
        statuses: (id) => seen.get(id) ?? [],
        async project(id, files, opts) {
          const url = await git.createBareRepo(id, { files: { 'verify.sh': opts.verify ?? 'echo build ok\n', ...files } });
          const r = await rt.registry.initialize({
            projectId: id,
            repo: { url, branch: 'main' },
            verify: { command: ['sh', 'verify.sh'], timeoutSec: 120 },
            agent: { kind: 'script', timeoutSec: 180 },
            sandbox: { kind: 'local' },
            parallelism: opts.parallelism,
          });
          expect(r.code).toBe('created');
          return id;
        },
        async clone(id) {
          const c = join(dir.path, `clone-${id}-${Date.now()}`);
          await nativeGit(dir.path, 'clone', '-q', git.repoPath(id), c);
          return c;
        },
      });
    } finally {
      for (const c of cleanups.reverse()) await c().catch(() => undefined);
    }
  },
});

/** Shell lines: mark `me` at barrier `name` and wait (bounded) until `n` marks are there; a timeout leaves evidence. */
const barrier = (scratch: string, name: string, me: string, n: number) =>
  [
    `mkdir -p ${scratch}/${name} && touch ${scratch}/${name}/${me}`,
    `i=0; while [ "$(ls ${scratch}/${name} | wc -l)" -lt ${n} ]; do i=$((i+1)); if [ $i -gt 3000 ]; then touch ${scratch}/timeout-${me}; exit 1; fi; sleep 0.05; done`,
  ].join('\n');

/** Copy this attempt's prompt out when it carries feedback, as evidence of what the task was told. */
const keepFeedback = (scratch: string, me: string) =>
  `if [ "$DEVTEAM_ATTEMPT" -gt 1 ]; then cp "$DEVTEAM_PROMPT_FILE" ${scratch}/feedback-${me}-$DEVTEAM_ATTEMPT; fi`;

const task = (id: string, deps: string[], script: string, extra = '') =>
  `### ${id} Task ${id} (Dependencies: ${deps.length ? `[${deps.join(', ')}]` : 'None'})\n${extra}\`\`\`sh\n${script}\n\`\`\`\n`;

/** Commits on the target, oldest first, with their subjects; fails when history is not linear. */
async function linearHistory(clone: string): Promise<string[]> {
  expect((await nativeGit(clone, 'rev-list', '--merges', 'main')).trim(), 'merge commits on main').toBe('');
  return (await nativeGit(clone, 'log', '--reverse', '--format=%s', 'main')).trim().split('\n');
}

describe.skipIf(!!skipPg)('team mode: lanes, dispatch and the merge train (real git, Postgres)', () => {
  test('a 12-task graph of width 4: never more than parallelism in flight, none before its dependencies merged', async ({ team }) => {
    const graph: Record<string, string[]> = {
      '1.1': [], '1.2': [], '1.3': [], '1.4': [],
      '2.1': ['1.1', '1.2'], '2.2': ['1.2'], '2.3': ['1.3', '1.4'], '2.4': ['1.1'],
      '3.1': ['2.1', '2.2'], '3.2': ['2.3'], '3.3': ['2.4', '1.3'], '3.4': ['3.1'],
    };
    const list =
      '## Phase 1: Graph (Dependencies: None)\n\n' +
      Object.entries(graph)
        .map(([id, deps]) => task(id, deps, [id.startsWith('1.') ? barrier(team.scratch, 'layer1', id, 4) : ':', `mkdir -p out && echo ${id} > out/${id}.txt`].join('\n')))
        .join('\n');
    const id = await team.project('graph', { 'ai_docs/tasks/tasks_list.md': list }, { parallelism: 4 });
    const idle = await inState(team.rt, id, 'idle');
    expect(idle.completedTaskIds.sort()).toEqual(Object.keys(graph).sort());
    expect(await readdir(team.scratch).then((f) => f.filter((x) => x.startsWith('timeout-')))).toEqual([]);

    let widest = 0;
    const dispatchedAfter = new Map<string, string[]>();
    for (const s of team.statuses(id)) {
      widest = Math.max(widest, s.lanes.length);
      expect(s.lanes.length, `lanes at seq ${JSON.stringify(s.lanes.map((l) => l.taskId))}`).toBeLessThanOrEqual(4);
      for (const l of s.lanes) if (!dispatchedAfter.has(l.taskId)) dispatchedAfter.set(l.taskId, [...s.completedTaskIds]);
    }
    expect(widest).toBe(4);
    for (const [t, deps] of Object.entries(graph)) {
      for (const d of deps) expect(dispatchedAfter.get(t), `${t} dispatched after ${d} merged`).toContain(d);
    }
    const clone = await team.clone(id);
    const subjects = await linearHistory(clone);
    const order = subjects.map((s) => /^(\d\.\d) /.exec(s)?.[1]).filter((x): x is string => !!x);
    expect(order.sort()).toEqual(Object.keys(graph).sort());
    const merged = subjects.map((s) => /^(\d\.\d) /.exec(s)?.[1]).filter((x): x is string => !!x);
    for (const [t, deps] of Object.entries(graph)) for (const d of deps) expect(merged.indexOf(d), `${d} merged before ${t}`).toBeLessThan(merged.indexOf(t));
    const outcomes = parseOutcomes(await readFile(join(clone, 'ai_docs/tasks/task_outcomes.md'), 'utf8'));
    expect([...outcomes.keys()].sort()).toEqual(Object.keys(graph).sort());
  });

  test('declared overlap: tasks sharing a declared file are never in flight together, and both land', async ({ team }) => {
    const edit = (me: string) => `sed -i '1s/$/ ${me}/' shared.txt`;
    const list =
      '## Phase 1: Overlap (Dependencies: None)\n\n' +
      task('1.1', [], edit('A'), 'Files: `shared.txt`\n\n') +
      task('1.2', [], edit('B'), 'Files: shared.txt, docs/**\n\n') +
      task('1.3', [], 'echo c > c.txt', 'Files: c.txt\n\n');
    const id = await team.project('declared', { 'ai_docs/tasks/tasks_list.md': list, 'shared.txt': 'value\n' }, { parallelism: 3 });
    await inState(team.rt, id, 'idle');
    let together = 0;
    for (const s of team.statuses(id)) {
      const ids = s.lanes.map((l) => l.taskId);
      expect(ids.includes('1.1') && ids.includes('1.2'), `1.1 and 1.2 together in ${JSON.stringify(ids)}`).toBe(false);
      if (ids.includes('1.3') && (ids.includes('1.1') || ids.includes('1.2'))) together++;
    }
    expect(together, 'the undeclared-overlap task ran beside the others').toBeGreaterThan(0);
    const clone = await team.clone(id);
    await linearHistory(clone);
    expect(await readFile(join(clone, 'shared.txt'), 'utf8')).toBe('value A B\n');
  });

  test('undeclared overlap: the later task is re-executed on the new head with the conflict as feedback; both land, history linear', async ({ team }) => {
    const list =
      '## Phase 1: Clash (Dependencies: None)\n\n' +
      ['A', 'B']
        .map((me, i) => task(`1.${i + 1}`, [], [keepFeedback(team.scratch, me), barrier(team.scratch, 'clash', me, 2), `sed -i '1s/$/ ${me}/' shared.txt`].join('\n')))
        .join('\n');
    const id = await team.project('undeclared', { 'ai_docs/tasks/tasks_list.md': list, 'shared.txt': 'value\nsecond line\n' }, { parallelism: 2 });
    await inState(team.rt, id, 'idle');
    const clone = await team.clone(id);
    const subjects = await linearHistory(clone);
    const shared = await readFile(join(clone, 'shared.txt'), 'utf8');
    expect(['value A B\nsecond line\n', 'value B A\nsecond line\n']).toContain(shared);
    const second = shared.startsWith('value A') ? 'B' : 'A';
    const feedback = await readFile(join(team.scratch, `feedback-${second}-2`), 'utf8');
    expect(feedback).toContain('conflicts with main');
    expect(feedback).toContain('shared.txt');
    expect(subjects.filter((s) => /^1\.[12] /.test(s))).toHaveLength(2);
    const outcomes = parseOutcomes(await readFile(join(clone, 'ai_docs/tasks/task_outcomes.md'), 'utf8'));
    expect([...outcomes.keys()].sort()).toEqual(['1.1', '1.2']);
  });

  test('a change that only breaks the build once merged with another is caught by the re-verify; nothing broken is pushed', async ({ team }) => {
    const verify = 'if [ -e a.txt ] && [ -e b.txt ] && [ ! -e fix.txt ]; then echo "verify: a and b clash without fix.txt" >&2; exit 1; fi\necho build ok\n';
    const script = (me: string, other: string) =>
      [keepFeedback(team.scratch, me), barrier(team.scratch, 'build', me, 2), `echo ${me} > ${me}.txt`, `if [ -e ${other}.txt ]; then echo fix > fix.txt; fi`].join('\n');
    const list = '## Phase 1: Build (Dependencies: None)\n\n' + task('1.1', [], script('a', 'b')) + '\n' + task('1.2', [], script('b', 'a'));
    const id = await team.project('reverify', { 'ai_docs/tasks/tasks_list.md': list }, { parallelism: 2, verify });
    await inState(team.rt, id, 'idle');
    const clone = await team.clone(id);
    await linearHistory(clone);
    // Every commit the remote ever got passes the build.
    for (const sha of (await nativeGit(clone, 'rev-list', 'main')).trim().split('\n')) {
      const files = (await nativeGit(clone, 'ls-tree', '--name-only', sha)).split('\n');
      expect(files.includes('a.txt') && files.includes('b.txt') && !files.includes('fix.txt'), `commit ${sha} is broken`).toBe(false);
    }
    const evidence = (await readdir(team.scratch)).filter((f) => f.startsWith('feedback-'));
    expect(evidence).toHaveLength(1);
    expect(await readFile(join(team.scratch, evidence[0]!), 'utf8')).toContain('a and b clash without fix.txt');
    expect(await readFile(join(clone, 'fix.txt'), 'utf8')).toBe('fix\n');
  });

  test('a halted lane stops only itself: the others finish; RETRY names the task when several are halted', async ({ team }) => {
    const flaky = (me: string) => `if [ ! -e ${team.scratch}/allow-${me} ]; then echo "${me} is not allowed yet" >&2; exit 1; fi\necho ${me} > ${me}.txt`;
    const list =
      '## Phase 1: Lanes (Dependencies: None)\n\n' +
      task('1.1', [], flaky('h1')) + '\n' +
      task('1.2', [], flaky('h2')) + '\n' +
      task('1.3', [], 'echo g1 > g1.txt') + '\n' +
      task('1.4', ['1.3'], 'echo g2 > g2.txt') + '\n' +
      task('1.5', ['1.1'], 'echo d > d.txt');
    const id = await team.project('halting', { 'ai_docs/tasks/tasks_list.md': list }, { parallelism: 3 });
    const both = await waitForStatus(
      team.rt,
      id,
      (s) => s.lanes.filter((l) => l.state === 'halted').length === 2 && s.completedTaskIds.includes('1.4'),
      'two halted lanes and the others done',
    );
    expect(both.lanes.map((l) => l.taskId).sort()).toEqual(['1.1', '1.2']);
    expect(both.lanes.find((l) => l.taskId === '1.1')).toMatchObject({ state: 'halted', attempt: 3 });
    expect(both.lanes.find((l) => l.taskId === '1.1')?.error).toContain('h1 is not allowed yet');
    expect(both.completedTaskIds).not.toContain('1.5'); // waits for its halted dependency (not started: lanes are 1.1, 1.2)
    expect(both.acceptedCommands).toEqual(expect.arrayContaining(['RETRY', 'SKIP', 'PAUSE', 'STOP']));

    const err = await team.rt.registry.command(id, 'RETRY').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskChoiceError);
    expect((err as TaskChoiceError).message).toMatch(/1\.1.*1\.2/);
    // A taskId that names no halted task is refused with the choices, not silently ignored.
    const wrong = await team.rt.registry.command(id, 'RETRY', { taskId: '9.9' }).catch((e: unknown) => e);
    expect(wrong).toBeInstanceOf(TaskChoiceError);
    expect((wrong as TaskChoiceError).choices.sort()).toEqual(['1.1', '1.2']);

    // The same over REST: a 400 problem+json naming body.taskId and listing the choices.
    const server = await startServer(team.rt, { port: 0 });
    try {
      const post = (cmd: string, body?: unknown) =>
        fetch(`${server.url}/api/devteam/automation/${cmd}/${id}`, { method: 'POST', ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }) });
      const noChoice = await post('retry');
      expect(noChoice.status).toBe(400);
      expect(noChoice.headers.get('content-type')).toContain('application/problem+json');
      const problem = (await noChoice.json()) as { detail: string; choices: string[] };
      expect(problem.detail).toContain('body.taskId');
      expect(problem.choices.sort()).toEqual(['1.1', '1.2']);
      const badField = await post('skip', { taskId: '1.1', force: true });
      expect(badField.status).toBe(400);
      expect(((await badField.json()) as { detail: string }).detail).toContain('body');
      const notForPause = await post('pause', { taskId: '1.1' });
      expect(notForPause.status).toBe(400);
      expect(((await notForPause.json()) as { detail: string }).detail).toContain('body.taskId');
      expect(team.rt.registry.get(id)!.status().lanes.map((l) => l.state)).toEqual(['halted', 'halted']); // nothing applied

      await writeFile(join(team.scratch, 'allow-h1'), '');
      const retried = await post('retry', { taskId: '1.1' });
      expect(retried.status).toBe(200);
    } finally {
      await server.close();
    }
    await waitForStatus(team.rt, id, (s) => s.completedTaskIds.includes('1.5'), '1.1 and its dependent done');
    const one = team.rt.registry.get(id)!.status();
    expect(one.lanes.map((l) => `${l.taskId}:${l.state}`)).toEqual(['1.2:halted']);
    // One halted lane left: RETRY / SKIP need no taskId.
    expect((await team.rt.registry.command(id, 'SKIP')).ok).toBe(true);
    const idle = await inState(team.rt, id, 'idle');
    expect(idle.completedTaskIds.sort()).toEqual(['1.1', '1.3', '1.4', '1.5']);
    expect(idle.skippedTaskIds).toEqual(['1.2']);
  });
});
