/**
 * Node membership: each node heartbeats into one sorted set scored by its expiry (Redis server
 * time, so node clocks do not matter); members whose expiry passed are dropped on every beat.
 */
import type { RedisClient } from '../../infra/redis.ts';

/** KEYS: nodes zset; ARGV: nodeId, ttlMs, leaving(0/1). Returns the live node ids. */
const BEAT = `
local t = redis.call('time')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('zremrangebyscore', KEYS[1], '-inf', now)
if ARGV[3] == '1' then
  redis.call('zrem', KEYS[1], ARGV[1])
else
  redis.call('zadd', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
end
redis.call('pexpire', KEYS[1], tonumber(ARGV[2]) * 10)
return redis.call('zrange', KEYS[1], 0, -1)`;

export class Membership {
  constructor(
    private redis: RedisClient,
    private key: string,
    readonly nodeId: string,
    private ttlMs: number,
  ) {}

  /** Heartbeat; returns the live nodes (sorted, always including this one). */
  async beat(): Promise<string[]> {
    const nodes = (await this.redis.eval(BEAT, { keys: [this.key], arguments: [this.nodeId, String(this.ttlMs), '0'] })) as string[];
    return nodes.includes(this.nodeId) ? nodes : [...nodes, this.nodeId].sort();
  }

  /** Leave (clean shutdown): the others rebalance at their next beat. */
  async leave(): Promise<void> {
    await this.redis.eval(BEAT, { keys: [this.key], arguments: [this.nodeId, String(this.ttlMs), '1'] });
  }
}
