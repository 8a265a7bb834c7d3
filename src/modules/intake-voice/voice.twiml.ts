import twilio from 'twilio';
import type { Config } from '../../app/config.ts';
import { type Locale, renderTemplate } from '../../app/templates.ts';
import type { StreetUnit } from './calls.usecases.ts';

export type VoiceResponse = InstanceType<typeof twilio.twiml.VoiceResponse>;
type SayParent = Pick<VoiceResponse, 'say' | 'play'>;

const AUDIO_URL = /^https:\/\/\S+$/;

/** The `language` of <Say> and <Gather> for a prompt locale. */
export const sayLanguage = (locale: Locale) => (locale === 'en' ? 'en-US' : 'zh-CN');

/**
 * Every prompt is `templates/<locale>/voice/<name>.txt`, so an admin changes the wording without a
 * release. A template whose whole text is an https URL is recorded audio and becomes <Play>.
 */
export function prompt(parent: SayParent, locale: Locale, name: string, vars: Record<string, string> = {}): void {
  const text = renderTemplate(locale, `voice/${name}.txt`, vars).trim();
  if (!text) return;
  if (AUDIO_URL.test(text)) parent.play(text);
  else parent.say({ language: sayLanguage(locale) as 'zh-CN' }, text);
}

/** Digits read one by one in groups of four ("1 2 3 4，5 6 7 8，…"), so text-to-speech never says a number. */
export function digitsForSpeech(code: string): string {
  return (code.match(/\d{1,4}/g) ?? []).map((group) => group.split('').join(' ')).join('，');
}

/** Keypad or spoken menu choice: digits win; otherwise keywords in the caller's words. */
export function menuChoice(params: Record<string, string>, words: Record<string, RegExp>): string | null {
  const digits = (params.Digits ?? '').trim();
  if (digits) return digits;
  const speech = (params.SpeechResult ?? '').trim();
  if (!speech) return null;
  for (const [choice, re] of Object.entries(words)) if (re.test(speech)) return choice;
  return '?';
}

export function twimlResponse(): VoiceResponse {
  return new twilio.twiml.VoiceResponse();
}

/**
 * The IVR's steps as TwiML: each question is a <Gather> whose `action` is the next step's URL
 * (under PUBLIC_BASE_URL, signed by Twilio when it comes back); voice.routes.ts answers with them.
 */
export function createIvrTwiml(
  config: Pick<Config, 'PUBLIC_BASE_URL' | 'RECORDING_MAX_SECONDS' | 'PHONE_PIN_LENGTH' | 'OPERATOR_NUMBERS' | 'DIAL_TIMEOUT_SECONDS'>,
  locale: Locale,
) {
  // The design asks for language="zh-CN" on <Gather>; twilio-node's type lists only `zh` / `cmn-Hans-CN` for speech.
  const language = sayLanguage(locale) as 'zh';
  const base = config.PUBLIC_BASE_URL.replace(/\/+$/, '');

  const url = (path: string, query: Record<string, string | number> = {}) => {
    const qs = new URLSearchParams(Object.entries(query).map(([k, v]) => [k, String(v)])).toString();
    return `${base}/twilio/voice/${path}${qs ? `?${qs}` : ''}`;
  };
  const say = (vr: Pick<VoiceResponse, 'say' | 'play'>, name: string, vars: Record<string, string> = {}) => prompt(vr, locale, name, vars);
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

  /** <Gather> for the PIN again, to confirm the first entry. */
  function askPinConfirm(vr: VoiceResponse, attempt: number) {
    const g = vr.gather({ input: ['dtmf'], numDigits: config.PHONE_PIN_LENGTH, finishOnKey: '#', timeout: 10, actionOnEmptyResult: true, action: url('report/pin-confirm', { n: attempt }), method: 'POST' });
    say(g, 'pin-confirm');
  }

  /** Status query, step 2: the PIN of the code just entered. */
  function askQueryPin(vr: VoiceResponse) {
    const g = vr.gather({ input: ['dtmf'], numDigits: config.PHONE_PIN_LENGTH, finishOnKey: '#', timeout: 10, actionOnEmptyResult: true, action: url('query/pin'), method: 'POST' });
    say(g, 'query-pin', { length: String(config.PHONE_PIN_LENGTH) });
  }

  /** The operators are off duty: their hours, then the offer (a recorded report or a call-back). */
  function operatorClosed(vr: VoiceResponse, hours: { start: string; end: string }) {
    say(vr, 'operator-closed', { start: hours.start, end: hours.end });
    offer(vr, 1);
  }

  /** Dials every operator number; the <Dial>'s end comes back to `operator/done`. */
  function dialOperators(vr: VoiceResponse) {
    say(vr, 'operator-connecting');
    const dial = vr.dial({ timeout: config.DIAL_TIMEOUT_SECONDS, action: url('operator/done'), method: 'POST' });
    for (const number of config.OPERATOR_NUMBERS) dial.number(number);
  }

  /**
   * A step that fails still answers: an apology, then the operators if any are configured. With no
   * database and no operators, the caller may still leave a recorded report: its recording callback
   * registers it (Twilio calls it again later, when we may be back).
   */
  function stepFailed(databaseUnavailable: boolean): VoiceResponse {
    const fallback = twimlResponse();
    say(fallback, 'error');
    if (config.OPERATOR_NUMBERS.length) {
      const dial = fallback.dial({ timeout: config.DIAL_TIMEOUT_SECONDS });
      for (const number of config.OPERATOR_NUMBERS) dial.number(number);
    } else if (databaseUnavailable) {
      recordInto(fallback, false);
      return fallback;
    }
    fallback.hangup();
    return fallback;
  }

  return {
    say,
    goodbye,
    fixed,
    menu,
    askIdentity,
    askCategory,
    askUnit,
    record,
    recordInto,
    askPin,
    askPinConfirm,
    askCode,
    askQueryPin,
    offer,
    operatorClosed,
    dialOperators,
    stepFailed,
  };
}

export type IvrTwiml = ReturnType<typeof createIvrTwiml>;
