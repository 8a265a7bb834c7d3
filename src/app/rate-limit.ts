import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Clock } from './clock.ts';
import { createErrorFactory } from './errors.ts';
import type { Throttle } from './throttle.ts';

export const rateLimited = createErrorFactory({
  code: 'request.rate_limited',
  message: '操作过于频繁，请稍后再试 / Too many requests; please try again later.',
  statusCode: 429,
});

interface Window {
  max: number;
  windowMs: number;
}

/**
 * Fixed-window counters per client address and for everyone together. With a Throttle
 * (throttle.ts) they are shared by every process through Redis under keyed hashes of the address
 * (TTL: the window), per process while Redis is down; the address itself is never stored, logged
 * or attached to a clue.
 */
export class RateLimiter {
  readonly #name: string;
  readonly #perClient: Window;
  readonly #global: Window;
  readonly #clock: Clock;
  readonly #throttle: Throttle | null;
  #windowStart = 0;
  #counts = new Map<string, number>();
  #globalCount = 0;

  constructor(perClient: Window, global: Window, clock: Clock, shared?: { name: string; throttle: Throttle }) {
    if (perClient.windowMs !== global.windowMs) throw new Error('one window length per limiter');
    this.#perClient = perClient;
    this.#global = global;
    this.#clock = clock;
    this.#name = shared?.name ?? 'local';
    this.#throttle = shared?.throttle ?? null;
  }

  /**
   * Counts one attempt against each limiter in order, stopping at the first that refuses (the
   * later ones are not counted), as `hit` on each in turn would; limiters sharing one Throttle
   * are counted in one Redis round trip. Returns the seconds to wait, else 0.
   */
  static async hitInOrder(limiters: RateLimiter[], client: string): Promise<number> {
    const throttle = limiters.length ? limiters[0]!.#throttle : null;
    if (!throttle || limiters.some((l) => l.#throttle !== throttle)) {
      for (const l of limiters) {
        const wait = await l.hit(client);
        if (wait > 0) return wait;
      }
      return 0;
    }
    const now = limiters[0]!.#clock.now().getTime();
    const stages = limiters.map((l) => {
      const windowMs = l.#global.windowMs;
      const start = now - (now % windowMs);
      return {
        start,
        windowMs,
        counters: [
          { name: `rl:${l.#name}`, id: client, max: l.#perClient.max },
          { name: `rl:${l.#name}:all`, id: '*', max: l.#global.max },
        ],
      };
    });
    const counted = await throttle.countStages(stages);
    for (const [i, [n = 0, g = 0] = []] of counted.entries()) {
      const st = stages[i]!;
      if (n > st.counters[0]!.max || g > st.counters[1]!.max) return Math.ceil((st.start + st.windowMs - now) / 1000);
    }
    return 0;
  }

  /** Counts one attempt; returns the seconds to wait when over a limit, else 0. */
  async hit(client: string): Promise<number> {
    const now = this.#clock.now().getTime();
    const windowMs = this.#global.windowMs;
    const start = now - (now % windowMs);
    let n: number;
    let g: number;
    if (this.#throttle) {
      [n = 0, g = 0] = await this.#throttle.countWindows(
        [
          { name: `rl:${this.#name}`, id: client },
          { name: `rl:${this.#name}:all`, id: '*' },
        ],
        start,
        windowMs,
      );
    } else {
      if (start !== this.#windowStart) {
        this.#windowStart = start;
        this.#counts = new Map();
        this.#globalCount = 0;
      }
      n = (this.#counts.get(client) ?? 0) + 1;
      this.#counts.set(client, n);
      g = ++this.#globalCount;
    }
    if (n > this.#perClient.max || g > this.#global.max) {
      return Math.ceil((start + windowMs - now) / 1000);
    }
    return 0;
  }
}

/**
 * The client's address. With TRUST_PROXY = n (n proxies of your own in front), the address the
 * outermost of them saw: the nth entry from the right of X-Forwarded-For. The entries left of it
 * are whatever the client sent and are never read. 0: the socket's peer.
 */
export function clientAddress(c: Context, trustedProxies: number): string {
  if (trustedProxies > 0) {
    const entries = (c.req.header('x-forwarded-for') ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    const forwarded = entries[Math.max(0, entries.length - trustedProxies)];
    if (forwarded) return forwarded;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // in-process requests (tests) have no socket
  }
}

/** Refuses the request (429 with Retry-After) when over a limit; several limiters are counted in order, in one Redis round trip. */
export async function enforce(limiter: RateLimiter | RateLimiter[], c: Context, trustedProxies: number): Promise<void> {
  const client = clientAddress(c, trustedProxies);
  const wait = Array.isArray(limiter) ? await RateLimiter.hitInOrder(limiter, client) : await limiter.hit(client);
  if (wait > 0) {
    c.header('Retry-After', String(wait));
    throw rateLimited({ retryAfterSeconds: wait });
  }
}
