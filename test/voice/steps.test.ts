import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seal } from '../../src/app/seal.ts';
import { createTestApp, seedTree, type TestEnv } from '../helpers.ts';
import { ACCOUNT_SID, findAll, SimCall, sid, twilioClient, twilioEnv } from './twilio-sim.ts';

// Steps as single statements: each must work for a call we have never heard of (its incoming
// webhook failed or is still in flight) and keep the privacy rules of the call row.
let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
const HOTLINE = '+861012345';
const BASE = 'https://hotline.example.gov.cn/twilio/voice';

beforeAll(async () => {
  t = await createTestApp(twilioEnv(null));
  t.clock.set('2026-03-02T02:20:00Z');
  tree = await seedTree(t);
});
afterAll(async () => {
  await t?.close();
});

type CallRow = { id: string; sid_hash: string; started_at: Date; withheld: boolean; chose_anonymous: boolean; caller_box: Buffer | null; ivr: Record<string, unknown>; clue_id: string | null; hotline_number: string };
const sidHashOf = (callSid: string) => createHmac('sha256', t.deps.keys.secretHmacKey).update(`twilio-call:${callSid}`).digest('hex');
const callRow = async (callSid: string) => (await t.db.query<CallRow>('select * from "call" where sid_hash = $1', [sidHashOf(callSid)]))[0];
const spokenCode = (text: string) => text.match(/查询码：([\d ，]+)/)?.[1]?.replace(/\D/g, '');

/** A step posted for a call, as Twilio would after a <Gather>. */
function post(call: SimCall, path: string, extra: Record<string, string>) {
  return twilioClient(t).post(`${BASE}/${path}`, { ...call.base, CallStatus: 'in-progress', ...extra });
}

describe('a step for a call whose row does not exist yet', () => {
  it('the identity choice creates the row (named: the caller ID sealed to it), the next steps fill it, and the recording registers the named report', async () => {
    const caller = '+8613633334444';
    const call = new SimCall(t, caller, HOTLINE);
    // No POST /twilio/voice: the first we hear of the call is the identity choice.
    const identity = await post(call, 'report/identity?n=1', { Digits: '1' });
    expect(identity.status).toBe(200);
    expect(findAll(identity.doc!, 'Gather')[0]!.attrs.action).toBe(`${BASE}/report/category`);
    const row = await callRow(call.callSid);
    expect(row).toMatchObject({ chose_anonymous: false, withheld: false, clue_id: null, hotline_number: HOTLINE, ivr: { named: true } });
    expect(row!.started_at.toISOString()).toBe('2026-03-02T02:20:00.000Z');
    expect(row!.caller_box).not.toBeNull();
    expect(row!.caller_box!.toString('latin1')).not.toContain(caller.slice(1));

    expect((await post(call, 'report/category', { Digits: '5' })).status).toBe(200);
    const unit = await post(call, 'report/unit', { Digits: '2' });
    expect(findAll(unit.doc!, 'Record')).toHaveLength(1);
    expect((await callRow(call.callSid))!.ivr).toEqual({ named: true, category: 'embezzlement', unitId: tree.streetB.id, recordingIssued: true, recordingAbsent: false });

    const rec = sid('RE');
    const recorded = await post(call, 'report/recorded', { RecordingSid: rec, RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/${rec}`, Digits: '#' });
    const [clue] = await t.db.query<{ id: string; tracking_code: string; named: boolean; categories: string[]; unit_id: string }>('select id, tracking_code, named, categories, unit_id from clue where id = $1', [(await callRow(call.callSid))!.clue_id]);
    expect(clue).toMatchObject({ named: true, categories: ['embezzlement'], unit_id: tree.streetB.id });
    expect(spokenCode(recorded.text)).toBe(clue!.tracking_code);
    expect((await callRow(call.callSid))!.caller_box).toBeNull();
    const { token } = await t.staffMember('op', 'operator', tree.district.id);
    const reveal = await t.call('POST', `/api/v1/staff/clues/${clue!.id}/reporter/reveal`, { token, body: { purpose: '核实举报内容，需要联系举报人' } });
    expect(reveal.json.phone).toBe(caller);
  });

  it('a recording callback for a call never heard of registers an anonymous report and creates the linked row', async () => {
    const call = new SimCall(t, '+8613633335555', HOTLINE);
    const rec = sid('RE');
    const res = await twilioClient(t).post(`${BASE}/recording`, { AccountSid: ACCOUNT_SID, CallSid: call.callSid, RecordingSid: rec, RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/${rec}`, RecordingStatus: 'completed' });
    expect(res.status).toBe(204);
    const row = await callRow(call.callSid);
    expect(row!.clue_id).not.toBeNull();
    const [clue] = await t.db.query<{ named: boolean; channel: string }>('select named, channel from clue where id = $1', [row!.clue_id]);
    expect(clue).toMatchObject({ named: false, channel: 'phone' });
    await t.deps.relay.dispatchPending();
    const jobs = await t.deps.queues.get('hotline').getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(jobs.filter((j) => j.id === `rec-${row!.id}`)).toHaveLength(1);
  });

  it('choosing anonymity erases a sealed caller ID; a withheld number is never sealed; a repeated step changes nothing else', async () => {
    const call = new SimCall(t, '+8613633336666', HOTLINE);
    await call.dial();
    await post(call, 'report/identity?n=1', { Digits: '1' });
    expect((await callRow(call.callSid))!.caller_box).not.toBeNull();
    await post(call, 'report/identity?n=1', { Digits: '2' });
    const anonymous = await callRow(call.callSid);
    expect(anonymous).toMatchObject({ chose_anonymous: true, caller_box: null, ivr: { named: false } });
    await post(call, 'report/category', { Digits: '1' });
    await post(call, 'report/category', { Digits: '1' });
    expect((await callRow(call.callSid))).toMatchObject({ chose_anonymous: true, caller_box: null, ivr: { named: false, category: 'favor_enrolment' } });

    const hidden = new SimCall(t, 'anonymous', HOTLINE);
    const said = await post(hidden, 'report/identity?n=1', { Digits: '1' });
    expect(said.text).toContain('您的号码没有显示');
    expect(await callRow(hidden.callSid)).toMatchObject({ withheld: true, chose_anonymous: false, caller_box: null, ivr: { named: true } });
  });

  it('steps of one call arriving at once (a retry racing the next step) are all answered and all recorded', async () => {
    const call = new SimCall(t, '+8613633338888', HOTLINE);
    const answers = await Promise.all([
      twilioClient(t).post(BASE, { ...call.base, CallStatus: 'ringing' }),
      post(call, 'report/identity?n=1', { Digits: '2' }),
      post(call, 'report/identity?n=1', { Digits: '2' }),
      post(call, 'report/category', { Digits: '6' }),
      post(call, 'report/category', { Digits: '6' }),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await t.db.query('select id from "call" where sid_hash = $1', [sidHashOf(call.callSid)])).toHaveLength(1);
    expect(await callRow(call.callSid)).toMatchObject({ chose_anonymous: true, caller_box: null, ivr: { named: false, category: 'extortion' } });
  });

  it('a caller ID sealed before the box was bound to the CallSid hash (bound to the row id) still opens', async () => {
    const caller = '+8613633337777';
    const call = new SimCall(t, caller, HOTLINE);
    await call.dial();
    await post(call, 'report/identity?n=1', { Digits: '1' });
    await post(call, 'report/category', { Digits: '1' });
    await post(call, 'report/unit', { Digits: '1' });
    const row = await callRow(call.callSid);
    await t.db.query('update "call" set caller_box = $1 where id = $2', [seal(t.deps.keys.reporterKey, caller, `call:${row!.id}`), row!.id]);
    const rec = sid('RE');
    await post(call, 'report/recorded', { RecordingSid: rec, RecordingUrl: `https://api.twilio.com/2010-04-01/Accounts/${ACCOUNT_SID}/Recordings/${rec}`, Digits: '#' });
    const { clue_id } = (await callRow(call.callSid))!;
    const { token } = await t.staffMember('op2', 'operator', tree.district.id);
    const reveal = await t.call('POST', `/api/v1/staff/clues/${clue_id}/reporter/reveal`, { token, body: { purpose: '核实举报内容，需要联系举报人' } });
    expect(reveal.json.phone).toBe(caller);
  });
});
