import { createHash } from 'node:crypto';
import * as mailparser from 'mailparser';
import { describe, expect, it, vi } from 'vitest';
import { dammDigit, formatTrackingCode, generateTrackingCode } from '../../src/modules/clues/tracking-code.ts';
import { findTrackingCode, parseReport, type ParsedEmail, type Quarantine } from '../../src/modules/intake-email/email.parse.ts';
import {
  base64Lines,
  compose,
  encodedWord,
  fakeExe,
  gb18030,
  gbk,
  quotedPrintable,
  rawMessage,
  rfc2231Value,
  tinyPdf,
} from './mime.ts';

// count MailParser instances so "decided before parsing" can be checked
vi.mock('mailparser', async (importOriginal) => {
  const original = await importOriginal<typeof import('mailparser')>();
  const MailParser = vi.fn(function (options?: ConstructorParameters<typeof original.MailParser>[0]) {
    return new original.MailParser(options);
  });
  return { ...original, MailParser };
});

const OPTS = { maxBytes: 25 * 1024 * 1024, maxAttachments: 5 };
const REPORT_TEXT = '举报：某村村干部将亲属违规纳入低保名单，每月冒领补助。';

async function report(raw: Buffer, opts = OPTS): Promise<ParsedEmail> {
  const r = await parseReport(raw, opts);
  if (r.kind !== 'report') throw new Error(`expected a report, got quarantine ${r.reason}: ${r.detail}`);
  return r;
}

async function quarantined(raw: Buffer, opts = OPTS): Promise<Quarantine> {
  const r = await parseReport(raw, opts);
  if (r.kind !== 'quarantine') throw new Error('expected a quarantine, got a report');
  return r;
}

function sha256(raw: Buffer) {
  return createHash('sha256').update(raw).digest('hex');
}

describe('parseReport: UTF-8', () => {
  it('reads a UTF-8 message built by nodemailer', async () => {
    const raw = await compose({
      from: { name: '李四', address: 'lisi@example.cn' },
      to: 'report@hotline.example',
      subject: '举报 低保冒领',
      text: `${REPORT_TEXT}\n第二行`,
      messageId: '<utf8-1@example.cn>',
      inReplyTo: '<ack-1@hotline.example>',
      references: ['<first@example.cn>', '<ack-1@hotline.example>'],
      date: new Date('2026-03-01T08:00:00Z'),
    });
    const r = await report(raw);
    expect(r).toMatchObject({
      kind: 'report',
      messageId: '<utf8-1@example.cn>',
      from: { address: 'lisi@example.cn', name: '李四' },
      subject: '举报 低保冒领',
      text: `${REPORT_TEXT}\n第二行`,
      inReplyTo: ['<ack-1@hotline.example>'],
      references: ['<first@example.cn>', '<ack-1@hotline.example>'],
      trackingCode: null,
      automated: false,
      attachments: [],
    });
    expect(r.date?.toISOString()).toBe('2026-03-01T08:00:00.000Z');
  });

  it('keeps a UTF-8 PDF attachment, typed by its content', async () => {
    const pdf = tinyPdf();
    const raw = await compose({
      from: 'a@example.cn',
      to: 'report@hotline.example',
      subject: '材料',
      text: '见附件',
      attachments: [{ filename: '村委会公示.pdf', content: pdf, contentType: 'application/octet-stream' }],
    });
    const r = await report(raw);
    expect(r.attachments).toHaveLength(1);
    expect(r.attachments[0]!.filename).toBe('村委会公示.pdf');
    expect(r.attachments[0]!.contentType).toBe('application/pdf');
    expect(Buffer.from(r.attachments[0]!.bytes).equals(pdf)).toBe(true);
  });
});

describe('parseReport: GBK / GB2312 / GB18030 (Chinese clients)', () => {
  const pdf = tinyPdf();

  it('GBK base64 body, GB2312 subject and an RFC 2047 GBK attachment name', async () => {
    const raw = rawMessage(
      [
        `From: ${encodedWord('张三')} <zhangsan@example.cn>`,
        'To: report@hotline.example',
        `Subject: ${encodedWord('低保举报材料', 'GB2312')}`,
        'Message-ID: <gbk-b64@example.cn>',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="----=_NextPart_000_0001"',
      ],
      '------=_NextPart_000_0001\r\n',
      'Content-Type: text/plain; charset="GBK"\r\nContent-Transfer-Encoding: base64\r\n\r\n',
      base64Lines(gbk(REPORT_TEXT)),
      '\r\n------=_NextPart_000_0001\r\n',
      `Content-Type: application/pdf; name="${encodedWord('低保名单.pdf')}"\r\n`,
      `Content-Disposition: attachment; filename="${encodedWord('低保名单.pdf')}"\r\n`,
      'Content-Transfer-Encoding: base64\r\n\r\n',
      base64Lines(pdf),
      '\r\n------=_NextPart_000_0001--\r\n',
    );
    const r = await report(raw);
    expect(r.from).toEqual({ address: 'zhangsan@example.cn', name: '张三' });
    expect(r.subject).toBe('低保举报材料');
    expect(r.text).toBe(REPORT_TEXT);
    expect(r.attachments.map((a) => [a.filename, a.contentType])).toEqual([['低保名单.pdf', 'application/pdf']]);
    expect(Buffer.from(r.attachments[0]!.bytes).equals(pdf)).toBe(true);
  });

  it('GBK quoted-printable body and an RFC 2231 GBK attachment name (with continuations)', async () => {
    const name = rfc2231Value('低保名单（第二批）.pdf');
    const raw = rawMessage(
      [
        'From: wang@example.cn',
        `Subject: ${encodedWord('补充材料', 'GBK')}`,
        'Content-Type: multipart/mixed; boundary=b1',
      ],
      '--b1\r\n',
      'Content-Type: text/plain; charset=GBK\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n',
      quotedPrintable(gbk(REPORT_TEXT)),
      '\r\n--b1\r\n',
      `Content-Type: application/pdf; name*=${name}\r\n`,
      `Content-Disposition: attachment;\r\n filename*0*=${name.slice(0, 30)};\r\n filename*1*=${name.slice(30)}\r\n`,
      'Content-Transfer-Encoding: base64\r\n\r\n',
      base64Lines(pdf),
      '\r\n--b1--\r\n',
    );
    const r = await report(raw);
    expect(r.subject).toBe('补充材料');
    expect(r.text).toBe(REPORT_TEXT);
    expect(r.attachments.map((a) => a.filename)).toEqual(['低保名单（第二批）.pdf']);
  });

  it('GB18030 four-byte characters in a part labelled GBK/GB2312 (rare name characters, emoji)', async () => {
    const text = '村民王䶮、李𠮷反映：低保被冒领 😡';
    for (const label of ['GBK', 'gb2312', 'GB18030']) {
      const raw = rawMessage(
        [`Subject: =?${label}?B?${gb18030('王䶮的举报').toString('base64')}?=`, `Content-Type: text/plain; charset=${label}`, 'Content-Transfer-Encoding: 8bit'],
        gb18030(text),
      );
      const r = await report(raw);
      expect(r.text, label).toBe(text);
      expect(r.subject, label).toBe('王䶮的举报');
    }
  });

  it('cp936 single byte 0x80 (euro sign) survives', async () => {
    const raw = rawMessage(['Subject: x', 'Content-Type: text/plain; charset=GBK'], Buffer.from([0x80]), gbk('100元'));
    expect((await report(raw)).text).toBe('€100元');
  });

  it('raw 8-bit GBK header bytes (no encoded words): subject, sender name, attachment name', async () => {
    const raw = rawMessage(
      [Buffer.concat([Buffer.from('From: '), gbk('赵六'), Buffer.from(' <zhao@example.cn>')]), Buffer.concat([Buffer.from('Subject: '), gbk('举报村干部')]), 'Content-Type: multipart/mixed; boundary=zz'],
      '--zz\r\nContent-Type: text/plain; charset=gb2312\r\nContent-Transfer-Encoding: 8bit\r\n\r\n',
      gbk(REPORT_TEXT),
      '\r\n--zz\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="',
      gbk('低保名单.pdf'),
      '"\r\nContent-Transfer-Encoding: base64\r\n\r\n',
      base64Lines(pdf),
      '\r\n--zz--\r\n',
    );
    const r = await report(raw);
    expect(r.from).toEqual({ address: 'zhao@example.cn', name: '赵六' });
    expect(r.subject).toBe('举报村干部');
    expect(r.text).toBe(REPORT_TEXT);
    expect(r.attachments.map((a) => a.filename)).toEqual(['低保名单.pdf']);
  });

  it('GBK text with no charset label: non-MIME message, and HTML that only says <meta charset=gb2312>', async () => {
    expect((await report(rawMessage(['Subject: x'], gbk(REPORT_TEXT)))).text).toBe(REPORT_TEXT);
    const html = rawMessage(
      ['Subject: x', 'MIME-Version: 1.0', 'Content-Type: text/html', 'Content-Transfer-Encoding: base64'],
      base64Lines(Buffer.concat([Buffer.from('<html><head><meta http-equiv="Content-Type" content="text/html; charset=gb2312"></head><body><p>'), gbk(REPORT_TEXT), Buffer.from('</p></body></html>')])),
    );
    expect((await report(html)).text).toBe(REPORT_TEXT);
  });

  it('a UTF-8 part with one corrupt byte is not reinterpreted as GBK', async () => {
    const body = Buffer.concat([Buffer.from(REPORT_TEXT.repeat(3)), Buffer.from([0xff]), Buffer.from('结束')]);
    const r = await report(rawMessage(['Subject: x', 'Content-Type: text/plain'], body));
    expect(r.text).toBe(`${REPORT_TEXT.repeat(3)}\ufffd结束`);
  });
});

describe('parseReport: text, ids, tracking codes', () => {
  it('derives text from an HTML-only quoted-printable message', async () => {
    const html = `<html><body><p>${REPORT_TEXT}</p><p>地址：<b>某县某村</b></p><script>alert(1)</script></body></html>`;
    const raw = rawMessage(
      ['From: a@example.cn', 'Subject: html', 'Content-Type: text/html; charset=utf-8', 'Content-Transfer-Encoding: quoted-printable'],
      quotedPrintable(Buffer.from(html)),
    );
    const r = await report(raw);
    expect(r.text).toContain(REPORT_TEXT);
    expect(r.text).toContain('地址：某县某村');
    expect(r.text).not.toMatch(/<|alert/);
  });

  it('uses sha256 of the raw message when there is no Message-ID', async () => {
    const raw = rawMessage(['From: a@example.cn', 'Subject: no id', 'Content-Type: text/plain; charset=utf-8'], Buffer.from(REPORT_TEXT));
    const r = await report(raw);
    expect(r.messageId).toBe(`sha256:${sha256(raw)}`);
    expect(r.messageId).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('finds a valid tracking code in the subject, in the usual spellings', async () => {
    const code = generateTrackingCode();
    const spaced = formatTrackingCode(code); // '1234 5678 9012'
    const spellings = [
      `回复：查询码 ${spaced}`,
      `Re: 补充材料 ${code.slice(0, 4)}-${code.slice(4, 8)}-${code.slice(8)}`,
      `查询码${code}`,
      `查询码：${[...code].map((d) => String.fromCharCode(d.charCodeAt(0) + 0xfee0)).join('')}`,
    ];
    for (const subject of spellings) {
      const raw = await compose({ from: 'a@example.cn', to: 'r@h.example', subject, text: '补充' });
      expect((await report(raw)).trackingCode, subject).toBe(code);
    }
  });

  it('ignores 12 digits with a wrong check digit, and longer numbers', () => {
    const code = generateTrackingCode();
    const wrong = code.slice(0, 11) + String((Number(code[11]) + 1) % 10);
    expect(dammDigit(wrong)).not.toBe(0);
    expect(findTrackingCode(`查询码 ${formatTrackingCode(wrong)}`)).toBeNull();
    expect(findTrackingCode(`卡号 ${code}7`)).toBeNull();
    expect(findTrackingCode(`电话 13800138000 查询码 ${formatTrackingCode(code)}`)).toBe(code);
    expect(findTrackingCode('没有查询码')).toBeNull();
  });
});

describe('parseReport: automated mail', () => {
  const base = ['From: someone@example.cn', 'To: report@hotline.example', 'Content-Type: text/plain; charset=utf-8'];
  const cases: [string, string[]][] = [
    ['Auto-Submitted: auto-replied', ['Subject: 你好', 'Auto-Submitted: auto-replied']],
    ['Auto-Submitted: auto-generated', ['Subject: 你好', 'Auto-Submitted: auto-generated']],
    ['X-Auto-Response-Suppress', ['Subject: 你好', 'X-Auto-Response-Suppress: All']],
    ['Precedence: bulk', ['Subject: 你好', 'Precedence: bulk']],
    ['Precedence: junk', ['Subject: 你好', 'Precedence: junk']],
    ['Precedence: list', ['Subject: 你好', 'Precedence: list']],
    ['List-Id', ['Subject: 你好', 'List-Id: News <news.example.cn>']],
    ['Return-Path: <>', ['Subject: 你好', 'Return-Path: <>']],
    ['X-Autoreply', ['Subject: 你好', 'X-Autoreply: yes']],
    ['X-Autorespond', ['Subject: 你好', 'X-Autorespond: yes']],
    ['subject 自动回复', [`Subject: ${encodedWord('自动回复：我正在休假', 'GBK')}`]],
    ['subject Auto:', ['Subject: Auto: Re: 举报']],
    ['subject Automatic reply', ['Subject: Automatic reply: 举报']],
    ['subject Out of Office', ['Subject: Out of Office: back Monday']],
    ['subject 退信', [`Subject: ${encodedWord('系统退信', 'GB2312')}`]],
    ['subject Undeliverable', ['Subject: Undeliverable: 举报']],
  ];
  for (const [name, headers] of cases) {
    it(`flags ${name}`, async () => {
      expect((await report(rawMessage([...base, ...headers], '自动消息'))).automated).toBe(true);
    });
  }

  it('does not flag an ordinary report (or Auto-Submitted: no)', async () => {
    const r = await report(rawMessage([...base, 'Subject: 举报自动化养殖场冒领低保', 'Auto-Submitted: no'], REPORT_TEXT));
    expect(r.automated).toBe(false);
  });

  it('flags a multipart/report delivery-status bounce from MAILER-DAEMON', async () => {
    const raw = rawMessage(
      [
        'Return-Path: <>',
        'From: Mail Delivery System <MAILER-DAEMON@mx.example.cn>',
        'To: report@hotline.example',
        'Subject: Undelivered Mail Returned to Sender',
        'Message-ID: <bounce-1@mx.example.cn>',
        'Content-Type: multipart/report; report-type=delivery-status; boundary="rep"',
      ],
      '--rep\r\nContent-Type: text/plain\r\n\r\nThe mail system could not deliver your message.\r\n',
      '--rep\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.cn\r\n\r\nFinal-Recipient: rfc822; x@example.cn\r\nAction: failed\r\nStatus: 5.1.1\r\n',
      '--rep--\r\n',
    );
    const r = await report(raw);
    expect(r.automated).toBe(true);
    expect(r.messageId).toBe('<bounce-1@mx.example.cn>');
  });
});

describe('parseReport: quarantine', () => {
  it('too_large: a 30 MB message is quarantined without being parsed', async () => {
    const spy = vi.mocked(mailparser.MailParser);
    spy.mockClear();
    const head = Buffer.from('From: a@example.cn\r\nSubject: big\r\nMessage-ID: <big-1@example.cn>\r\nContent-Type: text/plain\r\n\r\n');
    const raw = Buffer.concat([head, Buffer.alloc(30 * 1024 * 1024, 0x61)]);
    const q = await quarantined(raw);
    expect(q).toMatchObject({ kind: 'quarantine', reason: 'too_large', messageId: '<big-1@example.cn>' });
    expect(q.detail).toMatch(/^邮件大小 30\.0 MB，超过 25\.0 MB 上限.* \/ The message is 30\.0 MB/);
    expect(spy).not.toHaveBeenCalled();
    // control: the spy does see parsing
    await parseReport(head, OPTS);
    expect(spy).toHaveBeenCalledTimes(1);
  });

  it('unparseable: garbage without any header', async () => {
    const garbage = Buffer.from([0x00, 0x01, 0x02, 0xff, 0xfe, 0x13, 0x37, 0x0a, 0x41, 0x42, 0x0d, 0x0a, 0x0d, 0x0a, 0x99]);
    const q = await quarantined(garbage);
    expect(q.reason).toBe('unparseable');
    expect(q.messageId).toBe(`sha256:${sha256(garbage)}`);
    expect((await quarantined(Buffer.from('just a line of text, no header at all\r\n\r\nand a body'))).reason).toBe('unparseable');
  });

  it('unparseable: more MIME parts than mailparser accepts (which simpleParser would silently truncate)', async () => {
    const parts = Array.from({ length: 1100 }, (_, i) => `--x\r\nContent-Type: text/plain\r\n\r\npart ${i}\r\n`).join('');
    const raw = rawMessage(['From: a@example.cn', 'Subject: bomb', 'Message-ID: <bomb@example.cn>', 'Content-Type: multipart/mixed; boundary=x'], parts, '--x--\r\n');
    // the upstream behaviour this guards against: no error, the text just stops part-way
    const upstream = await mailparser.simpleParser(raw);
    expect(upstream.text).not.toContain('part 1099');
    const q = await quarantined(raw);
    expect(q).toMatchObject({ reason: 'unparseable', messageId: '<bomb@example.cn>' });
  });

  it('unparseable: a header block over the 1 MiB limit of mailparser (which simpleParser would silently drop)', async () => {
    const raw = rawMessage(['From: a@example.cn', 'Subject: x', `X-Padding: ${'a'.repeat(1100 * 1024)}`, 'Content-Type: text/plain'], REPORT_TEXT);
    expect((await mailparser.simpleParser(raw)).text).toBeUndefined();
    expect((await quarantined(raw)).reason).toBe('unparseable');
  });

  it('forbidden_attachment: an .exe is refused by content; the detail names it by its place, never by its name', async () => {
    const raw = await compose({
      from: 'a@example.cn',
      to: 'r@h.example',
      subject: '材料',
      text: '见附件',
      attachments: [
        { filename: '低保名单.pdf', content: tinyPdf() },
        { filename: '查看\u202Efdp.exe', content: fakeExe(), contentType: 'application/pdf' },
      ],
    });
    const q = await quarantined(raw);
    expect(q.reason).toBe('forbidden_attachment');
    expect(q.detail).not.toContain('fdp'); // the name is the reporter's text: shown only on the audited opening
    expect(q.detail).toMatch(/^附件 2 被拒绝：不支持此文件类型 \/ Attachment 2 was refused: This file type is not allowed\.$/);
    expect(q.detail).not.toContain('a@example.cn');
  });

  it('too_many_attachments', async () => {
    const attachments = Array.from({ length: 3 }, (_, i) => ({ filename: `${i}.pdf`, content: tinyPdf() }));
    const raw = await compose({ from: 'a@example.cn', to: 'r@h.example', subject: 's', text: 't', attachments });
    expect((await quarantined(raw, { ...OPTS, maxAttachments: 2 })).reason).toBe('too_many_attachments');
    expect((await report(raw, { ...OPTS, maxAttachments: 3 })).attachments).toHaveLength(3);
  });

  it('empty: no text and no attachments', async () => {
    const q = await quarantined(rawMessage(['From: a@example.cn', 'Subject: 空', 'Message-ID: <e@example.cn>', 'Content-Type: text/plain'], '  \r\n\r\n'));
    expect(q).toMatchObject({ reason: 'empty', messageId: '<e@example.cn>' });
    expect(q.detail).toMatch(/^邮件没有正文.* \/ The message/);
  });

  it('an attachment alone (no text) is a report', async () => {
    const raw = await compose({ from: 'a@example.cn', to: 'r@h.example', subject: '', attachments: [{ filename: 'x.pdf', content: tinyPdf() }] });
    expect((await report(raw)).attachments).toHaveLength(1);
  });
});
