/** Shared bench helpers: percentiles, a throwaway Postgres database, instant in-memory steps. */
import type { ProjectRecord } from '../src/actors/registry.ts';
import type { ProjectSteps } from '../src/actors/steps.ts';
import { FakeSteps } from '../test/support/fakeSteps.ts';

export function pct(values: number[], p: number): number {
  if (!values.length) return NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

/** A throwaway database on the machine's Postgres (BENCH_PG_URL / TEST_PG_URL, default 127.0.0.1:5432). */
export async function scratchDb(prefix: string): Promise<{ url: string; drop(): Promise<void> }> {
  if (process.env.BENCH_PG_URL) process.env.TEST_PG_URL ??= process.env.BENCH_PG_URL;
  const { createTestDatabase } = await import('../test/support/db.ts');
  return createTestDatabase(prefix);
}

/**
 * makeSteps whose projects walk `tasks` tasks at once, then go idle (`blockIn`: each runAgent waits
 * until cancelled; `delayMs`: agent runs take that long, ±50 %).
 */
export function instantSteps(tasks: number, opts: { blockIn?: 'runAgent'; delayMs?: number } = {}): (project: ProjectRecord) => ProjectSteps {
  const fake = new FakeSteps({ tasks: Array.from({ length: tasks }, (_, i) => `1.${i + 1}`), delayMs: opts.delayMs });
  return (project) => {
    if (opts.blockIn) fake.block(project.id, opts.blockIn);
    return fake.make(project);
  };
}
