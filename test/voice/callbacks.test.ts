import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../../src/roots/worker.ts';
import { createTestApp, REDIS_URL, seedTree, type TestEnv } from '../helpers.ts';
import { type FakeTwilio, startFakeTwilio } from './fake-twilio.ts';
import { ACCOUNT_SID, AUTH_TOKEN, findAll, SimCall, twilioEnv, until } from './twilio-sim.ts';

let t: TestEnv;
let fake: FakeTwilio;
let stopWorkers: () => Promise<void>;
let redis: Redis;
const tokens: Record<string, string> = {};

const HOTLINE = '+861012345';
const NUM1 = '+8613811110001';
const NUM2 = '+8613811110002';
const NUM3 = '+8613811110003';
const NUM4 = '+8613811110004';
const NUM5 = '+8613811110005';
const ANON = '+8613899998888';

// Monday 2 March 2026 in Shanghai (UTC+8), office hours 09:00–17:00 (default policy).
const at = (local: string) => new Date(`${local}+08:00`);

type CallbackRow = { id: string; call_id: string; due_at: Date; state: string; reason: string; calls: number; number_box: Buffer | null; created_at: Date };
const callbacks = () => t.db.query<CallbackRow>('select * from callback order by created_at');

beforeAll(async () => {
  fake = await startFakeTwilio(ACCOUNT_SID, AUTH_TOKEN);
  t = await createTestApp(twilioEnv(fake, { OPERATOR_NUMBERS: '+862100000001,+862100000002', DIAL_TIMEOUT_SECONDS: '25' }));
  t.clock.set(at('2026-03-02T10:20:00'));
  const tree = await seedTree(t);
  tokens.op = (await t.staffMember('op', 'operator', tree.district.id)).token;
  tokens.sup = (await t.staffMember('sup', 'supervisor', tree.district.id)).token;
  tokens.cw = (await t.staffMember('cw', 'caseworker', tree.streetA.id)).token;
  stopWorkers = await startWorkers(t.deps);
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await stopWorkers?.();
  redis?.disconnect();
  await t?.close();
  await fake?.close();
});

describe('never unanswered: call-backs', () => {
  let cb1: CallbackRow;

  it('an abandoned call creates one call-back due exactly one working hour later, and an SMS notice goes out from a job', async () => {
    const call = new SimCall(t, NUM1, HOTLINE);
    await call.dial();
    await call.hangup('completed');
    await call.hangup('completed'); // Twilio retried the callback
    const rows = await callbacks();
    expect(rows).toHaveLength(1);
    cb1 = rows[0]!;
    expect(cb1.due_at.toISOString()).toBe(at('2026-03-02T11:20:00').toISOString());
    expect(cb1).toMatchObject({ state: 'open', reason: 'abandoned', calls: 1 });
    expect(cb1.number_box).not.toBeNull();
    const [c] = await t.db.query<{ outcome: string; callback_id: string }>('select outcome, callback_id from "call"');
    expect(c).toMatchObject({ outcome: 'abandoned', callback_id: cb1.id });

    const sent = await until(async () => fake.messages.filter((m) => m.To === NUM1), (m) => m.length === 1);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ From: HOTLINE });
    expect(sent[0]!.Body).toContain('11:20');
    const [sms] = await until(
      () => t.db.query<{ status: string; to_box: Buffer | null; body_box: Buffer | null; callback_id: string }>(`select status, to_box, body_box, callback_id from sms_message`),
      (r) => r[0]?.status === 'sent',
    );
    expect(sms).toMatchObject({ status: 'sent', to_box: null, body_box: null, callback_id: cb1.id });
  });

  it('a second unanswered call from the same number joins the open call-back', async () => {
    t.clock.set(at('2026-03-02T10:25:00'));
    const call = new SimCall(t, NUM1, HOTLINE);
    await call.dial();
    await call.press('');
    await call.hangup('completed');
    const rows = await callbacks();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: cb1.id, calls: 2 });
  });

  it('operators see call-backs, open the number (recorded), see them overdue, and close them', async () => {
    t.clock.set(at('2026-03-02T10:30:00'));
    const list = await t.call('GET', '/api/v1/staff/callbacks', { token: tokens.op });
    expect(list.status).toBe(200);
    expect(list.json.items).toHaveLength(1);
    expect(list.json.items[0]).toMatchObject({ id: cb1.id, overdue: false, hasNumber: true, calls: 2, state: 'open' });
    expect(JSON.stringify(list.json)).not.toContain(NUM1.slice(1));
    expect((await t.call('GET', '/api/v1/staff/callbacks', { token: tokens.cw })).status).toBe(403);

    t.clock.set(at('2026-03-02T11:21:00'));
    const overdue = await t.call('GET', '/api/v1/staff/callbacks?overdue=true', { token: tokens.op });
    expect(overdue.json.items.map((i: { id: string; overdue: boolean }) => [i.id, i.overdue])).toEqual([[cb1.id, true]]);

    const number = await t.call('POST', `/api/v1/staff/callbacks/${cb1.id}/number`, { token: tokens.op });
    expect(number.status).toBe(200);
    expect(number.json.number).toBe(NUM1);
    const audit = await t.db.query<{ action: string }>('select action from callback_event where callback_id = $1', [cb1.id]);
    expect(audit.map((a) => a.action)).toEqual(['number_viewed']);

    const done = await t.call('POST', `/api/v1/staff/callbacks/${cb1.id}/done`, { token: tokens.op, body: { result: 'reached', note: '已回电，来电人将录音举报' } });
    expect(done.status).toBe(200);
    expect(done.json).toMatchObject({ state: 'done', result: 'reached', hasNumber: false });
    expect((await t.call('POST', `/api/v1/staff/callbacks/${cb1.id}/done`, { token: tokens.op })).status).toBe(409);
    expect((await t.call('POST', `/api/v1/staff/callbacks/${cb1.id}/number`, { token: tokens.op })).status).toBe(404);
    const [row] = await t.db.query<{ number_box: Buffer | null }>('select number_box from callback where id = $1', [cb1.id]);
    expect(row!.number_box).toBeNull();
  });

  it('no call-back, and no number anywhere, for a withheld number or a caller who chose anonymity', async () => {
    t.clock.set(at('2026-03-02T11:30:00'));
    const before = (await callbacks()).length;
    const withheld = new SimCall(t, 'anonymous', HOTLINE);
    await withheld.dial();
    await withheld.hangup('completed');
    const empty = new SimCall(t, '', HOTLINE);
    await empty.dial();
    await empty.press('');
    // Twice nothing: the recorded report is offered.
    await empty.press('');
    expect(empty.heard.join('\n')).toContain('您可以直接录音举报');
    expect(empty.heard.at(-1)).toContain('实名举报请按1');
    await empty.hangup('completed');

    const chose = new SimCall(t, ANON, HOTLINE);
    await chose.dial();
    await chose.press('1');
    await chose.press('2'); // anonymous
    expect(chose.heard.join('\n')).toContain('不会保存您的电话号码');
    await chose.hangup('completed');

    const reporter = new SimCall(t, ANON, HOTLINE);
    await reporter.dial();
    await reporter.press('1');
    await reporter.press('2');
    await reporter.press('7');
    await reporter.press('1');
    await reporter.record(fake, Buffer.from('ID3 anonymous audio'));
    await reporter.press('246810');
    await reporter.press('246810');
    await reporter.hangup('completed');

    expect((await callbacks()).length).toBe(before);
    const [clue] = await t.db.query<{ id: string; named: boolean }>(`select id, named from clue`);
    expect(clue!.named).toBe(false);
    await until(() => t.db.query('select id from attachment where clue_id = $1', [clue!.id]), (r) => r.length === 1);

    // The whole database…
    const tables = await t.db.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`);
    for (const { table_name } of tables) {
      const rows = await t.db.query<{ r: string }>(`select t::text as r from "${table_name}" t`);
      expect(rows.filter((r) => r.r.includes(ANON.slice(3))), table_name).toEqual([]);
    }
    const sealed = await t.db.query('select * from sealed_reporter where clue_id = $1', [clue!.id]);
    expect(sealed).toHaveLength(0);
    // …every job payload in Redis…
    const keys = await redis.keys(`${t.deps.queues.prefix}:*`);
    expect(keys.length).toBeGreaterThan(0);
    let dump = '';
    for (const key of keys) {
      const type = await redis.type(key);
      if (type === 'hash') dump += JSON.stringify(await redis.hgetall(key));
      else if (type === 'string') dump += await redis.get(key);
      else if (type === 'list') dump += JSON.stringify(await redis.lrange(key, 0, -1));
      else if (type === 'zset') dump += JSON.stringify(await redis.zrange(key, '0', '-1'));
      else if (type === 'set') dump += JSON.stringify(await redis.smembers(key));
      else if (type === 'stream') dump += JSON.stringify(await redis.xrange(key, '-', '+'));
    }
    expect(dump).toContain('recording.fetch');
    expect(dump).not.toContain(ANON.slice(3));
    // …and the logs.
    expect(t.logs.text()).not.toContain(ANON.slice(3));
  });

  it('operator hand-off in office hours: <Dial> to the operators; unanswered → offer → call-back booked', async () => {
    t.clock.set(at('2026-03-02T14:00:00'));
    const call = new SimCall(t, NUM3, HOTLINE);
    await call.dial();
    await call.press('', '我要找人工');
    const dial = findAll(call.doc!, 'Dial')[0]!;
    expect(dial.attrs.timeout).toBe('25');
    expect(findAll(dial, 'Number').map((n) => n.text)).toEqual(['+862100000001', '+862100000002']);
    await call.dialEnds('no-answer');
    expect(call.heard.join('\n')).toContain('工作人员暂时无法接听');
    await call.press('2');
    expect(call.heard.join('\n')).toContain('我们将在3月2日 15:00前给您回电');
    await call.hangup('completed');
    const rows = (await callbacks()).filter((r) => r.reason === 'requested');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.due_at.toISOString()).toBe(at('2026-03-02T15:00:00').toISOString());
    const [c] = await t.db.query<{ outcome: string }>('select outcome from "call" where callback_id = $1', [rows[0]!.id]);
    expect(c!.outcome).toBe('callback');

    const reached = new SimCall(t, NUM4, HOTLINE);
    await reached.dial();
    await reached.press('3');
    await reached.dialEnds('completed');
    expect(findAll(reached.doc!, 'Hangup')).toHaveLength(1);
    await reached.hangup('completed');
    expect((await callbacks()).length).toBe(2);

    // The caller hangs up mid-conversation and the status callback overtakes the <Dial> action.
    const raced = new SimCall(t, NUM4, HOTLINE);
    await raced.dial();
    await raced.press('3');
    await raced.hangup('completed');
    const owed = (await callbacks()).at(-1)!;
    expect(owed).toMatchObject({ state: 'open', reason: 'abandoned' });
    await raced.dialEnds('completed');
    const [withdrawn] = await t.db.query<CallbackRow>('select * from callback where id = $1', [owed.id]);
    expect(withdrawn).toMatchObject({ state: 'cancelled', number_box: null });
    const [c2] = await t.db.query<{ outcome: string; callback_id: string | null }>('select outcome, callback_id from "call" where outcome = $1 and callback_id is null and operator_reached_at is not null order by started_at desc limit 1', ['operator']);
    expect(c2).toMatchObject({ outcome: 'operator', callback_id: null });
  });

  it('outside office hours: no <Dial>, the call-back or recorded report is offered; hanging up is owed a call-back next working morning', async () => {
    t.clock.set(at('2026-03-02T20:00:00'));
    const call = new SimCall(t, NUM5, HOTLINE);
    await call.dial();
    await call.press('3');
    expect(findAll(call.doc!, 'Dial')).toHaveLength(0);
    expect(call.heard.join('\n')).toContain('现在不是人工服务时间');
    expect(call.gather().attrs.action).toContain('/twilio/voice/offer');
    await call.hangup('completed');
    const row = (await callbacks()).at(-1)!;
    expect(row.reason).toBe('abandoned');
    // Monday 20:00 → Tuesday 10:00 (one hour of office time from Tuesday 09:00).
    expect(row.due_at.toISOString()).toBe(at('2026-03-03T10:00:00').toISOString());

    t.clock.set(at('2026-03-06T16:30:00')); // Friday
    const late = new SimCall(t, NUM2, HOTLINE);
    await late.dial();
    await late.hangup('no-answer');
    const friday = (await callbacks()).at(-1)!;
    expect(friday.reason).toBe('no_answer');
    // Half an hour left on Friday, the other half on Monday morning.
    expect(friday.due_at.toISOString()).toBe(at('2026-03-09T09:30:00').toISOString());
  });

  it('hotline figures from the records: API and /metrics', async () => {
    const stats = await t.call('GET', `/api/v1/staff/hotline-stats?from=${encodeURIComponent('2026-03-01T00:00:00+08:00')}&to=${encodeURIComponent('2026-03-10T00:00:00+08:00')}`, { token: tokens.sup });
    expect(stats.status).toBe(200);
    expect(stats.json).toMatchObject({
      calls: 11,
      answeredByIvr: 1,
      reachedOperator: 2,
      callbackRequested: 1,
      abandoned: 7,
      inProgress: 0,
      reports: 1,
      callbacksCreated: 4,
      calledBack: 1,
      callbacksOpen: 3,
      medianTimeToCallbackSeconds: 61 * 60,
    });
    t.clock.set(at('2026-03-09T09:00:00'));
    const metrics = await t.call('GET', '/metrics');
    expect(metrics.text).toMatch(/hotline_callbacks\{state="open"\} 3/);
    expect(metrics.text).toMatch(/hotline_callbacks\{state="overdue"\} 2/);
    expect(metrics.text).toMatch(/hotline_calls_last_24h\{figure="calls"\} 0/);
    t.clock.set(at('2026-03-06T18:00:00'));
    const friday = await t.call('GET', '/metrics');
    expect(friday.text).toMatch(/hotline_calls_last_24h\{figure="calls"\} 1/);
    expect(friday.text).toMatch(/hotline_calls_last_24h\{figure="abandoned"\} 1/);
  });

  it('a settled day is counted once into hotline_day, and a late change to a call or a call-back it counted drops it', async () => {
    const from = at('2026-03-01T00:00:00');
    const to = at('2026-03-10T00:00:00');
    const url = `/api/v1/staff/hotline-stats?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`;
    // The figures as the rows give them (the query before the roll-up), to hold the roll-up to.
    const fromRows = async () => {
      const [c] = await t.db.query<Record<string, number>>(
        `select count(*)::int as calls, count(*) filter (where outcome in ('report', 'status'))::int as "answeredByIvr",
           count(*) filter (where outcome = 'operator')::int as "reachedOperator", count(*) filter (where outcome = 'callback')::int as "callbackRequested",
           count(*) filter (where outcome in ('abandoned', 'no_answer', 'busy', 'failed'))::int as abandoned,
           count(*) filter (where ended_at is null)::int as "inProgress", count(*) filter (where clue_id is not null)::int as reports
         from "call" where started_at >= $1 and started_at < $2`,
        [from, to],
      );
      const [k] = await t.db.query<Record<string, number>>(
        `select count(*) filter (where state <> 'cancelled')::int as "callbacksCreated", count(*) filter (where state = 'done')::int as "calledBack",
           round((percentile_cont(0.5) within group (order by extract(epoch from done_at - created_at)) filter (where state = 'done'))::numeric)::int as "medianTimeToCallbackSeconds",
           (select count(*)::int from callback where state = 'open') as "callbacksOpen"
         from callback where created_at >= $1 and created_at < $2`,
        [from, to],
      );
      return { ...c, ...k };
    };
    const days = () => t.db.query<{ day: Date; calls: number; computed_at: Date }>('select day, calls, computed_at from hotline_day order by day');

    t.clock.set(at('2026-03-20T10:00:00'));
    const before = await fromRows();
    expect(before).toMatchObject({ calls: 11, callbacksCreated: 4, calledBack: 1, callbacksOpen: 3 });
    const first = await t.call('GET', url, { token: tokens.sup });
    expect(first.status).toBe(200);
    expect(first.json).toMatchObject(before);
    // Every Shanghai day of the window is settled by 20 March: nine rows, the calls all in them.
    const rolled = await days();
    expect(rolled.map((d) => d.day.toISOString())).toEqual(Array.from({ length: 9 }, (_, i) => at(`2026-03-0${i + 1}T00:00:00`).toISOString()));
    expect(rolled.reduce((n, d) => n + d.calls, 0)).toBe(11);
    expect((await t.call('GET', url, { token: tokens.sup })).json).toMatchObject(before);

    // A call-back of 2 March (or 6 March) done on 20 March: its day's row goes, and is counted again.
    const [open] = await t.db.query<{ id: string; created_at: Date }>(`select id, created_at from callback where state = 'open' order by created_at limit 1`);
    expect((await t.call('POST', `/api/v1/staff/callbacks/${open!.id}/done`, { token: tokens.op })).status).toBe(200);
    const afterDone = await fromRows();
    expect(afterDone).toMatchObject({ calledBack: 2, callbacksOpen: 2, callbacksCreated: 4 });
    expect(afterDone.medianTimeToCallbackSeconds).not.toBe(before.medianTimeToCallbackSeconds);
    expect((await t.call('GET', url, { token: tokens.sup })).json).toMatchObject(afterDone);

    // A late change to a call (what a status callback days late would write): its day is recounted.
    const [late] = await t.db.query<{ id: string; started_at: Date }>(`select id, started_at from "call" where outcome = 'abandoned' order by started_at limit 1`);
    const dayOf = rolled.find((d) => d.day <= late!.started_at && late!.started_at.getTime() < d.day.getTime() + 86_400_000)!;
    await t.db.query(`update "call" set outcome = 'operator', updated_at = $2 where id = $1`, [late!.id, t.clock.now()]);
    expect((await days()).some((d) => d.day.getTime() === dayOf.day.getTime())).toBe(false);
    const afterCall = await fromRows();
    expect(afterCall.reachedOperator).toBe(before.reachedOperator! + 1);
    expect((await t.call('GET', url, { token: tokens.sup })).json).toMatchObject(afterCall);
    expect((await days()).length).toBe(9);

    // A window with only part of a day settled reads the rows for the rest: the same figures.
    const partial = `/api/v1/staff/hotline-stats?from=${encodeURIComponent(at('2026-03-02T10:21:00').toISOString())}&to=${encodeURIComponent(at('2026-03-20T09:00:00').toISOString())}`;
    const wide = await t.call('GET', partial, { token: tokens.sup });
    const [n] = await t.db.query<{ calls: number }>('select count(*)::int as calls from "call" where started_at >= $1 and started_at < $2', [at('2026-03-02T10:21:00'), at('2026-03-20T09:00:00')]);
    expect(wide.json.calls).toBe(n!.calls);
  });
});
