import { Hono } from 'hono';
import { parseWith } from '../../app/http.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { PhoneReportUseCases } from './phone-report.usecases.ts';
import { callFields, recordingFields, recordingStatusFields } from './voice.schemas.ts';
import type { TwilioEnv } from './voice.signature.ts';

/**
 * The recording status callback: the phone report is registered (once per call) from whichever of
 * it and the <Record> action comes first. Signed like every Twilio webhook (src/roots/server.ts
 * mounts the signature check before it).
 */
export function recordingRoutes(calls: Pick<PhoneReportUseCases, 'recordingArrived' | 'recordingAbsent'>, docs: ApiDocs) {
  const app = new Hono<TwilioEnv>();
  const tag = 'twilio';

  docs.add({ method: 'post', path: '/twilio/voice/recording', summary: 'Recording status callback: registers the phone report (once per call) and queues the download', tag, auth: 'twilio-signature', responses: { 204: 'Recorded', 403: 'Missing or wrong X-Twilio-Signature' } });
  app.post('/twilio/voice/recording', async (c) => {
    const p = c.get('twilio');
    const status = parseWith(recordingStatusFields, p);
    if (status === 'completed') await calls.recordingArrived(parseWith(recordingFields, p));
    else if (status === 'absent' || status === 'failed') await calls.recordingAbsent(parseWith(callFields, p));
    return c.body(null, 204);
  });

  return app;
}
