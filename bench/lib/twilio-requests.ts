/**
 * A `LoadSpec.requestBuilder` (see load.ts) for Twilio webhooks: each request is a form POST whose
 * fields may carry the request counter (fresh CallSid / RecordingSid per request), signed as Twilio
 * signs it: `X-Twilio-Signature` = twilio.getExpectedTwilioSignature(authToken, PUBLIC_BASE_URL +
 * path + query, fields). Runs in the load worker thread.
 */
import twilio from 'twilio';

export interface TwilioRequestData {
  authToken: string;
  /** The URL Twilio would have requested (PUBLIC_BASE_URL + path + query): what the signature covers. */
  signedUrl: string;
  /**
   * The form fields. In each value `{n}` becomes the request number as 8 hex digits and `{d}` as 8
   * decimal digits (after `modulo` and `offset`), e.g. `CA<24 hex>{n}` is a 34-character CallSid.
   */
  fields: Record<string, string>;
  offset?: number;
  /** Request `n` uses number `n % modulo` (+ offset): e.g. to walk again through the calls an earlier phase made. */
  modulo?: number;
}

export function createRequestBuilder(data: TwilioRequestData) {
  const offset = data.offset ?? 0;
  const templated = Object.entries(data.fields).filter(([, v]) => v.includes('{n}') || v.includes('{d}'));
  return (n: number) => {
    const i = (data.modulo ? n % data.modulo : n) + offset;
    const hex = i.toString(16).padStart(8, '0');
    const dec = String(i).padStart(8, '0');
    const fields = { ...data.fields };
    for (const [k, v] of templated) fields[k] = v.replaceAll('{n}', hex).replaceAll('{d}', dec);
    return {
      body: new URLSearchParams(fields).toString(),
      headers: { 'x-twilio-signature': twilio.getExpectedTwilioSignature(data.authToken, data.signedUrl, fields) },
    };
  };
}

/** The same fields for request `n`, outside the worker (to prepare or check what the load will send). */
export function fieldsFor(data: TwilioRequestData, n: number): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(createRequestBuilder(data)(n).body));
}
