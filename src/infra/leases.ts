/**
 * Renewable Redis leases with fencing epochs (multi-node shard ownership).
 *
 * A lease is one key whose value is the holder's token `<nodeId>|<epoch>`. Acquiring is atomic
 * (one Lua script): only when the key is absent, INCR the cluster-wide epoch counter and
 * `SET key token PX ttl` — so every acquisition of any shard gets a strictly larger epoch than
 * every earlier one, and a lapsed owner's epoch is always below its successor's. The epoch is the
 * fencing token written with every snapshot (Postgres rejects a lower one).
 *
 * Renewal and release check the token (a holder whose lease lapsed and was taken over cannot
 * extend or delete the successor's key). Many keys are handled per round trip.
 */
import type { RedisClient } from './redis.ts';

export interface Lease {
  key: string;
  token: string;
  epoch: number;
}

/** KEYS: epochKey, lease keys…; ARGV: nodeId, ttlMs. Returns the epoch per lease key (0 = held by someone). */
const ACQUIRE = `
local out = {}
for i = 2, #KEYS do
  if redis.call('exists', KEYS[i]) == 0 then
    local e = redis.call('incr', KEYS[1])
    redis.call('set', KEYS[i], ARGV[1] .. '|' .. e, 'PX', ARGV[2])
    out[#out + 1] = e
  else
    out[#out + 1] = 0
  end
end
return out`;

/** KEYS: lease keys; ARGV: ttlMs, tokens… Returns 1 (renewed) / 0 (not ours any more) per key. */
const RENEW = `
local out = {}
for i = 1, #KEYS do
  if redis.call('get', KEYS[i]) == ARGV[i + 1] then
    redis.call('pexpire', KEYS[i], ARGV[1])
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out`;

/** KEYS: lease keys; ARGV: tokens… Deletes the keys still holding our token. */
const RELEASE = `
local n = 0
for i = 1, #KEYS do
  if redis.call('get', KEYS[i]) == ARGV[i] then
    redis.call('del', KEYS[i])
    n = n + 1
  end
end
return n`;

/** KEYS: epochKey; ARGV: floor. Raises the counter to at least floor (Redis lost its data). */
const FLOOR = `
local cur = tonumber(redis.call('get', KEYS[1]) or '0')
if cur < tonumber(ARGV[1]) then redis.call('set', KEYS[1], ARGV[1]) return tonumber(ARGV[1]) end
return cur`;

export function parseToken(token: string | null | undefined): { nodeId: string; epoch: number } | null {
  if (!token) return null;
  const i = token.lastIndexOf('|');
  if (i < 0) return null;
  return { nodeId: token.slice(0, i), epoch: Number(token.slice(i + 1)) };
}

export class LeaseStore {
  constructor(
    private redis: RedisClient,
    /** The counter every acquisition increments (one per cluster). */
    readonly epochKey: string,
  ) {}

  /** Try to take each key; returns the leases obtained (others are held by someone else). */
  async acquire(keys: string[], nodeId: string, ttlMs: number): Promise<Lease[]> {
    if (!keys.length) return [];
    const res = (await this.redis.eval(ACQUIRE, { keys: [this.epochKey, ...keys], arguments: [nodeId, String(ttlMs)] })) as number[];
    const out: Lease[] = [];
    res.forEach((e, i) => {
      if (Number(e) > 0) out.push({ key: keys[i]!, epoch: Number(e), token: `${nodeId}|${e}` });
    });
    return out;
  }

  /** Extend each lease whose key still holds its token; false where the lease is gone. */
  async renew(leases: Array<Pick<Lease, 'key' | 'token'>>, ttlMs: number): Promise<boolean[]> {
    if (!leases.length) return [];
    const res = (await this.redis.eval(RENEW, { keys: leases.map((l) => l.key), arguments: [String(ttlMs), ...leases.map((l) => l.token)] })) as number[];
    return res.map((r) => Number(r) === 1);
  }

  /** Delete the keys that still hold our tokens (clean hand-over). Returns how many were ours. */
  async release(leases: Array<Pick<Lease, 'key' | 'token'>>): Promise<number> {
    if (!leases.length) return 0;
    return Number(await this.redis.eval(RELEASE, { keys: leases.map((l) => l.key), arguments: leases.map((l) => l.token) }));
  }

  /** Current holders' tokens (null = free). */
  async read(keys: string[]): Promise<Array<string | null>> {
    if (!keys.length) return [];
    return (await this.redis.mGet(keys)) as Array<string | null>;
  }

  /** True when `key` holds exactly `token` right now (the authoritative check before a push). */
  async holds(key: string, token: string): Promise<boolean> {
    return (await this.redis.get(key)) === token;
  }

  /** Make sure future epochs exceed `floor` (e.g. the highest fence already stored in Postgres). */
  async floorEpoch(floor: number): Promise<number> {
    return Number(await this.redis.eval(FLOOR, { keys: [this.epochKey], arguments: [String(floor)] }));
  }
}
