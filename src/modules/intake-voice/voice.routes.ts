import { type Context, Hono } from 'hono';
import { bodyLimit } from '../../app/body-limit.ts';
import twilio from 'twilio';
import { isDatabaseUnavailable } from '../../app/db.ts';
import type { Logger } from '../../app/logger.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { Locale } from '../../app/templates.ts';
import { pinIsWeak, type StreetUnit } from './calls.usecases.ts';
import type { Hotline } from './hotline.ts';
import type { TwilioParams } from './voice.schemas.ts';
import { twilioSignature, type TwilioEnv } from './voice.signature.ts';
import { digitsForSpeech, menuChoice, prompt, sayLanguage, twimlResponse, type VoiceResponse } from './voice.twiml.ts';

type C = Context<TwilioEnv>;

const MENU_WORDS = { '1': /举报|反映|投诉|^一|^1/, '2': /查询|进度|^二|^2/, '3': /人工|接线|转接|^三|^3/, '0': /重听|重复|再听|^零|^0/ };
const IDENTITY_WORDS = { '1': /实名|^一|^1/, '2': /匿名|^二|^2/ };
const OFFER_WORDS = { '1': /录音|留言|举报|^一|^1/, '2': /回电|回拨|回复|^二|^2/ };

/**
 * The IVR. Each response is TwiML; each step's `action` comes back here signed. Handlers only touch
 * the database (no network calls): downloads and SMS are jobs.
 */
export function voiceRoutes(hotline: Hotline, logger: Logger, docs: ApiDocs) {
  const { config, calls, sms } = hotline;
  const locale: Locale = hotline.locale;
  // The design asks for language="zh-CN" on <Gather>; twilio-node's type lists only `zh` / `cmn-Hans-CN` for speech.
  const language = sayLanguage(locale) as 'zh';
  const base = config.PUBLIC_BASE_URL.replace(/\/+$/, '');
  const app = new Hono<TwilioEnv>();
  const tag = 'twilio';

  const url = (path: string, query: Record<string, string | number> = {}) => {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
    return `${base}/twilio/voice/${path}${qs ? `?${qs}` : ''}`;
  };
  const say = (vr: Pick<VoiceResponse, 'say' | 'play'>, name: string, vars: Record<string, string> = {}) => prompt(vr, locale, name, vars);
  const xml = (c: C, vr: { toString(): string }) => c.body(vr.toString(), 200, { 'content-type': 'text/xml; charset=utf-8' });
  const n = (c: C) => Math.max(1, Math.min(9, Number(c.req.query('n') ?? '1') || 1));
  const goodbye = (vr: VoiceResponse) => {
    say(vr, 'goodbye');
    vr.hangup();
  };

  /**
   * TwiML that depends only on the locale and the configuration (the greeting and menu, a question,
   * the <Record>) is built once per process and kept as text: templates are read once per process
   * anyway (app/templates.ts), and building TwiML through twilio's xmlbuilder was 14 % of a menu
   * step's CPU (bench/README "voice"). Keys are few and bounded (a prompt name, an attempt 1–9).
   */
  const built = new Map<string, string>();
  const fixed = (key: string, build: (vr: VoiceResponse) => void): string => {
    let text = built.get(key);
    if (text === undefined) {
      const vr = twimlResponse();
      build(vr);
      text = vr.toString();
      built.set(key, text);
    }
    return text;
  };

  /**
   * A step that fails still answers: an apology, then the operators if any are configured. A
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
      const fallback = twimlResponse();
      say(fallback, 'error');
      if (config.OPERATOR_NUMBERS.length) {
        const dial = fallback.dial({ timeout: config.DIAL_TIMEOUT_SECONDS });
        for (const number of config.OPERATOR_NUMBERS) dial.number(number);
      } else if (isDatabaseUnavailable(err)) {
        // No database now, no operators: the caller may still leave a recorded report; its
        // recording callback registers it (Twilio calls it again later, when we may be back).
        recordInto(fallback, false);
        return xml(c, fallback);
      }
      fallback.hangup();
      return xml(c, fallback);
    }
  };

  function menu(vr: VoiceResponse, attempt: number) {
    const g = vr.gather({ input: ['dtmf', 'speech'], language, numDigits: 1, timeout: 6, speechTimeout: 'auto', actionOnEmptyResult: true, hints: '举报,查询,进度,人工,重听', action: url('menu', { n: attempt }), method: 'POST' });
    say(g, 'menu');
  }

  function askIdentity(vr: VoiceResponse, attempt: number) {
    const g = vr.gather({ input: ['dtmf', 'speech'], language, numDigits: 1, timeout: 6, speechTimeout: 'auto', actionOnEmptyResult: true, hints: '实名,匿名', action: url('report/identity', { n: attempt }), method: 'POST' });
    say(g, 'report-identity');
  }

  function askCategory(vr: VoiceResponse) {
    const g = vr.gather({ input: ['dtmf'], numDigits: 1, timeout: 8, finishOnKey: '#', actionOnEmptyResult: true, action: url('report/category'), method: 'POST' });
    say(g, 'report-category');
  }

  /** The numbered street list: built again only when the (cached) unit list is a new one. */
  const unitPrompts = new WeakMap<readonly StreetUnit[], string>();
  function askUnit(units: readonly StreetUnit[]): string {
    let text = unitPrompts.get(units);
    if (text === undefined) {
      const vr = twimlResponse();
      askUnitInto(vr, units);
      text = vr.toString();
      unitPrompts.set(units, text);
    }
    return text;
  }

  function askUnitInto(vr: VoiceResponse, units: readonly StreetUnit[]) {
    const g = vr.gather({ input: ['dtmf'], numDigits: units.length > 9 ? 2 : 1, timeout: 8, finishOnKey: '#', actionOnEmptyResult: true, action: url('report/unit'), method: 'POST' });
    say(g, 'report-unit-intro');
    units.forEach((u, i) => say(g, 'report-unit-item', { name: u.name, number: String(i + 1) }));
    say(g, 'report-unit-outro');
  }

  /** Asks for the recording; the step that answers with this has recorded `recordingIssued`. */
  const record = (named: boolean) => fixed(`record:${named}`, (vr) => recordInto(vr, named));
  function recordInto(vr: VoiceResponse, named: boolean) {
    say(vr, named ? 'record-named' : 'record-anonymous', { minutes: String(Math.max(1, Math.round(config.RECORDING_MAX_SECONDS / 60))) });
    vr.record({
      maxLength: config.RECORDING_MAX_SECONDS,
      trim: 'trim-silence',
      finishOnKey: '#',
      playBeep: true,
      action: url('report/recorded'),
      method: 'POST',
      recordingStatusCallback: url('recording'),
      recordingStatusCallbackMethod: 'POST',
      recordingStatusCallbackEvent: ['completed', 'absent'],
    });
    // Reached only when nothing was recorded.
    say(vr, 'record-empty');
    vr.redirect({ method: 'POST' }, url('report/record'));
  }

  function askPin(vr: VoiceResponse, attempt: number) {
    const g = vr.gather({ input: ['dtmf'], numDigits: config.PHONE_PIN_LENGTH, finishOnKey: '#', timeout: 10, actionOnEmptyResult: true, action: url('report/pin', { n: attempt }), method: 'POST' });
    say(g, 'pin-ask', { length: String(config.PHONE_PIN_LENGTH) });
  }

  function askCode(vr: VoiceResponse) {
    const g = vr.gather({ input: ['dtmf'], numDigits: 12, finishOnKey: '#', timeout: 15, actionOnEmptyResult: true, action: url('query/code'), method: 'POST' });
    say(g, 'query-code');
  }

  function offer(vr: VoiceResponse, attempt: number) {
    const g = vr.gather({ input: ['dtmf', 'speech'], language, numDigits: 1, timeout: 6, speechTimeout: 'auto', actionOnEmptyResult: true, hints: '录音,回电', action: url('offer', { n: attempt }), method: 'POST' });
    say(g, 'offer');
  }

  async function operator(vr: VoiceResponse) {
    const { open, hours } = await calls.operatorsOnDuty();
    if (!open) {
      say(vr, 'operator-closed', { start: hours.start, end: hours.end });
      return offer(vr, 1);
    }
    say(vr, 'operator-connecting');
    const dial = vr.dial({ timeout: config.DIAL_TIMEOUT_SECONDS, action: url('operator/done'), method: 'POST' });
    for (const number of config.OPERATOR_NUMBERS) dial.number(number);
  }

  async function callback(vr: VoiceResponse, p: TwilioParams) {
    const r = await calls.requestCallback(p);
    if (r.result === 'withheld') {
      say(vr, 'callback-withheld');
      return askIdentity(vr, 1);
    }
    say(vr, 'callback-booked', { due: r.due });
    goodbye(vr);
  }

  app.use('/twilio/*', bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.text('Payload Too Large', 413) }));
  app.use('/twilio/*', twilioSignature(config, logger));

  docs.add({ method: 'post', path: '/twilio/voice', summary: 'Incoming call (TwiML): greeting and menu; later steps follow the action URLs under /twilio/voice/', tag, auth: 'twilio-signature', responses: { 200: 'TwiML', 403: 'Missing or wrong X-Twilio-Signature' } });
  app.post(
    '/twilio/voice',
    step(async (_c, _vr, p) => {
      await calls.start(p);
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
      const r = await calls.chooseIdentity(p, named);
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
      const r = await calls.chooseCategory(p, (p.Digits ?? '').trim() || null);
      // No street to choose: the recording is next (chooseCategory recorded that).
      return r.units.length === 0 ? record(r.named) : askUnit(r.units);
    }),
  );

  app.post(
    '/twilio/voice/report/unit',
    step(async (_c, _vr, p) => {
      const r = await calls.chooseUnit(p, (p.Digits ?? '').trim() || null);
      return record(r.named);
    }),
  );

  app.post(
    '/twilio/voice/report/record',
    step(async (_c, _vr, p) => record((await calls.recordingIssued(p)).named)),
  );

  app.post(
    '/twilio/voice/report/recorded',
    step(async (_c, vr, p) => {
      const registered = await calls.recordingArrived(p);
      if (!registered) {
        const { named } = await calls.recordingIssued(p);
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

  docs.add({ method: 'post', path: '/twilio/voice/recording', summary: 'Recording status callback: registers the phone report (once per call) and queues the download', tag, auth: 'twilio-signature', responses: { 204: 'Recorded', 403: 'Missing or wrong X-Twilio-Signature' } });
  app.post('/twilio/voice/recording', async (c) => {
    const p = c.get('twilio');
    if (p.RecordingStatus === 'completed') await calls.recordingArrived(p);
    else if (p.RecordingStatus === 'absent' || p.RecordingStatus === 'failed') await calls.recordingAbsent(p);
    return c.body(null, 204);
  });

  app.post(
    '/twilio/voice/report/pin',
    step(async (c, vr, p) => {
      const attempt = n(c);
      const pin = (p.Digits ?? '').trim();
      const valid = new RegExp(`^\\d{${config.PHONE_PIN_LENGTH}}$`).test(pin);
      if (!valid || pinIsWeak(pin)) {
        if (attempt >= config.VOICE_MAX_WRONG_ENTRIES) {
          say(vr, 'pin-not-set');
          return goodbye(vr);
        }
        say(vr, valid ? 'pin-weak' : 'pin-invalid', { length: String(config.PHONE_PIN_LENGTH) });
        return askPin(vr, attempt + 1);
      }
      const r = await calls.pinEntered(p, pin);
      if (r !== 'ok') {
        say(vr, r === 'already' ? 'pin-already' : 'error');
        return goodbye(vr);
      }
      const g = vr.gather({ input: ['dtmf'], numDigits: config.PHONE_PIN_LENGTH, finishOnKey: '#', timeout: 10, actionOnEmptyResult: true, action: url('report/pin-confirm', { n: attempt }), method: 'POST' });
      say(g, 'pin-confirm');
    }),
  );

  app.post(
    '/twilio/voice/report/pin-confirm',
    step(async (c, vr, p) => {
      const r = await calls.pinConfirmed(p, (p.Digits ?? '').trim());
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
      const r = await calls.queryCode(p, (p.Digits ?? '').trim());
      if (r === 'too_many') {
        say(vr, 'query-too-many');
        return goodbye(vr);
      }
      if (r === 'wrong') {
        say(vr, 'query-wrong');
        return askCode(vr);
      }
      const g = vr.gather({ input: ['dtmf'], numDigits: config.PHONE_PIN_LENGTH, finishOnKey: '#', timeout: 10, actionOnEmptyResult: true, action: url('query/pin'), method: 'POST' });
      say(g, 'query-pin', { length: String(config.PHONE_PIN_LENGTH) });
    }),
  );

  app.post(
    '/twilio/voice/query/pin',
    step(async (_c, vr, p) => {
      const r = await calls.queryPin(p, (p.Digits ?? '').trim());
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
      if (await calls.dialEnded(p)) return void vr.hangup();
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
    await calls.callStatus(c.get('twilio'));
    return c.body(null, 204);
  });

  docs.add({ method: 'post', path: '/twilio/sms', summary: 'Incoming SMS: a report (once per MessageSid); the tracking code and PIN go back by SMS from a job', tag, auth: 'twilio-signature', responses: { 200: 'TwiML (empty, or a help text for a message that is no report)', 403: 'Missing or wrong X-Twilio-Signature' } });
  app.post('/twilio/sms', async (c) => {
    const r = await sms.receive(c.get('twilio'));
    const reply = new twilio.twiml.MessagingResponse();
    if (r.result === 'too_short') reply.message(sms.helpText());
    return xml(c, reply);
  });

  return app;
}
