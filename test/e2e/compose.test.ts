/**
 * The compose stack for real: the locally built images (scripts/build-test-images.sh, run by
 * .ci/run before the tests — debootstrap rootfs bases, no registry), brought up with Debian's
 * docker-compose (v1), health checked through the one published port, and taken down again.
 * A missing engine, docker-compose or image skips loudly, or fails under CI=true.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = join(import.meta.dirname, '../..');

function available(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 10_000 });
    return true;
  } catch {
    return false;
  }
}
const IMAGES = ['devteam-postgres:15', 'devteam-redis:7', 'devteam-runner:local', 'devteam-proxy:local'];
const engine = available('docker', ['info']);
const compose = available('docker-compose', ['version']);
const absent = engine ? IMAGES.filter((i) => !available('docker', ['image', 'inspect', i])) : [];
const missing = !engine
  ? 'no Docker engine answers (run scripts/install-docker.sh as root)'
  : !compose
    ? 'docker-compose is not installed (run scripts/install-compose.sh as root)'
    : absent.length
      ? `images ${absent.join(', ')} are missing (run scripts/build-test-images.sh as root)`
      : null;
if (missing && process.env.CI === 'true') throw new Error(`${missing} (CI=true: a missing prerequisite is a failure)`);
if (missing) process.stderr.write(`\n*** SKIPPING compose test: ${missing} ***\n`);

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

describe.skipIf(!!missing)('compose stack (locally built images)', () => {
  it('builds the images, comes up healthy behind one port, goes down', async () => {
    const port = await freePort();
    const env = { ...process.env, COMPOSE_PROJECT_NAME: `devteam-e2e-${process.pid}`, DEVTEAM_PUBLISHED_PORT: String(port), DEVTEAM_UP_TIMEOUT_SEC: '600', DEVTEAM_LEASE_TTL_MS: '3000' };
    try {
      await run('bash', ['scripts/compose-up.sh'], { cwd: root, env, timeout: 660_000, maxBuffer: 64 * 1024 * 1024 });
      const health = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(health.status).toBe(200);
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(ready.status).toBe(200);
      // Requests spread over the replicas (round robin): several in a row all answer.
      for (let i = 0; i < 6; i++) expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      const list = await fetch(`http://127.0.0.1:${port}/api/devteam/automation/projects`);
      expect(list.status).toBe(200);
    } finally {
      await run('bash', ['scripts/compose-down.sh', '--volumes'], { cwd: root, env, timeout: 120_000 });
    }
    const { stdout } = await run('docker', ['ps', '-q', '--filter', `label=com.docker.compose.project=devteam-e2e-${process.pid}`]);
    expect(stdout.trim()).toBe('');
  }, 900_000);
});
