/**
 * Running the native `git` executable for the runner — never through a shell, with an
 * environment that neutralises everything a hostile repository (or an agent that edited the
 * repository's metadata) could use to run code on the runner:
 *
 *  - no system/global config (`GIT_CONFIG_NOSYSTEM`, `GIT_CONFIG_GLOBAL=/dev/null`, an empty HOME);
 *  - command-line-scope config (GIT_CONFIG_COUNT/KEY/VALUE env, which outranks the repository's
 *    own config and keeps argv clean) pinning `core.hooksPath=/dev/null`, `core.fsmonitor=false`,
 *    `core.sshCommand=false`, `protocol.allow=never` (+ only the repository's http/https scheme),
 *    `credential.helper` reset, `http.followRedirects=false`, `uploadpack.packObjectsHook` unset…
 *    (git-config(1) "ENVIRONMENT": GIT_CONFIG_COUNT; git-config(1) `core.hooksPath`,
 *    `core.fsmonitor`, `protocol.allow`, `credential.helper`, `http.followRedirects`);
 *  - no prompts (`GIT_TERMINAL_PROMPT=0`, `GIT_ASKPASS`/`SSH_ASKPASS` unset), no pager, no editor;
 *  - `LC_ALL=C` so messages can be classified.
 *
 * The caller's AbortSignal (PAUSE/STOP/shutdown) kills git's whole process group (git-remote-http,
 * pack-objects…) before the promise settles. The token (if any) is handed to the credential helper
 * through the environment of that one git process only (see ./remoteAccess.ts).
 */
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { bindToRunnerLife } from '../../process/bound.ts';

export interface GitRunOptions {
  /** Working directory (for commands that need none, any existing directory). */
  cwd: string;
  /** Extra environment (GIT_DIR, GIT_WORK_TREE, GIT_INDEX_FILE, identities, credentials…). Never logged. */
  env?: Record<string, string>;
  /** Extra command-line-scope config pairs (e.g. the credential helper, a pinned address). */
  config?: Array<[string, string]>;
  /** Bytes for stdin. */
  input?: string | Buffer;
  signal?: AbortSignal;
  /** Cap on captured stdout; beyond it the run fails (default 256 MiB). */
  maxStdoutBytes?: number;
}

export interface GitRunResult {
  code: number;
  stdout: Buffer;
  /** Last 64 KiB of stderr (messages; remote `remote:` lines). */
  stderr: string;
}

/** The executable (`DEVTEAM_GIT_BIN` overrides PATH lookup; tests use it to simulate "no git"). */
export const GIT_BIN = process.env.DEVTEAM_GIT_BIN || 'git';

/** Config every runner git call gets, whatever the repository says. */
export const NEUTRAL_CONFIG: ReadonlyArray<[string, string]> = [
  ['core.hooksPath', '/dev/null'],
  ['core.fsmonitor', 'false'],
  ['core.sshCommand', 'false'],
  ['core.gitProxy', ''],
  ['core.pager', 'cat'],
  ['core.editor', 'true'],
  ['core.askPass', ''],
  ['core.quotePath', 'false'],
  ['core.untrackedCache', 'false'],
  ['credential.helper', ''],
  ['protocol.allow', 'never'],
  ['http.followRedirects', 'false'],
  ['uploadpack.packObjectsHook', ''],
  ['diff.external', ''],
  ['commit.gpgSign', 'false'],
  ['tag.gpgSign', 'false'],
  ['gc.auto', '0'],
  ['maintenance.auto', 'false'],
  ['advice.detachedHead', 'false'],
  ['init.defaultBranch', 'main'],
  // The sandbox may own the files (docker runs as uid 1000); the runner reads them as itself.
  ['safe.directory', '*'],
];

let emptyHome: string | null = null;
function homeDir(): string {
  if (!emptyHome) {
    emptyHome = path.join(tmpdir(), `devteam-git-home-${process.getuid?.() ?? 'u'}`);
    mkdirSync(emptyHome, { recursive: true, mode: 0o700 });
  }
  return emptyHome;
}

/** The environment of a runner git process (see the module comment). */
export function gitEnv(extra: Record<string, string> = {}, config: ReadonlyArray<[string, string]> = []): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: homeDir(),
    LC_ALL: 'C',
    LANG: 'C',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_PAGER: 'cat',
    GIT_EDITOR: 'true',
    GIT_OPTIONAL_LOCKS: '0',
    GIT_NO_REPLACE_OBJECTS: '1',
  };
  const all = [...NEUTRAL_CONFIG, ...config];
  env.GIT_CONFIG_COUNT = String(all.length);
  all.forEach(([k, v], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = k;
    env[`GIT_CONFIG_VALUE_${i}`] = v;
  });
  return { ...env, ...extra };
}

/**
 * Run `git <args>`. Resolves with the exit code and output whatever the code (callers decide
 * what a non-zero exit means); rejects only when git cannot start, output exceeds the cap, or the
 * signal aborted (with the signal's reason, after the process group is gone).
 */
export function runGit(args: string[], o: GitRunOptions): Promise<GitRunResult> {
  o.signal?.throwIfAborted();
  const max = o.maxStdoutBytes ?? 256 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const [file, argv] = bindToRunnerLife(GIT_BIN, args);
    const child = spawn(file, argv, {
      cwd: o.cwd,
      env: gitEnv(o.env, o.config),
      detached: true,
      stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const chunks: Buffer[] = [];
    let size = 0;
    let err = '';
    let failure: unknown = null;
    const kill = () => {
      try {
        if (child.pid) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const onAbort = () => {
      failure ??= o.signal!.reason;
      kill();
    };
    o.signal?.addEventListener('abort', onAbort, { once: true });
    child.stdout!.on('data', (b: Buffer) => {
      size += b.length;
      if (size > max) {
        failure ??= new Error(`git ${args[0]} produced more than ${max} bytes of output`);
        kill();
        return;
      }
      chunks.push(b);
    });
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString('utf8');
      if (err.length > 128 * 1024) err = err.slice(-64 * 1024);
    });
    if (o.input !== undefined) {
      child.stdin!.on('error', () => undefined); // git may exit before reading everything
      child.stdin!.end(o.input);
    }
    child.once('error', (e) => {
      o.signal?.removeEventListener('abort', onAbort);
      reject(e);
    });
    child.once('close', (code, sig) => {
      o.signal?.removeEventListener('abort', onAbort);
      if (failure) return reject(failure);
      resolve({ code: code ?? (sig ? 128 : 1), stdout: Buffer.concat(chunks), stderr: err.slice(-64 * 1024) });
    });
  });
}
