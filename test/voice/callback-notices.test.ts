import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../../src/roots/worker.ts';
import { createTestApp, REDIS_URL, seedTree, type TestEnv } from '../helpers.ts';
import { type FakeTwilio, startFakeTwilio } from './fake-twilio.ts';
import { ACCOUNT_SID, AUTH_TOKEN, SimCall, twilioEnv, until } from './twilio-sim.ts';

let t: TestEnv;
let fake: FakeTwilio;
let stopWorkers: () => Promise<void>;
let redis: Redis;
const tokens: Record<string, string> = {};
const HOTLINE = '+861012345';

// Monday 2 March 2026 in Shanghai (UTC+8), office hours 09:00–17:00 (default policy:
// call-back due in one working hour, reminder 15 minutes before, escalation every 2 hours).
const at = (local: string) => new Date(`${local}+08:00`);

type Notice = { kind: string; callbackId: string | null; clueId: string | null; zh: string; en: string };
const notices = async (who: string): Promise<Notice[]> => (await t.call('GET', '/api/v1/staff/notices', { token: tokens[who] })).json.items;
const sweep = async () => ({ recordings: await t.deps.hotline.calls.settleMissingRecordings(), notices: await t.deps.hotline.callbacks.sendDueNotices() });
type CallbackRow = { id: string; state: string; reason: string; number_box: Buffer | null; reminders_sent: number; overdue_notified_at: Date | null; escalation_level: number; next_notice_at: Date | null };
const callback = async (id: string) => (await t.db.query<CallbackRow>('select * from callback where id = $1', [id]))[0]!;

beforeAll(async () => {
  fake = await startFakeTwilio(ACCOUNT_SID, AUTH_TOKEN);
  // The hotline unit is a street office here (HOTLINE_UNIT_CODE), so that escalation has a level to climb.
  t = await createTestApp(twilioEnv(fake, { SMS_CALLBACK_NOTICE: 'false', HOTLINE_UNIT_CODE: 'a' }));
  t.clock.set(at('2026-03-02T10:20:00'));
  const tree = await seedTree(t);
  tokens.op = (await t.staffMember('op', 'operator', tree.streetA.id)).token;
  tokens.supA = (await t.staffMember('supA', 'supervisor', tree.streetA.id)).token;
  tokens.supD = (await t.staffMember('supD', 'supervisor', tree.district.id)).token;
  tokens.cw = (await t.staffMember('cwA', 'caseworker', tree.streetA.id)).token;
  stopWorkers = await startWorkers(t.deps);
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await stopWorkers?.();
  redis?.disconnect();
  await t?.close();
  await fake?.close();
});

describe('call-back reminders and escalation', () => {
  let cbId: string;

  it('a job scheduler runs the hotline sweep', async () => {
    const scheduler = await t.deps.queues.get('hotline').getJobScheduler('hotline-sweep');
    expect(scheduler).toMatchObject({ name: 'hotline.sweep', every: 3_600_000 });
  });

  it('reminds the operators’ unit before due, tells its supervisors when overdue, escalates one level up; each once', async () => {
    const call = new SimCall(t, '+8613811112001', HOTLINE);
    await call.dial();
    await call.hangup('completed');
    const [row] = await t.db.query<CallbackRow & { due_at: Date }>('select * from callback');
    cbId = row!.id;
    expect(row!.due_at.toISOString()).toBe(at('2026-03-02T11:20:00').toISOString());
    expect(row!.next_notice_at!.toISOString()).toBe(at('2026-03-02T11:05:00').toISOString());

    expect((await sweep()).notices.notices).toBe(0);
    expect(await notices('op')).toEqual([]);

    t.clock.set(at('2026-03-02T11:06:00'));
    expect((await sweep()).notices.notices).toBe(1);
    expect((await sweep()).notices.notices).toBe(0); // a second run says nothing again
    const reminded = await notices('op');
    expect(reminded).toHaveLength(1);
    expect(reminded[0]).toMatchObject({ kind: 'reminder', callbackId: cbId, clueId: null });
    expect(reminded[0]!.zh).toMatch(/^提醒：回电任务将于 .*11:20 到期（来电未获接听即挂断）$/);
    expect(reminded[0]!.en).toBe(`Reminder: a call-back is due ${at('2026-03-02T11:20:00').toISOString()} (hung up unanswered)`);
    // Notices name no number.
    expect(JSON.stringify(reminded)).not.toContain('13811112001');
    expect(await notices('supA')).toEqual([]);
    expect(await notices('cw')).toEqual([]);
    expect(await callback(cbId)).toMatchObject({ reminders_sent: 1, overdue_notified_at: null, escalation_level: 0 });

    t.clock.set(at('2026-03-02T11:21:00'));
    expect((await sweep()).notices.notices).toBe(1);
    const overdue = await notices('supA');
    expect(overdue).toHaveLength(1);
    expect(overdue[0]).toMatchObject({ kind: 'missed', callbackId: cbId });
    expect(overdue[0]!.zh).toContain('超期：回电任务已于');
    expect(await notices('supD')).toEqual([]);
    expect((await callback(cbId)).next_notice_at!.toISOString()).toBe(at('2026-03-02T13:20:00').toISOString());

    t.clock.set(at('2026-03-02T13:21:00'));
    expect((await sweep()).notices.notices).toBe(1);
    const escalated = await notices('supD');
    expect(escalated).toHaveLength(1);
    expect(escalated[0]).toMatchObject({ kind: 'escalated', callbackId: cbId });
    expect(escalated[0]!.zh).toMatch(/^督办：回电任务超期未办/);
    // The district is the root: nothing more to climb.
    expect(await callback(cbId)).toMatchObject({ escalation_level: 1, next_notice_at: null });

    t.clock.set(at('2026-03-03T13:21:00'));
    expect((await sweep()).notices.notices).toBe(0);
    expect(await t.db.query('select id from staff_notice where callback_id = $1', [cbId])).toHaveLength(3);
  });

  it('after a Redis flush the scheduler comes back with the workers and its runs repeat nothing', async () => {
    const keys = await redis.keys(`${t.deps.queues.prefix}:*`);
    if (keys.length) await redis.del(...keys);
    await stopWorkers();
    stopWorkers = await startWorkers(t.deps);
    expect(await t.deps.queues.get('hotline').getJobScheduler('hotline-sweep')).toMatchObject({ name: 'hotline.sweep' });
    // A run through the queue (as the scheduler makes them), then one more by hand.
    const job = await t.deps.queues.get('hotline').add('hotline.sweep', {}, { jobId: 'sweep-after-flush' });
    const done = await until(async () => (await job.getState()) as string, (s) => s === 'completed' || s === 'failed');
    expect(done).toBe('completed');
    await sweep();
    expect(await t.db.query('select id from staff_notice where callback_id = $1', [cbId])).toHaveLength(3);
  });

  it('a call-back done before it falls due, or withdrawn, says nothing more', async () => {
    t.clock.set(at('2026-03-04T10:00:00'));
    const call = new SimCall(t, '+8613811112002', HOTLINE);
    await call.dial();
    await call.hangup('no-answer');
    const [row] = await t.db.query<{ id: string }>(`select id from callback order by created_at desc limit 1`);
    expect(row!.id).not.toBe(cbId);
    const done = await t.call('POST', `/api/v1/staff/callbacks/${row!.id}/done`, { token: tokens.op, body: { result: 'reached' } });
    expect(done.status).toBe(200);
    expect((await callback(row!.id)).next_notice_at).toBeNull();
    t.clock.set(at('2026-03-04T18:00:00'));
    await sweep();
    expect(await t.db.query('select id from staff_notice where callback_id = $1', [row!.id])).toHaveLength(0);
  });
});

describe('a recording that never comes', () => {
  /** Dial → report → identity → category (none) → street (none) → <Record>, then hang up without any recording callback. */
  async function hangUpAtRecord(from: string, identity: '1' | '2') {
    const call = new SimCall(t, from, HOTLINE);
    await call.dial();
    await call.press('1');
    await call.press(identity);
    await call.press('');
    await call.press('');
    expect(call.doc!.children.some((c) => c.name === 'Record')).toBe(true);
    await call.hangup('completed');
    const [row] = await t.db.query<{ id: string; outcome: string; caller_box: Buffer | null; callback_id: string | null }>(
      `select id, outcome, caller_box, callback_id from "call" where ended_at = $1 order by created_at desc limit 1`,
      [t.clock.now()],
    );
    return { call, row: row! };
  }

  it('a named caller gets a call-back once RECORDING_WAIT_MINUTES have passed without a recording callback', async () => {
    t.clock.set(at('2026-03-05T10:00:00'));
    const from = '+8613811113001';
    const { row } = await hangUpAtRecord(from, '1');
    // The recording may still come: no call-back yet, the number sealed on the call waits.
    expect(row).toMatchObject({ outcome: 'report', callback_id: null });
    expect(row.caller_box).not.toBeNull();

    t.clock.set(at('2026-03-05T10:09:00'));
    expect((await sweep()).recordings.settled).toBe(0);
    t.clock.set(at('2026-03-05T10:10:30'));
    expect((await sweep()).recordings.settled).toBe(1);
    expect((await sweep()).recordings.settled).toBe(0);

    const [after] = await t.db.query<{ outcome: string; caller_box: Buffer | null; callback_id: string }>('select outcome, caller_box, callback_id from "call" where id = $1', [row.id]);
    expect(after).toMatchObject({ outcome: 'abandoned', caller_box: null });
    const cb = await callback(after!.callback_id);
    expect(cb).toMatchObject({ state: 'open', reason: 'abandoned' });
    const number = await t.call('POST', `/api/v1/staff/callbacks/${cb.id}/number`, { token: tokens.op });
    expect(number.json.number).toBe(from);
    expect(await t.db.query(`select id from callback where call_id = $1`, [row.id])).toHaveLength(1);
  });

  it('a recording that comes after all, later still, registers the named report with the number and withdraws the call-back', async () => {
    t.clock.set(at('2026-03-05T14:00:00'));
    const from = '+8613811113002';
    const { call, row } = await hangUpAtRecord(from, '1');
    t.clock.set(at('2026-03-05T14:30:00'));
    await sweep();
    const [owed] = await t.db.query<{ callback_id: string }>('select callback_id from "call" where id = $1', [row.id]);
    expect((await callback(owed!.callback_id)).state).toBe('open');

    await call.record(fake, Buffer.from('ID3 late audio'), 'status-first');
    const [linked] = await t.db.query<{ outcome: string; clue_id: string; callback_id: string | null }>('select outcome, clue_id, callback_id from "call" where id = $1', [row.id]);
    expect(linked).toMatchObject({ outcome: 'report', callback_id: null });
    expect(await callback(owed!.callback_id)).toMatchObject({ state: 'cancelled', number_box: null, next_notice_at: null });
    const [clue] = await t.db.query<{ named: boolean }>('select named from clue where id = $1', [linked!.clue_id]);
    expect(clue!.named).toBe(true);
    const reveal = await t.call('POST', `/api/v1/staff/clues/${linked!.clue_id}/reporter/reveal`, { token: tokens.supD, body: { purpose: '联系实名举报人核实情况' } });
    expect(reveal.status).toBe(200);
    expect(reveal.json.phone).toBe(from);
  });

  it('an anonymous caller in the same spot gets no call-back, and their number is stored nowhere', async () => {
    t.clock.set(at('2026-03-06T10:00:00'));
    const from = '+8613899997777';
    const { row } = await hangUpAtRecord(from, '2');
    expect(row.caller_box).toBeNull();
    const before = (await t.db.query('select id from callback')).length;
    t.clock.set(at('2026-03-06T11:00:00'));
    expect((await sweep()).recordings.settled).toBe(1);
    const [after] = await t.db.query<{ outcome: string; callback_id: string | null }>('select outcome, callback_id from "call" where id = $1', [row.id]);
    expect(after).toEqual({ outcome: 'abandoned', callback_id: null });
    expect(await t.db.query('select id from callback')).toHaveLength(before);
    const tables = await t.db.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`);
    for (const { table_name } of tables) {
      const rows = await t.db.query<{ r: string }>(`select t::text as r from "${table_name}" t`);
      expect(rows.filter((r) => r.r.includes(from.slice(3))), table_name).toEqual([]);
    }
    expect(t.logs.text()).not.toContain(from.slice(3));
  });
});
