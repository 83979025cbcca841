/**
 * The docker sandbox against a real dockerd: the shared behavioural suite, plus container reuse,
 * hardening, labels, kill semantics inside the container, recovery from an external `docker kill`,
 * engine loss mid-exec (through a socket proxy we cut), missing image, and OOM.
 *
 * No engine or no test image (scripts/build-test-images.sh): skipped with a loud warning — except
 * under CI=true, where that is a failure.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../src/infra/logger.ts';
import { createDockerSandbox, detectDocker, type DockerSandboxOptions } from '../../src/infra/sandbox/docker.ts';
import { SandboxError, type Sandbox } from '../../src/infra/sandbox/types.ts';
import { ensureTestImage, requireDockerTestImage } from '../support/dockerImage.ts';
import { isAliveInSandbox, sandboxSuite } from '../support/sandboxSuite.ts';

const docker = new Docker();
const SKIP = (await requireDockerTestImage(docker, 'docker sandbox tests')) ?? undefined;

const RUN = randomUUID().slice(0, 8);
let seq = 0;
const newProjectId = () => `dtest-${RUN}-${++seq}`;
const SAFE = { timeoutMs: 30_000 };

function make(workspaceDir: string, extra: Partial<DockerSandboxOptions> = {}): Promise<Sandbox> {
  return ensureTestImage(docker).then((image) =>
    createDockerSandbox({ kind: 'docker', projectId: newProjectId(), workspaceDir, defaultImage: image, logger: silentLogger(), docker, ...extra }),
  );
}

sandboxSuite('docker sandbox', (ws) => make(ws), { skip: SKIP });

describe.skipIf(Boolean(SKIP))('docker sandbox specifics', () => {
  const dirs: string[] = [];
  const newWorkspace = async () => {
    const d = await mkdtemp(path.join(tmpdir(), 'devteam-dsbx-'));
    dirs.push(d);
    return d;
  };
  const inspect = (name: string) => docker.getContainer(name).inspect();

  beforeAll(async () => {
    await ensureTestImage(docker);
  });

  it('execs a SIGKILLed runner left in the container are ended before the next runner runs anything', async () => {
    const ws = await newWorkspace();
    const projectId = newProjectId();
    const name = `devteam-${projectId}`;
    const script = `setsid sh -c 'echo $$ > /workspace/daemon.pid; exec sleep 300' < /dev/null > /dev/null 2>&1 & sleep 300`;
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, '../support/sandboxChild.ts'), ws, script], {
      env: { ...process.env, SBX_KIND: 'docker', SBX_IMAGE: await ensureTestImage(), SBX_PROJECT: projectId },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    try {
      while (!(await readFile(path.join(ws, 'daemon.pid'), 'utf8').catch(() => '')).trim()) await new Promise((r) => setTimeout(r, 50));
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGKILL');
      await exited;
      const ps = async () => (await docker.getContainer(name).exec({ Cmd: ['ps', '-eo', 'args'], AttachStdout: true }).then(async (e) => {
        const stream = await e.start({});
        let out = '';
        stream.on('data', (b: Buffer) => (out += b.toString('latin1')));
        await new Promise((r) => stream.on('end', r));
        return out;
      }));
      expect(await ps()).toContain('sleep 300'); // docker keeps a dead runner's execs running
      // A later runner process: its sandbox object's first exec restarts the old container.
      const next = await make(ws, { projectId } as Partial<DockerSandboxOptions>);
      const r = await next.exec(['sh', '-c', 'ps -eo args']);
      expect(r.exitCode).toBe(0);
      expect(r.stdoutTail).not.toContain('sleep 300');
    } finally {
      child.kill('SIGKILL');
      await docker.getContainer(name).remove({ force: true }).catch(() => undefined);
    }
  });

  afterAll(async () => {
    const mine = await docker.listContainers({ all: true, filters: { label: ['devteam.runner=1'] } });
    await Promise.all(
      mine
        .filter((c) => c.Labels['devteam.project']?.startsWith(`dtest-${RUN}-`))
        .map((c) => docker.getContainer(c.Id).remove({ force: true }).catch(() => undefined)),
    );
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });

  it('creates the container once and reuses it from a new sandbox object (a runner restart)', async () => {
    const ws = await newWorkspace();
    const first = await make(ws);
    const a = await first.ensure();
    expect(a.created).toBe(true);
    const idBefore = (await inspect(a.id)).Id;
    const projectId = (await inspect(a.id)).Config.Labels['devteam.project'];

    const second = createDockerSandbox({ kind: 'docker', projectId, workspaceDir: ws, defaultImage: await ensureTestImage(), logger: silentLogger(), docker });
    const b = await second.ensure();
    expect(b).toEqual({ id: a.id, created: false });
    expect((await inspect(b.id)).Id).toBe(idBefore);
    expect((await second.exec(['sh', '-c', 'echo reused'], SAFE)).stdoutTail).toBe('reused\n');
    expect((await inspect(b.id)).Id).toBe(idBefore);
  });

  it('is hardened, labelled, limited and mounts only the workspace', async () => {
    const ws = await newWorkspace();
    const sb = await make(ws, { config: { pids: 128, memoryMb: 512, cpus: 1, network: 'none' } });
    const { id } = await sb.ensure();
    const info = await inspect(id);
    expect(info.Name).toBe(`/${id}`);
    expect(info.Config.User).toBe('1000:1000');
    expect(info.Config.WorkingDir).toBe('/workspace');
    expect(info.Config.Labels).toMatchObject({ 'devteam.runner': '1', 'devteam.project': id.replace(/^devteam-/, '') });
    expect(info.HostConfig).toMatchObject({
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      Init: true,
      PidsLimit: 128,
      Memory: 512 * 1024 * 1024,
      NanoCpus: 1e9,
      NetworkMode: 'none',
      Privileged: false,
    });
    expect(info.Mounts.map((m) => [m.Source, m.Destination])).toEqual([[ws, '/workspace']]);
    expect(JSON.stringify(info.Mounts)).not.toContain('docker.sock');

    const r = await sb.exec(['sh', '-c', 'id -u; grep -E "^(CapEff|NoNewPrivs)" /proc/self/status; ls /sys/class/net'], SAFE);
    expect(r.stdoutTail).toBe('1000\nCapEff:\t0000000000000000\nNoNewPrivs:\t1\nlo\n');
  });

  it('readonlyRootfs: the root is read-only, yet git works in the workspace (tmpfs /tmp and HOME)', async () => {
    const sb = await make(await newWorkspace(), { readonlyRootfs: true });
    const { id } = await sb.ensure();
    expect((await inspect(id)).HostConfig.ReadonlyRootfs).toBe(true);
    const script = [
      'touch /etc/x 2>/dev/null && echo root-writable || echo root-readonly',
      'touch /tmp/ok "$HOME/ok" && echo tmp-home-writable',
      'git init -q -b main . && git -c user.name=t -c user.email=t@x commit -q --allow-empty -m init && git log --format=%s',
    ].join('\n');
    const r = await sb.exec(['sh', '-c', script], SAFE);
    expect(r).toMatchObject({ exitCode: 0, stdoutTail: 'root-readonly\ntmp-home-writable\ninit\n' });
  });

  it('host-written files are editable inside; sandbox-written files belong to uid 1000 on the host', async () => {
    const ws = await newWorkspace();
    await writeFile(path.join(ws, 'host.txt'), 'from host\n');
    const sb = await make(ws);
    await sb.ensure();
    // Written by the (root) runner after ensure(), e.g. a checkout between two steps.
    await mkdir(path.join(ws, 'later'));
    await writeFile(path.join(ws, 'later', 'late.txt'), 'late\n');
    const r = await sb.exec(['sh', '-c', 'echo edited >> host.txt && echo new > inside.txt && echo x >> later/late.txt && touch later/new'], SAFE);
    expect(r).toMatchObject({ exitCode: 0, stderrTail: '' });
    expect(await readFile(path.join(ws, 'host.txt'), 'utf8')).toBe('from host\nedited\n');
    expect((await stat(path.join(ws, 'inside.txt'))).uid).toBe(1000);
  });

  it('timeout kills the whole tree, including a child that left the process group', async () => {
    const sb = await make(await newWorkspace());
    const script = 'sleep 1000 & echo $! > child.pid; setsid sh -c "echo \\$\\$ > escaped.pid; exec sleep 1001" & echo started; wait';
    const r = await sb.exec(['sh', '-c', script], {
      timeoutMs: 500,
      onLine: () => undefined,
    });
    expect(r).toMatchObject({ timedOut: true, aborted: false, exitCode: null, signal: 'SIGKILL', oom: false });
    expect(await isAliveInSandbox(sb, 'child.pid')).toBe(false);
    expect(await isAliveInSandbox(sb, 'escaped.pid')).toBe(false);
    const ps = await sb.exec(['ps', '-eo', 'args'], SAFE);
    expect(ps.stdoutTail).not.toMatch(/sleep 100[01]/);
  });

  it('abort during a long exec kills it: gone from the container process table', async () => {
    const sb = await make(await newWorkspace());
    const ac = new AbortController();
    const r = await sb.exec(['sh', '-c', 'echo $$ > long.pid; echo ready; exec sleep 2000'], {
      signal: ac.signal,
      onLine: (_s, line) => line === 'ready' && ac.abort(),
    });
    expect(r).toMatchObject({ aborted: true, timedOut: false, exitCode: null, signal: 'SIGKILL' });
    expect(await isAliveInSandbox(sb, 'long.pid')).toBe(false);
    const ps = await sb.exec(['ps', '-eo', 'args'], SAFE);
    expect(ps.stdoutTail).not.toContain('sleep 2000');
  });

  it('a container killed externally mid-exec fails that exec transiently; the next exec recovers', async () => {
    const sb = await make(await newWorkspace());
    const { id } = await sb.ensure();
    const err = await sb
      .exec(['sh', '-c', 'echo ready; exec sleep 3000'], {
        ...SAFE,
        onLine: (_s, line) => void (line === 'ready' && docker.getContainer(id).kill()),
      })
      .then(() => null, (e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxError);
    expect(err).toMatchObject({ code: 'container_failed', transient: true });
    await docker.getContainer(id).wait();
    expect((await inspect(id)).State.Running).toBe(false);

    const r = await sb.exec(['sh', '-c', 'echo alive again'], SAFE);
    expect(r.stdoutTail).toBe('alive again\n');
    expect((await inspect(id)).State.Running).toBe(true);
  });

  it('recreates the container when removed behind its back or when its config changes', async () => {
    const ws = await newWorkspace();
    const sb = await make(ws);
    const { id } = await sb.ensure();
    const projectId = id.replace(/^devteam-/, '');
    const firstId = (await inspect(id)).Id;
    await docker.getContainer(id).remove({ force: true });
    expect((await sb.exec(['true'], SAFE)).exitCode).toBe(0);
    const secondId = (await inspect(id)).Id;
    expect(secondId).not.toBe(firstId);

    const changed = createDockerSandbox({ kind: 'docker', projectId, workspaceDir: ws, defaultImage: await ensureTestImage(), logger: silentLogger(), docker, config: { pids: 99 } });
    expect(await changed.ensure()).toEqual({ id, created: true });
    const info = await inspect(id);
    expect(info.Id).not.toBe(secondId);
    expect(info.HostConfig.PidsLimit).toBe(99);
  });

  it('remove() removes the container and is idempotent', async () => {
    const sb = await make(await newWorkspace());
    const { id } = await sb.ensure();
    await sb.remove();
    await expect(inspect(id)).rejects.toMatchObject({ statusCode: 404 });
    await sb.remove();
  });

  it('a missing image is image_missing, naming the build script', async () => {
    const sb = await make(await newWorkspace(), { defaultImage: `devteam-no-such-image:${RUN}` });
    const err = await sb.ensure().then(() => null, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'image_missing', transient: false });
    expect((err as Error).message).toContain('scripts/build-sandbox-image.sh');
  });

  it('an unreachable engine is engine_unavailable (transient)', async () => {
    const nowhere = new Docker({ socketPath: path.join(tmpdir(), `devteam-no-engine-${RUN}.sock`) });
    expect(await detectDocker(nowhere)).toBe(false);
    const sb = await make(await newWorkspace(), { docker: nowhere });
    await expect(sb.ensure()).rejects.toMatchObject({ code: 'engine_unavailable', transient: true });
  });

  it('the engine going away mid-exec is engine_unavailable (transient)', async () => {
    // A unix-socket proxy to the real engine, which the test cuts while a command runs.
    const sockPath = path.join(tmpdir(), `devteam-proxy-${RUN}.sock`);
    const conns = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect('/var/run/docker.sock');
      conns.add(client).add(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(sockPath, resolve));
    const cut = () => {
      proxy.close();
      for (const c of conns) c.destroy();
    };
    try {
      const sb = await make(await newWorkspace(), { docker: new Docker({ socketPath: sockPath }) });
      const { id } = await sb.ensure();
      const err = await sb
        .exec(['sh', '-c', 'echo ready; exec sleep 4000'], { ...SAFE, onLine: (_s, line) => line === 'ready' && cut() })
        .then(() => null, (e: unknown) => e);
      expect(err).toMatchObject({ code: 'engine_unavailable', transient: true });
      await docker.getContainer(id).remove({ force: true });
    } finally {
      cut();
      await rm(sockPath, { force: true });
    }
  });

  it('exit 137 from the kernel OOM killer is reported as oom', async () => {
    const sb = await make(await newWorkspace(), { config: { memoryMb: 64 } });
    // `tail` must hold the whole newline-free stream in memory: far more than 64 MB.
    const r = await sb.exec(['sh', '-c', 'head -c 400000000 /dev/zero | tail -c 300000000 > /dev/null'], SAFE);
    expect(r).toMatchObject({ exitCode: 137, oom: true, timedOut: false, aborted: false });
  });
});
