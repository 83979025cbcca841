/**
 * Shard hashing and the Redis key layout of a cluster. A project belongs to shard
 * `fnv1a(projectId) mod shards`; shard preference between nodes uses rendezvous (highest random
 * weight) hashing, so when nodes join or leave only the shards that must move do.
 */

/** 32-bit FNV-1a. */
export function fnv1a(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

export function shardOf(projectId: string, shards: number): number {
  return fnv1a(projectId) % shards;
}

/** Rendezvous weight of (node, shard): the node with the highest weight prefers the shard most. */
export function weight(nodeId: string, shard: number): number {
  // Mix twice so neighbouring shard numbers spread well.
  let h = fnv1a(`${nodeId}#${shard}`);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Per-node share: ceil(shards / nodes). */
export function targetShare(shards: number, nodes: number): number {
  return Math.ceil(shards / Math.max(1, nodes));
}

/** Every Redis key a cluster uses, under one prefix (tests use a unique prefix each). */
export function clusterKeys(prefix: string) {
  return {
    prefix,
    lease: (shard: number) => `${prefix}:lease:${shard}`,
    epoch: `${prefix}:epoch`,
    nodes: `${prefix}:nodes`,
    stream: (shard: number) => `${prefix}:shard:${shard}`,
    group: 'owner',
    /** One consumer name per shard group: only the lease holder reads, so pending entries of a dead owner are read by its successor. */
    consumer: 'owner',
    cmdResult: (id: string) => `${prefix}:cmd:${id}`,
    reply: (nodeId: string) => `${prefix}:reply:${nodeId}`,
    hub: `${prefix}:hub`,
  };
}

export type ClusterKeys = ReturnType<typeof clusterKeys>;
