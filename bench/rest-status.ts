/**
 * REST status route throughput: `wrk` against GET /api/devteam/automation/status/{id} on the
 * real server (auth on, metrics, projection lookup, JSON), beside a bare uWS route returning the
 * same bytes (the ceiling), in the same run. Needs `wrk` (Debian package).
 *
 *   npx tsx bench/rest-status.ts [seconds=5] [connections=64]
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import uWS from 'uWebSockets.js';
import { createRuntime } from '../src/actors/runtime.ts';
import { loadConfig } from '../src/infra/config.ts';
import { silentLogger } from '../src/infra/logger.ts';
import { startServer } from '../src/server/index.ts';
import { inState } from '../test/support/runtime.ts';
import { instantSteps } from './support.ts';

const secs = Number(process.argv[2] ?? 5);
const conns = Number(process.argv[3] ?? 64);
const TOKEN = 'bench-token-0123456789abcdef';

/** Asynchronous: the servers under test run in this process's event loop. */
async function wrk(url: string): Promise<{ rps: number; p99: string }> {
  const { stdout: out } = await promisify(execFile)('wrk', ['-t2', `-c${conns}`, `-d${secs}s`, '--latency', '-H', `Authorization: Bearer ${TOKEN}`, url]);
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)![1]);
  const p99 = /99%\s+(\S+)/.exec(out)![1]!;
  return { rps, p99 };
}

const data = mkdtempSync(join(tmpdir(), 'bench-rest-'));
const rt = await createRuntime({ config: loadConfig({ DEVTEAM_DATA_DIR: data, DEVTEAM_API_TOKEN: TOKEN }), logger: silentLogger(), makeSteps: instantSteps(3) });
await rt.registry.initialize({ projectId: 'bench' });
await inState(rt, 'bench', 'idle');
const server = await startServer(rt, { port: 0 });
const body = JSON.stringify(rt.projection.get('bench'));

const bare = uWS.App().get('/status', (res) => {
  res.cork(() => res.writeHeader('content-type', 'application/json').end(body));
});
const bareSocket = await new Promise<uWS.us_listen_socket>((resolve) => bare.listen('127.0.0.1', 0, (s) => resolve(s)));
const barePort = uWS.us_socket_local_port(bareSocket);

const real = await wrk(`${server.url}/api/devteam/automation/status/bench`);
const ceiling = await wrk(`http://127.0.0.1:${barePort}/status`);
process.stdout.write(`status route: ${real.rps.toFixed(0)} req/s (p99 ${real.p99}); bare uWS same bytes: ${ceiling.rps.toFixed(0)} req/s (p99 ${ceiling.p99}); ratio ${(real.rps / ceiling.rps).toFixed(2)}\n`);
uWS.us_listen_socket_close(bareSocket);
await server.close();
await rt.close();
rmSync(data, { recursive: true, force: true });
