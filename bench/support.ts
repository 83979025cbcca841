/** Shared bench helpers: percentiles, a throwaway Postgres database, instant in-memory steps. */
import type { ProjectSteps } from '../src/actors/steps.ts';

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

/** Steps that complete at once: a project walks `tasks` tasks, then goes idle. */
export function instantSteps(tasks: number, opts: { blockIn?: 'runAgent'; delayMs?: number } = {}): ProjectSteps {
  let done = 0;
  const counts = () => ({ total: tasks, done, skipped: 0, remaining: tasks - done });
  const ids = () => Array.from({ length: done }, (_, i) => `1.${i + 1}`);
  const never = (signal: AbortSignal) => new Promise<never>((_, rej) => signal.addEventListener('abort', () => rej(signal.reason), { once: true }));
  const d = opts.delayMs ?? 0;
  const wait = d ? () => new Promise((r) => setTimeout(r, d * (0.5 + Math.random()))) : async () => undefined;
  const steps: ProjectSteps = {
    syncRepo: async () => ({ headOid: 'h' }),
    provisionSandbox: async () => ({ kind: 'local' }),
    checkTools: async () => ({ tools: { sh: '1' } }),
    selectTask: async () =>
      done >= tasks
        ? { kind: 'none', completedTaskIds: ids(), blockedTaskIds: [], counts: counts() }
        : { kind: 'task', task: { id: `1.${done + 1}`, title: `Task ${done + 1}` }, completedTaskIds: ids(), blockedTaskIds: [], counts: counts() },
    prepareTask: async (i) => ({ promptSha256: 'a'.repeat(64), branch: `devteam/${i.taskId}` }),
    runAgent: async (_i, ctx) => {
      if (opts.blockIn === 'runAgent') await never(ctx.signal);
      return { ok: true, agent: { kind: 'script', exitCode: 0, durationMs: 1, diffstat: '1 file changed' } };
    },
    runVerify: async () => ({ ok: true, verify: { ok: true, exitCode: 0, durationMs: 1, outputTail: 'ok', timedOut: false } }),
    integrate: async () => ({ targetOid: 'b', alreadyIntegrated: false }),
    recordOutcome: async () => {
      done++;
      return { pushed: true };
    },
    cleanup: async () => undefined,
  };
  if (!d) return steps;
  // Paced: every step takes ~delayMs, so N projects offer about N / delayMs transitions per ms.
  for (const k of Object.keys(steps) as Array<keyof ProjectSteps>) {
    const f = steps[k] as (...a: unknown[]) => Promise<unknown>;
    (steps as any)[k] = async (...a: unknown[]) => {
      await wait();
      return f(...a);
    };
  }
  return steps;
}
