import type { Config } from '../../app/config.ts';
import { rateLimited } from '../../app/rate-limit.ts';
import type { SlowDownRule, Throttle } from '../../app/throttle.ts';

/**
 * Sign-in slow-down per account and per client address (throttle.ts): after LOGIN_FREE_FAILURES
 * attempts at one account (LOGIN_FREE_FAILURES_PER_ADDRESS from one address) within
 * LOGIN_WINDOW_MINUTES, each further attempt waits twice as long as the one before, at most
 * LOGIN_MAX_DELAY_SECONDS: a 429 with Retry-After. A successful sign-in clears its account's count
 * (not the address's). Never a lock: the right password works again within a minute.
 */
export function createLoginGuard(throttle: Throttle, config: Pick<Config, 'LOGIN_FREE_FAILURES' | 'LOGIN_FREE_FAILURES_PER_ADDRESS' | 'LOGIN_MAX_DELAY_SECONDS' | 'LOGIN_WINDOW_MINUTES'>) {
  const windowMs = config.LOGIN_WINDOW_MINUTES * 60_000;
  const account: SlowDownRule = { free: config.LOGIN_FREE_FAILURES, maxDelaySeconds: config.LOGIN_MAX_DELAY_SECONDS, windowMs };
  const address: SlowDownRule = { free: config.LOGIN_FREE_FAILURES_PER_ADDRESS, maxDelaySeconds: config.LOGIN_MAX_DELAY_SECONDS, windowMs };
  const name = (username: string) => username.trim().toLowerCase();

  /** Counts the attempt; throws a 429 (details.retryAfterSeconds) when it has to wait. */
  async function before(username: string, clientAddress: string): Promise<void> {
    const wait = Math.max(await throttle.attempt('login-address', clientAddress, address), await throttle.attempt('login-account', name(username), account));
    if (wait > 0) throw rateLimited({ retryAfterSeconds: wait });
  }

  async function succeeded(username: string): Promise<void> {
    await throttle.clear('login-account', name(username));
  }

  return { before, succeeded };
}

export type LoginGuard = ReturnType<typeof createLoginGuard>;
