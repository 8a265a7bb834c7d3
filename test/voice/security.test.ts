import { createHmac } from 'node:crypto';
import { Hono } from 'hono';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/app/logger.ts';
import { twilioSignature } from '../../src/modules/intake-voice/voice.signature.ts';
import { captureLogs, createTestApp, seedTree, type TestEnv } from '../helpers.ts';
import { type FakeTwilio, startFakeTwilio } from './fake-twilio.ts';
import { ACCOUNT_SID, AUTH_TOKEN, SimCall, sid, twilioClient, twilioEnv } from './twilio-sim.ts';

let t: TestEnv;
let fake: FakeTwilio;
const CALLER = '+8615800001111';

beforeAll(async () => {
  fake = await startFakeTwilio(ACCOUNT_SID, AUTH_TOKEN);
  t = await createTestApp(twilioEnv(fake));
  t.clock.set('2026-03-02T02:20:00Z');
  await seedTree(t);
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

// Ledger events of the test's own set-up (units and accounts, on the system audit chain) aside.
const count = async (table: string) =>
  (await t.db.query<{ n: number }>(`select count(*)::int as n from "${table}"${table === 'ledger_event' ? ' where audit_id is null' : ''}`))[0]!.n;

describe('X-Twilio-Signature', () => {
  const url = 'https://hotline.example.gov.cn/twilio/voice';
  const params = () => ({ CallSid: sid('CA'), AccountSid: ACCOUNT_SID, From: CALLER, To: '+861012345', CallStatus: 'ringing' });

  it('refuses unsigned, wrongly signed, re-targeted and tampered requests with 403, writing nothing and logging no body', async () => {
    const client = twilioClient(t);
    const p = params();
    const unsigned = await client.post(url, p, { signature: null });
    expect(unsigned.status).toBe(403);
    const otherToken = await client.post(url, p, { authToken: 'not-the-token' });
    expect(otherToken.status).toBe(403);
    const garbage = await client.post(url, p, { signature: 'c2lnbmF0dXJl' });
    expect(garbage.status).toBe(403);
    // Signed for the incoming-call URL, sent to the status callback.
    const retargeted = await client.post('https://hotline.example.gov.cn/twilio/status', p, { signature: twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, p) });
    expect(retargeted.status).toBe(403);
    // Signed, then a field changed on the way.
    const tampered = await client.post(url, { ...p, From: '+8610000000000' }, { signature: twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, p) });
    expect(tampered.status).toBe(403);
    // A signature over a different query string.
    const menu = 'https://hotline.example.gov.cn/twilio/voice/menu?n=1';
    const query = await client.post('https://hotline.example.gov.cn/twilio/voice/menu?n=2', { ...p, Digits: '1' }, { signature: twilio.getExpectedTwilioSignature(AUTH_TOKEN, menu, { ...p, Digits: '1' }) });
    expect(query.status).toBe(403);

    const sms = await client.post('https://hotline.example.gov.cn/twilio/sms', { MessageSid: sid('SM'), From: CALLER, To: '+861012345', Body: '村干部把低保名额给了自己的亲戚，请调查。' }, { signature: null });
    expect(sms.status).toBe(403);
    const recording = await client.post(
      'https://hotline.example.gov.cn/twilio/voice/recording',
      { CallSid: p.CallSid, RecordingSid: sid('RE'), RecordingUrl: fake.recordingUrl(sid('RE')), RecordingStatus: 'completed' },
      { authToken: 'wrong' },
    );
    expect(recording.status).toBe(403);

    for (const table of ['call', 'clue', 'sms_message', 'callback', 'outbox_message', 'ledger_event']) expect(await count(table), table).toBe(0);
    const refused = t.logs.lines.filter((l) => l.includes('twilio request refused'));
    expect(refused.length).toBe(8);
    expect(refused.every((l) => !l.includes('CallSid') && !l.includes(CALLER.slice(1)) && !l.includes('低保'))).toBe(true);
    expect(t.logs.text()).not.toContain(CALLER.slice(1));

    const ok = await client.post(url, p);
    expect(ok.status).toBe(200);
    expect(await count('call')).toBe(1);
  });

  it('refuses everything when no auth token is configured', async () => {
    const logs = captureLogs();
    const app = new Hono();
    app.use('/twilio/*', twilioSignature({ TWILIO_AUTH_TOKEN: '', PUBLIC_BASE_URL: 'https://hotline.example.gov.cn' }, createLogger('info', logs.stream)));
    app.post('/twilio/voice', (c) => c.text('reached'));
    const p = params();
    const res = await app.request('/twilio/voice', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature('', url, p) },
      body: new URLSearchParams(p).toString(),
    });
    expect(res.status).toBe(403);
    expect(logs.text()).toContain('TWILIO_AUTH_TOKEN is not configured');
  });
});

describe('idempotent webhooks', () => {
  it('registers one clue however often and in whatever order the recording callbacks come', async () => {
    const before = await count('clue');
    const call = new SimCall(t, CALLER);
    await call.dial();
    await call.press('1');
    await call.press('2'); // anonymous
    await call.press('');
    await call.press('');
    const { statusCallback } = await call.record(fake, Buffer.from('ID3 audio'), 'status-first');
    await Promise.all([statusCallback(), statusCallback()]);
    await call.hangup();
    await call.hangup();
    expect((await count('clue')) - before).toBe(1);
    const codes = call.digitsHeard('查询码');
    const [clue] = await t.db.query<{ tracking_code: string; named: boolean }>(`select tracking_code, named from clue order by created_at desc limit 1`);
    expect(codes[0]).toBe(clue!.tracking_code);
    expect(clue!.named).toBe(false);
    // One download job for the call (its outbox row stays, dispatched, until the download is done).
    await t.deps.relay.dispatchPending();
    expect(await t.db.query(`select dispatched_at is not null as dispatched from outbox_message where queue = 'hotline'`)).toEqual([{ dispatched: true }]);
    const jobs = await t.deps.queues.get('hotline').getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(jobs.filter((j) => j.name === 'recording.fetch')).toHaveLength(1);
  });

  it('a retry after a crash between the clue’s commit and the call’s finds the same clue (intake key)', async () => {
    const call = new SimCall(t, CALLER);
    await call.dial();
    await call.press('1');
    await call.press('2');
    await call.press('');
    await call.press('');
    // What the dead first attempt left behind: the clue, registered under the call's intake key, not linked.
    const sidHash = createHmac('sha256', t.deps.keys.secretHmacKey).update(`twilio-call:${call.callSid}`).digest('hex');
    const first = await t.deps.clues.registerClue('twilio', { channel: 'phone', categories: [], narrative: 'x', accused: [], secret: { kind: 'pin' }, intakeKey: `phone:${sidHash}` });
    const before = await count('clue');
    await call.record(fake, Buffer.from('ID3 retried'));
    expect(await count('clue')).toBe(before);
    expect(call.digitsHeard('查询码')[0]).toBe(first.trackingCode);
    const [row] = await t.db.query<{ clue_id: string }>('select clue_id from "call" where clue_id = $1', [first.clue.id]);
    expect(row).toBeDefined();
  });

  it('registers one clue when the <Record> action and the recording status callback race', async () => {
    const before = await count('clue');
    const call = new SimCall(t, CALLER);
    await call.dial();
    await call.press('1');
    await call.press('2');
    await call.press('');
    await call.press('');
    const record = call.doc!;
    const client = twilioClient(t);
    const rec = sid('RE');
    const fields = { AccountSid: ACCOUNT_SID, CallSid: call.callSid, RecordingSid: rec, RecordingUrl: fake.recordingUrl(rec), RecordingDuration: '5' };
    const recordNode = record.children.find((c) => c.name === 'Record')!;
    const results = await Promise.all([
      client.post(recordNode.attrs.action!, { ...call.base, ...fields, Digits: '#' }),
      client.post(recordNode.attrs.recordingStatusCallback!, { ...fields, RecordingStatus: 'completed' }),
      client.post(recordNode.attrs.action!, { ...call.base, ...fields, Digits: '#' }),
      client.post(recordNode.attrs.recordingStatusCallback!, { ...fields, RecordingStatus: 'completed' }),
    ]);
    expect(results.map((r) => r.status)).toEqual([200, 204, 200, 204]);
    expect((await count('clue')) - before).toBe(1);
    // Both answers read out the same code.
    const spoken = [results[0]!, results[2]!].map((r) => r.text.match(/查询码：([\d ，]+)/)?.[1]?.replace(/\D/g, ''));
    expect(spoken[0]).toMatch(/^\d{12}$/);
    expect(spoken[1]).toBe(spoken[0]);
  });
});
