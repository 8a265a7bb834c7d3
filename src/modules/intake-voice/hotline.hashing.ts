import { createHmac } from 'node:crypto';
import type { Keys } from '../../app/keys.ts';
import { seal, unseal } from '../../app/seal.ts';

/** The sealed caller ID is bound to its call (additional data: the CallSid's keyed hash). */
export const callerAad = (hash: string) => `call-sid:${hash}`;

/**
 * The hotline's keyed hashes and sealed texts. Provider ids (CallSid, MessageSid) and callers'
 * numbers are kept only as keyed hashes (SECRET_HMAC_KEY): unique and idempotent, not joinable to
 * the provider's logs. Numbers and texts a person must read again are sealed (REPORTER_KEY).
 */
export function createHotlineHashing(keys: Pick<Keys, 'secretHmacKey' | 'reporterKey'>) {
  const hmac = (text: string) => createHmac('sha256', keys.secretHmacKey).update(text).digest('hex');
  const sealText = (text: string, aad: string) => seal(keys.reporterKey, text, aad);
  const unsealText = (box: Uint8Array, aad: string) => unseal(keys.reporterKey, Buffer.from(box), aad);

  /** Opens a call's sealed caller ID (boxes sealed before the binding moved to the sid hash: bound to the row id). */
  function openCallerBox(call: { id: string; sidHash: string; callerBox: Uint8Array }): string {
    try {
      return unsealText(call.callerBox, callerAad(call.sidHash));
    } catch {
      return unsealText(call.callerBox, `call:${call.id}`);
    }
  }

  return {
    sidHash: (kind: 'call' | 'sms', sid: string) => hmac(`twilio-${kind}:${sid}`),
    callerHash: (number: string) => hmac(`caller:${number.replace(/[^\d+]/g, '')}`),
    /** A PIN entry held between "enter" and "enter again", bound to the call (its CallSid's keyed hash). */
    pinEntryHash: (callSidHash: string, pin: string) => hmac(`pin-entry:${callSidHash}:${pin}`),
    sealText,
    unsealText,
    openCallerBox,
  };
}

export type HotlineHashing = ReturnType<typeof createHotlineHashing>;
