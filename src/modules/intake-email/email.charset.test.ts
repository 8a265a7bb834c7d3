import iconv from 'iconv-lite';
import { describe, expect, it } from 'vitest';
import { looksLikeGb18030, repairChineseCharsets } from './email.charset.ts';
import { scanMessageId } from './email.privacy.ts';

const crlf = (...lines: (string | Buffer)[]) =>
  Buffer.concat(lines.flatMap((l) => [typeof l === 'string' ? Buffer.from(l, 'latin1') : l, Buffer.from('\r\n')]));
const gbk = (s: string) => iconv.encode(s, 'gbk');

describe('repairChineseCharsets', () => {
  it('returns the very same buffer when there is nothing to repair', () => {
    const utf8 = crlf('From: 张三 <a@example.cn>', 'Subject: =?UTF-8?B?5L2g5aW9?=', 'Content-Type: text/plain; charset=utf-8', '', '你好');
    expect(repairChineseCharsets(utf8)).toBe(utf8);
    const ascii = crlf('Subject: hi', '', 'hello');
    expect(repairChineseCharsets(ascii)).toBe(ascii);
  });

  it('relabels GBK-family charsets as GB18030 in Content-Type, encoded words and RFC 2231 parameters', () => {
    const raw = crlf(
      'Subject: =?gb2312?B?1tDOxA==?= =?GBK?Q?=D6=D0?=',
      'Content-Type: multipart/mixed; boundary="b"',
      '',
      '--b',
      'Content-Type: text/plain;',
      '\tcharset="GB2312"',
      '',
      'body with charset=gbk in it stays',
      '--b',
      "Content-Disposition: attachment; filename*=GBK''%D6%D0.pdf",
      '',
      'x',
      '--b--',
    );
    const out = repairChineseCharsets(raw).toString('latin1');
    expect(out).toContain('Subject: =?gb18030?B?1tDOxA==?= =?gb18030?Q?=D6=D0?=');
    expect(out).toContain('\tcharset="gb18030"');
    expect(out).toContain("filename*=gb18030''%D6%D0.pdf");
    expect(out).toContain('body with charset=gbk in it stays');
  });

  it('transcodes raw GBK header lines to UTF-8 and leaves attachment bodies alone', () => {
    const binary = Buffer.from([0xb5, 0xcd, 0xb1, 0xa3, 0x00, 0xff]);
    const raw = crlf(
      Buffer.concat([Buffer.from('Subject: '), gbk('低保')]),
      'Content-Type: multipart/mixed; boundary=q',
      '',
      '--q',
      'Content-Type: application/octet-stream',
      '',
      binary,
      '--q--',
    );
    const out = repairChineseCharsets(raw);
    expect(out.toString('utf8')).toContain('Subject: 低保\r\n');
    expect(out.includes(binary)).toBe(true);
  });

  it('labels an unlabelled GBK text part, and only that one', () => {
    const raw = crlf(
      'Content-Type: multipart/alternative; boundary=q',
      '',
      '--q',
      'Content-Type: text/plain',
      '',
      gbk('举报'),
      '--q',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<p>举报</p>',
      '--q--',
    );
    const out = repairChineseCharsets(raw).toString('latin1');
    expect(out).toContain('Content-Type: text/plain; charset=gb18030\r\n');
    expect(out).toContain('Content-Type: text/html; charset=utf-8\r\n');
  });
});

describe('looksLikeGb18030', () => {
  it('tells GBK text from UTF-8 text with a stray byte', () => {
    expect(looksLikeGb18030(gbk('村干部冒领低保'))).toBe(true);
    expect(looksLikeGb18030(Buffer.from('村干部冒领低保'))).toBe(false);
    expect(looksLikeGb18030(Buffer.concat([Buffer.from('村干部冒领低保'.repeat(5)), Buffer.from([0xa0])]))).toBe(false);
    expect(looksLikeGb18030(Buffer.from('plain ascii'))).toBe(false);
    expect(looksLikeGb18030(Buffer.from([0xff, 0xfe]))).toBe(false);
  });
});

describe('scanMessageId', () => {
  it('reads a folded Message-ID from the header block only', () => {
    expect(scanMessageId(crlf('Subject: x', 'Message-ID:', ' <a.b@example.cn>', '', 'Message-ID: <body@x>'))).toBe('<a.b@example.cn>');
    expect(scanMessageId(crlf('Subject: x', '', 'Message-ID: <body@x>'))).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});
