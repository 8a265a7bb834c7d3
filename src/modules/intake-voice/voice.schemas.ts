/** The form fields Twilio posts; every handler reads only what it needs. */
export type TwilioParams = Record<string, string>;

/** Caller IDs Twilio uses when the number is withheld (anonymous, restricted, unavailable, blocked). */
const WITHHELD = new Set(['', 'anonymous', 'restricted', 'unknown', 'private', 'unavailable', '+266696687', '+86282452253', '+7378742833', '+2562533']);

export function isWithheld(from: string | undefined): boolean {
  return WITHHELD.has((from ?? '').trim().toLowerCase());
}
