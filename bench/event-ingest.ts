/**
 * Event ingest bench: POST /api/events on the real server (uWS) with the Event and outbox rows
 * committed in Postgres (group-committed) and dispatched through a Redis Stream to the
 * in-process worker. A client process (this file with --client) keeps C requests in flight.
 * Reports accepted events/s, request p99, queue latency p99 (enqueue → consumed, exact values
 * from the worker's histogram observations) and the average ingest batch size.
 *
 *   node --import tsx bench/event-ingest.ts [--seconds 5] [--concurrency 16,64,128]
 */
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { createRuntime } from '../src/actors/runtime.ts';
import { loadConfig } from '../src/infra/config.ts';
import { silentLogger } from '../src/infra/logger.ts';
import { createMetrics } from '../src/infra/metrics.ts';
import { eventsPlugin } from '../src/server/events/index.ts';
import { startServer } from '../src/server/index.ts';
import { createTestDatabase, tempDir } from '../test/support/db.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const pct = (a: number[], q: number) => (a.length ? a[Math.min(a.length - 1, Math.floor(q * a.length))]! : NaN);

if (process.argv.includes('--client')) {
  // Load generator: keep `concurrency` POSTs in flight for `ms`, report count and latencies.
  process.on('message', async (m: { url: string; concurrency: number; ms: number }) => {
    const body = JSON.stringify({ type: 'bench.noop', projectId: 'bench', payload: { ref: 'refs/heads/main' } });
    const lat: number[] = [];
    let accepted = 0;
    let failed = 0;
    const end = performance.now() + m.ms;
    await Promise.all(
      Array.from({ length: m.concurrency }, async () => {
        while (performance.now() < end) {
          const t = performance.now();
          const r = await fetch(m.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
          await r.arrayBuffer();
          if (r.status === 202) accepted++;
          else failed++;
          lat.push(performance.now() - t);
        }
      }),
    );
    lat.sort((a, b) => a - b);
    process.send!({ accepted, failed, p50: pct(lat, 0.5), p99: pct(lat, 0.99) });
  });
  process.send!({ started: true });
} else {
  const SECONDS = Number(arg('seconds', '5'));
  const LEVELS = arg('concurrency', '16,64,128').split(',').map(Number);
  const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const tdb = await createTestDatabase('bench_events');
  const dir = await tempDir();
  const config = loadConfig({ DATABASE_URL: tdb.url, REDIS_URL, DEVTEAM_DATA_DIR: dir.path, LOG_LEVEL: 'silent' });
  const rt = await createRuntime({ config, logger: silentLogger(), makeSteps: () => ({}) as never });
  const metrics = createMetrics({ defaultMetrics: false });
  let queueLat: number[] = [];
  const observe = metrics.queueLatency.observe.bind(metrics.queueLatency);
  metrics.queueLatency.observe = ((v: number) => {
    queueLat.push(v * 1000);
    observe(v);
  }) as typeof metrics.queueLatency.observe;
  const stream = `devteam:events:bench:${process.pid}`;
  const plugin = eventsPlugin({ stream });
  const server = await startServer(rt, { port: 0, host: '127.0.0.1', plugins: [plugin], metrics });
  const url = `http://127.0.0.1:${server.port}/api/events`;
  const client = fork(new URL(import.meta.url).pathname, ['--client'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await once(client, 'message');
  const run = async (concurrency: number, ms: number) => {
    client.send({ url, concurrency, ms });
    const [r] = (await once(client, 'message')) as [{ accepted: number; failed: number; p50: number; p99: number }];
    return r;
  };
  await run(16, 1000); // warm-up
  const results = [];
  for (const c of LEVELS) {
    queueLat = [];
    const batches0 = plugin.pipeline!.store.stats().ingestBatches;
    const [{ n: before }] = await rt.db.query<{ n: string }>(`select count(*) as n from event`);
    const t0 = performance.now();
    const r = await run(c, SECONDS * 1000);
    const secs = (performance.now() - t0) / 1000;
    // Every accepted event is committed; wait until the worker has consumed them all.
    for (;;) {
      const [{ n }] = await rt.db.query<{ n: string }>(`select count(*) as n from event where status = 'received'`);
      if (Number(n) === 0) break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const [{ n: after }] = await rt.db.query<{ n: string }>(`select count(*) as n from event`);
    const lat = [...queueLat].sort((a, b) => a - b);
    const step = {
      concurrency: c,
      acceptedPerSec: Math.round(r.accepted / secs),
      failed: r.failed,
      rowsCommitted: Number(after) - Number(before),
      requestP50ms: +r.p50.toFixed(2),
      requestP99ms: +r.p99.toFixed(2),
      queueLatencyP50ms: +pct(lat, 0.5).toFixed(2),
      queueLatencyP99ms: +pct(lat, 0.99).toFixed(2),
      consumed: lat.length,
      avgIngestBatch: +(r.accepted / Math.max(1, plugin.pipeline!.store.stats().ingestBatches - batches0)).toFixed(1),
    };
    results.push(step);
    process.stderr.write(`  ${JSON.stringify(step)}\n`);
  }
  client.kill();
  const os = await import('node:os');
  process.stdout.write(JSON.stringify({ machine: { cpus: os.cpus().length, loadavg: os.loadavg().map((l) => +l.toFixed(1)) }, secondsPerStep: SECONDS, results }, null, 2) + '\n');
  await server.redis?.client.del([stream, `${stream}:dead`]).catch(() => undefined);
  await server.close();
  await rt.close();
  await tdb.drop();
  await dir.remove();
  process.exit(0);
}
