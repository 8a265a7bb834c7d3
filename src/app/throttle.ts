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

/**
 * `countStages`: ARGV[1] stages; then per stage its number of keys, the keys' TTL (ms) and each
 * key's maximum. KEYS: every stage's keys in order. Returns the counts of the stages counted.
 */
const STAGES_SCRIPT = `
local out = {}
local k = 1
local a = 2
for s = 1, tonumber(ARGV[1]) do
  local n = tonumber(ARGV[a])
  local ttl = ARGV[a + 1]
  local over = false
  for i = 1, n do
    local c = redis.call('INCR', KEYS[k])
    redis.call('PEXPIRE', KEYS[k], ttl)
    out[#out + 1] = c
    if c > tonumber(ARGV[a + 1 + i]) then over = true end
    k = k + 1
  end
  if over then return out end
  a = a + 2 + n
end
return out`;

const waitMs = (n: number, last: number, now: number, rule: SlowDownRule) => {
  if (n < rule.free) return 0;
  const d = Math.min(2 ** (n - rule.free), rule.maxDelaySeconds) * 1000;
  return now < last + d ? last + d - now : 0;
};

type ScriptCall = (numberOfKeys: number, ...keysThenArgs: (string | number)[]) => Promise<unknown>;

/**
 * The two scripts as commands of the connection (ioredis `defineCommand`): sent by their SHA1
 * (`EVALSHA`, the body only when Redis answers NOSCRIPT) rather than the whole text with every
 * citizen request and sign-in.
 */
function scriptsOn(redis: Redis): { slowDown: ScriptCall; stages: ScriptCall } {
  redis.defineCommand('dibaoThrottleSlowDown', { lua: SCRIPT });
  redis.defineCommand('dibaoThrottleStages', { lua: STAGES_SCRIPT });
  const commands = redis as unknown as { dibaoThrottleSlowDown: ScriptCall; dibaoThrottleStages: ScriptCall };
  return {
    slowDown: (n, ...rest) => commands.dibaoThrottleSlowDown(n, ...rest),
    stages: (n, ...rest) => commands.dibaoThrottleStages(n, ...rest),
  };
}

export function createThrottle(deps: { redis: Redis | null; prefix: string; key: KeyObject; clock: Clock; logger: Logger }) {
  const scripts = deps.redis ? scriptsOn(deps.redis) : null;
  const hmacKey = createHmac('sha256', deps.key).update('throttle-key').digest();
  const hashedKey = (name: string, id: string) => `${deps.prefix}:throttle:${name}:${createHmac('sha256', hmacKey).update(`${name}\0${id}`).digest('base64url').slice(0, 32)}`;
  // The counters of everyone together ('*') are hashed once: they name no one. Never those of an address or account.
  const everyone = new Map<string, string>();
  const keyOf = (name: string, id: string) => {
    if (id !== '*') return hashedKey(name, id);
    let key = everyone.get(name);
    if (!key) everyone.set(name, (key = hashedKey(name, id)));
    return key;
  };
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
        const wait = Number(await scripts!.slowDown(1, key, now, rule.free, rule.maxDelaySeconds, rule.windowMs));
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

  /**
   * Several fixed-window stages counted in order in one Redis round trip (a script): each stage
   * adds one to each of its counters; the first stage with a counter over its maximum ends the
   * count, and the stages after it are not counted — as if each had been counted in its own trip
   * and the caller had stopped at the first refusal. Returns each counted stage's counts.
   */
  async function countStages(stages: { counters: { name: string; id: string; max: number }[]; start: number; windowMs: number }[]): Promise<number[][]> {
    const keyed = stages.map((st) => st.counters.map(({ name, id }) => `${keyOf(name, id)}:${st.start}`));
    if (live()) {
      try {
        const args: (string | number)[] = [stages.length];
        for (const st of stages) args.push(st.counters.length, st.windowMs + 1000, ...st.counters.map((c) => c.max));
        const flat = (await scripts!.stages(keyed.flat().length, ...keyed.flat(), ...args)) as number[];
        warned = false;
        const out: number[][] = [];
        let at = 0;
        for (const keys of keyed) {
          if (at >= flat.length) break;
          out.push(flat.slice(at, at + keys.length).map(Number));
          at += keys.length;
        }
        return out;
      } catch (err) {
        fallback(err);
      }
    } else fallback();
    const out: number[][] = [];
    for (const st of stages) {
      const counts = await countWindows(st.counters, st.start, st.windowMs);
      out.push(counts);
      if (counts.some((n, j) => n > st.counters[j]!.max)) break;
    }
    return out;
  }

  /** Forgets `id` (a successful sign-in clears its account's count). */
  async function clear(name: string, id: string): Promise<void> {
    const key = keyOf(name, id);
    memory.delete(key);
    if (live()) await deps.redis!.del(key).catch(() => undefined);
  }

  return { attempt, clear, countWindow, countWindows, countStages };
}

export type Throttle = ReturnType<typeof createThrottle>;
