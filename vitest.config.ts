import { defineConfig } from 'vitest/config';

/**
 * `npm test` runs everything except the long scenarios below; `npm run test:slow`
 * (vitest.slow.config.ts) runs exactly those. `.ci/run` runs both.
 */
export const SLOW_TESTS = [
  'test/integration/cluster.test.ts', // 3 runner processes, 300 projects
  'test/integration/cluster.failover.test.ts', // SIGSTOP takeover, rolling restart under traffic
  'test/integration/demo.test.ts', // the 29-task demo end to end
  'test/e2e/compose.test.ts', // docker-compose stack of locally built images
  'test/e2e/dashboard.test.ts', // the dashboard in Chromium against a live runner
  'test/integration/exactlyOnce.team.test.ts', // 3 lanes, 8 random SIGKILLs per sandbox (~4 min each)
  'test/integration/exactlyOnce.test.ts', // random SIGKILLs of a real runner, per sandbox
  'test/integration/team.test.ts', // team mode end to end: lanes, merge train, real git
  'test/integration/agentCli.real.test.ts', // the real agent CLIs from npm against a scripted model
  'test/integration/sandbox.docker.test.ts', // Docker sandbox containers
  'test/integration/pipeline.docker.test.ts', // the whole pipeline in a Docker sandbox
  'test/unit/taskList.scale.test.ts', // 20,000-task chains and adversarial 1 MB task lists stay linear
];

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['**/node_modules/**', ...SLOW_TESTS],
    // Safety nets against a hang, never a pass criterion: tests wait on conditions.
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: 'forks',
    // Integration tests share real Postgres/Redis; each uses its own database or key prefix.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
