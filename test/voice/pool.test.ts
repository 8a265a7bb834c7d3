import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../../src/app/db.ts';
import { createTestApp, onPglite, type TestEnv } from '../helpers.ts';
import { ACCOUNT_SID, findAll, SimCall, sid, twilioClient, twilioEnv } from './twilio-sim.ts';

// A small pool, so that "more webhooks than connections" is cheap to reach (bench/README "voice":
// the deadlock at 20+ concurrent recording callbacks, the same shape the SMS webhook had).
const POOL = 4;
let t: TestEnv;
const HOTLINE = '+861012345';

beforeAll(async () => {
  t = await createTestApp(twilioEnv(null, { DATABASE_POOL_MAX: String(POOL), DATABASE_ACQUIRE_TIMEOUT_MS: '1500' }));
});
afterAll(async () => {
  await t?.close();
});

const sms = (from: string, body: string, messageSid: string) =>
  twilioClient(t).post('https://hotline.example.gov.cn/twilio/sms', { MessageSid: messageSid, SmsSid: messageSid, AccountSid: ACCOUNT_SID, From: from, To: HOTLINE, Body: body, NumMedia: '0' });

/** Holds `n` pooled connections in open transactions until `release()`. */
async function holdConnections(n: number) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let entered = 0;
  const held = Array.from({ length: n }, () =>
    t.deps.orm.em.fork().transactional(async (tx) => {
      await sql(tx, 'select 1');
      entered++;
      await gate;
    }),
  );
  while (entered < n) await new Promise((r) => setTimeout(r, 10));
  return {
    release: async () => {
      release();
      await Promise.all(held);
    },
  };
}

describe('SMS webhooks beyond the pool size', () => {
  it(`${POOL * 6} concurrent webhooks (each MessageSid delivered twice) on a pool of ${POOL}: every one answered, one clue per MessageSid`, async () => {
    const sids = Array.from({ length: POOL * 3 }, () => sid('SM'));
    const started = Date.now();
    const answers = await Promise.all(
      [...sids, ...sids].map((s, i) => sms(`+86136${String(10_000_000 + (i % sids.length)).slice(-8)}`, `第${i % sids.length}号短信举报：某村干部优亲厚友，把低保名额给了亲戚。`, s)),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    // Nothing waited for the acquire timeout: no request was stuck behind a held connection.
    expect(Date.now() - started).toBeLessThan(10_000);

    const clues = await t.db.query<{ id: string; channel: string }>(`select id, channel from clue`);
    expect(clues).toHaveLength(sids.length);
    expect(clues.every((c) => c.channel === 'sms')).toBe(true);
    const inbound = await t.db.query<{ clue_id: string | null }>(`select clue_id from sms_message where direction = 'in'`);
    expect(inbound).toHaveLength(sids.length);
    expect(new Set(inbound.map((r) => r.clue_id)).size).toBe(sids.length);
    expect(inbound.every((r) => r.clue_id)).toBe(true);
    // One reply per message, for the clue it registered.
    const replies = await t.db.query<{ clue_id: string }>(`select clue_id from sms_message where direction = 'out' and purpose = 'report_ack'`);
    expect(replies.map((r) => r.clue_id).sort()).toEqual(inbound.map((r) => r.clue_id).sort());
    const keys = await t.db.query(`select key from intake_key where key like 'sms:%'`);
    expect(keys).toHaveLength(sids.length);
  });

  it('a delivery that died after registering (before its SMS row) is completed by the retry: same clue, a new PIN, one reply', async () => {
    const messageSid = sid('SM');
    const text = '短信举报：某街道低保审核人员收受好处费，请核查。';
    // The first attempt committed registerClue under the MessageSid's intake key, then crashed.
    const hash = createHmac('sha256', t.deps.keys.secretHmacKey).update(`twilio-sms:${messageSid}`).digest('hex');
    const { clue } = await t.deps.clues.registerClue('twilio', { channel: 'sms', categories: [], narrative: text, unitId: null, accused: [], reporter: null, secret: { kind: 'pin', pin: '000000' }, intakeKey: `sms:${hash}` });
    const retry = await sms('+8613612345678', text, messageSid);
    expect(retry.status).toBe(200);
    const [inbound] = await t.db.query<{ clue_id: string }>(`select clue_id from sms_message where sid_hash = $1`, [hash]);
    expect(inbound!.clue_id).toBe(clue.id);
    expect(await t.db.query(`select id from clue where narrative = $1`, [text])).toHaveLength(1);
    const pinSet = await t.db.query(`select seq from ledger_event where clue_id = $1 and type = 'reporter.pin_set'`, [clue.id]);
    expect(pinSet).toHaveLength(1);
    expect(await t.db.query(`select id from sms_message where direction = 'out' and clue_id = $1`, [clue.id])).toHaveLength(1);
    // A third delivery changes nothing.
    expect((await sms('+8613612345678', text, messageSid)).status).toBe(200);
    expect(await t.db.query(`select id from sms_message where direction = 'out' and clue_id = $1`, [clue.id])).toHaveLength(1);
    expect(await t.db.query(`select seq from ledger_event where clue_id = $1 and type = 'reporter.pin_set'`, [clue.id])).toHaveLength(1);
  });
});

const KEPT_TEXT = '短信举报：有人冒领去世老人的低保金，已经三年了。';

describe('pool exhaustion', () => {
  it('a request that cannot get a connection fails after DATABASE_ACQUIRE_TIMEOUT_MS with a coded 503, then the app recovers', async () => {
    // PGlite has one connection: holding it is the whole pool (the acquire timeout of src/app/pglite.ts).
    const hold = await holdConnections(onPglite ? 1 : POOL);
    try {
      const started = Date.now();
      const res = await sms('+8613687654321', KEPT_TEXT, sid('SM'));
      const waited = Date.now() - started;
      // Twilio would not deliver the text again after an error answer: it is kept on disk (sms.spool.ts).
      expect(res.status, res.text).toBe(200);
      expect(res.text).toContain('<Response');
      expect(waited).toBeGreaterThanOrEqual(1400);
      expect(waited).toBeLessThan(6000);
      const status = await twilioClient(t).post('https://hotline.example.gov.cn/twilio/status', { CallSid: sid('CA'), AccountSid: ACCOUNT_SID, From: '+8613600000000', To: HOTLINE, CallStatus: 'completed' });
      expect(status.status).toBe(503);
      const staff = await t.call('GET', '/api/v1/staff/callbacks', { token: 'x'.repeat(43) });
      expect(staff.status).toBe(503);
      expect(staff.json).toEqual({ error: { code: 'service.busy', message: expect.stringContaining('try again') } });
      expect(staff.text).not.toMatch(/timeout exceeded|pg|pool/i);
      expect(t.logs.text()).toContain('no database connection within DATABASE_ACQUIRE_TIMEOUT_MS');
    } finally {
      await hold.release();
    }
    expect(await t.db.query(`select id from clue where narrative = $1`, [KEPT_TEXT])).toHaveLength(0);
    expect(await t.deps.smsSpool.drain()).toBe(1);
    expect(await t.db.query(`select id from clue where narrative = $1`, [KEPT_TEXT])).toHaveLength(1);
    const again = await sms('+8613687654321', '短信举报：有人冒领去世老人的低保金，已经两年了。', sid('SM'));
    expect(again.status).toBe(200);
  });
});

describe('recording callbacks beyond the pool size', () => {
  const sidHashOf = (callSid: string) => createHmac('sha256', t.deps.keys.secretHmacKey).update(`twilio-call:${callSid}`).digest('hex');

  /** A call walked to the <Record> (no streets in this database: the category step hands out the <Record>). */
  async function toRecord(from: string, named: boolean) {
    const call = new SimCall(t, from, HOTLINE);
    await call.dial();
    await call.press('1');
    await call.press(named ? '1' : '2');
    await call.press('3');
    expect(findAll(call.doc!, 'Record')).toHaveLength(1);
    return call;
  }

  const recordingFields = (call: SimCall, rec: string) => ({ AccountSid: ACCOUNT_SID, CallSid: call.callSid, RecordingSid: rec, RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/${rec}`, RecordingDuration: '9' });
  const actionUrl = 'https://hotline.example.gov.cn/twilio/voice/report/recorded';
  const statusUrl = 'https://hotline.example.gov.cn/twilio/voice/recording';

  async function fetchJobs() {
    await t.deps.relay.dispatchPending();
    const jobs = await t.deps.queues.get('hotline').getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    return jobs.filter((j) => j.name === 'recording.fetch');
  }

  it(`${POOL * 3} calls, each recording delivered three times at once (action and status callback twice) on a pool of ${POOL}: every one answered, one clue, one link and one download per call`, async () => {
    const calls: SimCall[] = [];
    for (let i = 0; i < POOL * 3; i++) calls.push(await toRecord(`+86137${String(20_000_000 + i).slice(-8)}`, i % 2 === 1));
    const client = twilioClient(t);
    const started = Date.now();
    const answers = await Promise.all(
      calls.flatMap((call) => {
        const fields = recordingFields(call, sid('RE'));
        return [
          client.post(actionUrl, { ...call.base, ...fields, Digits: '#' }),
          client.post(statusUrl, { ...fields, RecordingStatus: 'completed' }),
          client.post(statusUrl, { ...fields, RecordingStatus: 'completed' }),
        ];
      }),
    );
    expect(answers.map((a) => a.status)).toEqual(calls.flatMap(() => [200, 204, 204]));
    expect(Date.now() - started).toBeLessThan(10_000);

    const rows = await t.db.query<{ sid_hash: string; clue_id: string | null; caller_box: Buffer | null; tracking_code: string; named: boolean; id: string }>(
      `select k.id, k.sid_hash, k.clue_id, k.caller_box, c.tracking_code, c.named from "call" k join clue c on c.id = k.clue_id where k.sid_hash = any($1)`,
      [calls.map((c) => sidHashOf(c.callSid))],
    );
    expect(rows).toHaveLength(calls.length);
    expect(new Set(rows.map((r) => r.clue_id)).size).toBe(calls.length);
    expect(rows.every((r) => r.caller_box === null)).toBe(true);
    expect(rows.filter((r) => r.named)).toHaveLength(calls.length / 2);
    // The action read out the code of the clue its call is linked to.
    for (const [i, call] of calls.entries()) {
      const spoken = answers[i * 3]!.text.match(/查询码：([\d ，]+)/)?.[1]?.replace(/\D/g, '');
      expect(spoken).toBe(rows.find((r) => r.sid_hash === sidHashOf(call.callSid))!.tracking_code);
    }
    const keys = await t.db.query(`select key from intake_key where key = any($1)`, [calls.map((c) => `phone:${sidHashOf(c.callSid)}`)]);
    expect(keys).toHaveLength(calls.length);
    const jobs = (await fetchJobs()).filter((j) => rows.some((r) => j.id === `rec-${r.id}`));
    expect(jobs).toHaveLength(calls.length);
  });

  it('a callback that died after registering (before linking the call) is completed by the retry: same clue, the number moves into it, one download', async () => {
    const caller = '+8613722223333';
    const call = await toRecord(caller, true);
    const hash = sidHashOf(call.callSid);
    const [before] = await t.db.query<{ caller_box: Buffer | null }>('select caller_box from "call" where sid_hash = $1', [hash]);
    expect(before!.caller_box).not.toBeNull();
    // What the dead first attempt left behind: the clue under the call's intake key, the call not linked.
    const first = await t.deps.clues.registerClue('twilio', { channel: 'phone', categories: [], narrative: 'x', accused: [], reporter: { name: '电话实名举报人', phone: caller }, secret: { kind: 'pin' }, intakeKey: `phone:${hash}` });
    const clues = async () => (await t.db.query<{ n: number }>('select count(*)::int as n from clue'))[0]!.n;
    const n = await clues();
    const fields = recordingFields(call, sid('RE'));
    const retry = await twilioClient(t).post(statusUrl, { ...fields, RecordingStatus: 'completed' });
    expect(retry.status).toBe(204);
    expect(await clues()).toBe(n);
    const [row] = await t.db.query<{ id: string; clue_id: string; caller_box: Buffer | null; recording_sid: string }>('select id, clue_id, caller_box, recording_sid from "call" where sid_hash = $1', [hash]);
    expect(row).toMatchObject({ clue_id: first.clue.id, caller_box: null, recording_sid: fields.RecordingSid });
    // The <Record> action comes after it: the same code, and nothing more is queued.
    const action = await twilioClient(t).post(actionUrl, { ...call.base, ...fields, Digits: '#' });
    expect(action.text.match(/查询码：([\d ，]+)/)?.[1]?.replace(/\D/g, '')).toBe(first.trackingCode);
    expect((await fetchJobs()).filter((j) => j.id === `rec-${row!.id}`)).toHaveLength(1);
    expect(await clues()).toBe(n);
  });
});
