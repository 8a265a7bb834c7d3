import { createHmac, type KeyObject, randomInt, timingSafeEqual } from 'node:crypto';
import { secureRandomBytes } from '../../app/random.ts';

// Crockford base32 without I, L, O, U: unambiguous when written down or read aloud.
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * 20 symbols of base32 = 100 bits, grouped as XXXXX-XXXXX-XXXXX-XXXXX. `bytes` is for the
 * reproducible benchmark data set only (bench/data); the app always uses the CSPRNG.
 */
export function generateWebSecret(bytes: Uint8Array = secureRandomBytes(20)): string {
  let out = '';
  for (let i = 0; i < 20; i++) {
    out += ALPHABET[bytes[i]! & 31];
    if (i % 5 === 4 && i < 19) out += '-';
  }
  return out;
}

/** A PIN people can keep but not one anyone guesses first: not all one digit, not a run like 123456. */
export function pinIsWeak(pin: string): boolean {
  if (/^(\d)\1+$/.test(pin)) return true;
  const steps = [...pin].slice(1).map((d, i) => (Number(d) - Number(pin[i]) + 10) % 10);
  return steps.every((s) => s === 1) || steps.every((s) => s === 9);
}

/** A random PIN of `length` digits, never a weak one (`pinIsWeak`). */
export function generatePin(length = 6): string {
  for (;;) {
    let pin = '';
    for (let i = 0; i < length; i++) pin += String(randomInt(10));
    if (!pinIsWeak(pin)) return pin;
  }
}

export function normalizeSecret(input: string): string {
  return input
    .toUpperCase()
    .replace(/[\s-]/g, '')
    .replace(/O/g, '0')
    .replace(/[IL]/g, '1');
}

/**
 * The secret is stored only as HMAC-SHA256 under a key that never enters the database, bound to
 * the tracking code. A fast keyed hash is enough: web secrets carry 100 bits, and phone PINs are
 * guarded by attempt limits, so no deliberately slow hashing sits on the intake path.
 */
export function hashSecret(key: KeyObject | Buffer, trackingCode: string, secret: string): string {
  return createHmac('sha256', key).update(`${trackingCode}:${normalizeSecret(secret)}`).digest('hex');
}

export function secretMatches(key: KeyObject | Buffer, trackingCode: string, secret: string, storedHash: string): boolean {
  const a = Buffer.from(hashSecret(key, trackingCode, secret), 'hex');
  const b = Buffer.from(storedHash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}
