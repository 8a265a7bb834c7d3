import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import type { Em } from '../../app/db.ts';
import type { Keys } from '../../app/keys.ts';
import { Clue } from '../clues/clue.entity.ts';
import { type Actor, appendEvent } from '../clues/ledger.ts';
import { hashSecret } from '../clues/secrets.ts';

/** Sets a clue's PIN (the caller chose it, or SMS recovery made a new one); on the ledger without the PIN. */
export async function setPin(
  tx: Em,
  deps: { keys: Pick<Keys, 'secretHmacKey'>; clock: Clock },
  clueId: string,
  pin: string,
  actor: Actor,
  channel: 'phone' | 'sms',
) {
  const clue = await tx.findOneOrFail(Clue, { id: clueId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  clue.secretHash = hashSecret(deps.keys.secretHmacKey, clue.trackingCode, pin);
  clue.failedAttempts = 0;
  clue.lockedUntil = null;
  appendEvent(tx, clue, { type: 'reporter.pin_set', actor, data: { channel, length: pin.length } }, deps.clock.now());
  return clue;
}
