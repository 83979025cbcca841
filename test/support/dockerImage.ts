/**
 * The small sandbox image the docker tests run against: `devteam-sandbox-test:latest`, built like
 * the real one (scripts/build-sandbox-image.sh: debootstrap minbase + docker import, no pull) with
 * just git and procps on top of minbase (coreutils, sh, bash).
 *
 * Reused when present. Parallel test files never build twice: the script takes a flock and
 * re-checks for the image after acquiring it; within one process the build promise is shared.
 * The rootfs tarball is cached (/var/cache/devteam), so a rebuild after `docker rmi` is a re-import.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Docker from 'dockerode';

export const TEST_IMAGE = 'devteam-sandbox-test:latest';
export const TEST_IMAGE_PACKAGES = 'git,procps';

const SCRIPT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../scripts/build-sandbox-image.sh');
const run = promisify(execFile);
let building: Promise<string> | null = null;

async function imageExists(docker: Docker, name: string): Promise<boolean> {
  try {
    await docker.getImage(name).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/** Build (once) or reuse the test image; resolves to its name. Needs root and a running engine. */
export function ensureTestImage(docker: Docker = new Docker()): Promise<string> {
  building ??= (async () => {
    if (await imageExists(docker, TEST_IMAGE)) return TEST_IMAGE;
    try {
      await run(SCRIPT, [TEST_IMAGE, '--packages', TEST_IMAGE_PACKAGES], { maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`building ${TEST_IMAGE} failed: ${e.message}\n${e.stderr ?? ''}`);
    }
    if (!(await imageExists(docker, TEST_IMAGE))) throw new Error(`${SCRIPT} finished but ${TEST_IMAGE} is missing`);
    return TEST_IMAGE;
  })();
  building.catch(() => (building = null));
  return building;
}
