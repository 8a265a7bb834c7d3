import { ImapFlow } from 'imapflow';
import { simpleParser } from 'mailparser';
import nodemailer, { type SendMailOptions } from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../src/roots/worker.ts';
import { pollConfiguredMailbox } from '../queues/email.processor.ts';
import { startSmtpIntake } from '../src/modules/intake-email/email.smtp.ts';
import { openName } from '../src/modules/attachments/attachments.names.ts';
import { dovecotUnavailableReason, startDovecot, type TestDovecot } from './email/dovecot.ts';
import { base64Lines, encodedWord, fakeExe, gbk, rawMessage, tinyPdf } from './email/mime.ts';
import { createTestApp, seedTree, type TestEnv, until } from './helpers.ts';
import { startSmtpSink } from './smtp-sink.ts';

let t: TestEnv;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let intake: Awaited<ReturnType<typeof startSmtpIntake>>;
let stopWorkers: () => Promise<void>;
let send: (raw: Buffer | SendMailOptions) => Promise<unknown>;
let operator: string;

beforeAll(async () => {
  sink = await startSmtpSink();
  // Many mails through one loopback connection and sender: the intake's per-hour limits (smtp-limits.test.ts) set out of the way.
  t = await createTestApp({ MAIL_URL: sink.url, EMAIL_MAX_BYTES: String(20 * 1024 * 1024), SMTP_PER_ADDRESS_HOUR: '1000', SMTP_PER_SENDER_HOUR: '1000' });
  const tree = await seedTree(t);
  operator = (await t.staffMember('op', 'operator', tree.district.id)).token;
  intake = await startSmtpIntake({
    port: 0,
    host: '127.0.0.1',
    acceptRecipients: ['jubao@minzheng.example.cn'],
    maxBytes: t.config.EMAIL_MAX_BYTES,
    onMessage: async (raw, meta) => {
      await t.deps.email.receive(raw, meta);
    },
  });
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: intake.port, secure: false, ignoreTLS: true });
  send = (m) =>
    Buffer.isBuffer(m)
      ? transport.sendMail({ envelope: { from: 'someone@example.cn', to: 'jubao@minzheng.example.cn' }, raw: m })
      : transport.sendMail({ to: 'jubao@minzheng.example.cn', ...m });
  stopWorkers = await startWorkers(t.deps);
});
afterAll(async () => {
  await stopWorkers?.();
  await intake?.close();
  await t?.close();
  await sink?.close();
});

const clueByNarrative = async (fragment: string) =>
  t.db.query<{ id: string; tracking_code: string; narrative: string; channel: string }>('select id, tracking_code, narrative, channel from clue where narrative like $1', [`%${fragment}%`]);
/** The attachments with their names opened from the sealed box (the clear column is empty). */
const attachmentsOf = async (clueId: string) =>
  (await t.db.query<{ id: string; filename: string | null; filename_box: Buffer; content_type: string }>('select id, filename, filename_box, content_type from attachment where clue_id = $1', [clueId])).map((a) => ({
    filename: a.filename === null ? openName(t.deps.keys.reporterKey, { id: a.id, filenameBox: a.filename_box }) : 'stored in clear',
    content_type: a.content_type,
  }));


describe('mail to the built-in SMTP listener', () => {
  it('a UTF-8 message, a GBK message with a GBK-named attachment, and a quoted-printable HTML-only message each become a clue with correct Chinese', async () => {
    await send({ from: '"王大妈" <wang.dama@example.cn>', subject: '举报低保问题', text: '我们小区的低保户家里开着两辆车，请核查。' });
    const gbkMail = rawMessage(
      ['From: =?GBK?B?' + gbk('张先生').toString('base64') + '?= <zhang@example.cn>', 'To: jubao@minzheng.example.cn', `Subject: ${encodedWord('反映村干部优亲厚友')}`, 'Message-ID: <gbk-1@example.cn>', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b1"'],
      '--b1\r\nContent-Type: text/plain; charset=GBK\r\nContent-Transfer-Encoding: base64\r\n\r\n',
      base64Lines(gbk('村主任把他的亲戚都纳入了低保，名单见附件。')),
      `\r\n--b1\r\nContent-Type: application/pdf; name="${encodedWord('低保名单.pdf')}"\r\nContent-Disposition: attachment; filename="${encodedWord('低保名单.pdf')}"\r\nContent-Transfer-Encoding: base64\r\n\r\n`,
      base64Lines(tinyPdf()),
      '\r\n--b1--\r\n',
    );
    await send(gbkMail);
    await send({ from: 'li@example.cn', subject: 'HTML举报', html: '<p>街道办的经办人员<b>吃拿卡要</b>，每次办理都要送礼。</p>', encoding: 'quoted-printable' } as SendMailOptions);

    const [utf8] = await clueByNarrative('两辆车');
    expect(utf8).toMatchObject({ channel: 'email' });
    const [gbkClue] = await clueByNarrative('亲戚都纳入了低保');
    expect(gbkClue!.narrative).toContain('反映村干部优亲厚友');
    expect(await attachmentsOf(gbkClue!.id)).toEqual([{ filename: '低保名单.pdf', content_type: 'application/pdf' }]);
    const [html] = await clueByNarrative('吃拿卡要');
    expect(html!.narrative).toContain('每次办理都要送礼');
  });

  it('the same mail delivered twice is one clue; a reply with the tracking code becomes a message on it', async () => {
    const mail = { from: 'repeat@example.cn', subject: '重复投递测试', text: '同一封邮件投递两次只应登记一次。', messageId: '<same-123@example.cn>' };
    await send(mail);
    await send(mail);
    const clues = await clueByNarrative('投递两次');
    expect(clues).toHaveLength(1);
    const code = clues[0]!.tracking_code.replace(/(\d{4})(?=\d)/g, '$1 ');
    await send({ from: 'repeat@example.cn', subject: `Re: 查询码 ${code}`, text: '补充：这户人家上个月还买了新房。' });
    const messages = await t.db.query<{ body: string; author: string }>('select body, author from message where clue_id = $1', [clues[0]!.id]);
    expect(messages.map((m) => m.author)).toContain('reporter');
    expect(messages.find((m) => m.author === 'reporter')!.body).toContain('买了新房');
    expect(await clueByNarrative('买了新房')).toEqual([]);
    // The code from someone else's address does not write into that thread.
    await send({ from: 'intruder@example.cn', subject: `查询码 ${code}`, text: '冒充举报人补充的内容。' });
    expect(await clueByNarrative('冒充举报人')).toHaveLength(1);
  });

  it('quarantines malformed MIME, an oversized message and an executable attachment with the reason, and goes on normally', async () => {
    await send(Buffer.from('this is not a mail\x00\x01\x02 at all', 'latin1')).catch(() => undefined);
    const exe = rawMessage(
      ['From: x@example.cn', 'To: jubao@minzheng.example.cn', 'Subject: invoice', 'Message-ID: <exe-1@example.cn>', 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"'],
      '--b\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n请查收附件。\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename="photo.jpg"\r\nContent-Transfer-Encoding: base64\r\n\r\n',
      base64Lines(fakeExe()),
      '\r\n--b--\r\n',
    );
    await send(exe);
    // Over the limit: refused by SMTP (552) and so never silently accepted.
    const big = await send({ from: 'big@example.cn', subject: 'big', text: 'x'.repeat(21 * 1024 * 1024) }).then(() => 'accepted', (e: Error) => e.message);
    expect(big).toMatch(/552/);
    // The same 30 MB message fetched over IMAP (the mailbox already has it) is quarantined whole.
    const raw30 = rawMessage(['From: big@example.cn', 'To: jubao@minzheng.example.cn', 'Subject: big', 'Message-ID: <big-30@example.cn>'], 'x'.repeat(30 * 1024 * 1024));
    const r = await t.deps.email.receive(raw30, {});
    expect(r).toMatchObject({ kind: 'quarantine', reason: 'too_large' });

    await send({ from: 'after@example.cn', subject: '正常邮件', text: '隔离之后的下一封邮件照常登记。' });
    expect(await clueByNarrative('照常登记')).toHaveLength(1);
    const held = await t.call('GET', '/api/v1/staff/quarantine', { token: operator });
    const reasons = held.json.items.map((q: any) => q.reason);
    expect(reasons).toEqual(expect.arrayContaining(['unparseable', 'forbidden_attachment', 'too_large']));
    const rawRow = await t.db.query<{ storage_key: string }>(`select storage_key from quarantined_mail where reason = 'forbidden_attachment'`);
    const stored = Buffer.from(await t.deps.storage.get(rawRow[0]!.storage_key));
    expect(stored.includes(Buffer.from('x@example.cn'))).toBe(false); // sealed at rest

    // An operator releases one into a clue and discards another.
    const exeItem = held.json.items.find((q: any) => q.reason === 'forbidden_attachment');
    const released = await t.call('POST', `/api/v1/staff/quarantine/${exeItem.id}/release`, { token: operator, body: { narrative: '邮件附件为可执行文件，正文称“请查收附件”。' } });
    expect(released.status).toBe(200);
    const events = await t.db.query<{ type: string }>('select type from ledger_event where clue_id = $1 order by seq', [released.json.clueId]);
    expect(events.map((e) => e.type)).toContain('quarantine.released');
    const bigItem = held.json.items.find((q: any) => q.reason === 'too_large');
    expect((await t.call('POST', `/api/v1/staff/quarantine/${bigItem.id}/discard`, { token: operator, body: { reason: '无内容的超大邮件' } })).json.status).toBe('discarded');
    expect((await t.call('POST', `/api/v1/staff/quarantine/${bigItem.id}/discard`, { token: operator, body: { reason: '再来' } })).status).toBe(409);
  });

  it('the acknowledgement with the tracking code and a secret reaches the sender; an auto-reply gets nothing back', async () => {
    await send({ from: '"赵六" <zhao.liu@example.cn>', subject: '举报', text: '居委会干部不作为，低保申请拖了半年。' });
    const [clue] = await clueByNarrative('拖了半年');
    const ack = await until(async () => sink.received.filter((m) => m.to.includes('zhao.liu@example.cn')), (m) => m.length === 1);
    expect(ack).toHaveLength(1);
    const text = (await simpleParser(ack[0]!.raw)).text ?? '';
    expect(text).toContain(clue!.tracking_code.replace(/(\d{4})(?=\d)/g, '$1 '));
    const secret = /密码：([0-9A-Z-]{23})/.exec(text)![1]!;
    const view = await t.call('GET', `/api/v1/reports/${clue!.tracking_code}`, { headers: { 'x-report-secret': secret } });
    expect(view.status).toBe(200);

    await send({ from: 'ooo@example.cn', subject: '自动回复: 举报', text: '我正在休假。', headers: { 'Auto-Submitted': 'auto-replied' } });
    await new Promise((r) => setTimeout(r, 1500));
    expect(sink.received.filter((m) => m.to.includes('ooo@example.cn'))).toEqual([]);
    expect(await clueByNarrative('正在休假')).toEqual([]);
    expect((await t.db.query(`select 1 from quarantined_mail where reason = 'automated'`)).length).toBe(1);
  });
});

const noDovecot = dovecotUnavailableReason();
if (noDovecot) console.warn(`IMAP intake test skipped: ${noDovecot}`);

describe.skipIf(noDovecot !== null)('polling a mailbox over IMAP (real Dovecot)', () => {
  let dovecot: TestDovecot;
  beforeAll(async () => {
    dovecot = await startDovecot();
  });
  afterAll(() => dovecot?.stop());

  it('registers an appended message exactly once across two polls and marks it afterwards', { timeout: 60_000 }, async () => {
    const client = new ImapFlow({ host: dovecot.host, port: dovecot.port, secure: false, auth: { user: dovecot.user, pass: dovecot.password }, logger: false });
    await client.connect();
    await client.append('INBOX', Buffer.from('From: imap@example.cn\r\nTo: jubao@minzheng.example.cn\r\nSubject: IMAP\r\nMessage-ID: <imap-1@example.cn>\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n通过邮箱轮询收到的举报：低保金被截留。\r\n'));
    const url = `imap://${encodeURIComponent(dovecot.user)}:${encodeURIComponent(dovecot.password)}@${dovecot.host}:${dovecot.port}/INBOX`;
    const first = await pollConfiguredMailbox(url, t.deps.email, t.config.EMAIL_MAX_BYTES, t.deps.logger);
    const second = await pollConfiguredMailbox(url, t.deps.email, t.config.EMAIL_MAX_BYTES, t.deps.logger);
    expect(first).toMatchObject({ fetched: 1, handled: 1 });
    expect(second).toMatchObject({ fetched: 0 });
    expect(await clueByNarrative('低保金被截留')).toHaveLength(1);
    const lock = await client.getMailboxLock('INBOX');
    try {
      const flags = [];
      for await (const m of client.fetch('1:*', { flags: true })) flags.push([...(m.flags ?? [])]);
      expect(flags[0]).toContain('\\Seen');
    } finally {
      lock.release();
      await client.logout();
    }
  });
});
