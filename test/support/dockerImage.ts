/**
 * The Docker prerequisites of the Docker tests: an engine that answers and the small sandbox image
 * `devteam-sandbox-test:latest` (git + procps on a debootstrap minbase, imported — no registry).
 *
 * Tests never build the image: `scripts/build-test-images.sh` does, as a step of `.ci/run` before
 * any test starts (a debootstrap takes minutes on a new machine, far beyond a hook's timeout).
 * A missing engine or image skips the Docker tests with a loud reason, or fails them under CI=true.
 */
import Docker from 'dockerode';
import { detectDocker } from '../../src/infra/sandbox/detect.ts';

/** Keep in sync with scripts/build-test-images.sh. */
export const TEST_IMAGE = 'devteam-sandbox-test:latest';
export const TEST_IMAGE_PACKAGES = 'git,procps';

async function imageExists(docker: Docker, name: string): Promise<boolean> {
  try {
    await docker.getImage(name).inspect();
    return true;
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode === 404) return false;
    throw err;
  }
}

/**
 * Resolves to a skip reason (null when the engine answers and the test image exists). Under
 * CI=true a missing prerequisite throws with the command that provides it.
 */
export async function requireDockerTestImage(docker: Docker = new Docker(), what = 'Docker tests'): Promise<string | null> {
  let reason: string | null = null;
  if (!(await detectDocker(docker, 2000))) reason = 'no Docker engine answers (run scripts/install-docker.sh as root)';
  else if (!(await imageExists(docker, TEST_IMAGE))) reason = `the test image ${TEST_IMAGE} is missing (run scripts/build-test-images.sh as root)`;
  if (!reason) return null;
  if (process.env.CI === 'true') throw new Error(`${reason} (CI=true: a missing prerequisite is a failure)`);
  process.stderr.write(`\n*** SKIPPING ${what}: ${reason} ***\n`);
  return reason;
}

/** The test image's name; only call after requireDockerTestImage() returned null. */
export async function ensureTestImage(docker: Docker = new Docker()): Promise<string> {
  if (!(await imageExists(docker, TEST_IMAGE))) throw new Error(`${TEST_IMAGE} is missing: run scripts/build-test-images.sh as root`);
  return TEST_IMAGE;
}
