import { Hono } from 'hono';
import twilio from 'twilio';
import type { Clock } from '../../app/clock.ts';
import { isDatabaseUnavailable } from '../../app/db.ts';
import { parseWith } from '../../app/http.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { SmsSpool } from './sms.spool.ts';
import type { SmsUseCases } from './sms.usecases.ts';
import { smsFields } from './voice.schemas.ts';
import type { TwilioEnv } from './voice.signature.ts';

/** The SMS webhook: a text is a report. Signed like every Twilio webhook (src/roots/server.ts mounts the signature check before it). */
export function smsRoutes(sms: Pick<SmsUseCases, 'receive' | 'helpText'>, docs: ApiDocs, keeping?: { spool: Pick<SmsSpool, 'keep'>; clock: Clock }) {
  const app = new Hono<TwilioEnv>();
  const tag = 'twilio';

  docs.add({ method: 'post', path: '/twilio/sms', summary: 'Incoming SMS: a report (once per MessageSid); the tracking code and PIN go back by SMS from a job', tag, auth: 'twilio-signature', responses: { 200: 'TwiML (empty, or a help text for a message that is no report); while the database is away the report is kept on disk and registered when it is back', 403: 'Missing or wrong X-Twilio-Signature' } });
  app.post('/twilio/sms', async (c) => {
    const input = parseWith(smsFields, c.get('twilio'));
    const arrived = keeping?.clock.now();
    let result: string;
    try {
      result = (await sms.receive(input)).result;
    } catch (err) {
      // Twilio does not deliver an SMS webhook again: kept on disk until the database is back.
      if (!keeping || !arrived || !input.sid || !isDatabaseUnavailable(err)) throw err;
      // A folder that cannot take it either: the coded 503, as before (Twilio's log still has the text).
      await keeping.spool.keep(input, arrived).catch(() => Promise.reject(err));
      result = 'kept';
    }
    const reply = new twilio.twiml.MessagingResponse();
    if (result === 'too_short') reply.message(sms.helpText());
    return c.body(reply.toString(), 200, { 'content-type': 'text/xml; charset=utf-8' });
  });

  return app;
}
