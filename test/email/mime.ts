import iconv from 'iconv-lite';
import nodemailer from 'nodemailer';

/**
 * Raw MIME fixtures for the email intake tests, built byte by byte so the charsets and transfer encodings are
 * exactly what Chinese mail clients send. iconv-lite (a mailparser dependency) produces the GBK/GB18030 bytes.
 */

export function gbk(text: string): Buffer {
  return iconv.encode(text, 'gbk');
}

export function gb18030(text: string): Buffer {
  return iconv.encode(text, 'gb18030');
}

/** An RFC 2047 B-encoded word in the given charset. */
export function encodedWord(text: string, charset: 'GBK' | 'GB2312' | 'GB18030' | 'UTF-8' = 'GBK'): string {
  const bytes = charset === 'UTF-8' ? Buffer.from(text, 'utf8') : iconv.encode(text, charset === 'GB2312' ? 'gbk' : charset.toLowerCase());
  return `=?${charset}?B?${bytes.toString('base64')}?=`;
}

/** An RFC 2231 extended parameter value: charset''%XX%XX… */
export function rfc2231Value(text: string, charset = 'GBK'): string {
  const bytes = iconv.encode(text, charset.toLowerCase());
  return `${charset}''${[...bytes].map((b) => '%' + b.toString(16).toUpperCase().padStart(2, '0')).join('')}`;
}

/** Quoted-printable of raw bytes, soft line breaks at 76 characters. */
export function quotedPrintable(bytes: Uint8Array): string {
  let out = '';
  let lineLength = 0;
  for (const b of bytes) {
    const token = (b >= 0x21 && b <= 0x7e && b !== 0x3d) || b === 0x20 ? String.fromCharCode(b) : '=' + b.toString(16).toUpperCase().padStart(2, '0');
    if (lineLength + token.length > 75) {
      out += '=\r\n';
      lineLength = 0;
    }
    out += token;
    lineLength += token.length;
  }
  return out;
}

export function base64Lines(bytes: Uint8Array): string {
  return (Buffer.from(bytes).toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

/** Header lines + body, CRLF line ends; strings are taken as latin1 bytes, Buffers as they are. */
export function rawMessage(headers: (string | Buffer)[], ...body: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [];
  for (const h of headers) parts.push(typeof h === 'string' ? Buffer.from(h, 'latin1') : h, Buffer.from('\r\n'));
  parts.push(Buffer.from('\r\n'));
  for (const b of body) parts.push(typeof b === 'string' ? Buffer.from(b, 'latin1') : b);
  return Buffer.concat(parts);
}

/** A small, structurally valid one-page PDF. */
export function tinyPdf(): Buffer {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>',
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(body.length);
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) body += `${String(off).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(body, 'latin1');
}

/** A few bytes that start like a Windows executable. */
export function fakeExe(): Buffer {
  const b = Buffer.alloc(512);
  b.write('MZ', 0, 'latin1');
  b.write('This program cannot be run in DOS mode.', 78, 'latin1');
  return b;
}

const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

/** A message built by nodemailer (UTF-8, as modern clients send), without sending it. */
export async function compose(mail: Parameters<typeof composer.sendMail>[0]): Promise<Buffer> {
  const info = await composer.sendMail(mail);
  return info.message as Buffer;
}
