import type { EventEmitter } from 'node:events';
import { stripControls } from '../../app/text.ts';
import type { Readable } from 'node:stream';
import { MailParser, type AddressObject, type AttachmentStream, type HeaderLines, type Headers, type MessageText } from 'mailparser';
import { inspectUpload, sanitizeFilename } from '../attachments/attachments.policy.ts';
import { normalizeTrackingCode } from '../clues/tracking-code.ts';
import { isAutomated } from './email.automated.ts';
import { repairChineseCharsets } from './email.charset.ts';
import { cleanMessageId, rawDigestId, scanMessageId } from './email.privacy.ts';

/**
 * Turns one raw email into either a report the app can record or a quarantine decision. Pure: no I/O, no logging
 * (the caller logs `logIdOf(messageId)` and sizes only). Never throws for bad input.
 */

export interface EmailAttachment {
  /** Display name: sanitised, with the extension of the type sniffed from the content. */
  filename: string;
  /** The sniffed type (never the sender's claim). */
  contentType: string;
  /** The content to store: metadata (EXIF location etc.) stripped from images, unchanged otherwise. */
  bytes: Uint8Array;
}

export interface ParsedEmail {
  kind: 'report';
  /** The Message-ID as sent (with its angle brackets), or 'sha256:<hex of raw>' when absent or unusable. */
  messageId: string;
  from: { address: string; name?: string } | null;
  subject: string;
  /** The text part, or text derived from the HTML part when there is only HTML. Trimmed; '\n' line ends. */
  text: string;
  date: Date | null;
  /** Message-IDs (with angle brackets) from In-Reply-To / References, for threading follow-ups. */
  inReplyTo: string[];
  references: string[];
  /** A valid 12-digit tracking code (Damm check digit) found in the subject, digits only. */
  trackingCode: string | null;
  /** Bounce, auto-reply, list or bulk mail: record it, but never answer it automatically. */
  automated: boolean;
  attachments: EmailAttachment[];
}

export type QuarantineReason = 'too_large' | 'unparseable' | 'forbidden_attachment' | 'too_many_attachments' | 'empty';

export interface Quarantine {
  kind: 'quarantine';
  reason: QuarantineReason;
  /** For staff: zh-CN first, then English. Never contains sender data (the file name of a refused attachment only). */
  detail: string;
  /**
   * The Message-ID if one could be read (for a too-large message: from a scan of the header block only), else
   * 'sha256:<hex of raw>', so the app can deduplicate a message the sender's server retries. Null is not
   * currently produced but is part of the contract.
   */
  messageId: string | null;
}

export interface ParseOptions {
  /** Larger raw messages are quarantined before parsing. */
  maxBytes: number;
  maxAttachments: number;
}

export async function parseReport(raw: Buffer, opts: ParseOptions): Promise<ParsedEmail | Quarantine> {
  if (raw.length > opts.maxBytes) {
    return quarantine(
      'too_large',
      `邮件大小 ${formatBytes(raw.length)}，超过 ${formatBytes(opts.maxBytes)} 上限，未解析 / ` +
        `The message is ${formatBytes(raw.length)}, over the ${formatBytes(opts.maxBytes)} limit; it was not parsed.`,
      scanMessageId(raw),
    );
  }

  let mail: Mime;
  try {
    mail = await parseMime(repairChineseCharsets(raw));
  } catch {
    return quarantine('unparseable', '邮件格式无法解析 / The message could not be parsed.', scanMessageId(raw));
  }
  const headerLines = mail.headerLines.filter((h) => /^[\x21-\x39\x3b-\x7e]+$/.test(h.key));
  if (headerLines.length === 0) {
    return quarantine('unparseable', '邮件没有信头，无法解析 / The message has no header, so it could not be parsed.', rawDigestId(raw));
  }

  const messageId = cleanMessageId(mail.messageId) ?? rawDigestId(raw);

  if (mail.attachments.length > opts.maxAttachments) {
    return quarantine(
      'too_many_attachments',
      `附件数量 ${mail.attachments.length} 个，超过 ${opts.maxAttachments} 个上限 / ` +
        `The message has ${mail.attachments.length} attachments, more than the limit of ${opts.maxAttachments}.`,
      messageId,
    );
  }

  const attachments: EmailAttachment[] = [];
  for (const [index, a] of mail.attachments.entries()) {
    const name = a.filename ?? '';
    let inspected: ReturnType<typeof inspectUpload>;
    try {
      inspected = inspectUpload(name, a.content);
    } catch {
      // a bug in a content checker must not turn into an endless SMTP retry: quarantine for staff instead
      inspected = { ok: false, reason: 'type_not_allowed', message: '附件无法检查 / The file could not be checked.' };
    }
    if (!inspected.ok) {
      // Named by its place only: a file name is the reporter's own text (it is shown on the audited opening).
      return quarantine(
        'forbidden_attachment',
        `附件 ${index + 1} 被拒绝：${zhPart(inspected.message)} / Attachment ${index + 1} was refused: ${enPart(inspected.message)}`,
        messageId,
      );
    }
    attachments.push({ filename: inspected.filename, contentType: inspected.mime, bytes: inspected.bytes });
  }

  const text = (typeof mail.text === 'string' ? mail.text : '').replace(/\r\n?/g, '\n').trim();
  if (text === '' && attachments.length === 0) {
    return quarantine('empty', '邮件没有正文，也没有附件 / The message has no text and no attachments.', messageId);
  }

  const from = firstAddress(mail.from);
  const subject = (mail.subject ?? '').trim();
  const date = mail.date instanceof Date && !Number.isNaN(mail.date.getTime()) ? mail.date : null;

  return {
    kind: 'report',
    messageId,
    from,
    subject,
    text,
    date,
    inReplyTo: messageIds(mail.inReplyTo),
    references: messageIds(mail.references),
    trackingCode: findTrackingCode(subject),
    automated: isAutomated({ headerLines, subject, fromAddress: from?.address ?? null }),
    attachments,
  };
}

interface Mime {
  headers: Headers;
  headerLines: HeaderLines;
  text?: string;
  attachments: { filename?: string; contentType?: string; content: Buffer }[];
  messageId?: string;
  from?: AddressObject;
  subject?: string;
  date?: Date;
  inReplyTo?: string;
  references?: string | string[];
}

/**
 * mailparser's `simpleParser`, minus what we do not use (HTML image inlining), plus one fix: in mailparser 3.9.20
 * the MIME splitter's errors are swallowed when the whole input is already written (MailParser's `waitingEnd`
 * drops its error argument), so a message with a header block over 1 MiB or more than 1000 MIME nodes came back
 * as a silently TRUNCATED message (text cut off, later parts and attachments missing). Listening on the
 * splitter turns that into an error, i.e. an 'unparseable' quarantine.
 */
/** What an operator reads of quarantined mail: the words and the attachments' names, never the files. */
export interface MailForStaff {
  from: { address: string; name?: string } | null;
  subject: string;
  text: string;
  textTruncated: boolean;
  date: Date | null;
  attachments: { filename: string; contentType: string; size: number }[];
}

const STAFF_TEXT_MAX = 50_000;

/** Parses without any of the intake checks (quarantined mail failed one); null if it cannot be parsed at all. */
export async function readForStaff(raw: Buffer): Promise<MailForStaff | null> {
  let mail: Mime;
  try {
    mail = await parseMime(repairChineseCharsets(raw));
  } catch {
    return null;
  }
  const text = (typeof mail.text === 'string' ? mail.text : '').replace(/\r\n?/g, '\n').trim();
  return {
    from: firstAddress(mail.from),
    subject: (mail.subject ?? '').trim(),
    text: text.slice(0, STAFF_TEXT_MAX),
    textTruncated: text.length > STAFF_TEXT_MAX,
    date: mail.date instanceof Date && !Number.isNaN(mail.date.getTime()) ? mail.date : null,
    attachments: mail.attachments.map((a) => ({ filename: displayName(a.filename ?? ''), contentType: a.contentType ?? 'application/octet-stream', size: a.content.length })),
  };
}

function parseMime(raw: Buffer): Promise<Mime> {
  return new Promise((resolve, reject) => {
    const parser = new MailParser({ skipTextToHtml: true, skipTextLinks: true, skipImageLinks: true });
    const splitter = (parser as unknown as { splitter?: EventEmitter }).splitter;
    if (!splitter || typeof splitter.on !== 'function') {
      reject(new Error('mailparser internals changed: MailParser.splitter is missing'));
      return;
    }
    let failure: unknown = null;
    let settled = false;
    const fail = (err: unknown) => {
      failure ??= err ?? new Error('mailparser failed');
      if (settled) return;
      settled = true;
      parser.destroy();
      reject(failure);
    };
    splitter.on('error', fail);
    parser.on('error', fail);

    const mail: Mime = { headers: new Map(), headerLines: [], attachments: [] };
    parser.on('headers', (headers: Headers) => {
      mail.headers = headers;
      mail.headerLines = (parser as unknown as { headerLines?: HeaderLines }).headerLines || [];
    });

    let reading = false;
    const read = () => {
      reading = true;
      for (;;) {
        const data = parser.read() as AttachmentStream | MessageText | null;
        if (data === null) {
          reading = false;
          return;
        }
        if (data.type === 'text') {
          if (typeof data.text === 'string') mail.text = stripControls(data.text);
          continue;
        }
        // an attachment: read its content to the end before asking for more, as simpleParser does
        const attachment = data;
        const chunks: Buffer[] = [];
        const content = attachment.content as unknown as Readable;
        content.on('data', (chunk: Buffer) => chunks.push(chunk));
        content.once('end', () => {
          mail.attachments.push({ filename: attachment.filename === undefined ? undefined : stripControls(attachment.filename), content: Buffer.concat(chunks) });
          attachment.release();
          read();
        });
        return;
      }
    };
    parser.on('readable', () => {
      if (!reading) read();
    });

    parser.once('end', () => {
      if (settled) return;
      if (failure) return fail(failure);
      settled = true;
      const h = mail.headers;
      const str = (key: string) => {
        const v = h.get(key);
        return typeof v === 'string' ? stripControls(v) : undefined;
      };
      mail.subject = str('subject');
      mail.messageId = str('message-id');
      mail.inReplyTo = str('in-reply-to');
      const refs = h.get('references');
      mail.references = typeof refs === 'string' ? stripControls(refs) : Array.isArray(refs) ? (refs as string[]).map((r) => stripControls(String(r))) : undefined;
      const date = h.get('date');
      mail.date = date instanceof Date ? date : undefined;
      const from = h.get('from');
      mail.from = from && typeof from === 'object' && 'value' in from ? (from as AddressObject) : undefined;
      resolve(mail);
    });

    parser.end(raw);
  });
}

function quarantine(reason: QuarantineReason, detail: string, messageId: string | null): Quarantine {
  return { kind: 'quarantine', reason, detail, messageId };
}

function firstAddress(from: AddressObject | AddressObject[] | undefined): ParsedEmail['from'] {
  const list = Array.isArray(from) ? from : from ? [from] : [];
  for (const obj of list) {
    for (const a of obj.value) {
      // a group ("Undisclosed recipients:;") has members instead of an address
      const address = stripControls(a.address ?? a.group?.find((m) => m.address)?.address ?? '').trim();
      if (address === '') continue;
      const name = stripControls(a.name ?? '').trim();
      return name ? { address, name } : { address };
    }
  }
  return null;
}

function messageIds(value: string | string[] | undefined): string[] {
  const joined = Array.isArray(value) ? value.join(' ') : (value ?? '');
  const found = joined.match(/<[^<>\s]+>/g) ?? [];
  const ids = found.map((id) => cleanMessageId(id)).filter((id): id is string => id !== null);
  return [...new Set(ids)];
}

/**
 * The first valid tracking code in the subject: a run of digits with at most one space or dash between digits
 * ('查询码 1234 5678 9012', '1234-5678-9012', '123456789012', full-width digits and dashes too) that has exactly
 * 12 digits and passes the Damm check. Longer runs (bank card and ID numbers) are never cut into a code.
 */
export function findTrackingCode(subject: string): string | null {
  const ascii = subject.replace(/[０-９]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0)).replace(/[－—–]/g, '-');
  for (const m of ascii.matchAll(/\d(?:[ \t-]?\d)*/g)) {
    const code = normalizeTrackingCode(m[0]);
    if (code) return code;
  }
  return null;
}

/** A refused attachment's name as staff see it: sanitised, keeping the sender's extension. */
function displayName(name: string): string {
  const ext = /\.([A-Za-z0-9]{1,10})$/.exec(name.trim())?.[1]?.toLowerCase() ?? 'bin';
  return sanitizeFilename(name, ext);
}

/** REJECT_MESSAGES are 'zh / en'. */
function zhPart(message: string): string {
  return message.split(' / ')[0] ?? message;
}

function enPart(message: string): string {
  return message.split(' / ').slice(1).join(' / ') || message;
}

function formatBytes(n: number): string {
  if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1)} MB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${n} B`;
}
