import { Hono } from 'hono';
import twilio from 'twilio';
import { parseWith } from '../../app/http.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { SmsUseCases } from './sms.usecases.ts';
import { smsFields } from './voice.schemas.ts';
import type { TwilioEnv } from './voice.signature.ts';

/** The SMS webhook: a text is a report. Signed like every Twilio webhook (src/roots/server.ts mounts the signature check before it). */
export function smsRoutes(sms: Pick<SmsUseCases, 'receive' | 'helpText'>, docs: ApiDocs) {
  const app = new Hono<TwilioEnv>();
  const tag = 'twilio';

  docs.add({ method: 'post', path: '/twilio/sms', summary: 'Incoming SMS: a report (once per MessageSid); the tracking code and PIN go back by SMS from a job', tag, auth: 'twilio-signature', responses: { 200: 'TwiML (empty, or a help text for a message that is no report)', 403: 'Missing or wrong X-Twilio-Signature' } });
  app.post('/twilio/sms', async (c) => {
    const r = await sms.receive(parseWith(smsFields, c.get('twilio')));
    const reply = new twilio.twiml.MessagingResponse();
    if (r.result === 'too_short') reply.message(sms.helpText());
    return c.body(reply.toString(), 200, { 'content-type': 'text/xml; charset=utf-8' });
  });

  return app;
}
