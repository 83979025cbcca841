/**
 * The loop through a real Docker container: one hardened container per project, reused across
 * tasks and across a runner restart, PAUSE kills the exec and RESUME re-runs it, STOP removes it.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProjectSteps } from '../../src/actors/projectSteps.ts';
import { createRuntime, type Runtime } from '../../src/actors/runtime.ts';
import { loadConfig, type Config } from '../../src/infra/config.ts';
import { silentLogger } from '../../src/infra/logger.ts';
import { createTestDatabase, requirePostgres, tempDir } from '../support/db.ts';
import { ensureTestImage, requireDockerTestImage } from '../support/dockerImage.ts';
import { startGitServer, type GitServer } from '../support/gitServer.ts';
import { inState, until, waitForStatus } from '../support/runtime.ts';

const exec = promisify(execFile);
const skipPg = await requirePostgres();
const skipDocker = await requireDockerTestImage(undefined, 'Docker pipeline tests');

const inspect = async (name: string) => JSON.parse((await exec('docker', ['inspect', name])).stdout)[0];
const containerExists = async (name: string) => exec('docker', ['inspect', name]).then(() => true, () => false);

describe.skipIf(!!skipPg || !!skipDocker)('pipeline in a Docker sandbox', () => {
  let git: GitServer;
  let config: Config;
  let rt: Runtime;
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
  });
  beforeAll(async () => {
    const image = await ensureTestImage();
    const root = await tempDir('gitroot-');
    cleanups.push(root.remove);
    git = await startGitServer({ root: root.path });
    cleanups.push(() => git.close());
    const db = await createTestDatabase('dock');
    cleanups.push(db.drop);
    const data = await tempDir('data-');
    cleanups.push(data.remove);
    config = loadConfig({ DATABASE_URL: db.url, DEVTEAM_DATA_DIR: data.path, DEVTEAM_IDLE_FETCH_SEC: '3600', DEVTEAM_SANDBOX_IMAGE: image });
  });
  const boot = async () => {
    rt = await createRuntime({ config, logger: silentLogger(), makeSteps: (p, base) => createProjectSteps({ project: p, ...base }) });
    return rt;
  };

  it('runs tasks in one reused container, survives a restart and a PAUSE mid-exec, and STOP removes it', async () => {
    const tasks = [
      '## Phase 1: Docker (Dependencies: None)',
      '### 1.1 Who am I (Dependencies: None)\n```sh\nid -u > uid.txt\n```',
      '### 1.2 Slow task (Dependencies: [1.1])\n```sh\necho "started $$" >> runs.txt\nwhile [ ! -e /workspace/gate ]; do sleep 0.1; done\necho done > slow.txt\n```',
      '### 1.3 Last (Dependencies: [1.2])\n```sh\necho last > last.txt\n```',
    ].join('\n\n');
    const url = await git.createBareRepo('dock', { files: { 'ai_docs/tasks/tasks_list.md': tasks } });
    const name = 'devteam-dock';
    cleanups.push(async () => void (await exec('docker', ['rm', '-f', name]).catch(() => undefined)));
    await boot();
    await rt.registry.initialize({ projectId: 'dock', repo: { url, branch: 'main' }, verify: { command: ['sh', '-c', 'test -s uid.txt'] }, agent: { kind: 'script' }, sandbox: { kind: 'docker', network: 'none', memoryMb: 256, pids: 128 } });
    await waitForStatus(rt, 'dock', (s) => s.state === 'executing' && s.currentTask?.id === '1.2', '1.2 executing');
    const tree = `${config.DEVTEAM_DATA_DIR}/repos/dock/tasks/1.2-slow-task`;
    await until(() => require_('fs').existsSync(`${tree}/runs.txt`), 'the slow task to start');
    const firstRun = require_('fs').readFileSync(`${tree}/runs.txt`, 'utf8');
    const first = await inspect(name);
    expect(first.Config.User).not.toBe('');
    expect(first.Config.User).not.toMatch(/^0(:|$)/);
    expect(first.HostConfig.CapDrop).toEqual(['ALL']);
    expect(first.HostConfig.SecurityOpt).toContain('no-new-privileges');
    expect(first.HostConfig.PidsLimit).toBe(128);
    expect(first.HostConfig.Memory).toBe(256 * 1024 * 1024);
    expect(first.HostConfig.NetworkMode).toBe('none');
    expect(first.HostConfig.Init).toBe(true);
    expect(first.Config.Labels['devteam.project']).toBe('dock');

    // PAUSE while the slow task runs: the exec is killed before the command returns.
    const paused = await rt.registry.command('dock', 'PAUSE');
    expect(paused.ok && paused.status.state).toBe('paused');
    const ps = (await exec('docker', ['exec', name, 'ps', '-eo', 'args'])).stdout;
    expect(ps).not.toContain('task.sh');

    // Restart the runner while paused; the same container is reused.
    await rt.close();
    await boot();
    cleanups.push(() => rt.close());
    expect(rt.projection.get('dock')!.state).toBe('paused');
    await rt.registry.command('dock', 'RESUME');
    await inState(rt, 'dock', 'executing');
    // The re-run starts from the tree the attempt first started from: the interrupted run's line is gone.
    const runs = () => require_('fs').readFileSync(`${tree}/runs.txt`, 'utf8') as string;
    await until(() => require_('fs').existsSync(`${tree}/runs.txt`) && runs() !== firstRun, 'the re-run to start');
    expect(runs().split('\n').filter(Boolean)).toHaveLength(1);
    await exec('docker', ['exec', name, 'touch', '/workspace/gate']);
    const idle = await inState(rt, 'dock', 'idle', 'halted');
    expect(idle.state).toBe('idle');
    expect(idle.completedTaskIds).toEqual(['1.1', '1.2', '1.3']);
    // The slow task's effect is on the remote once, though its attempt ran twice.
    expect((await exec('git', ['--git-dir', git.repoPath('dock'), 'show', 'main:runs.txt'])).stdout.split('\n').filter(Boolean)).toHaveLength(1);
    expect((await inspect(name)).Id).toBe(first.Id); // created once, reused across tasks and the restart

    const stopped = await rt.registry.command('dock', 'STOP');
    expect(stopped.ok && stopped.status.state).toBe('stopped');
    expect(await containerExists(name)).toBe(false);
  });
});

import { createRequire } from 'node:module';
const require_ = createRequire(import.meta.url);
