import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Integration tests share real Postgres/Redis; each uses its own database or key prefix.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
