/**
 * Load generator for bench/ws-fanout.ts, run as a separate process (so the server's CPU is
 * measured alone): opens projects × subscribers `ws` sockets, subscribes each to one project,
 * and measures end-to-end latency from the publisher's high-resolution timestamp carried in
 * the transition's `event` field (`bench:<epoch ms>`) to arrival. Controlled over IPC:
 *   {cmd:'connect', url, projects, subs} → {ready}
 *   {cmd:'reset'} → {reset}      {cmd:'report'} → {count, p50, p99, max}
 */
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';

const now = () => performance.timeOrigin + performance.now();
let latencies: number[] = [];
let count = 0;
let cpu0 = process.cpuUsage();
const sockets: WebSocket[] = [];

function onMessage(data: Buffer) {
  count++;
  const s = data.toString('latin1');
  const i = s.indexOf('"bench:');
  if (i < 0) return;
  const sent = Number(s.slice(i + 7, s.indexOf('"', i + 7)));
  latencies.push(now() - sent);
}

async function connectAll(url: string, projects: number, subs: number): Promise<void> {
  const opening: Promise<void>[] = [];
  for (let p = 0; p < projects; p++) {
    for (let k = 0; k < subs; k++) {
      const ws = new WebSocket(url, ['devteam'], { perMessageDeflate: false });
      sockets.push(ws);
      ws.on('message', onMessage);
      ws.on('error', () => undefined);
      opening.push(
        new Promise((resolve, reject) => {
          ws.once('open', () => {
            ws.send(JSON.stringify({ type: 'subscribe', projectIds: [`p${p}`] }));
            resolve();
          });
          ws.once('error', reject);
        }),
      );
      // Limit the connect burst a little so the accept queue never overflows.
      if (opening.length % 200 === 0) await Promise.all(opening.slice(-200));
    }
  }
  await Promise.all(opening);
}

function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

process.on('message', async (m: any) => {
  if (m.cmd === 'connect') {
    await connectAll(m.url, m.projects, m.subs);
    process.send!({ ready: true, sockets: sockets.length });
  } else if (m.cmd === 'reset') {
    latencies = [];
    count = 0;
    cpu0 = process.cpuUsage();
    process.send!({ reset: true });
  } else if (m.cmd === 'report') {
    const sorted = latencies.sort((a, b) => a - b);
    const cpu = process.cpuUsage(cpu0);
    process.send!({ count, p50: percentile(sorted, 0.5), p99: percentile(sorted, 0.99), max: sorted.at(-1) ?? NaN, loadgenCpuMs: Math.round((cpu.user + cpu.system) / 1000) });
  } else if (m.cmd === 'close') {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
process.send!({ started: true });
