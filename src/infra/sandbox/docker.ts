/**
 * Docker sandbox: one hardened container per project (`devteam-<projectId>`), commands run with
 * `docker exec` inside it. See dockerContainer.ts (lifecycle), dockerExec.ts (exec + kill) and
 * dockerWorkspace.ts (which uid the sandbox runs as and workspace ownership).
 *
 * - ensure(): create or reuse the container, health-probe it, recreate it if the probe fails.
 *   The returned id is the container *name*: stable across restarts of the runner and across
 *   remove()/ensure() (the engine's container id changes when the container is recreated).
 * - exec(): the first exec of a sandbox object restarts the container when anything but its init
 *   runs in it (execs a killed runner left behind would otherwise run on beside the restarted step);
 *   every exec probes first (one cheap exec of `test -w /workspace`), recreating a dead or unhealthy
 *   container; then runs argv without a shell string. Timeout/abort kill the whole process group
 *   and exec() settles only after the engine reports the exec stopped.
 * - Failures: engine unreachable → SandboxError('engine_unavailable', transient); image missing →
 *   'image_missing' (build it with scripts/build-sandbox-image.sh); the container dying during an
 *   exec → 'container_failed' (transient: the next exec recreates it).
 */
import { stat } from 'node:fs/promises';
import path from 'node:path';
import Docker from 'dockerode';
import { createLineSplitter, DEFAULT_TAIL_BYTES, TailBuffer } from './lines.ts';
import { CONTAINER_WORKDIR, SandboxContainer, type ContainerSpec } from './dockerContainer.ts';
import { containerRunning, killExec, startExec, type ExecEnd, type RunningExec } from './dockerExec.ts';
import { prepareWorkspace, reclaimRootOwned, sandboxUser } from './dockerWorkspace.ts';
import { SandboxError, type ExecOptions, type ExecResult, type OutputStream, type Sandbox, type SandboxFactoryOptions } from './types.ts';

export { detectDocker } from './detect.ts';

/** The image scripts/build-sandbox-image.sh builds by default. */
export const DEFAULT_SANDBOX_IMAGE = 'devteam-sandbox:bookworm';

export const DEFAULT_DOCKER_LIMITS = { pids: 256, memoryMb: 2048, cpus: 2 } as const;

export type DockerSandboxOptions = SandboxFactoryOptions & {
  /** Engine client (default: `new Docker()`, i.e. DOCKER_HOST or /var/run/docker.sock). */
  docker?: Docker;
  /** uid:gid override for the container (default: see dockerWorkspace.ts). */
  user?: string;
  /** Read-only root filesystem, tmpfs on /tmp and /home/devteam (default false). */
  readonlyRootfs?: boolean;
};

export function createDockerSandbox(opts: DockerSandboxOptions): Sandbox {
  return new DockerSandbox(opts);
}

class DockerSandbox implements Sandbox {
  readonly kind = 'docker' as const;
  readonly workdir = CONTAINER_WORKDIR;
  private readonly docker: Docker;
  private readonly box: SandboxContainer;
  private readonly logger: DockerSandboxOptions['logger'];
  /** Serialises ensure() so concurrent callers never race to create the container. */
  private ensuring: Promise<unknown> = Promise.resolve();
  /** Once per sandbox object: leftovers of an earlier runner end first (restartIfBusy). */
  private fresh: Promise<unknown> | null = null;

  constructor(private readonly opts: DockerSandboxOptions) {
    this.docker = opts.docker ?? new Docker();
    this.logger = opts.logger.child({ sandbox: 'docker', projectId: opts.projectId });
    const cfg = opts.config ?? {};
    const spec: ContainerSpec = {
      projectId: opts.projectId,
      image: cfg.image ?? opts.defaultImage,
      workspaceDir: path.resolve(opts.workspaceDir),
      user: sandboxUser(opts.user),
      network: cfg.network ?? 'bridge',
      memoryBytes: (cfg.memoryMb ?? DEFAULT_DOCKER_LIMITS.memoryMb) * 1024 * 1024,
      nanoCpus: Math.round((cfg.cpus ?? DEFAULT_DOCKER_LIMITS.cpus) * 1e9),
      pidsLimit: cfg.pids ?? DEFAULT_DOCKER_LIMITS.pids,
      readonlyRootfs: opts.readonlyRootfs ?? false,
    };
    this.box = new SandboxContainer(this.docker, spec, this.logger);
  }

  ensure(signal?: AbortSignal): Promise<{ id: string; created: boolean }> {
    const run = this.ensuring.then(async () => {
      signal?.throwIfAborted();
      const changed = await prepareWorkspace(this.box.spec.workspaceDir, this.box.spec.user);
      if (changed > 0) this.logger.info({ changed, user: this.box.spec.user }, 'workspace ownership handed to the sandbox user');
      signal?.throwIfAborted();
      const { created } = await this.box.ensure();
      return { id: this.box.name, created };
    });
    this.ensuring = run.catch(() => undefined);
    return run;
  }

  async exec(argv: string[], opts: ExecOptions = {}): Promise<ExecResult> {
    const startedAt = performance.now();
    if (argv.length === 0) throw new SandboxError('exec needs a non-empty argv', 'exec_failed');
    const workingDir = await this.resolveCwd(opts.cwd);
    const signal = opts.signal;
    const cap = opts.tailBytes ?? DEFAULT_TAIL_BYTES;
    const tails = { stdout: new TailBuffer(cap), stderr: new TailBuffer(cap) };
    const result = (over: Partial<ExecResult>): ExecResult => ({
      exitCode: null,
      signal: null,
      timedOut: false,
      aborted: false,
      oom: false,
      stdoutTail: tails.stdout.toString(),
      stderrTail: tails.stderr.toString(),
      outputBytes: tails.stdout.totalBytes + tails.stderr.totalBytes,
      durationMs: Math.round(performance.now() - startedAt),
      ...over,
    });
    if (signal?.aborted) return result({ aborted: true });

    // What a previous (dead) runner left running in the container goes before anything runs.
    await (this.fresh ??= this.box.restartIfBusy().catch((err: unknown) => {
      this.fresh = null;
      throw err;
    }));
    // Health probe before every command (a step): recreate a dead/unhealthy container first.
    if (!(await this.box.probe())) {
      this.logger.warn('sandbox container missing or unhealthy before exec; ensuring it');
      await this.ensure(signal);
    }
    if (signal?.aborted) return result({ aborted: true });
    await reclaimRootOwned(this.box.spec.workspaceDir, this.box.spec.user);

    const onLine = opts.onLine;
    const lineSink = (stream: OutputStream) =>
      createLineSplitter((line) => {
        if (!onLine) return;
        try {
          onLine(stream, line);
        } catch (err) {
          this.logger.warn({ err }, 'onLine callback threw; line dropped');
        }
      });
    const splitters = { stdout: lineSink('stdout'), stderr: lineSink('stderr') };
    const running = await startExec(this.box.container, {
      argv,
      env: opts.env,
      workingDir,
      onData: (stream, chunk) => {
        tails[stream].push(chunk);
        splitters[stream].push(chunk);
      },
    });

    const killer = new ExecKiller(this.box.container, running);
    const timer = opts.timeoutMs !== undefined ? setTimeout(() => killer.kill('timeout'), Math.max(0, opts.timeoutMs)) : undefined;
    const onAbort = (): void => killer.kill('abort');
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    let end: ExecEnd;
    try {
      end = await Promise.race([running.finished, killer.failed]);
      await killer.settled();
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      splitters.stdout.flush();
      splitters.stderr.flush();
    }

    const killedBy = killer.reason;
    if (killedBy) {
      this.logger.info({ reason: killedBy, argv0: argv[0] }, 'sandbox exec killed');
      return result({ signal: 'SIGKILL', timedOut: killedBy === 'timeout', aborted: killedBy === 'abort' });
    }
    // 137: SIGKILL (OOM, or the whole container killed); 126: runc could not exec (container dying).
    if (end.kind === 'container_gone' || end.exitCode === null || end.exitCode === 137 || end.exitCode === 126) {
      await this.failIfContainerDown(argv[0]);
    }
    if (end.kind === 'container_gone') {
      throw new SandboxError('sandbox exec ended without an exit status', 'container_failed', true);
    }
    const oom = end.exitCode === 137;
    if (oom) {
      const info = await this.box.container.inspect().catch(() => null);
      this.logger.warn(
        { argv0: argv[0], containerOOMKilled: info?.State.OOMKilled ?? null },
        'sandbox exec ended with 137 (SIGKILL) without being killed by the runner: treating it as out-of-memory',
      );
    }
    return result({ exitCode: end.exitCode, oom });
  }

  async remove(): Promise<void> {
    await this.box.remove();
  }

  /** Map a workspace-relative cwd to the container path; it must be an existing directory inside the workspace. */
  private async resolveCwd(cwd: string | undefined): Promise<string> {
    if (!cwd) return CONTAINER_WORKDIR;
    const resolved = path.posix.resolve(CONTAINER_WORKDIR, cwd);
    if (resolved !== CONTAINER_WORKDIR && !resolved.startsWith(`${CONTAINER_WORKDIR}/`)) {
      throw new SandboxError(`cwd '${cwd}' is outside the workspace`, 'exec_failed');
    }
    const onHost = path.join(this.box.spec.workspaceDir, path.posix.relative(CONTAINER_WORKDIR, resolved));
    const st = await stat(onHost).catch(() => null);
    if (!st?.isDirectory()) throw new SandboxError(`cwd '${cwd}' does not exist in the workspace`, 'exec_failed');
    return resolved;
  }

  /** The container stopped under a running exec (docker kill, OOM of init, engine restart). */
  private async failIfContainerDown(argv0: string): Promise<void> {
    // The engine may not have processed the container's exit yet when the exec's exit arrives:
    // an exec probe tells for sure (runc cannot exec into a container whose init is gone).
    if ((await containerRunning(this.box.container)) && (await this.box.probe())) return;
    this.logger.warn({ argv0 }, 'sandbox container stopped during exec; it will be recreated on the next exec');
    throw new SandboxError(`sandbox container ${this.box.name} stopped while running ${argv0}`, 'container_failed', true);
  }
}

/** Kills one exec at most once, remembering why; exposes a promise that rejects if the kill fails. */
class ExecKiller {
  reason: 'timeout' | 'abort' | null = null;
  readonly failed: Promise<never>;
  private rejectFailed!: (err: unknown) => void;
  private killing: Promise<unknown> | null = null;

  constructor(
    private readonly container: Docker.Container,
    private readonly running: RunningExec,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.rejectFailed = reject));
    this.failed.catch(() => undefined);
  }

  kill(reason: 'timeout' | 'abort'): void {
    if (this.reason) return;
    this.reason = reason;
    this.killing = killExec(this.container, this.running).catch((err: unknown) => this.rejectFailed(err));
  }

  /** Wait for an in-flight kill helper so nothing of this exec outlives exec(). */
  async settled(): Promise<void> {
    await this.killing;
  }
}

