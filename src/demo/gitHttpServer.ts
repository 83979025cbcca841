/**
 * A small git smart-HTTP server for the demo: `git http-backend` (CGI) behind node:http on
 * 127.0.0.1, push enabled, because the runner only speaks HTTP(S) to remotes and the demo must
 * need nothing but Node and git. Production-safe subset of the test server
 * (test/support/gitServer.ts): loopback only, only `/<name>.git/…` paths with a plain repo name
 * (no traversal), a request-body cap, no user or system git config.
 *
 * Native git gzips request bodies, so Content-Encoding is passed on to the CGI.
 */
import { execFile, spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const REPO_PATH = /^\/([A-Za-z0-9][A-Za-z0-9_-]{0,63})\.git(\/(?:info\/refs|git-upload-pack|git-receive-pack|HEAD|objects\/[0-9a-f/]+|objects\/info\/[a-z-]+|objects\/pack\/pack-[0-9a-f]+\.(?:pack|idx)))$/;
const MAX_BODY_BYTES = 256 * 1024 * 1024;

/** Environment for native git: fixed identity, no user/system config, never prompt. */
export function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? tmpdir(),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'DevTeam Demo',
    GIT_AUTHOR_EMAIL: 'demo@devteam.invalid',
    GIT_COMMITTER_NAME: 'DevTeam Demo',
    GIT_COMMITTER_EMAIL: 'demo@devteam.invalid',
    GIT_TERMINAL_PROMPT: '0',
    ...extra,
  };
}

/** Run native git asynchronously (the server shares this event loop); resolves stdout. */
export async function git(cwd: string, ...args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileP('git', args, { cwd, env: gitEnv(), maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`git ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

export interface GitHttpServer {
  readonly port: number;
  /** Clone URL of `<root>/<name>.git`. */
  url(name: string): string;
  repoPath(name: string): string;
  /** A bare repo with one initial commit of `files` on `branch` (default main); returns its URL. */
  createRepo(name: string, files: Record<string, string>, branch?: string): Promise<string>;
  close(): Promise<void>;
}

function parseCgiHead(buf: Buffer): { status: number; headers: Record<string, string>; rest: Buffer } | null {
  let end = buf.indexOf('\r\n\r\n');
  let sep = 4;
  const lf = buf.indexOf('\n\n');
  if (end < 0 || (lf >= 0 && lf < end)) {
    end = lf;
    sep = 2;
  }
  if (end < 0) return null;
  const headers: Record<string, string> = {};
  let status = 200;
  for (const line of buf.subarray(0, end).toString('latin1').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i < 0) continue;
    const k = line.slice(0, i).trim();
    const v = line.slice(i + 1).trim();
    if (k.toLowerCase() === 'status') status = parseInt(v, 10) || 500;
    else headers[k] = v;
  }
  return { status, headers, rest: buf.subarray(end + sep) };
}

/** Serve one smart-HTTP request for the repos under `root` through `git http-backend` (CGI). */
export function handleGitRequest(root: string, req: http.IncomingMessage, res: http.ServerResponse, remoteUser = 'demo'): void {
  const u = new URL(req.url ?? '/', 'http://127.0.0.1');
  const m = REPO_PATH.exec(u.pathname);
  const len = Number(req.headers['content-length'] ?? 0);
  if (!m || (req.method !== 'GET' && req.method !== 'POST') || len > MAX_BODY_BYTES) {
    req.resume();
    res.writeHead(m ? 400 : 404, { 'Content-Type': 'text/plain' }).end(m ? 'bad request\n' : 'not found\n');
    return;
  }
  const env: NodeJS.ProcessEnv = {
    ...gitEnv(),
    GIT_PROJECT_ROOT: root,
    GIT_HTTP_EXPORT_ALL: '1',
    PATH_INFO: u.pathname,
    REQUEST_METHOD: req.method,
    QUERY_STRING: u.search.replace(/^\?/, ''),
    CONTENT_TYPE: req.headers['content-type'] ?? '',
    HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
    HTTP_GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
    REMOTE_USER: remoteUser,
    REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: 'http.receivepack',
    GIT_CONFIG_VALUE_0: 'true',
  };
  if (req.headers['content-length']) env.CONTENT_LENGTH = req.headers['content-length'];
  const child = spawn('git', ['http-backend'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let head: Buffer | null = Buffer.alloc(0);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  child.stdin.on('error', () => {}); // the CGI may exit before reading everything
  req.pipe(child.stdin);
  child.stdout.on('data', (chunk: Buffer) => {
    if (head === null) {
      res.write(chunk);
      return;
    }
    head = Buffer.concat([head, chunk]);
    const parsed = parseCgiHead(head);
    if (!parsed) return;
    head = null;
    res.writeHead(parsed.status, parsed.headers);
    if (parsed.rest.length) res.write(parsed.rest);
  });
  child.on('error', (err) => {
    if (!res.headersSent) res.writeHead(500);
    res.end(String(err));
  });
  child.on('close', (code) => {
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end(`http-backend exited ${code}: ${stderr}`);
    else res.end();
  });
}

export async function startGitHttpServer(opts: { root: string; port?: number }): Promise<GitHttpServer> {
  const { root } = opts;
  await mkdir(root, { recursive: true });
  const server = http.createServer((req, res) => handleGitRequest(root, req, res));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const repoPath = (name: string) => join(root, `${name}.git`);
  const url = (name: string) => `http://127.0.0.1:${port}/${name}.git`;
  return {
    port,
    url,
    repoPath,
    async createRepo(name, files, branch = 'main') {
      const bare = repoPath(name);
      await git(root, 'init', '--bare', '-q', '-b', branch, bare);
      const work = await mkdtemp(join(tmpdir(), 'devteam-demo-seed-'));
      try {
        await git(work, 'init', '-q', '-b', branch);
        for (const [p, content] of Object.entries(files)) {
          await mkdir(dirname(join(work, p)), { recursive: true });
          await writeFile(join(work, p), content);
        }
        await git(work, 'add', '-A');
        await git(work, 'commit', '-q', '-m', 'Sample project for the DevTeam Runner demo');
        await git(work, 'push', '-q', bare, `HEAD:refs/heads/${branch}`);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
      return url(name);
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
