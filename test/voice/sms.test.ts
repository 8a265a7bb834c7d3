import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../../src/roots/worker.ts';
import { createTwilioRestClient, rewriteApiUrl, type TwilioHttpClient } from '../../src/modules/intake-voice/twilio.client.ts';
import { createTestApp, seedTree, type TestEnv } from '../helpers.ts';
import { type FakeTwilio, startFakeTwilio } from './fake-twilio.ts';
import { ACCOUNT_SID, AUTH_TOKEN, sid, twilioClient, twilioEnv, until } from './twilio-sim.ts';

let t: TestEnv;
let fake: FakeTwilio;
let stopWorkers: () => Promise<void>;
let opToken: string;
const HOTLINE = '+861012345';

beforeAll(async () => {
  fake = await startFakeTwilio(ACCOUNT_SID, AUTH_TOKEN);
  t = await createTestApp(twilioEnv(fake));
  const tree = await seedTree(t);
  opToken = (await t.staffMember('op', 'operator', tree.district.id)).token;
  stopWorkers = await startWorkers(t.deps);
});
afterAll(async () => {
  await stopWorkers?.();
  await t?.close();
  await fake?.close();
});

const sms = (from: string, body: string, messageSid = sid('SM')) =>
  twilioClient(t).post('https://hotline.example.gov.cn/twilio/sms', { MessageSid: messageSid, SmsSid: messageSid, AccountSid: ACCOUNT_SID, From: from, To: HOTLINE, Body: body, NumMedia: '0' });

describe('SMS channel', () => {
  it('registers a text as a clue (channel sms) once per MessageSid, and sends the tracking code and PIN back through the REST API from a job', async () => {
    const from = '+8613600001234';
    const messageSid = sid('SM');
    const text = '长风一村村委会主任把低保名额给了他的亲戚，亲戚家有车有房。';
    const first = await sms(from, text, messageSid);
    expect(first.status).toBe(200);
    expect(first.text).toContain('<Response/>');
    const again = await sms(from, text, messageSid);
    expect(again.status).toBe(200);

    const clues = await t.db.query<{ id: string; channel: string; narrative: string; named: boolean; tracking_code: string; secret_kind: string }>('select * from clue');
    expect(clues).toHaveLength(1);
    expect(clues[0]).toMatchObject({ channel: 'sms', narrative: text, named: false, secret_kind: 'pin' });

    const sent = await until(async () => fake.messages.filter((m) => m.To === from), (m) => m.length >= 1);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.From).toBe(HOTLINE);
    const body = sent[0]!.Body!;
    const code = clues[0]!.tracking_code;
    expect(body.replace(/\s/g, '')).toContain(code);
    const pin = /密码：(\d{6})/.exec(body)?.[1];
    expect(pin).toMatch(/^\d{6}$/);
    expect(fake.requests.filter((r) => r.path.endsWith('/Messages.json')).every((r) => r.authorized)).toBe(true);
    // The code and PIN open the report.
    const view = await t.call('GET', `/api/v1/reports/${code}`, { headers: { 'x-report-secret': pin! } });
    expect(view.status).toBe(200);
    expect(view.json.status).toBe('registered');

    // Sent: the sealed number and text are gone; the ledger says the reporter was told.
    const out = await until(
      () => t.db.query<{ status: string; to_box: Buffer | null; body_box: Buffer | null }>(`select status, to_box, body_box from sms_message where direction = 'out'`),
      (r) => r[0]?.status === 'sent',
    );
    expect(out).toEqual([{ status: 'sent', to_box: null, body_box: null }]);
    const notified = await t.db.query<{ data: { channel: string } }>(`select data from ledger_event where clue_id = $1 and type = 'reporter.notified'`, [clues[0]!.id]);
    expect(notified.map((e) => e.data.channel)).toEqual(['sms']);
    // The job payloads hold ids, not numbers.
    const jobs = await t.deps.queues.get('hotline').getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(jobs.filter((j) => j.name === 'sms.send').map((j) => Object.keys(j.data as object))).toEqual([['smsId']]);
    expect(JSON.stringify(jobs.map((j) => j.data))).not.toContain(from.slice(3));
    const tables = await t.db.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`);
    for (const { table_name } of tables) {
      const rows = await t.db.query<{ r: string }>(`select t::text as r from "${table_name}" t`);
      expect(rows.filter((r) => r.r.includes(from.slice(3))), table_name).toEqual([]);
    }
    expect(t.logs.text()).not.toContain(from.slice(3));
  });

  it('a text beginning with 实名 is a named report: the number is in the sealed reporter record only', async () => {
    const from = '+8613600005678';
    await sms(from, '实名举报：曹杨一村有人冒领去世老人的低保金，我叫张三。');
    const [clue] = await t.db.query<{ id: string; named: boolean }>(`select id, named from clue where named`);
    expect(clue!.named).toBe(true);
    const reveal = await t.call('POST', `/api/v1/staff/clues/${clue!.id}/reporter/reveal`, { token: opToken, body: { purpose: '联系实名举报人核实情况' } });
    expect(reveal.json.phone).toBe(from);
    const sent = await until(async () => fake.messages.filter((m) => m.To === from), (m) => m.length >= 1);
    expect(sent).toHaveLength(1);
    const [out] = await t.db.query<{ to_box: Buffer | null }>(`select to_box from sms_message where clue_id = $1 and direction = 'out'`, [clue!.id]);
    expect(out!.to_box).toBeNull();
  });

  it('a text too short to be a report gets the help text as TwiML and stores nothing', async () => {
    const before = await t.db.query('select id from sms_message');
    const res = await sms('+8613600009999', '你好');
    expect(res.status).toBe(200);
    expect(res.text).toContain('<Message>');
    expect(res.text).toContain('实名');
    expect(await t.db.query('select id from sms_message')).toHaveLength(before.length);
  });
});

describe('twilio REST client', () => {
  it('takes a custom httpClient (twilio’s RequestClient interface)', async () => {
    const seen: { method: string; uri: string; data: unknown; username?: string }[] = [];
    const httpClient: TwilioHttpClient = {
      async request(opts) {
        seen.push({ method: opts.method, uri: opts.uri, data: opts.data, username: opts.username });
        return { statusCode: 201, body: JSON.stringify({ sid: 'SM1', status: 'queued' }), headers: {} };
      },
    };
    const client = createTwilioRestClient({ TWILIO_ACCOUNT_SID: ACCOUNT_SID, TWILIO_AUTH_TOKEN: AUTH_TOKEN, TWILIO_API_BASE: undefined }, httpClient);
    const msg = await client.messages.create({ to: '+8613000000000', from: HOTLINE, body: '测试' });
    expect(msg.sid).toBe('SM1');
    expect(seen).toEqual([{ method: 'post', uri: `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Messages.json`, data: { To: '+8613000000000', From: HOTLINE, Body: '测试' }, username: ACCOUNT_SID }]);
  });

  it('rewrites https://api.twilio.com to TWILIO_API_BASE and nothing else', () => {
    expect(rewriteApiUrl('https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json', 'http://127.0.0.1:9/')).toBe('http://127.0.0.1:9/2010-04-01/Accounts/AC1/Messages.json');
    expect(rewriteApiUrl('https://api.twilio.com.evil.example/x', 'http://127.0.0.1:9')).toBe('https://api.twilio.com.evil.example/x');
    expect(rewriteApiUrl('https://api.twilio.com/x', undefined)).toBe('https://api.twilio.com/x');
  });

  it('talks to the fake REST server through TWILIO_API_BASE, with the account credentials', async () => {
    const client = createTwilioRestClient(t.config);
    const before = fake.messages.length;
    await client.messages.create({ to: '+8613000000001', from: HOTLINE, body: 'hello' });
    expect(fake.messages.length).toBe(before + 1);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', authorized: true });
    const bad = createTwilioRestClient({ ...t.config, TWILIO_AUTH_TOKEN: 'wrong' });
    await expect(bad.messages.create({ to: '+8613000000001', from: HOTLINE, body: 'x' })).rejects.toMatchObject({ status: 401 });
  });
});
