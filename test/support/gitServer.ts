/**
 * A real git smart-HTTP server for tests and demos: `git http-backend` (CGI) behind a Node
 * HTTP server on 127.0.0.1, push enabled, optional token check (HTTP basic, password =
 * token). Repos live at `<root>/<name>.git`.
 *
 * Native git clients gzip request bodies, so Content-Encoding is passed on to the CGI.
 * Tests that serve this in-process must call native git asynchronously (`nativeGit`),
 * otherwise the blocked event loop can never answer git's requests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { git as nativeGit, handleGitRequest } from '../../src/demo/gitHttpServer.ts';

/** Native git with a fixed identity and no user/system config (shared with the demo). */
export { gitEnv, git as nativeGit } from '../../src/demo/gitHttpServer.ts';

export interface GitServer {
  /** Clone URL of `<root>/<name>.git`. */
  url(repoName: string): string;
  /** Filesystem path of the bare repo (for direct native-git access in tests). */
  repoPath(repoName: string): string;
  /** Create a bare repo, optionally with one initial commit of `files` on `branch` (default main). Returns its URL. */
  createBareRepo(name: string, opts?: { files?: Record<string, string | Uint8Array>; branch?: string }): Promise<string>;
  /**
   * Commit `files` on top of `branch` directly in the bare repo (an upstream collaborator
   * pushing), bypassing HTTP. Returns the new commit oid.
   */
  commitUpstream(name: string, files: Record<string, string | Uint8Array>, opts?: { branch?: string; message?: string }): Promise<string>;
  /** Full commit messages of `branch` (default main), separated by NUL. */
  log(name: string, branch?: string): Promise<string>;
  /** Number of requests served so far, by service (e.g. 'git-upload-pack' POSTs = pack downloads), and bytes pushed. */
  stats(): { requests: number; uploadPackPosts: number; receivePackPosts: number; receivePackBytes: number };
  close(): Promise<void>;
}

function checkAuth(req: http.IncomingMessage, token: string | undefined): string | null {
  if (token === undefined) return 'anonymous';
  const h = req.headers.authorization ?? '';
  const m = /^Basic\s+(.+)$/i.exec(h);
  if (!m) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return null;
  return decoded.slice(i + 1) === token ? decoded.slice(0, i) || 'token' : null;
}

export async function startGitServer(opts: { root: string; token?: string }): Promise<GitServer> {
  const { root, token } = opts;
  await mkdir(root, { recursive: true });
  const counters = { requests: 0, uploadPackPosts: 0, receivePackPosts: 0, receivePackBytes: 0 };

  const server = http.createServer((req, res) => {
    counters.requests++;
    const user = checkAuth(req, token);
    if (user === null) {
      req.resume();
      res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="git"', 'Content-Type': 'text/plain' });
      res.end('authentication required\n');
      return;
    }
    const u = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'POST' && u.pathname.endsWith('/git-upload-pack')) counters.uploadPackPosts++;
    if (req.method === 'POST' && u.pathname.endsWith('/git-receive-pack')) {
      counters.receivePackPosts++;
      req.on('data', (b: Buffer) => (counters.receivePackBytes += b.length));
    }
    handleGitRequest(root, req, res, user);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const repoPath = (name: string) => join(root, `${name}.git`);
  const url = (name: string) => `http://127.0.0.1:${port}/${name}.git`;

  return {
    url,
    repoPath,
    stats: () => ({ ...counters }),
    async createBareRepo(name, o = {}) {
      const branch = o.branch ?? 'main';
      const bare = repoPath(name);
      await nativeGit(root, 'init', '--bare', '-q', '-b', branch, bare);
      if (o.files && Object.keys(o.files).length > 0) {
        const work = await mkdtemp(join(tmpdir(), 'gitsrv-seed-'));
        try {
          await nativeGit(work, 'init', '-q', '-b', branch);
          for (const [p, content] of Object.entries(o.files)) {
            await mkdir(dirname(join(work, p)), { recursive: true });
            await writeFile(join(work, p), content);
          }
          await nativeGit(work, 'add', '-A');
          await nativeGit(work, 'commit', '-q', '-m', 'Initial commit');
          await nativeGit(work, 'push', '-q', bare, `HEAD:refs/heads/${branch}`);
        } finally {
          await rm(work, { recursive: true, force: true });
        }
      }
      return url(name);
    },
    async commitUpstream(name, files, o = {}) {
      const branch = o.branch ?? 'main';
      const work = await mkdtemp(join(tmpdir(), 'gitsrv-up-'));
      try {
        await nativeGit(work, 'clone', '-q', '--branch', branch, repoPath(name), '.');
        for (const [p, content] of Object.entries(files)) {
          await mkdir(dirname(join(work, p)), { recursive: true });
          await writeFile(join(work, p), content);
        }
        await nativeGit(work, 'add', '-A');
        await nativeGit(work, 'commit', '-q', '-m', o.message ?? `upstream: ${Object.keys(files).join(', ')}`);
        await nativeGit(work, 'push', '-q', 'origin', `HEAD:refs/heads/${branch}`);
        return (await nativeGit(work, 'rev-parse', 'HEAD')).trim();
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },
    log(name, branch = 'main') {
      return nativeGit(repoPath(name), 'log', '--format=%B%x00', branch);
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
