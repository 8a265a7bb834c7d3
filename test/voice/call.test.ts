import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../../src/roots/worker.ts';
import { createTestApp, seedTree, type TestEnv } from '../helpers.ts';
import { type FakeTwilio, startFakeTwilio } from './fake-twilio.ts';
import { ACCOUNT_SID, AUTH_TOKEN, findAll, SimCall, twilioEnv, until } from './twilio-sim.ts';

let t: TestEnv;
let fake: FakeTwilio;
let tree: Awaited<ReturnType<typeof seedTree>>;
let stopWorkers: () => Promise<void>;
let opToken: string;

// Monday 2 March 2026, 10:20 in Shanghai.
const T0 = '2026-03-02T02:20:00Z';
const CALLER = '+8613912345678';
const audio = Buffer.concat([Buffer.from('ID3'), randomBytes(4000)]);

beforeAll(async () => {
  fake = await startFakeTwilio(ACCOUNT_SID, AUTH_TOKEN);
  t = await createTestApp(twilioEnv(fake, { TWILIO_DELETE_RECORDINGS: 'true', OPERATOR_NUMBERS: '+862100000001' }));
  t.clock.set(T0);
  tree = await seedTree(t);
  opToken = (await t.staffMember('op', 'operator', tree.district.id)).token;
  stopWorkers = await startWorkers(t.deps);
});
afterAll(async () => {
  await stopWorkers?.();
  await t?.close();
  await fake?.close();
});

describe('a phone report, end to end, as Twilio drives it', () => {
  let trackingCode: string;
  let clueId: string;
  const pin = '358149';

  it('greets in Mandarin, takes a named report by keypad, reads the tracking code twice and sets the PIN', async () => {
    const call = new SimCall(t, CALLER);
    const greeting = await call.dial();
    const says = findAll(greeting, 'Say');
    expect(says[0]!.attrs.language).toBe('zh-CN');
    expect(says[0]!.text).toContain('低保投诉举报热线');
    const gather = call.gather();
    expect(gather.attrs).toMatchObject({ input: 'dtmf speech', language: 'zh-CN' });

    await call.press('1'); // report
    expect(call.heard.at(-1)).toContain('实名举报请按1');
    await call.press('1'); // named
    expect(call.heard.join('\n')).toContain('加密保存');
    await call.press('5'); // embezzlement
    // The streets of the unit tree, numbered.
    expect(call.heard.slice(-4).join('|')).toContain('长风街道请按1');
    expect(call.heard.slice(-4).join('|')).toContain('曹杨街道请按2');
    await call.press('2'); // 曹杨街道

    const record = findAll(call.doc!, 'Record')[0]!;
    expect(record.attrs).toMatchObject({ maxLength: '300', trim: 'trim-silence', finishOnKey: '#' });
    expect(record.attrs.recordingStatusCallback).toBe('https://hotline.example.gov.cn/twilio/voice/recording');

    const { statusCallback } = await call.record(fake, audio, 'action-first');
    // Twilio retries a callback: nothing is registered twice.
    await statusCallback();

    const codes = call.digitsHeard('查询码');
    expect(codes).toHaveLength(2);
    expect(codes[0]).toMatch(/^\d{12}$/);
    expect(codes[1]).toBe(codes[0]);
    trackingCode = codes[0]!;

    expect(call.gather().attrs.numDigits).toBe('6');
    await call.press(pin);
    expect(call.heard.at(-1)).toContain('请再输入一次');
    await call.press(pin);
    expect(call.heard.join('\n')).toContain('密码已设置');
    expect(findAll(call.doc!, 'Hangup')).toHaveLength(1);
    await call.hangup('completed');

    const clues = await t.db.query<{ id: string; tracking_code: string; channel: string; categories: string[]; unit_id: string; named: boolean }>(
      'select id, tracking_code, channel, categories, unit_id, named from clue',
    );
    expect(clues).toHaveLength(1);
    clueId = clues[0]!.id;
    expect(clues[0]).toMatchObject({ tracking_code: trackingCode, channel: 'phone', categories: ['embezzlement'], unit_id: tree.streetB.id, named: true });

    // The caller heard the code the ledger holds.
    const [registered] = await t.db.query<{ data: { trackingCode: string; channel: string } }>(
      `select data from ledger_event where clue_id = $1 and type = 'clue.registered'`,
      [clueId],
    );
    expect(registered!.data).toMatchObject({ trackingCode, channel: 'phone' });
    // The PIN step is on the ledger, without the PIN.
    const [pinSet] = await t.db.query<{ data: Record<string, unknown>; actor: string }>(`select data, actor from ledger_event where clue_id = $1 and type = 'reporter.pin_set'`, [clueId]);
    expect(pinSet!.actor).toBe('twilio');
    expect(JSON.stringify(pinSet!.data)).not.toContain(pin);

    const [row] = await t.db.query<{ outcome: string; caller_box: Buffer | null; clue_id: string }>('select outcome, caller_box, clue_id from "call"');
    expect(row).toMatchObject({ outcome: 'report', caller_box: null, clue_id: clueId });
  });

  it('keeps the named caller’s number only in the sealed reporter record', async () => {
    const reveal = await t.call('POST', `/api/v1/staff/clues/${clueId}/reporter/reveal`, { token: opToken, body: { purpose: '核实举报内容，需要联系举报人' } });
    expect(reveal.status).toBe(200);
    expect(reveal.json.phone).toBe(CALLER);
    const tables = await t.db.query<{ table_name: string }>(`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`);
    for (const { table_name } of tables) {
      const rows = await t.db.query<{ r: string }>(`select t::text as r from "${table_name}" t`);
      expect(rows.some((r) => r.r.includes(CALLER.slice(1))), table_name).toBe(false);
    }
  });

  it('downloads the recording in a job (basic auth), stores it as an attachment with its hash on the ledger, and deletes it at Twilio', async () => {
    const attachments = await until(
      () => t.db.query<{ id: string; sha256: string; storage_key: string; content_type: string; size: string }>('select * from attachment where clue_id = $1', [clueId]),
      (rows) => rows.length === 1,
    );
    expect(attachments).toHaveLength(1);
    const a = attachments[0]!;
    expect(a.sha256).toBe(createHash('sha256').update(audio).digest('hex'));
    expect(a.content_type).toBe('audio/mpeg');
    expect(Buffer.from(await t.deps.storage.get(a.storage_key)).equals(audio)).toBe(true);
    const [added] = await t.db.query<{ data: { sha256: string; attachmentId: string } }>(`select data from ledger_event where clue_id = $1 and type = 'attachment.added'`, [clueId]);
    expect(added!.data).toMatchObject({ sha256: a.sha256, attachmentId: a.id });

    const downloads = fake.requests.filter((r) => r.method === 'GET' && r.path.includes('/Recordings/'));
    expect(downloads.length).toBeGreaterThanOrEqual(1);
    expect(downloads.every((r) => r.authorized)).toBe(true);
    await until(async () => fake.deleted.length, (n) => n === 1);
    expect(fake.deleted).toHaveLength(1);
    const [call] = await until(
      () => t.db.query<{ recording_sid: string | null; recording_url: string | null; recording_deleted_at: Date | null }>('select recording_sid, recording_url, recording_deleted_at from "call"'),
      (rows) => rows[0]?.recording_deleted_at != null,
    );
    expect(call).toMatchObject({ recording_sid: null, recording_url: null });
  });

  it('answers a second call’s status query with code + PIN: status in plain words and the date an answer is due', async () => {
    const call = new SimCall(t, CALLER);
    await call.dial();
    await call.press('2');
    expect(call.heard.at(-1)).toContain('12位查询码');
    await call.press(trackingCode);
    expect(call.gather().attrs.numDigits).toBe('6');
    await call.press(pin);
    const answer = call.heard.join('\n');
    expect(answer).toContain('已登记，等待受理');
    const [due] = await t.db.query<{ due_at: Date }>(`select due_at from deadline where clue_id = $1 and state = 'open' order by due_at limit 1`, [clueId]);
    const date = new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', year: 'numeric', month: 'long', day: 'numeric' }).format(due!.due_at);
    expect(answer).toContain(`我们将在${date}前答复您`);
    await call.hangup();
    const [row] = await t.db.query<{ outcome: string; clue_id: string | null; ivr: Record<string, unknown> }>(`select outcome, clue_id, ivr from "call" where outcome = 'status'`);
    // The query links no call to the clue, and the typed code is not kept.
    expect(row).toMatchObject({ outcome: 'status', clue_id: null });
    expect(JSON.stringify(row!.ivr)).not.toContain(trackingCode);
  });

  it('limits wrong entries per call, and wrong PINs count towards the code’s slow-down', async () => {
    const call = new SimCall(t, '+8613700000001');
    await call.dial();
    await call.press('2');
    await call.press(trackingCode);
    await call.press('000111');
    expect(call.heard.at(-2)).toContain('查询码或密码不正确');
    await call.press(trackingCode);
    await call.press('000112');
    await call.press('123'); // not a tracking code: the third wrong entry
    expect(call.heard.join('\n')).toContain('输入错误次数过多');
    expect(findAll(call.doc!, 'Hangup')).toHaveLength(1);
    await call.hangup();
    // The call's two wrong PINs and three more: the next try (even the right PIN) waits a second (issue 12: no lock).
    for (const wrong of ['000113', '000114', '000115']) expect(await t.deps.clues.authenticateReporter(trackingCode, wrong)).toBeNull();
    expect(await t.deps.clues.authenticateReporter(trackingCode, pin)).toBeNull();
    t.clock.advanceBy(1000);
    expect((await t.deps.clues.authenticateReporter(trackingCode, pin))?.id).toBe(clueId);
  });
});

describe('a letter registered by staff for a reporter who follows up by phone', () => {
  it('gets a phone PIN instead of the web secret; the hotline’s status query and the web follow-up both take it', async () => {
    const res = await t.call('POST', '/api/v1/staff/clues', {
      token: opToken,
      body: { channel: 'letter', narrative: '来信反映：村委会干部为亲属办理低保。', unitId: tree.committeeA.id, followUp: 'phone' },
    });
    expect(res.status).toBe(201);
    const { trackingCode: code, secret } = res.json as { trackingCode: string; secret: string };
    expect(secret).toMatch(/^\d{6}$/);
    const call = new SimCall(t, '+8613700000002');
    await call.dial();
    await call.press('2');
    await call.press(code);
    await call.press(secret);
    expect(call.heard.join('\n')).toContain('已登记，等待受理');
    await call.hangup();
    expect((await t.call('GET', `/api/v1/reports/${code}`, { headers: { 'x-report-secret': secret } })).status).toBe(200);
    // The default stays the web secret.
    const web = await t.call('POST', '/api/v1/staff/clues', { token: opToken, body: { channel: 'letter', narrative: '来信反映：村委会干部为亲属办理低保。', unitId: tree.committeeA.id } });
    expect((web.json as { secret: string }).secret).toMatch(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
  });
});
