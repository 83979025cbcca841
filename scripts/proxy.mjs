#!/usr/bin/env node
/**
 * The one published port of the compose stack: a TCP round-robin proxy in front of N runner
 * replicas (HTTP and WebSocket alike — it forwards bytes, so upgrades just work). Upstreams that
 * refuse a connection are skipped for a few seconds. No dependencies (runs in the runner image).
 *
 * env: PROXY_PORT (default 8080), PROXY_UPSTREAMS="runner-1:8787,runner-2:8787,…"
 */
import net from 'node:net';

const port = Number(process.env.PROXY_PORT ?? 8080);
const upstreams = (process.env.PROXY_UPSTREAMS ?? '').split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
  const i = s.lastIndexOf(':');
  return { host: s.slice(0, i), port: Number(s.slice(i + 1)), downUntil: 0 };
});
if (!upstreams.length) {
  process.stderr.write('PROXY_UPSTREAMS is empty\n');
  process.exit(2);
}
let next = 0;

function pick(tried) {
  const now = Date.now();
  for (let k = 0; k < upstreams.length; k++) {
    const u = upstreams[(next + k) % upstreams.length];
    if (!tried.has(u) && u.downUntil <= now) {
      next = (next + k + 1) % upstreams.length;
      return u;
    }
  }
  return upstreams.find((u) => !tried.has(u));
}

const server = net.createServer((client) => {
  client.pause();
  const tried = new Set();
  const connect = () => {
    const u = pick(tried);
    if (!u) return client.destroy();
    tried.add(u);
    const up = net.connect(u.port, u.host);
    let connected = false;
    up.once('connect', () => {
      connected = true;
      client.pipe(up);
      up.pipe(client);
      client.resume();
    });
    up.on('error', () => {
      if (!connected) {
        u.downUntil = Date.now() + 3000;
        return connect();
      }
      client.destroy();
    });
    client.on('error', () => up.destroy());
    client.on('close', () => up.destroy());
    up.on('close', () => connected && client.destroy());
  };
  connect();
});
server.listen(port, '0.0.0.0', () => process.stdout.write(JSON.stringify({ msg: 'proxy listening', port, upstreams: upstreams.map((u) => `${u.host}:${u.port}`) }) + '\n'));
const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
