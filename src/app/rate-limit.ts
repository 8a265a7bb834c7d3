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

export async function enforce(limiter: RateLimiter, c: Context, trustedProxies: number): Promise<void> {
  const wait = await limiter.hit(clientAddress(c, trustedProxies));
  if (wait > 0) {
    c.header('Retry-After', String(wait));
    throw rateLimited({ retryAfterSeconds: wait });
  }
}
