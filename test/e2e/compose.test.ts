/**
 * Seed 1.1 for real: build the images locally (debootstrap rootfs bases, no registry), bring the
 * compose stack up with Debian's docker-compose (v1), check health through the one published
 * port, and take it down again. Runs only when a Docker engine answers; under CI=true a missing
 * engine or docker-compose is a failure. Rootfs tarballs are cached under /var/cache/devteam.
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
const engine = available('docker', ['info']);
const compose = available('docker-compose', ['version']);
const missing = !engine ? 'no Docker engine answers' : !compose ? 'docker-compose is not installed (apt-get install docker-compose)' : null;
if (missing && process.env.CI === 'true') throw new Error(`${missing} (CI=true: required)`);
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
    await run('bash', ['scripts/build-images.sh'], { cwd: root, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 });
    const port = await freePort();
    const env = { ...process.env, COMPOSE_PROJECT_NAME: `devteam-e2e-${process.pid}`, DEVTEAM_PUBLISHED_PORT: String(port), DEVTEAM_UP_TIMEOUT_SEC: '150', DEVTEAM_LEASE_TTL_MS: '3000' };
    try {
      await run('bash', ['scripts/compose-up.sh'], { cwd: root, env, timeout: 200_000, maxBuffer: 64 * 1024 * 1024 });
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
  }, 300_000);
});
