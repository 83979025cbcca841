/**
 * The dashboard's static assets: `/` and `/assets/*` from the built web dir (dist/web) when it
 * exists, else a tiny placeholder page. Open without a token (the page itself asks for one).
 * Paths are resolved and must stay inside the web dir.
 */
import { readFile, stat } from 'node:fs/promises';
import { extname, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotFoundError } from './errors.ts';
import type { ApiRequest, ApiResponse } from './types.ts';

export const DEFAULT_WEB_DIR = fileURLToPath(new URL('../../../dist/web', import.meta.url));

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
};

const PLACEHOLDER = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>DevTeam Runner</title></head>
<body><h1>DevTeam Runner</h1><p>The dashboard is not built. The API is at <a href="/api/openapi.json">/api/openapi.json</a>.</p></body></html>
`;

async function isFile(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isFile();
  } catch {
    return false;
  }
}

export function staticHandler(webDir = DEFAULT_WEB_DIR) {
  const root = resolve(webDir);
  return async (req: ApiRequest): Promise<ApiResponse> => {
    let rel: string;
    try {
      rel = req.path === '/' ? 'index.html' : decodeURIComponent(req.path.replace(/^\/+/, ''));
    } catch {
      throw new NotFoundError(`${req.path} not found`);
    }
    const file = resolve(root, rel);
    if (file !== root && !file.startsWith(root + sep)) throw new NotFoundError(`${req.path} not found`);
    if (await isFile(file)) {
      const body = await readFile(file);
      const immutable = req.path.startsWith('/assets/');
      return {
        status: 200,
        headers: { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache' },
        body,
      };
    }
    if (req.path === '/') return { status: 200, headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache' }, body: PLACEHOLDER };
    throw new NotFoundError(`${req.path} not found`);
  };
}
