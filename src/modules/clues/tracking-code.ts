import { randomInt } from 'node:crypto';

// Damm algorithm: one check digit that catches every single-digit error and every swap of
// two adjacent digits, the two mistakes people make when reading a number out on the phone.
const DAMM = [
  [0, 3, 1, 7, 5, 9, 8, 6, 4, 2],
  [7, 0, 9, 2, 1, 5, 4, 8, 6, 3],
  [4, 2, 0, 6, 8, 7, 1, 3, 5, 9],
  [1, 7, 5, 0, 9, 8, 3, 4, 2, 6],
  [6, 1, 2, 3, 0, 4, 5, 9, 7, 8],
  [3, 6, 7, 4, 2, 0, 9, 5, 8, 1],
  [5, 8, 6, 9, 7, 2, 0, 1, 3, 4],
  [8, 9, 4, 5, 3, 6, 2, 0, 1, 7],
  [9, 4, 3, 8, 6, 1, 7, 2, 0, 5],
  [2, 5, 8, 1, 4, 3, 6, 7, 9, 0],
];

export function dammDigit(digits: string): number {
  let interim = 0;
  for (const ch of digits) interim = DAMM[interim]![Number(ch)]!;
  return interim;
}

/**
 * 11 random digits + 1 check digit = 12 digits, read out as three groups of four.
 * 10^11 possible codes: with the rate limits on follow-up, guessing one that exists (and then
 * its secret) is hopeless; see README "Why guessing is hopeless".
 */
export const TRACKING_CODE_LENGTH = 12;

export function generateTrackingCode(): string {
  let body = '';
  for (let i = 0; i < TRACKING_CODE_LENGTH - 1; i++) body += String(randomInt(10));
  return body + String(dammDigit(body));
}

/** Accepts spaces, dashes and full-width digits as typed by people; returns 12 digits or null. */
export function normalizeTrackingCode(input: string): string | null {
  const ascii = input.replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0));
  const digits = ascii.replace(/[\s\-－]/g, '');
  if (!/^\d+$/.test(digits) || digits.length !== TRACKING_CODE_LENGTH) return null;
  return dammDigit(digits) === 0 ? digits : null;
}

export function formatTrackingCode(code: string): string {
  return code.replace(/(\d{4})(?=\d)/g, '$1 ');
}
