import { createHash } from 'node:crypto';

/**
 * Reporter protection for the email intake: logs carry a hash of the Message-ID (or of the raw bytes) and sizes,
 * never sender addresses, subjects, bodies, file names, client IP addresses or host names.
 */

/**
 * The SMTP listener's default name for one message in its log lines: the first 16 hex digits of SHA-256 over its
 * Message-ID. The app passes its keyed hash instead (`EmailUseCases.logId`), as its own log lines and ledger events use.
 */
export function logIdOf(messageId: string): string {
  return createHash('sha256').update(messageId).digest('hex').slice(0, 16);
}

/** 'sha256:<hex>' of the raw message: the stable id of a message that has no usable Message-ID. */
export function rawDigestId(raw: Uint8Array): string {
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

/** Longest Message-ID taken as is; anything longer (or with control characters) is replaced by the raw digest. */
const MAX_MESSAGE_ID_CHARS = 500;

/** A usable Message-ID: trimmed, printable ASCII, bounded; otherwise null. */
export function cleanMessageId(value: unknown): string | null {
  if (typeof value !== 'string') return null;
  const id = value.trim();
  if (id === '' || id === '<>' || id.length > MAX_MESSAGE_ID_CHARS || !/^[\x21-\x7e]+$/.test(id)) return null;
  return id;
}

/**
 * The Message-ID of a raw message without parsing it: the header block only (up to the first empty line, and at
 * most the first 256 KiB), unfolded. Used where the message is not (or cannot be) parsed: too large, unparseable,
 * and the SMTP listener's log lines. Falls back to the digest of the raw bytes.
 */
export function scanMessageId(raw: Buffer): string {
  const head = raw.subarray(0, Math.min(raw.length, 256 * 1024)).toString('latin1');
  const end = head.search(/\r?\n\r?\n/);
  const block = (end === -1 ? head : head.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const m = /^message-id[ \t]*:[ \t]*(.*)$/im.exec(block);
  const value = m?.[1]?.trim();
  const bracketed = value ? /<[^<>\s]+>/.exec(value)?.[0] : undefined;
  return cleanMessageId(bracketed ?? value) ?? rawDigestId(raw);
}
