import { createHmac, type KeyObject, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../app/clock.ts';
import { seal, unseal } from '../../app/seal.ts';

/**
 * Keeps a reporter signed in on the follow-up pages for one browser session, so that switching
 * the language or reloading does not ask for the code and secret again. The cookie holds, sealed
 * (AES-256-GCM under a key derived from SECRET_HMAC_KEY, so only this service can read or forge
 * it), the clue id, an expiry and a fingerprint of the clue's current secret hash: never the
 * secret. A secret issued anew (an email reporter's acknowledgement) ends the session; so does
 * the expiry, renewed at each page (`ttlMinutes` of inactivity).
 */
export function createFollowUpSessions(deps: { secretHmacKey: KeyObject; clock: Clock; ttlMinutes: number }) {
  const key = createHmac('sha256', deps.secretHmacKey).update('follow-up-session-key').digest();
  const aad = 'follow-up-session';
  const fingerprint = (secretHash: string) => createHmac('sha256', key).update(secretHash).digest('base64url').slice(0, 22);

  function issue(clue: { id: string; secretHash: string }): string {
    const exp = deps.clock.now().getTime() + deps.ttlMinutes * 60_000;
    return seal(key, JSON.stringify({ id: clue.id, fp: fingerprint(clue.secretHash), exp }), aad).toString('base64url');
  }

  /** The session in a cookie value, or null (absent, forged, expired). */
  function read(value: string | undefined): { clueId: string; still: (clue: { secretHash: string }) => boolean } | null {
    if (!value || value.length > 400) return null;
    let parsed: { id?: unknown; fp?: unknown; exp?: unknown };
    try {
      parsed = JSON.parse(unseal(key, Buffer.from(value, 'base64url'), aad));
    } catch {
      return null;
    }
    const { id, fp, exp } = parsed;
    if (typeof id !== 'string' || typeof fp !== 'string' || typeof exp !== 'number' || exp < deps.clock.now().getTime()) return null;
    const still = (clue: { secretHash: string }) => {
      const a = Buffer.from(fp);
      const b = Buffer.from(fingerprint(clue.secretHash));
      return a.length === b.length && timingSafeEqual(a, b);
    };
    return { clueId: id, still };
  }

  return { issue, read, ttlMinutes: deps.ttlMinutes };
}

export type FollowUpSessions = ReturnType<typeof createFollowUpSessions>;
