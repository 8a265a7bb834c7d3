import { createHmac } from 'node:crypto';
import type { Keys } from '../../app/keys.ts';
import { seal, unseal } from '../../app/seal.ts';

/**
 * The hotline's keyed hashes and sealed texts. Provider ids (CallSid, MessageSid) and callers'
 * numbers are kept only as keyed hashes (SECRET_HMAC_KEY): unique and idempotent, not joinable to
 * the provider's logs. Numbers and texts a person must read again are sealed (REPORTER_KEY).
 */
export function createHotlineHashing(keys: Pick<Keys, 'secretHmacKey' | 'reporterKey'>) {
  const hmac = (text: string) => createHmac('sha256', keys.secretHmacKey).update(text).digest('hex');
  return {
    sidHash: (kind: 'call' | 'sms', sid: string) => hmac(`twilio-${kind}:${sid}`),
    callerHash: (number: string) => hmac(`caller:${number.replace(/[^\d+]/g, '')}`),
    /** A PIN entry held between "enter" and "enter again", bound to the call (its CallSid's keyed hash). */
    pinEntryHash: (callSidHash: string, pin: string) => hmac(`pin-entry:${callSidHash}:${pin}`),
    sealText: (text: string, aad: string) => seal(keys.reporterKey, text, aad),
    unsealText: (box: Uint8Array, aad: string) => unseal(keys.reporterKey, Buffer.from(box), aad),
  };
}
