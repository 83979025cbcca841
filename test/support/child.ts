/** Spawn a TypeScript child process and wait for JSON lines on its stdout — no sleeps. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';

/** `node --import tsx` — one process, so a signal reaches the runner itself (the tsx CLI would relay it). */
const TSX_LOADER = join(import.meta.dirname, '../../node_modules/tsx/dist/esm/index.mjs');

export interface Child {
  proc: ChildProcess;
  lines: any[];
  /** Resolves with the first line (seen or future) matching pred; rejects if the child exits first. */
  waitFor(pred: (line: any) => boolean, what?: string): Promise<any>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export function spawnTs(script: string, env: Record<string, string | undefined>, opts: { stdin?: boolean } = {}): Child {
  const proc = spawn(process.execPath, ['--import', `file://${TSX_LOADER}`, script], {
    env: { ...process.env, ...env },
    stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
  });
  proc.stdin?.on('error', () => undefined);
  const lines: any[] = [];
  let err = '';
  const waiters: Array<{ pred: (l: any) => boolean; resolve: (l: any) => void }> = [];
  createInterface({ input: proc.stdout! }).on('line', (raw) => {
    let l: any;
    try {
      l = JSON.parse(raw);
    } catch {
      return;
    }
    lines.push(l);
    for (const w of [...waiters]) if (w.pred(l)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(l);
    }
  });
  proc.stderr!.on('data', (d) => {
    if (process.env.TEST_CHILD_STDERR) process.stderr.write(d); // debugging: TEST_CHILD_STDERR=1 shows children's logs live
    err += d;
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  return {
    proc,
    lines,
    stderr: () => err,
    exited,
    waitFor(pred, what = 'line') {
      const seen = lines.find(pred);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        waiters.push({ pred, resolve });
        void exited.then(({ code, signal }) => reject(new Error(`child exited (${code ?? signal}) before ${what}; stderr:\n${err.slice(-3000)}`)));
      });
    },
  };
}
