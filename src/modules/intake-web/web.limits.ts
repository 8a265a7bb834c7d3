import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import { RateLimiter } from '../../app/rate-limit.ts';
import type { Throttle } from '../../app/throttle.ts';

/** Abuse limits, from configuration (defaults and the arithmetic behind them: README). */
export function createLimiters(config: Config, clock: Clock, throttle?: Throttle) {
  const hour = 3600_000;
  const tenMinutes = 600_000;
  const shared = (name: string) => (throttle ? { name, throttle } : undefined);
  return {
    submit: new RateLimiter({ max: config.RATE_SUBMIT_PER_CLIENT_HOUR, windowMs: hour }, { max: config.RATE_SUBMIT_GLOBAL_MINUTE * 60, windowMs: hour }, clock, shared('submit')),
    submitBurst: new RateLimiter({ max: config.RATE_SUBMIT_PER_CLIENT_HOUR, windowMs: 60_000 }, { max: config.RATE_SUBMIT_GLOBAL_MINUTE, windowMs: 60_000 }, clock, shared('submit-burst')),
    followUp: new RateLimiter(
      { max: config.RATE_FOLLOWUP_PER_CLIENT_10MIN, windowMs: tenMinutes },
      { max: config.RATE_FOLLOWUP_GLOBAL_10MIN, windowMs: tenMinutes },
      clock,
      shared('follow-up'),
    ),
  };
}

/** Built once by the roots and shared by the form pages and the JSON API: a report counts against the same limits either way. */
export type WebLimits = ReturnType<typeof createLimiters>;
