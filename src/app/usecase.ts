import type { Clock } from './clock.ts';
import type { Em } from './db.ts';
import type { Logger } from './logger.ts';

/** Who did it, as the ledger records it: a staff user, the reporter, a webhook or a job. The one Actor type. */
export type Actor = `staff:${string}` | 'reporter' | 'twilio' | 'email' | `system:${string}` | `discipline:${string}`;

/**
 * Who acts, and with what: every use case in the one shape `verb({ ctx, input })` gets this. The use
 * case checks `principal`'s rights itself (never its route), writes through `em` (a fork of its own
 * request or job; the use case opens its transactions on it), reads the time from `clock` and logs
 * ids only to `logger`. `actor` is what the ledger records (`staff:<id>` for a principal).
 */
export interface UseCaseContext<P> {
  actor: Actor;
  principal: P;
  em: Em;
  clock: Clock;
  logger: Logger;
}

/** The one argument of a use case: `verb({ ctx, input })`. */
export interface UseCaseCall<P, I> {
  ctx: UseCaseContext<P>;
  input: I;
}
