import { createHmac, type KeyObject } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Clock } from './clock.ts';
import type { Logger } from './logger.ts';

/**
 * Slow-down counters shared by every `serve` process through Redis, falling back to counters in
 * this process (never to none) while Redis is down. Keys are keyed hashes (HMAC) of what is
 * counted (an address, a username, a phone number), with short TTLs: Redis never holds the
 * value itself. Each attempt is counted atomically before it is tried, so parallel guesses are
 * held like sequential ones.
 *
 * The rule: the first `free` attempts within `windowMs` pass at once; after that, attempt n must
 * wait 2^(n − free) seconds after the previous one, at most `maxDelaySeconds`. A stranger can
 * slow an account or a code down, never lock it for long.
 */
export interface SlowDownRule {
  free: number;
  maxDelaySeconds: number;
  windowMs: number;
}

const SCRIPT = `
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
local now = tonumber(ARGV[1])
local free = tonumber(ARGV[2])
local maxd = tonumber(ARGV[3])
if n >= free then
  local d = math.min(2 ^ (n - free), maxd) * 1000
  if now < last + d then return last + d - now end
end
redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('HSET', KEYS[1], 'last', now)
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return 0`;

const waitMs = (n: number, last: number, now: number, rule: SlowDownRule) => {
  if (n < rule.free) return 0;
  const d = Math.min(2 ** (n - rule.free), rule.maxDelaySeconds) * 1000;
  return now < last + d ? last + d - now : 0;
};

export function createThrottle(deps: { redis: Redis | null; prefix: string; key: KeyObject; clock: Clock; logger: Logger }) {
  const hmacKey = createHmac('sha256', deps.key).update('throttle-key').digest();
  const keyOf = (name: string, id: string) => `${deps.prefix}:throttle:${name}:${createHmac('sha256', hmacKey).update(`${name}\0${id}`).digest('base64url').slice(0, 32)}`;
  const memory = new Map<string, { n: number; last: number; until: number }>();
  let warned = false;

  const fallback = (err?: unknown) => {
    if (!warned) {
      warned = true;
      deps.logger.warn({ err: err instanceof Error ? err.message : 'not connected' }, 'Redis unavailable: sign-in and citizen limits are counted per process until it is back');
    }
  };
  const live = () => deps.redis !== null && deps.redis.status === 'ready';

  function memoryAttempt(key: string, rule: SlowDownRule, now: number): number {
    if (memory.size > 100_000) for (const [k, v] of memory) if (v.until <= now) memory.delete(k);
    let e = memory.get(key);
    if (!e || e.until <= now) e = { n: 0, last: 0, until: 0 };
    const wait = waitMs(e.n, e.last, now, rule);
    if (wait > 0) return wait;
    memory.set(key, { n: e.n + 1, last: now, until: now + rule.windowMs });
    return 0;
  }

  /** Counts one attempt at `id` under `name`; returns the seconds to wait first (the attempt is then not counted), else 0. */
  async function attempt(name: string, id: string, rule: SlowDownRule): Promise<number> {
    const key = keyOf(name, id);
    const now = deps.clock.now().getTime();
    if (live()) {
      try {
        const wait = Number(await deps.redis!.eval(SCRIPT, 1, key, now, rule.free, rule.maxDelaySeconds, rule.windowMs));
        warned = false;
        return Math.ceil(wait / 1000);
      } catch (err) {
        fallback(err);
      }
    } else fallback();
    return Math.ceil(memoryAttempt(key, rule, now) / 1000);
  }

  const windows = new Map<string, { n: number; until: number }>();
  /** Adds one to the fixed-window counter of `id` under `name` for the window starting at `start`; returns the count. */
  async function countWindow(name: string, id: string, start: number, windowMs: number): Promise<number> {
    return (await countWindows([{ name, id }], start, windowMs))[0]!;
  }

  /**
   * `countWindow` for several counters of one window in one Redis round trip (a citizen request
   * counts its address and the total of each limit: one MULTI, not one each).
   */
  async function countWindows(counters: { name: string; id: string }[], start: number, windowMs: number): Promise<number[]> {
    const keys = counters.map(({ name, id }) => `${keyOf(name, id)}:${start}`);
    if (live()) {
      try {
        const tx = deps.redis!.multi();
        for (const key of keys) tx.incr(key).pexpire(key, windowMs + 1000);
        const replies = (await tx.exec()) as [Error | null, number][];
        warned = false;
        return keys.map((_, i) => Number(replies[i * 2]![1]));
      } catch (err) {
        fallback(err);
      }
    } else fallback();
    const now = deps.clock.now().getTime();
    if (windows.size > 100_000) for (const [k, v] of windows) if (v.until <= now) windows.delete(k);
    return keys.map((key) => {
      const e = windows.get(key) ?? { n: 0, until: start + windowMs };
      e.n++;
      windows.set(key, e);
      return e.n;
    });
  }

  /** Forgets `id` (a successful sign-in clears its account's count). */
  async function clear(name: string, id: string): Promise<void> {
    const key = keyOf(name, id);
    memory.delete(key);
    if (live()) await deps.redis!.del(key).catch(() => undefined);
  }

  return { attempt, clear, countWindow, countWindows };
}

export type Throttle = ReturnType<typeof createThrottle>;
