/**
 * Runner configuration: one zod schema, every variable with a default and a one-line comment.
 * Parsed by loadConfig(env) at start-up, never at import time, so tests pass their own env.
 */
import { z } from 'zod';

const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const configSchema = z.object({
  /** Postgres URL; unset → embedded PGlite kept under DEVTEAM_DATA_DIR/pgdata. */
  DATABASE_URL: z.string().url().optional(),
  /** Redis URL for queue, idempotency keys, leases and cross-node pub/sub; unset → in-process. */
  REDIS_URL: z.string().url().optional(),
  /** Where repo caches, artifacts and the embedded database live. */
  DEVTEAM_DATA_DIR: z.string().min(1).default('./.devteam'),
  /** HTTP/WebSocket port. */
  DEVTEAM_PORT: int(0, 65535).default(8787),
  /** Address the server binds to; loopback by default (a local, single-user install). */
  DEVTEAM_HOST: z.string().min(1).default('127.0.0.1'),
  /** Bearer token required on /api and /ws when set. */
  DEVTEAM_API_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** Also require the token on /metrics. */
  DEVTEAM_METRICS_AUTH: bool.default(false),
  /** pino log level. */
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Max projects running EXECUTE or VERIFY at once on this node. */
  DEVTEAM_MAX_CONCURRENT_STEPS: int(1, 1024).default(4),
  /** Seconds between remote fetches of an idle project. */
  DEVTEAM_IDLE_FETCH_SEC: int(1, 86_400).default(60),
  /** Allow repo URLs on loopback/private addresses; default on only when binding to loopback. */
  DEVTEAM_ALLOW_PRIVATE_REPOS: bool.optional(),
  /** Default sandbox image for Docker projects. */
  DEVTEAM_SANDBOX_IMAGE: z.string().min(1).default('devteam-sandbox:bookworm'),
  /** Milliseconds SIGTERM waits for in-flight writes before exiting. */
  DEVTEAM_SHUTDOWN_TIMEOUT_MS: int(100, 600_000).default(10_000),
  /** Max request body in bytes. */
  DEVTEAM_MAX_BODY_BYTES: int(1024, 64 * 1024 * 1024).default(1024 * 1024),
  /** WebSocket replay buffer per project (envelopes). */
  DEVTEAM_WS_REPLAY: int(0, 1_000_000).default(1000),
  /** Allowed WebSocket Origins, comma separated; empty → same-host and no-Origin clients only. */
  DEVTEAM_WS_ORIGINS: z.string().default(''),
  /** Number of shards projects hash into (multi-node). */
  DEVTEAM_SHARDS: int(1, 4096).default(64),
  /** Embedded PGlite socket port (0 = a Unix socket in the data dir). */
  DEVTEAM_PGLITE_PORT: int(0, 65535).default(0),
  /** Seconds between WebSocket heartbeat envelopes. */
  DEVTEAM_WS_HEARTBEAT_SEC: int(1, 3600).default(25),
  /** Max inbound WebSocket message in bytes; a larger one closes the socket. */
  DEVTEAM_WS_MAX_INBOUND_BYTES: int(1024, 16 * 1024 * 1024).default(64 * 1024),
  /** Max outbound WebSocket envelope in bytes; larger payloads are truncated (`truncated: true`). */
  DEVTEAM_WS_MAX_OUTBOUND_BYTES: int(4096, 64 * 1024 * 1024).default(256 * 1024),
  /** Per-socket send buffer limit in bytes; over it envelopes are dropped (counted) and a snapshot follows the drain. */
  DEVTEAM_WS_MAX_BACKPRESSURE_BYTES: int(64 * 1024, 256 * 1024 * 1024).default(1024 * 1024),
  /** Seconds an outbox row may stay unacknowledged before the relay dispatches it again. */
  DEVTEAM_EVENTS_REDELIVER_SEC: int(1, 86_400).default(60),
  /** Milliseconds a stream entry may sit unacknowledged with a consumer before another reclaims it (XAUTOCLAIM). */
  DEVTEAM_EVENTS_CLAIM_IDLE_MS: int(10, 3_600_000).default(30_000),
  /** Deliveries after which an event is poison: moved to devteam:events:dead and marked 'dead'. */
  DEVTEAM_EVENTS_MAX_DELIVERIES: int(1, 1000).default(5),
  // --- multi-node cluster (active when REDIS_URL is set) ---
  /** Run as a cluster member when REDIS_URL is set (shard leases, routed commands, status relay). */
  DEVTEAM_CLUSTER: bool.default(true),
  /** This node's id in the cluster (default `<hostname>-<pid>`). */
  DEVTEAM_NODE_ID: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/).optional(),
  /** Redis key prefix of the cluster (leases, shard streams, hub channel). */
  DEVTEAM_CLUSTER_PREFIX: z.string().regex(/^[A-Za-z0-9:._-]{1,64}$/).default('devteam'),
  /** Shard lease TTL in ms; a node stops a shard's actors after ttl·2/3 without a successful renewal. */
  DEVTEAM_LEASE_TTL_MS: int(300, 600_000).default(15_000),
  /** Lease renewal / rebalance period in ms (default: ttl/3). */
  DEVTEAM_LEASE_RENEW_MS: int(50, 300_000).optional(),
  /** How long a command routed to another node's project waits for the owner before 202 with the current status. */
  DEVTEAM_COMMAND_TIMEOUT_MS: int(50, 600_000).default(5_000),
});

export type Config = z.infer<typeof configSchema> & { allowPrivateRepos: boolean };

/** Thrown for invalid configuration; main maps it to exit code 2. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

const LOOPBACK = /^(127\.|::1$|localhost$|\[::1\]$)/;

/** Parse the environment into a Config; throws ConfigError naming the first bad variable. */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = Object.fromEntries(
    Object.keys(configSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = configSchema.safeParse(known);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'config');
    throw new ConfigError(`Invalid configuration: ${name}: ${issue.message}`, { cause: parsed.error });
  }
  const c = parsed.data;
  return { ...c, allowPrivateRepos: c.DEVTEAM_ALLOW_PRIVATE_REPOS ?? LOOPBACK.test(c.DEVTEAM_HOST) };
}

/** For entry points: the config, or one clear line on stderr and exit code 2. */
export function loadConfigOrExit(env: Record<string, string | undefined> = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
}
