/**
 * The shared Redis client factory (node-redis 5, RESP2). One "command" client per process for
 * ordinary commands (auto-pipelined, so concurrent callers share it); blocking commands
 * (XREADGROUP BLOCK) and SUBSCRIBE need their own connections, so callers take a `duplicate()`.
 * Errors are logged, never thrown from the 'error' event (an unhandled 'error' would crash the
 * process); node-redis reconnects by itself with the backoff below.
 */
import { createClient, type RedisClientType } from 'redis';
import type { Logger } from './logger.ts';

export type RedisClient = RedisClientType;

export interface RedisHandle {
  /** The shared command client (connected). */
  client: RedisClient;
  /** A new client for blocking commands or pub/sub (connected unless `wait: false`); closed by `close()` too. */
  duplicate(name?: string, opts?: ConnectOptions): Promise<RedisClient>;
  /** PING with a timeout; false instead of throwing (readiness checks). */
  ping(timeoutMs?: number): Promise<boolean>;
  /** Close every client made here. Idempotent. */
  close(): Promise<void>;
}

export interface ConnectOptions {
  /**
   * true (default): resolve once connected — node-redis keeps retrying, so this waits while
   * Redis is down. false: resolve at once and connect in the background; while Redis is
   * unreachable commands fail fast (no offline queue) and `client.isReady` is false.
   */
  wait?: boolean;
}

/** Milliseconds a graceful close may wait for a client's pending replies before destroying it. */
const CLOSE_GRACE_MS = 2000;

/** Reconnect delay: linear 100 ms steps capped at 2 s (a restarted Redis is picked up quickly). */
export const reconnectStrategy = (retries: number): number => Math.min(2000, 100 * (retries + 1));

function build(url: string, logger: Logger, name: string): RedisClient {
  const client = createClient({
    url,
    socket: { reconnectStrategy, connectTimeout: 5000 },
    // While Redis is down, commands fail fast instead of queueing without bound.
    disableOfflineQueue: true,
  }) as RedisClient;
  let lastLogged = 0;
  client.on('error', (err: Error) => {
    // Log at most once a second per client: a down Redis would otherwise flood the log.
    const now = Date.now();
    if (now - lastLogged < 1000) return;
    lastLogged = now;
    logger.warn({ component: 'redis', client: name, err: err.message }, 'redis client error');
  });
  return client;
}

/**
 * Connect the command client. Rejects when the first connection fails (callers decide whether
 * Redis is required at boot); later outages are handled by node-redis' reconnects.
 */
export async function createRedis(url: string, logger: Logger, opts: ConnectOptions = {}): Promise<RedisHandle> {
  const connect = async (c: RedisClient, o: ConnectOptions) => {
    const p = c.connect();
    if (o.wait === false) p.catch((err: Error) => logger.warn({ component: 'redis', err: err.message }, 'redis connect failed'));
    else await p;
  };
  const client = build(url, logger, 'main');
  const extra = new Set<RedisClient>();
  await connect(client, opts);
  let closed: Promise<void> | undefined;
  return {
    client,
    async duplicate(name = 'duplicate', o = opts) {
      const d = build(url, logger, name);
      extra.add(d);
      await connect(d, o);
      return d;
    },
    async ping(timeoutMs = 1000) {
      if (!client.isReady) return false;
      let timer: NodeJS.Timeout | undefined;
      try {
        const timeout = new Promise<false>((r) => (timer = setTimeout(() => r(false), timeoutMs)));
        const res = await Promise.race([client.ping().then((v) => v === 'PONG'), timeout]);
        return res;
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
    close: () =>
      (closed ??= (async () => {
        const all = [client, ...extra];
        // A client still (re)connecting cannot QUIT: destroy it. A graceful close waits for the
        // client's pending replies; one that never comes must not hold a shutdown: after
        // CLOSE_GRACE_MS the socket is destroyed.
        await Promise.all(all.map(async (c) => {
          if (!c.isOpen) return;
          if (!c.isReady) return c.destroy();
          let timer: NodeJS.Timeout | undefined;
          const grace = new Promise<'late'>((r) => (timer = setTimeout(() => r('late'), CLOSE_GRACE_MS)));
          const r = await Promise.race([c.close().catch(() => 'failed' as const), grace]);
          clearTimeout(timer);
          if (r === 'late' || r === 'failed') {
            if (r === 'late') logger.warn({ graceMs: CLOSE_GRACE_MS }, 'redis client did not close gracefully in time; destroying it');
            if (c.isOpen) c.destroy();
          }
        }));
      })()),
  };
}
