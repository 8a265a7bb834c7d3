import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import type { Clock } from './clock.ts';
import { createErrorFactory } from './errors.ts';

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
 * Fixed-window counters per client address and for everyone together, kept in memory only: the
 * address is never stored, logged or attached to a clue. Memory is bounded: a window's map is
 * dropped when the window rolls over. Per process; several replicas each enforce their share.
 */
export class RateLimiter {
  readonly #perClient: Window;
  readonly #global: Window;
  readonly #clock: Clock;
  #windowStart = 0;
  #counts = new Map<string, number>();
  #globalCount = 0;

  constructor(perClient: Window, global: Window, clock: Clock) {
    if (perClient.windowMs !== global.windowMs) throw new Error('one window length per limiter');
    this.#perClient = perClient;
    this.#global = global;
    this.#clock = clock;
  }

  /** Counts one attempt; returns the seconds to wait when over a limit, else 0. */
  hit(client: string): number {
    const now = this.#clock.now().getTime();
    const start = now - (now % this.#global.windowMs);
    if (start !== this.#windowStart) {
      this.#windowStart = start;
      this.#counts = new Map();
      this.#globalCount = 0;
    }
    const n = (this.#counts.get(client) ?? 0) + 1;
    this.#counts.set(client, n);
    this.#globalCount++;
    if (n > this.#perClient.max || this.#globalCount > this.#global.max) {
      return Math.ceil((start + this.#global.windowMs - now) / 1000);
    }
    return 0;
  }
}

export function clientAddress(c: Context, trustProxy: boolean): string {
  if (trustProxy) {
    const forwarded = c.req.header('x-forwarded-for')?.split(',')[0]?.trim();
    if (forwarded) return forwarded;
  }
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'unknown'; // in-process requests (tests) have no socket
  }
}

export function enforce(limiter: RateLimiter, c: Context, trustProxy: boolean): void {
  const wait = limiter.hit(clientAddress(c, trustProxy));
  if (wait > 0) {
    c.header('Retry-After', String(wait));
    throw rateLimited({ retryAfterSeconds: wait });
  }
}
