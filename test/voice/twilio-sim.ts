import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import type { TestEnv } from '../helpers.ts';
import type { FakeTwilio } from './fake-twilio.ts';

export interface Node {
  name: string;
  attrs: Record<string, string>;
  children: Node[];
  text: string;
}

const decode = (s: string) =>
  s.replace(/&(lt|gt|quot|apos|amp|#\d+);/g, (_, e: string) =>
    e === 'lt' ? '<' : e === 'gt' ? '>' : e === 'quot' ? '"' : e === 'apos' ? "'" : e === 'amp' ? '&' : String.fromCodePoint(Number(e.slice(1))),
  );

/** A minimal XML parser, enough for TwiML (elements, attributes, text). */
export function parseXml(xml: string): Node {
  const root: Node = { name: '#root', attrs: {}, children: [], text: '' };
  const stack = [root];
  const re = /<\?[^>]*\?>|<(\/?)([A-Za-z][\w:-]*)((?:\s+[\w:-]+="[^"]*")*)\s*(\/?)>|([^<]+)/g;
  for (const m of xml.matchAll(re)) {
    const top = stack.at(-1)!;
    if (m[5] !== undefined) {
      top.text += decode(m[5]);
      continue;
    }
    if (!m[2]) continue;
    if (m[1]) {
      stack.pop();
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of (m[3] ?? '').matchAll(/([\w:-]+)="([^"]*)"/g)) attrs[a[1]!] = decode(a[2]!);
    const node: Node = { name: m[2], attrs, children: [], text: '' };
    top.children.push(node);
    if (!m[4]) stack.push(node);
  }
  return root.children[0] ?? root;
}

export function findAll(node: Node, name: string): Node[] {
  return [...(node.name === name ? [node] : []), ...node.children.flatMap((c) => findAll(c, name))];
}

export const sid = (prefix: string) => prefix + randomBytes(16).toString('hex');

/** Signs and sends a form POST the way Twilio does: X-Twilio-Signature over the full URL and the fields. */
export function twilioClient(t: TestEnv) {
  const base = t.config.PUBLIC_BASE_URL.replace(/\/$/, '');
  async function post(url: string, params: Record<string, string>, opts: { signature?: string | null; authToken?: string } = {}) {
    if (!url.startsWith(base)) throw new Error(`URL ${url} is not under ${base}`);
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
    const signature = opts.signature === undefined ? twilio.getExpectedTwilioSignature(opts.authToken ?? t.config.TWILIO_AUTH_TOKEN, url, params) : opts.signature;
    if (signature !== null) headers['x-twilio-signature'] = signature;
    const res = await t.app.request(url.slice(base.length), { method: 'POST', headers, body: new URLSearchParams(params).toString() });
    const text = await res.text();
    return { status: res.status, text, doc: text.startsWith('<?xml') ? parseXml(text) : null };
  }
  return { base, post };
}

/**
 * One phone call driven like Twilio drives it: every request signed, each step's `action` followed,
 * digits pressed into the current <Gather>, a <Record> answered with the action and the recording
 * status callback (the audio served by the fake REST server). `heard` collects every <Say>.
 */
export class SimCall {
  readonly callSid = sid('CA');
  readonly heard: string[] = [];
  readonly responses: Node[] = [];
  doc: Node | null = null;
  readonly #t: TestEnv;
  readonly #client: ReturnType<typeof twilioClient>;
  readonly from: string;
  readonly to: string;

  constructor(t: TestEnv, from: string, to = '+861012345') {
    this.#t = t;
    this.#client = twilioClient(t);
    this.from = from;
    this.to = to;
  }

  get base() {
    return { CallSid: this.callSid, AccountSid: this.#t.config.TWILIO_ACCOUNT_SID, From: this.from, Caller: this.from, To: this.to, Called: this.to, Direction: 'inbound', ApiVersion: '2010-04-01' };
  }

  async #request(url: string, extra: Record<string, string>) {
    const res = await this.#client.post(url, { ...this.base, ...extra });
    if (res.status !== 200 || !res.doc) throw new Error(`Twilio step ${url} answered ${res.status}: ${res.text.slice(0, 300)}`);
    this.doc = res.doc;
    this.responses.push(res.doc);
    this.heard.push(...findAll(res.doc, 'Say').map((s) => s.text));
    return res.doc;
  }

  async dial() {
    return this.#request(`${this.#client.base}/twilio/voice`, { CallStatus: 'ringing' });
  }

  gather(): Node {
    const g = this.doc && findAll(this.doc, 'Gather')[0];
    if (!g) throw new Error(`no <Gather> in the last response: ${JSON.stringify(this.doc)}`);
    return g;
  }

  /** Presses keys (or says something) into the current <Gather>; nothing pressed = the empty result. */
  async press(digits: string, speech?: string) {
    const g = this.gather();
    return this.#request(g.attrs.action!, { CallStatus: 'in-progress', ...(digits ? { Digits: digits } : {}), ...(speech ? { SpeechResult: speech, Confidence: '0.9' } : {}) });
  }

  /** Follows a <Redirect> in the last response. */
  async redirect() {
    const r = this.doc && findAll(this.doc, 'Redirect')[0];
    if (!r) throw new Error('no <Redirect>');
    return this.#request(r.text.trim(), { CallStatus: 'in-progress' });
  }

  /** The <Dial> ends with this status; Twilio then requests its action. */
  async dialEnds(status: 'completed' | 'no-answer' | 'busy' | 'failed') {
    const d = this.doc && findAll(this.doc, 'Dial')[0];
    if (!d) throw new Error('no <Dial>');
    return this.#request(d.attrs.action!, { CallStatus: 'in-progress', DialCallStatus: status, DialCallSid: sid('CA') });
  }

  /**
   * Speaks into the current <Record>: the audio is put on the fake server, then Twilio's two
   * callbacks are delivered (`order` picks which comes first). Returns the RecordingSid.
   */
  async record(fake: FakeTwilio, audio: Buffer, order: 'action-first' | 'status-first' = 'action-first') {
    const r = this.doc && findAll(this.doc, 'Record')[0];
    if (!r) throw new Error('no <Record>');
    const recordingSid = sid('RE');
    fake.recordings.set(recordingSid, audio);
    const fields = { RecordingSid: recordingSid, RecordingUrl: fake.recordingUrl(recordingSid), RecordingDuration: '17' };
    const status = async () => {
      const res = await this.#client.post(r.attrs.recordingStatusCallback!, {
        AccountSid: this.#t.config.TWILIO_ACCOUNT_SID,
        CallSid: this.callSid,
        ...fields,
        RecordingStatus: 'completed',
        RecordingChannels: '1',
        RecordingSource: 'RecordVerb',
      });
      if (res.status !== 204) throw new Error(`recording status callback answered ${res.status}`);
    };
    if (order === 'status-first') await status();
    await this.#request(r.attrs.action!, { CallStatus: 'in-progress', ...fields, Digits: '#' });
    if (order === 'action-first') await status();
    return { recordingSid, statusCallback: status };
  }

  /** The call status callback Twilio sends when the call ends. */
  async hangup(status: 'completed' | 'busy' | 'no-answer' | 'failed' | 'canceled' = 'completed') {
    const res = await this.#client.post(`${this.#client.base}/twilio/status`, { ...this.base, CallStatus: status, CallDuration: '42' });
    if (res.status !== 204) throw new Error(`status callback answered ${res.status}`);
  }

  /** Digits heard in the <Say> that contains `marker` (e.g. the tracking code read out). */
  digitsHeard(marker: string): string[] {
    return this.heard.filter((s) => s.includes(marker)).map((s) => s.replace(/\D/g, ''));
  }
}

export const twilioEnv = (fake: { url: string } | null, extra: Record<string, string> = {}) => ({
  TWILIO_ACCOUNT_SID: ACCOUNT_SID,
  TWILIO_AUTH_TOKEN: AUTH_TOKEN,
  PUBLIC_BASE_URL: 'https://hotline.example.gov.cn',
  ...(fake ? { TWILIO_API_BASE: fake.url } : {}),
  CHECKPOINT_INTERVAL_MS: '3600000',
  DEADLINE_SYNC_MS: '100000',
  DEADLINE_RECONCILE_MS: '3600000',
  SESSION_TTL_HOURS: '100000',
  STAFF_IDLE_MINUTES: '10000000',
  // Tests run the sweep themselves, at the TestClock's time.
  HOTLINE_SWEEP_MS: '3600000',
  ...extra,
});

export const ACCOUNT_SID = `AC${'0123456789abcdef'.repeat(2)}`;
export const AUTH_TOKEN = 'test-auth-token-5f1c0e7d';

export { until } from '../helpers.ts';
