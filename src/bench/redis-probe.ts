/** What the bench asks of Redis besides the worker's writes: its own CPU time, and removing the bench's keys. */
import type { Redis } from 'ioredis';

/** CPU time (user + system) the Redis server used so far, in microseconds (INFO cpu); undefined when INFO is refused. */
export async function redisCpuMicros(redis: Redis): Promise<number | undefined> {
  try {
    const info = await redis.info('cpu');
    const user = /used_cpu_user:([\d.]+)/.exec(info)?.[1];
    const system = /used_cpu_sys:([\d.]+)/.exec(info)?.[1];
    if (user === undefined || system === undefined) return undefined;
    return (Number(user) + Number(system)) * 1e6;
  } catch {
    return undefined;
  }
}

/**
 * Deletes every key that starts with `prefix` (SCAN MATCH prefix* + UNLINK) and returns how many.
 * The prefix must hold no glob characters (key prefixes are letters, digits and _ . : -).
 */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  if (!/^[A-Za-z0-9_.:-]+$/.test(prefix)) throw new Error(`refusing to delete keys by a prefix with glob characters: ${prefix}`);
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.unlink(...keys);
  } while (cursor !== '0');
  return deleted;
}

export interface RedisMemory {
  readonly usedBytes: number;
  /** 0: no limit. */
  readonly maxBytes: number;
  readonly policy: string;
}

/** Memory in use, the maxmemory limit and its eviction policy (INFO memory); undefined when INFO is refused. */
export async function redisMemory(redis: Redis): Promise<RedisMemory | undefined> {
  try {
    const info = await redis.info('memory');
    const used = /^used_memory:(\d+)/m.exec(info)?.[1];
    const max = /^maxmemory:(\d+)/m.exec(info)?.[1];
    const policy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
    if (used === undefined || max === undefined) return undefined;
    return { usedBytes: Number(used), maxBytes: Number(max), policy: policy ?? 'unknown' };
  } catch {
    return undefined;
  }
}
