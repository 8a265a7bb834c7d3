import { type Context, Hono } from 'hono';
import { isDatabaseUnavailable } from '../../app/db.ts';
import { parseWith } from '../../app/http.ts';
import type { Logger } from '../../app/logger.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import { pinIsWeak } from '../clues/secrets.ts';
import type { Hotline } from './hotline.ts';
import { callFields, callStatusFields, dialFields, keypadFields, recordingFields, type TwilioParams } from './voice.schemas.ts';
import type { TwilioEnv } from './voice.signature.ts';
import { createIvrTwiml, digitsForSpeech, menuChoice, twimlResponse, type VoiceResponse } from './voice.twiml.ts';

type C = Context<TwilioEnv>;

const MENU_WORDS = { '1': /举报|反映|投诉|^一|^1/, '2': /查询|进度|^二|^2/, '3': /人工|接线|转接|^三|^3/, '0': /重听|重复|再听|^零|^0/ };
const IDENTITY_WORDS = { '1': /实名|^一|^1/, '2': /匿名|^二|^2/ };
const OFFER_WORDS = { '1': /录音|留言|举报|^一|^1/, '2': /回电|回拨|回复|^二|^2/ };

/**
 * The IVR's step handlers and the call status callback. Each response is TwiML (voice.twiml.ts);
 * each step's `action` comes back here signed (the body limit and the signature check are mounted
 * before these routes by src/roots/server.ts, voice.signature.ts). Handlers only touch the database
 * (no network calls): downloads and SMS are jobs.
 */
export function voiceRoutes(hotline: Pick<Hotline, 'config' | 'locale' | 'calls'>, logger: Logger, docs: ApiDocs) {
  const { config, calls } = hotline;
  const twiml = createIvrTwiml(config, hotline.locale);
  const { say, goodbye, fixed, menu, askIdentity, askCategory, askUnit, record, recordInto, askPin, askPinConfirm, askCode, askQueryPin, offer } = twiml;
  const app = new Hono<TwilioEnv>();
  const tag = 'twilio';

  const xml = (c: C, vr: { toString(): string }) => c.body(vr.toString(), 200, { 'content-type': 'text/xml; charset=utf-8' });
  const n = (c: C) => Math.max(1, Math.min(9, Number(c.req.query('n') ?? '1') || 1));
  // Form fields → typed inputs (voice.schemas.ts), read just before the use case that needs them.
  const callOf = (p: TwilioParams) => parseWith(callFields, p);
  const digitsOf = (p: TwilioParams) => parseWith(keypadFields, p);

  /**
   * A step that fails still answers (`stepFailed`: an apology, then the operators if any). A
   * handler either adds to `vr` or returns finished TwiML (from `fixed`).
   */
  const step = (handler: (c: C, vr: VoiceResponse, p: TwilioParams) => Promise<string | void>) => async (c: C) => {
    const vr = twimlResponse();
    try {
      const done = await handler(c, vr, c.get('twilio'));
      if (typeof done === 'string') return c.body(done, 200, { 'content-type': 'text/xml; charset=utf-8' });
      return xml(c, vr);
    } catch (err) {
      logger.error({ err: { type: (err as Error).name, message: (err as Error).message }, route: c.req.path }, 'voice step failed');
      return xml(c, twiml.stepFailed(isDatabaseUnavailable(err)));
    }
  };

  async function operator(vr: VoiceResponse) {
    const { open, hours } = await calls.operatorsOnDuty();
    if (!open) return twiml.operatorClosed(vr, hours);
    twiml.dialOperators(vr);
  }

  async function callback(vr: VoiceResponse, p: TwilioParams) {
    const r = await calls.requestCallback(callOf(p));
    if (r.result === 'withheld') {
      say(vr, 'callback-withheld');
      return askIdentity(vr, 1);
    }
    say(vr, 'callback-booked', { due: r.due });
    goodbye(vr);
  }

  docs.add({ method: 'post', path: '/twilio/voice', summary: 'Incoming call (TwiML): greeting and menu; later steps follow the action URLs under /twilio/voice/', tag, auth: 'twilio-signature', responses: { 200: 'TwiML', 403: 'Missing or wrong X-Twilio-Signature' } });
  app.post(
    '/twilio/voice',
    step(async (_c, _vr, p) => {
      await calls.start(callOf(p));
      return fixed('greeting', (vr) => {
        say(vr, 'greeting');
        menu(vr, 1);
      });
    }),
  );

  app.post(
    '/twilio/voice/menu',
    step(async (c, vr, p) => {
      const attempt = n(c);
      const choice = menuChoice(p, MENU_WORDS);
      if (choice === '1') return fixed('identity:1', (v) => askIdentity(v, 1));
      if (choice === '2') return fixed('code', askCode);
      if (choice === '3') return operator(vr);
      if (choice === '0') return fixed(`menu:${attempt}`, (v) => menu(v, attempt));
      if (attempt >= 2) {
        // Asked twice with nothing understood: offer the recorded report.
        return fixed('menu-offer-record', (v) => {
          say(v, 'menu-offer-record');
          askIdentity(v, 1);
        });
      }
      const again = choice === null ? 'menu-retry' : 'menu-invalid';
      return fixed(`${again}:${attempt + 1}`, (v) => {
        say(v, again);
        menu(v, attempt + 1);
      });
    }),
  );

  app.post(
    '/twilio/voice/report',
    step(async () => fixed('identity:1', (v) => askIdentity(v, 1))),
  );

  app.post(
    '/twilio/voice/report/identity',
    step(async (c, _vr, p) => {
      const choice = menuChoice(p, IDENTITY_WORDS);
      const attempt = n(c);
      if (choice !== '1' && choice !== '2' && attempt < 2) {
        return fixed(`identity-invalid:${attempt + 1}`, (v) => {
          say(v, 'menu-invalid');
          askIdentity(v, attempt + 1);
        });
      }
      // No clear answer twice: anonymous, the choice that exposes nobody.
      const named = choice === '1';
      const r = await calls.chooseIdentity(callOf(p), named);
      const said = named ? (r.withheld ? 'report-named-withheld' : 'report-named') : 'report-anonymous';
      return fixed(said, (v) => {
        say(v, said);
        askCategory(v);
      });
    }),
  );

  app.post(
    '/twilio/voice/report/category',
    step(async (_c, _vr, p) => {
      const r = await calls.chooseCategory(callOf(p), digitsOf(p) || null);
      // No street to choose: the recording is next (chooseCategory recorded that).
      return r.units.length === 0 ? record(r.named) : askUnit(r.units);
    }),
  );

  app.post(
    '/twilio/voice/report/unit',
    step(async (_c, _vr, p) => {
      const r = await calls.chooseUnit(callOf(p), digitsOf(p) || null);
      return record(r.named);
    }),
  );

  app.post(
    '/twilio/voice/report/record',
    step(async (_c, _vr, p) => record((await calls.recordingIssued(callOf(p))).named)),
  );

  app.post(
    '/twilio/voice/report/recorded',
    step(async (_c, vr, p) => {
      const registered = await calls.recordingArrived(parseWith(recordingFields, p));
      if (!registered) {
        const { named } = await calls.recordingIssued(callOf(p));
        return fixed(`record-again:${named}`, (v) => {
          say(v, 'record-empty');
          recordInto(v, named);
        });
      }
      const code = digitsForSpeech(registered.trackingCode);
      say(vr, 'report-registered', { code });
      say(vr, 'report-code-again', { code });
      askPin(vr, 1);
    }),
  );

  app.post(
    '/twilio/voice/report/pin',
    step(async (c, vr, p) => {
      const attempt = n(c);
      const pin = digitsOf(p);
      const valid = new RegExp(`^\\d{${config.PHONE_PIN_LENGTH}}$`).test(pin);
      if (!valid || pinIsWeak(pin)) {
        if (attempt >= config.VOICE_MAX_WRONG_ENTRIES) {
          say(vr, 'pin-not-set');
          return goodbye(vr);
        }
        say(vr, valid ? 'pin-weak' : 'pin-invalid', { length: String(config.PHONE_PIN_LENGTH) });
        return askPin(vr, attempt + 1);
      }
      const r = await calls.pinEntered(callOf(p), pin);
      if (r !== 'ok') {
        say(vr, r === 'already' ? 'pin-already' : 'error');
        return goodbye(vr);
      }
      askPinConfirm(vr, attempt);
    }),
  );

  app.post(
    '/twilio/voice/report/pin-confirm',
    step(async (c, vr, p) => {
      const r = await calls.pinConfirmed(callOf(p), digitsOf(p));
      if (r === 'set') {
        say(vr, 'pin-set');
        return goodbye(vr);
      }
      if (r === 'mismatch') {
        say(vr, 'pin-mismatch');
        return askPin(vr, n(c) + 1);
      }
      say(vr, r === 'already' ? 'pin-already' : 'pin-not-set');
      goodbye(vr);
    }),
  );

  app.post(
    '/twilio/voice/query',
    step(async (_c, vr) => askCode(vr)),
  );

  app.post(
    '/twilio/voice/query/code',
    step(async (_c, vr, p) => {
      const r = await calls.queryCode(callOf(p), digitsOf(p));
      if (r === 'too_many') {
        say(vr, 'query-too-many');
        return goodbye(vr);
      }
      if (r === 'wrong') {
        say(vr, 'query-wrong');
        return askCode(vr);
      }
      askQueryPin(vr);
    }),
  );

  app.post(
    '/twilio/voice/query/pin',
    step(async (_c, vr, p) => {
      const r = await calls.queryPin(callOf(p), digitsOf(p));
      if (r.result === 'too_many') {
        say(vr, 'query-too-many');
        return goodbye(vr);
      }
      if (r.result !== 'ok') {
        say(vr, 'query-wrong');
        return askCode(vr);
      }
      say(vr, 'status-answer', { status: r.status });
      if (r.due) say(vr, 'status-due', { date: r.due });
      goodbye(vr);
    }),
  );

  app.post(
    '/twilio/voice/operator',
    step(async (_c, vr) => operator(vr)),
  );

  app.post(
    '/twilio/voice/operator/done',
    step(async (_c, vr, p) => {
      const { call, dialStatus } = parseWith(dialFields, p);
      if (await calls.dialEnded(call, dialStatus)) return void vr.hangup();
      say(vr, 'operator-unanswered');
      offer(vr, 1);
    }),
  );

  app.post(
    '/twilio/voice/offer',
    step(async (c, vr, p) => {
      const choice = menuChoice(p, OFFER_WORDS);
      if (choice === '1') return askIdentity(vr, 1);
      if (choice === '2') return callback(vr, p);
      if (n(c) >= 2) return goodbye(vr);
      say(vr, choice === null ? 'menu-retry' : 'menu-invalid');
      offer(vr, n(c) + 1);
    }),
  );

  app.post(
    '/twilio/voice/callback',
    step(async (_c, vr, p) => callback(vr, p)),
  );

  docs.add({ method: 'post', path: '/twilio/status', summary: 'Call status callback: ends the call once, sets its outcome, owes a call-back for an unanswered caller', tag, auth: 'twilio-signature', responses: { 204: 'Recorded', 403: 'Missing or wrong X-Twilio-Signature' } });
  app.post('/twilio/status', async (c) => {
    const { call, status } = parseWith(callStatusFields, c.get('twilio'));
    await calls.callStatus(call, status);
    return c.body(null, 204);
  });

  return app;
}
