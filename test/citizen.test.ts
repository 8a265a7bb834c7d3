import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { queueNames } from '../queues/names.ts';
import { startWorkers } from '../src/roots/worker.ts';
import { createTestApp, seedTree, type TestEnv, until } from './helpers.ts';
import { startSmtpSink } from './smtp-sink.ts';
import { type FakeTwilio, startFakeTwilio } from './voice/fake-twilio.ts';
import { ACCOUNT_SID, AUTH_TOKEN, twilioEnv } from './voice/twilio-sim.ts';

/** The citizen's side beyond the pages (issue 20): language, reply notices, the district as the default. */
let t: TestEnv;
let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
let fake: FakeTwilio;
let stopWorkers: () => Promise<void>;
let tree: Awaited<ReturnType<typeof seedTree>>;
let operator: string;
const SMS_FROM = '+8610123456';
const NARRATIVE = '村主任把自己亲戚家报成了低保户，亲戚家开着饭店。';

beforeAll(async () => {
  smtp = await startSmtpSink();
  fake = await startFakeTwilio(ACCOUNT_SID, AUTH_TOKEN);
  t = await createTestApp(twilioEnv(fake, { MAIL_URL: smtp.url, TWILIO_SMS_FROM: SMS_FROM, TRUST_PROXY: 'true', HOTLINE_NUMBERS: '021-5250 1234' }));
  tree = await seedTree(t);
  operator = (await t.staffMember('op', 'operator', tree.district.id)).token;
  stopWorkers = await startWorkers(t.deps);
});
afterAll(async () => {
  await stopWorkers?.();
  await t?.close();
  await smtp?.close();
  await fake?.close();
});

let ip = 0;
const report = (body: Record<string, unknown>) =>
  t.call('POST', '/api/v1/reports', { body: { narrative: NARRATIVE, unitId: tree.committeeA.id, ...body }, headers: { 'x-forwarded-for': `10.20.${++ip >> 8}.${ip & 255}` } });
const clueOf = async (code: string) => (await t.db.query<{ id: string; locale: string; notify_progress: boolean }>('select id, locale, notify_progress from clue where tracking_code = $1', [code]))[0]!;
const mailsTo = (address: string) => smtp.received.filter((m) => m.to.includes(address));
const textOf = async (raw: string) => (await simpleParser(raw)).text ?? '';

describe('the thread', () => {
  it('is in time order, automatic and staff-written messages alike', async () => {
    t.clock.set('2026-12-02T03:05:00Z');
    const r = await report({});
    const { id } = await clueOf(r.json.trackingCode);
    t.clock.set('2026-12-02T03:10:00Z');
    await t.call('POST', `/api/v1/staff/clues/${id}/transitions`, { token: operator, body: { action: 'accept' } });
    t.clock.set('2026-12-02T03:11:00Z');
    await t.call('POST', `/api/v1/staff/clues/${id}/messages`, { token: operator, body: { body: '请补充饭店的名字。' } });
    t.clock.set('2026-12-02T03:12:00Z');
    await t.call('POST', `/api/v1/reports/${r.json.trackingCode}/messages`, { headers: { 'x-report-secret': r.json.secret }, body: { body: '叫老王饭店。' } });
    const view = await t.call('GET', `/api/v1/reports/${r.json.trackingCode}`, { headers: { 'x-report-secret': r.json.secret } });
    expect(view.json.messages.map((m: { createdAt: string; body: string }) => [m.createdAt.slice(11, 16), m.body.slice(0, 6)])).toEqual([
      ['03:10', '您的举报已受'],
      ['03:11', '请补充饭店的'],
      ['03:12', '叫老王饭店。'],
    ]);
    const staff = await t.call('GET', `/api/v1/staff/clues/${id}/messages`, { token: operator });
    expect(staff.json.items.map((m: { createdAt: string }) => m.createdAt.slice(11, 16))).toEqual(['03:10', '03:11', '03:12']);
    t.clock.set(new Date());
  });
});

describe('one language at a time', () => {
  it('keeps the reporter’s language with the clue; automatic messages are stored in each language and the reporter reads theirs; the API keeps its shape', async () => {
    const en = await report({ locale: 'en' });
    const zh = await report({});
    expect(en.status).toBe(201);
    const enClue = await clueOf(en.json.trackingCode);
    expect(enClue.locale).toBe('en');
    expect((await clueOf(zh.json.trackingCode)).locale).toBe('zh-CN');
    for (const r of [en, zh]) {
      const id = (await clueOf(r.json.trackingCode)).id;
      expect((await t.call('POST', `/api/v1/staff/clues/${id}/transitions`, { token: operator, body: { action: 'accept' } })).status).toBe(200);
    }
    const view = async (r: typeof en) => t.call('GET', `/api/v1/reports/${r.json.trackingCode}`, { headers: { 'x-report-secret': r.json.secret } });
    const enView = await view(en);
    const zhView = await view(zh);
    expect(Object.keys(enView.json).sort()).toEqual(['deadlines', 'history', 'messages', 'receivedAt', 'status', 'statusText', 'trackingCode', 'trackingCodeDisplay']);
    expect(Object.keys(enView.json.messages[0]).sort()).toEqual(['attachments', 'author', 'body', 'createdAt']);
    expect(enView.json.messages[0].body).toBe('Your report has been accepted; we will verify it and tell you the result within the time limits.');
    expect(zhView.json.messages[0].body).toBe('您的举报已受理，我们将进行核实，并在规定时限内告知结果。');
    // Staff read the Chinese, with every language beside it.
    const staff = await t.call('GET', `/api/v1/staff/clues/${enClue.id}/messages`, { token: operator });
    expect(staff.json.items[0].body).toBe(zhView.json.messages[0].body);
    expect(staff.json.items[0].localized.en).toBe(enView.json.messages[0].body);
    // History: what happened, in words.
    expect(zhView.json.history.map((h: { zh: string }) => h.zh)).toEqual(['举报已登记', '举报已受理']);
  });

  it('an English reporter’s acknowledgement and decision mails are in English alone, with the hotline in the acknowledgement', async () => {
    const address = 'jones@example.org';
    const r = await report({ locale: 'en', reporter: { name: 'A. Jones', email: address } });
    const { id } = await clueOf(r.json.trackingCode);
    await until(async () => mailsTo(address), (m) => m.length >= 1);
    await t.call('POST', `/api/v1/staff/clues/${id}/transitions`, { token: operator, body: { action: 'decline', reasonCode: 'not_dibao_matter', reason: 'This concerns a pension.' } });
    const mails = await until(async () => mailsTo(address), (m) => m.length >= 2);
    const [ack, decision] = await Promise.all(mails.map((m) => textOf(m.raw)));
    expect(ack).toContain('We received the report');
    expect(ack).toContain('021-5250 1234');
    expect(ack).toContain('working days 9:00–17:00');
    expect(decision).toContain('Your report was not accepted. Reason: Not a matter of the minimum living allowance. This concerns a pension.');
    for (const text of [ack, decision]) expect(text).not.toMatch(/[\u4e00-\u9fff]/);
    // The send is recorded (a ledger event) just after the mail server has the mail: wait for it.
    const history = await until(
      async () => (await t.call('GET', `/api/v1/reports/${r.json.trackingCode}`, { headers: { 'x-report-secret': r.json.secret } })).json.history as { zh: string }[],
      (h) => h.length >= 4,
    );
    expect(history.map((h) => h.zh)).toEqual(['举报已登记', '已向您的邮箱发送登记回执', '决定不予受理', '已发邮件告诉您是否受理']);
  });
});

describe('named reporters hear back', () => {
  it('a staff reply is emailed (or texted to a phone-only reporter) as one fixed sentence, only to those who agreed, once', async () => {
    const withEmail = await report({ reporter: { name: '周一', email: 'zhou.yi@example.cn', phone: '13800000001', notifyProgress: true } });
    const phoneOnly = await report({ reporter: { name: '吴二', phone: '13800000002', notifyProgress: true } });
    const noConsent = await report({ reporter: { name: '郑三', email: 'zheng.san@example.cn', phone: '13800000003' } });
    const anonymous = await report({});
    const ids = await Promise.all([withEmail, phoneOnly, noConsent, anonymous].map(async (r) => (await clueOf(r.json.trackingCode)).id));
    expect((await clueOf(withEmail.json.trackingCode)).notify_progress).toBe(true);
    expect((await clueOf(noConsent.json.trackingCode)).notify_progress).toBe(false);
    await until(async () => mailsTo('zheng.san@example.cn'), (m) => m.length >= 1); // its acknowledgement
    const secretWords = '请问饭店叫什么名字？';
    const posted: string[] = [];
    for (const id of ids) {
      const res = await t.call('POST', `/api/v1/staff/clues/${id}/messages`, { token: operator, body: { body: secretWords } });
      expect(res.status).toBe(201);
      posted.push(res.json.id);
    }

    const mails = await until(async () => mailsTo('zhou.yi@example.cn'), (m) => m.length >= 2);
    const notice = mails.find((m) => m.raw.includes(`email-reporter-reply-${posted[0]}@dibao-hotline`))!;
    expect(notice).toBeDefined();
    const parsed = await simpleParser(notice.raw);
    expect(parsed.subject).toBe('您的举报有新回复');
    expect(parsed.text).toContain('您的举报有新回复，请凭查询码查看');
    expect(notice.raw).not.toContain(secretWords);
    expect(parsed.text).not.toContain(secretWords);

    const texts = await until(async () => fake.messages.filter((m) => m.To === '13800000002'), (m) => m.length >= 1);
    expect(texts).toHaveLength(1);
    expect(texts[0]!.Body).toBe('您的举报有新回复，请凭查询码查看');
    expect(texts[0]!.From).toBe(SMS_FROM);
    // The reporter with an email is not texted as well; nobody without consent hears anything.
    expect(fake.messages.filter((m) => m.To === '13800000001' || m.To === '13800000003')).toEqual([]);
    await new Promise((r) => setTimeout(r, 500));
    expect(mailsTo('zheng.san@example.cn')).toHaveLength(1);
    const notifications = await until(
      () =>
        t.db.query<{ clue_id: string; channel: string; status: string; recipient: string }>(
          `select clue_id, channel, status, recipient from notification where idempotency_key like '%reporter-reply:%' order by channel`,
        ),
      (rows) => rows.length >= 2 && rows.every((r) => r.status !== 'sending'),
    );
    expect(notifications.map((n) => [ids.indexOf(n.clue_id), n.channel, n.status, n.recipient])).toEqual([
      [0, 'email', 'sent', 'reporter'],
      [1, 'sms', 'sent', 'reporter'],
    ]);

    // Ids only in what the jobs carried; a second run of each sends nothing more.
    const jobs = (await Promise.all(queueNames.map((q) => t.deps.queues.get(q).getJobs(['completed', 'waiting', 'active', 'delayed', 'failed'])))).flat();
    const replyJobs = jobs.filter((j) => j.name === 'reporter.reply_notice');
    expect(replyJobs.map((j) => Object.keys(j.data).sort())).toEqual([['clueId', 'messageId'], ['clueId', 'messageId']]);
    expect(JSON.stringify(jobs.map((j) => j.data))).not.toMatch(/13800000002|zhou\.yi|请问饭店/);
    expect((await t.deps.notifications.sendReplyNotice(ids[0]!, posted[0]!)).repeated).toBe(true);
    expect((await t.deps.notifications.sendReplyNotice(ids[1]!, posted[1]!)).repeated).toBe(true);
    await new Promise((r) => setTimeout(r, 300));
    expect(fake.messages.filter((m) => m.To === '13800000002')).toHaveLength(1);
    expect(mailsTo('zhou.yi@example.cn').filter((m) => m.raw.includes('email-reporter-reply-'))).toHaveLength(1);

    // The reporters' history says what was sent.
    const history = async (r: typeof withEmail) =>
      (await t.call('GET', `/api/v1/reports/${r.json.trackingCode}`, { headers: { 'x-report-secret': r.json.secret } })).json.history.map((h: { zh: string }) => h.zh);
    expect(await history(withEmail)).toContain('已发邮件提醒您有新回复');
    await until(() => history(phoneOnly), (h) => h.includes('已发短信提醒您有新回复'));
    expect(await history(phoneOnly)).toContain('已发短信提醒您有新回复');
  });

  it('a phone-only reporter who agreed hears of the decision by the same SMS', async () => {
    const r = await report({ reporter: { name: '王五', phone: '13800000005', notifyProgress: true } });
    const { id } = await clueOf(r.json.trackingCode);
    await t.call('POST', `/api/v1/staff/clues/${id}/transitions`, { token: operator, body: { action: 'accept' } });
    const texts = await until(async () => fake.messages.filter((m) => m.To === '13800000005'), (m) => m.length >= 1);
    expect(texts.map((m) => m.Body)).toEqual(['您的举报有新回复，请凭查询码查看']);
  });
});

describe('the follow-up session', () => {
  /** A browser's cookie jar, enough for these pages. */
  const jar = () => {
    const cookies = new Map<string, string>();
    const request = async (path: string, init: { method?: string; form?: Record<string, string> } = {}) => {
      const headers: Record<string, string> = { cookie: [...cookies].map(([k, v]) => `${k}=${v}`).join('; ') };
      let body: string | undefined;
      if (init.form) {
        headers['content-type'] = 'application/x-www-form-urlencoded';
        body = new URLSearchParams(init.form).toString();
      }
      const res = await t.app.request(path, { method: init.method ?? 'GET', headers, body });
      for (const c of res.headers.getSetCookie()) {
        const [pair, ...attrs] = c.split(';');
        const [name, value] = pair!.split('=') as [string, string];
        if (attrs.some((a) => /max-age=0/i.test(a)) || value === '') cookies.delete(name);
        else cookies.set(name, value);
      }
      const html = await res.text();
      return { status: res.status, html, csrf: /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? '' };
    };
    return { cookies, request };
  };

  it('keeps a reporter signed in across pages and languages, until 退出 or FOLLOW_UP_SESSION_MINUTES without a page; a forged cookie opens nothing', async () => {
    const r = await report({});
    const b = jar();
    const login = await b.request('/follow-up');
    const opened = await b.request('/follow-up', { method: 'POST', form: { _csrf: login.csrf, code: r.json.trackingCode, secret: r.json.secret } });
    expect(opened.status).toBe(200);
    expect(opened.html).toContain('id="status"');
    expect(b.cookies.get('followup')).toBeDefined();
    expect(b.cookies.get('followup')).not.toContain(r.json.secret);
    const english = await b.request('/follow-up?lang=en');
    expect(english.html).toContain('id="status"');
    expect(english.html).toContain('<html lang="en">');
    // A reply needs no code or secret in the form any more.
    const sent = await b.request('/follow-up/messages', { method: 'POST', form: { _csrf: english.csrf, body: '补充：饭店在镇东头。' } });
    expect(sent.status).toBe(200);
    expect(sent.html).toContain('补充：饭店在镇东头。');

    // 29 minutes idle is fine (and renews the session), 31 more is not.
    t.clock.advanceBy(29 * 60_000);
    expect((await b.request('/follow-up')).html).toContain('id="status"');
    t.clock.advanceBy(31 * 60_000);
    const expired = await b.request('/follow-up');
    expect(expired.html).not.toContain('id="status"');
    expect(expired.html).toContain('id="code"');
    expect(b.cookies.has('followup')).toBe(false);
    const late = await b.request('/follow-up/messages', { method: 'POST', form: { _csrf: expired.csrf, body: '过期后发的' } });
    expect(late.status).toBe(401);
    expect(late.html).toContain('请重新输入查询码和密码');

    // 退出 ends it at once.
    const again = await b.request('/follow-up', { method: 'POST', form: { _csrf: expired.csrf, code: r.json.trackingCode, secret: r.json.secret } });
    expect(again.html).toContain('id="status"');
    const out = await b.request('/follow-up/logout', { method: 'POST', form: { _csrf: again.csrf } });
    expect(out.html).toContain('您已退出。');
    expect((await b.request('/follow-up')).html).not.toContain('id="status"');

    // A cookie this service did not seal opens nothing.
    b.cookies.set('followup', Buffer.from(JSON.stringify({ id: (await clueOf(r.json.trackingCode)).id, exp: Date.now() * 2 })).toString('base64url'));
    expect((await b.request('/follow-up')).html).not.toContain('id="status"');
    t.clock.set(new Date());
  });
});

describe('before any street or town exists', () => {
  it('the form says reports go to the district, and they do: its staff see them and its supervisors get their deadlines’ notices', async () => {
    const d = await createTestApp();
    try {
      const district = await d.unit('only', 'district', null, '新区民政局');
      const page = await d.app.request('/report');
      const html = await page.text();
      expect(html).toContain('目前还不能选择街道或乡镇，您的举报将由区民政局直接处理。');
      const place = /<select id="unitId"[^>]*>([\s\S]*?)<\/select>/.exec(html)![1]!;
      expect(place.match(/<option /g)).toHaveLength(1); // only 不清楚
      const res = await d.call('POST', '/api/v1/reports', { body: { narrative: NARRATIVE } });
      expect(res.status).toBe(201);
      const supervisor = (await d.staffMember('sup', 'supervisor', district.id)).token;
      const list = await d.call('GET', '/api/v1/staff/clues', { token: supervisor });
      expect(list.status, list.text).toBe(200);
      expect(list.json.items.map((c: { trackingCode: string }) => c.trackingCode)).toEqual([res.json.trackingCode]);
      // The receipt notice's first reminder (three days before due) reaches the district.
      const [row] = await d.db.query<{ id: string; fire_seq: number; next_fire_at: Date }>(
        `select id, fire_seq, next_fire_at from deadline where kind = 'receipt_notice'`,
      );
      d.clock.set(new Date(row!.next_fire_at.getTime() + 1000));
      expect((await d.deps.deadlines.fireStep(row!.id, row!.fire_seq, row!.next_fire_at.toISOString())).fired).toBe(true);
      const later = (await d.staffMember('sup-later', 'supervisor', district.id)).token; // 12 days on, the first session expired
      const notices = await d.call('GET', '/api/v1/staff/notices', { token: later });
      expect(notices.json.items.map((n: { kind: string }) => n.kind)).toEqual(['reminder']);
    } finally {
      await d.close();
    }
  });
});

describe('the migration of earlier automatic messages', () => {
  it('splits "中文 / English" texts into their languages, leaves people’s words alone', async () => {
    const m = await createTestApp({ MIGRATE_ON_START: 'false' });
    // The rows below stand for an earlier version's data, written by hand without real hashes.
    m.ledgerDamageExpected();
    try {
      await m.deps.orm.migrator.up({ to: 'Migration20261202000000_quarantine_ledger' });
      const clueId = '00000000-0000-4000-8000-000000000001';
      const now = new Date('2026-11-30T02:00:00Z');
      await m.db.query(
        `insert into clue (id, tracking_code, channel, received_at, categories, narrative, status, priority, named, secret_kind, secret_hash, failed_attempts, head_seq, head_hash, flags, created_at, updated_at)
         values ($1, '123456789018', 'web', $2, '{}', '旧的举报', 'accepted', 'normal', false, 'web', $3, 0, 0, $3, '{}', $2, $2)`,
        [clueId, now, '0'.repeat(64)],
      );
      const old = [
        ['00000000-0000-4000-8000-0000000000a1', '您的举报已受理，我们将进行核实，并在规定时限内告知结果。/ Your report has been accepted; we will verify it and tell you the result within the time limits.', 'decision:accept'],
        ['00000000-0000-4000-8000-0000000000a2', '您的举报不予受理。理由：其他原因。已转社保部门 / 请联系。\n/ Your report was not accepted. Reason: Another reason. 已转社保部门 / 请联系。', 'decision:decline'],
        ['00000000-0000-4000-8000-0000000000a3', '经批准，「办结」的期限延长至 2027年1月30日 23:59。/ With approval, the deadline "Conclude the matter" was extended to 2027-01-30.', 'deadline_extended'],
        ['00000000-0000-4000-8000-0000000000a4', '工作人员写的：已收到。/ Also English written by a person.', null],
      ] as const;
      let seq = 0;
      for (const [id, body, reason] of old) {
        await m.db.query(`insert into message (id, clue_id, author, staff_id, body, created_at) values ($1, $2, 'staff', null, $3, $4)`, [id, clueId, body, now]);
        const data = reason ? { messageId: id, author: 'staff', reason } : { message: id, author: 'staff', bodySha256: 'x' };
        await m.db.query(`insert into ledger_event (clue_id, seq, type, actor, at, data, prev_hash, hash) values ($1, $2, 'message.posted', 'staff:x', $3, $4, $5, $5)`, [
          clueId,
          ++seq,
          now,
          JSON.stringify(data),
          '0'.repeat(64),
        ]);
      }
      await m.deps.orm.migrator.up();
      const rows = await m.db.query<{ id: string; body: string; localized: Record<string, string> | null }>('select id, body, localized from message order by id');
      expect(rows[0]).toEqual({
        id: old[0][0],
        body: '您的举报已受理，我们将进行核实，并在规定时限内告知结果。',
        localized: { 'zh-CN': '您的举报已受理，我们将进行核实，并在规定时限内告知结果。', en: 'Your report has been accepted; we will verify it and tell you the result within the time limits.' },
      });
      expect(rows[1]!.localized).toEqual({
        'zh-CN': '您的举报不予受理。理由：其他原因。已转社保部门 / 请联系。',
        en: 'Your report was not accepted. Reason: Another reason. 已转社保部门 / 请联系。',
      });
      expect(rows[2]!.localized!.en).toBe('With approval, the deadline "Conclude the matter" was extended to 2027-01-30.');
      expect(rows[3]).toEqual({ id: old[3][0], body: old[3][1], localized: null });
      const [clue] = await m.db.query<{ locale: string; notify_progress: boolean }>('select locale, notify_progress from clue');
      expect(clue).toEqual({ locale: 'zh-CN', notify_progress: false });
    } finally {
      await m.close();
    }
  });
});
