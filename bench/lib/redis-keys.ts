/** Redis keys of one run's queue prefix: count them, weigh them, delete them. */
import { Redis } from 'ioredis';
import { REDIS_URL } from './setup.ts';

export function redisClient(): Redis {
  return new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
}

/** BullMQ's per-queue keys; any other key under a queue is a job's (its hash, lock or logs). */
const QUEUE_KEYS = new Set(['wait', 'paused', 'active', 'delayed', 'prioritized', 'completed', 'failed', 'waiting-children', 'events', 'meta', 'id', 'marker', 'stalled', 'stalled-check', 'limiter', 'repeat', 'pc', 'de', 'metrics']);

async function scanAll(redis: Redis, pattern: string, each: (keys: string[]) => Promise<void>) {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    if (keys.length) await each(keys);
    cursor = next;
  } while (cursor !== '0');
}

/** The keys of a BullMQ prefix (`{prefix}:*`), e.g. to clean up after an app whose `close()` could not finish. */
export async function deleteKeys(pattern: string): Promise<number> {
  const redis = redisClient();
  let deleted = 0;
  try {
    await scanAll(redis, pattern, async (keys) => {
      deleted += await redis.unlink(...keys);
    });
  } finally {
    redis.disconnect();
  }
  return deleted;
}

export interface KeyStats {
  keys: number;
  bytes: number;
  /** By queue and BullMQ key kind (`deadlines:job`, `deadlines:delayed`, `deadlines:events`, …). */
  byType: Record<string, { keys: number; bytes: number }>;
  usedMemory: number;
}

/**
 * How many keys match and what they weigh: the sum of `MEMORY USAGE key SAMPLES 0` (exact for
 * every element), plus Redis's `used_memory` for the whole instance (shared with anything else
 * using it, so only its difference between two moments of one run says something).
 */
export async function keyStats(pattern: string): Promise<KeyStats> {
  const redis = redisClient();
  let keys = 0;
  let bytes = 0;
  const byType: KeyStats['byType'] = {};
  try {
    await scanAll(redis, pattern, async (batch) => {
      const pipe = redis.pipeline();
      for (const k of batch) pipe.memory('USAGE', k, 'SAMPLES', 0);
      const sizes = (await pipe.exec()) ?? [];
      keys += batch.length;
      batch.forEach((k, i) => {
        const size = Number(sizes[i]?.[1] ?? 0);
        bytes += size;
        // BullMQ keys are {prefix}:queue:suffix; a job hash's suffix is its id.
        const [, queue = '?', suffix = '?'] = k.replace(/^\{[^}]*\}:/, '').match(/^([^:]+):?(.*)$/) ?? [];
        const first = suffix.split(':')[0]!;
        const kind = QUEUE_KEYS.has(first) ? first : 'job';
        const label = `${queue}:${kind}`;
        const t = (byType[label] ??= { keys: 0, bytes: 0 });
        t.keys++;
        t.bytes += size;
      });
    });
    const info = await redis.info('memory');
    const usedMemory = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? Number.NaN);
    return { keys, bytes, byType, usedMemory };
  } finally {
    redis.disconnect();
  }
}
