/**
 * Twilio's form fields, and the typed inputs the routes make of them before they call a use case
 * (voice.routes.ts, recording.routes.ts, sms.routes.ts read them with `parseWith`, app/http.ts).
 * The signature check (voice.signature.ts) hands the fields over as `TwilioParams`.
 */
import { z } from 'zod';

/** The form fields Twilio posts, control characters removed (voice.signature.ts). */
export type TwilioParams = Record<string, string>;

/** Caller IDs Twilio uses when the number is withheld (anonymous, restricted, unavailable, blocked). */
const WITHHELD = new Set(['', 'anonymous', 'restricted', 'unknown', 'private', 'unavailable', '+266696687', '+86282452253', '+7378742833', '+2562533']);

export function isWithheld(from: string | undefined): boolean {
  return WITHHELD.has((from ?? '').trim().toLowerCase());
}

const optional = z.string().optional();

/** Every voice webhook names its call; the caller ID (`From`, a word when withheld) and the number called (`To`) come along. */
const callObject = z.object({
  CallSid: z.string({ error: 'missing' }).min(1, 'missing'),
  From: optional,
  To: optional,
});
const toCall = (f: z.output<typeof callObject>) => ({ sid: f.CallSid, from: f.From, to: f.To });

/** The call a webhook is about: a missing CallSid is a 400 (`CallSid: missing`), as before any row is touched. */
export const callFields = callObject.transform(toCall);
export type CallRef = z.output<typeof callFields>;

/** What the caller keyed in at a <Gather> (trimmed; empty when nothing). */
export const keypadFields = z.object({ Digits: optional }).transform((f) => (f.Digits ?? '').trim());

/** The call status callback: the call and its status as Twilio names it (empty when absent). */
export const callStatusFields = callObject.extend({ CallStatus: optional }).transform((f) => ({ call: toCall(f), status: f.CallStatus ?? '' }));

/** The end of the <Dial> to the operators. */
export const dialFields = callObject.extend({ DialCallStatus: optional }).transform((f) => ({ call: toCall(f), dialStatus: f.DialCallStatus }));

/** The recording status callback's status (`completed`, `absent`, `failed`, …). */
export const recordingStatusFields = z.object({ RecordingStatus: optional }).transform((f) => f.RecordingStatus);

/** A recording callback (the <Record> action or the status callback): the call and its recording, if Twilio names one. */
export const recordingFields = callObject
  .extend({ RecordingSid: optional, RecordingUrl: optional })
  .transform((f) => ({ call: toCall(f), recording: f.RecordingSid && f.RecordingUrl ? { sid: f.RecordingSid, url: f.RecordingUrl } : null }));
export type RecordingInput = z.output<typeof recordingFields>;

/** An incoming SMS. The MessageSid is required only of a text long enough to be a report (sms.usecases.ts). */
export const smsFields = z
  .object({ MessageSid: optional, From: optional, To: optional, Body: optional })
  .transform((f) => ({ sid: f.MessageSid || undefined, from: f.From, to: f.To, body: f.Body ?? '' }));
export type SmsInput = z.output<typeof smsFields>;
