/**
 * The per-project sandbox container: desired spec, create-or-reuse, health probe, recreate, remove.
 *
 * One container per project, named `devteam-<projectId>`, running `sleep infinity` under docker's
 * init, with the workspace bind-mounted at /workspace. A container is reused when running (or
 * started when stopped) as long as its spec label and image id match; otherwise it is replaced.
 */
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import type { Logger } from '../logger.ts';
import { statusOf, toSandboxError } from './detect.ts';
import { runQuiet } from './dockerExec.ts';
import { SandboxError } from './types.ts';

export const CONTAINER_WORKDIR = '/workspace';
export const LABEL_RUNNER = 'devteam.runner';
export const LABEL_PROJECT = 'devteam.project';
export const LABEL_SPEC = 'devteam.spec';

export interface ContainerSpec {
  projectId: string;
  image: string;
  /** Host path bind-mounted at /workspace. */
  workspaceDir: string;
  /** uid:gid the container (and every exec) runs as. */
  user: string;
  network: string;
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
  /** Read-only root filesystem with tmpfs on /tmp and the user's HOME. */
  readonlyRootfs: boolean;
}

export function containerName(projectId: string): string {
  return `devteam-${projectId}`;
}

/** Hash of everything that requires a new container when it changes. */
export function specHash(spec: ContainerSpec): string {
  const canonical = JSON.stringify([
    1,
    spec.image,
    spec.workspaceDir,
    spec.user,
    spec.network,
    spec.memoryBytes,
    spec.nanoCpus,
    spec.pidsLimit,
    spec.readonlyRootfs,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export function createOptions(spec: ContainerSpec): Docker.ContainerCreateOptions {
  return {
    name: containerName(spec.projectId),
    Image: spec.image,
    Cmd: ['sleep', 'infinity'],
    User: spec.user,
    WorkingDir: CONTAINER_WORKDIR,
    Labels: { [LABEL_RUNNER]: '1', [LABEL_PROJECT]: spec.projectId, [LABEL_SPEC]: specHash(spec) },
    AttachStdin: false,
    AttachStdout: false,
    AttachStderr: false,
    Tty: false,
    HostConfig: {
      Binds: [`${spec.workspaceDir}:${CONTAINER_WORKDIR}`],
      Init: true,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      PidsLimit: spec.pidsLimit,
      Memory: spec.memoryBytes,
      // No extra swap beyond the memory limit, so the limit really bounds the sandbox.
      MemorySwap: spec.memoryBytes,
      NanoCpus: spec.nanoCpus,
      NetworkMode: spec.network,
      ReadonlyRootfs: spec.readonlyRootfs,
      Tmpfs: spec.readonlyRootfs ? { '/tmp': 'rw,nosuid,nodev,size=512m', '/home/devteam': 'rw,nosuid,nodev,size=512m,uid=1000,gid=1000' } : undefined,
      RestartPolicy: { Name: 'no' },
      AutoRemove: false,
    },
  };
}

export class SandboxContainer {
  readonly name: string;
  constructor(
    private readonly docker: Docker,
    readonly spec: ContainerSpec,
    private readonly logger: Logger,
  ) {
    this.name = containerName(spec.projectId);
  }

  get container(): Docker.Container {
    return this.docker.getContainer(this.name);
  }

  /** Create or reuse the container, probe it, and recreate it once if the probe fails. */
  async ensure(): Promise<{ created: boolean; containerId: string }> {
    const first = await this.ensureRunning();
    if (await this.probe()) return first;
    this.logger.warn({ container: this.name }, 'sandbox health probe failed; recreating the container');
    await this.remove();
    const second = await this.ensureRunning();
    if (await this.probe()) return { ...second, created: true };
    throw new SandboxError(
      `sandbox container ${this.name} failed its health probe (is ${this.spec.workspaceDir} writable by ${this.spec.user}?)`,
      'container_failed',
    );
  }

  /**
   * Execs a dead runner left behind keep running inside the container (docker cannot kill one
   * exec; a new runner cannot tell them from its own). Called before a sandbox object's first
   * exec: when anything besides the container's init and its `sleep infinity` runs (seen from the
   * host with `docker top`), restart the container — every process in it dies, the workspace (a
   * bind mount) stays. Returns whether it restarted.
   */
  async restartIfBusy(): Promise<boolean> {
    let top: { Processes?: string[][]; Titles?: string[] };
    try {
      top = await this.container.top();
    } catch (err) {
      const status = statusOf(err);
      if (status === 404 || status === 409) return false; // missing or not running: ensure() handles it
      throw toSandboxError(err, 'container top', 'container_failed');
    }
    const cmd = (top.Titles ?? []).indexOf('CMD');
    const extra = (top.Processes ?? []).filter((p) => !/^(\/sbin\/docker-init -- )?sleep infinity$/.test(p[cmd] ?? ''));
    if (!extra.length) return false;
    this.logger.warn({ container: this.name, leftovers: extra.length }, 'processes a previous runner left in the sandbox container: restarting it');
    try {
      await this.container.restart({ t: 0 });
    } catch (err) {
      throw toSandboxError(err, 'container restart', 'container_failed');
    }
    return true;
  }

  /** `test -w /workspace` inside the container; false when it fails or the container is gone. */
  async probe(): Promise<boolean> {
    return (await runQuiet(this.container, ['sh', '-c', `test -w ${CONTAINER_WORKDIR}`])) === 0;
  }

  /** Force-remove the container; a missing container is fine. */
  async remove(): Promise<void> {
    try {
      await this.container.remove({ force: true, v: true });
      this.logger.info({ container: this.name }, 'sandbox container removed');
    } catch (err) {
      const status = statusOf(err);
      // 404: already gone; 409: removal already in progress.
      if (status === 404 || status === 409) return;
      throw toSandboxError(err, 'container remove', 'container_failed');
    }
  }

  private async ensureRunning(): Promise<{ created: boolean; containerId: string }> {
    let info = await this.inspect();
    if (info && (await this.isStale(info))) {
      await this.remove();
      info = null;
    }
    if (!info) {
      const id = await this.create();
      await this.start();
      return { created: true, containerId: id };
    }
    if (info.State.Paused) {
      await this.container.unpause().catch((err: unknown) => this.ignoreState(err, 'unpause'));
    } else if (!info.State.Running) {
      this.logger.info({ container: this.name, status: info.State.Status }, 'starting stopped sandbox container');
      await this.start();
    }
    return { created: false, containerId: info.Id };
  }

  private async inspect(): Promise<Docker.ContainerInspectInfo | null> {
    try {
      return await this.container.inspect();
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw toSandboxError(err, 'container inspect', 'container_failed');
    }
  }

  /** Dead, being removed, built from another spec, or from an image since rebuilt. */
  private async isStale(info: Docker.ContainerInspectInfo): Promise<boolean> {
    const reason =
      info.State.Dead || info.State.Status === 'removing'
        ? `state ${info.State.Status}`
        : info.Config.Labels?.[LABEL_SPEC] !== specHash(this.spec)
          ? 'spec changed'
          : await this.imageChanged(info.Image);
    if (!reason) return false;
    this.logger.info({ container: this.name, reason }, 'replacing sandbox container');
    return true;
  }

  private async imageChanged(containerImageId: string): Promise<string | false> {
    try {
      const image = await this.docker.getImage(this.spec.image).inspect();
      return image.Id !== containerImageId ? 'image rebuilt' : false;
    } catch (err) {
      // Image deleted since: keep using the running container.
      if (statusOf(err) === 404) return false;
      throw toSandboxError(err, 'image inspect', 'container_failed');
    }
  }

  private async create(): Promise<string> {
    await this.requireImage();
    try {
      const c = await this.docker.createContainer(createOptions(this.spec));
      this.logger.info({ container: this.name, image: this.spec.image }, 'sandbox container created');
      return c.id;
    } catch (err) {
      const status = statusOf(err);
      if (status === 409) {
        // Another runner created it concurrently: reuse theirs.
        const info = await this.inspect();
        if (info) return info.Id;
      }
      if (status === 404) throw this.imageMissing(err);
      throw toSandboxError(err, 'container create', 'container_failed');
    }
  }

  private async start(): Promise<void> {
    try {
      await this.container.start();
    } catch (err) {
      this.ignoreState(err, 'start');
    }
  }

  /** 304 = already in the requested state. */
  private ignoreState(err: unknown, what: string): void {
    if (statusOf(err) === 304) return;
    throw toSandboxError(err, `container ${what}`, 'container_failed');
  }

  private async requireImage(): Promise<void> {
    try {
      await this.docker.getImage(this.spec.image).inspect();
    } catch (err) {
      if (statusOf(err) === 404) throw this.imageMissing(err);
      throw toSandboxError(err, 'image inspect', 'container_failed');
    }
  }

  private imageMissing(cause: unknown): SandboxError {
    return new SandboxError(
      `sandbox image ${this.spec.image} is missing: build it with scripts/build-sandbox-image.sh ${this.spec.image}` +
        ' (images cannot be pulled here)',
      'image_missing',
      false,
      { cause },
    );
  }
}
