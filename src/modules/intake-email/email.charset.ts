import { isUtf8 } from 'node:buffer';

/**
 * Chinese-charset repairs applied to a raw message BEFORE it is handed to mailparser. The raw message the app
 * stores is never changed: this only changes what the parser sees.
 *
 * mailparser (3.9.20, iconv-lite underneath) already decodes correctly labelled GBK/GB2312/GB18030 bodies
 * (base64, quoted-printable, 8bit) and RFC 2047 / RFC 2231 GBK-encoded words and file names. What it gets wrong,
 * and what Chinese mail clients and webmails really send, is:
 *
 * 1. GB18030 four-byte sequences (CJK Extension A/B characters used in personal and place names, e.g. 䶮 𠮷,
 *    and emoji) inside a part labelled GBK or GB2312. libmime maps GB2312/GBK to iconv-lite's cp936, which turns
 *    them into U+FFFD and stray digits. GB18030 decodes every GBK byte sequence identically (iconv-lite and the
 *    WHATWG decoder both map the cp936 single byte 0x80 to €), so every GBK-family label is relabelled GB18030:
 *    in `Content-Type: …; charset=`, in RFC 2047 encoded words (`=?gb2312?B?…?=`) and in RFC 2231 parameters
 *    (`filename*=GBK''%B5%CD…`).
 * 2. Raw 8-bit GBK bytes in header lines (Subject, From display name, `filename="…"`), sent by older Foxmail and
 *    some webmails instead of encoded words. mailparser reads header bytes as UTF-8 (Subject → U+FFFD, data lost)
 *    or latin1 (file names → "µÍ±£Ãûµ¥.pdf"). Such lines are transcoded to UTF-8 (RFC 6532 headers, which
 *    mailparser reads correctly) when they are not valid UTF-8 but are valid GB18030.
 * 3. Text parts with no charset (or a us-ascii label) whose decoded content is GBK, e.g. an HTML part that only
 *    says `<meta charset=gb2312>`, or a non-MIME message typed in a Chinese client. mailparser decodes them as
 *    UTF-8 (U+FFFD everywhere); they are labelled GB18030 when their bytes are not UTF-8 but are GB18030.
 *    Parts labelled UTF-8 are left alone: UTF-8 Chinese is usually also a valid GB18030 byte sequence, so a
 *    UTF-8 part with one corrupt byte would otherwise be turned entirely into mojibake.
 *
 * The scan walks header blocks (the message header and the header of every part after a known boundary line)
 * and only the bodies of single text parts; attachments' base64 lines are passed over without being copied.
 */
export function repairChineseCharsets(raw: Buffer): Buffer {
  const out: Buffer[] = [];
  let changed = false;
  let copiedUpTo = 0;
  const boundaries = new Set<string>();
  const len = raw.length;
  let pos = 0;

  const emit = (start: number, end: number, replacement: Buffer) => {
    if (start > copiedUpTo) out.push(raw.subarray(copiedUpTo, start));
    out.push(replacement);
    copiedUpTo = end;
    changed = true;
  };

  while (pos < len) {
    // ── a header block: lines up to the first empty line ──
    const headerStart = pos;
    const lines: Line[] = [];
    while (pos < len) {
      const line = nextLine(raw, pos);
      pos = line.next;
      if (line.contentEnd === line.start) break; // empty line: end of the header block
      lines.push(line);
    }
    const block = analyseHeaderBlock(raw, lines);
    for (const b of block.boundaries) boundaries.add(b);

    // ── the body of this part: up to the first delimiter line of any known boundary ──
    const bodyStart = pos;
    let bodyEnd = len;
    let nextIsHeader = false;
    while (pos < len) {
      const line = nextLine(raw, pos);
      const delimiter = boundaries.size > 0 ? delimiterKind(raw, line, boundaries) : null;
      if (delimiter) {
        bodyEnd = line.start;
        pos = line.next;
        if (delimiter === 'open') {
          nextIsHeader = true;
        } else {
          // closing delimiter: skip the epilogue up to the next opening delimiter of an enclosing multipart
          while (pos < len) {
            const l = nextLine(raw, pos);
            pos = l.next;
            if (delimiterKind(raw, l, boundaries) === 'open') {
              nextIsHeader = true;
              break;
            }
          }
        }
        break;
      }
      pos = line.next;
    }

    // ── rewrite the header block if needed ──
    let labelGb18030 = false;
    if (block.sniffBody && bodyEnd > bodyStart) {
      const content = decodeTransfer(raw.subarray(bodyStart, bodyEnd), block.transferEncoding);
      labelGb18030 = looksLikeGb18030(content);
    }
    const rewritten = rewriteHeaderBlock(raw, lines, block, labelGb18030);
    if (rewritten) emit(headerStart, lines.length ? lines[lines.length - 1]!.next : headerStart, rewritten);

    if (!nextIsHeader) break;
  }

  if (!changed) return raw;
  if (copiedUpTo < len) out.push(raw.subarray(copiedUpTo));
  return Buffer.concat(out);
}

/** GBK and its aliases (everything libmime would decode with cp936); GB18030 decodes all of them identically. */
const GBK_FAMILY = 'gb2312|gb_2312(?:-80)?|gbk|x-gbk|cp936|ms936|windows-936|csgb2312|euc-cn|x-euc-cn|csiso58gb231280|iso-ir-58|chinese';
const ENCODED_WORD_CHARSET = new RegExp(`=\\?(?:${GBK_FAMILY})((?:\\*[^?]*)?)\\?([bq])\\?`, 'gi');
const RFC2231_CHARSET = new RegExp(`(\\*\\s*=\\s*"?)(?:${GBK_FAMILY})(?=')`, 'gi');
const CHARSET_PARAM = new RegExp(`(\\bcharset\\s*=\\s*"?)(?:${GBK_FAMILY})(?=["\\s;]|$)`, 'gi');
const ASCII_CHARSET_PARAM = /(\bcharset\s*=\s*"?)(?:us-ascii|ascii)(?=["\s;]|$)/gi;

interface Line {
  start: number;
  /** end of the content, before CRLF / LF */
  contentEnd: number;
  /** start of the next line */
  next: number;
}

function nextLine(raw: Buffer, start: number): Line {
  const lf = raw.indexOf(0x0a, start);
  const next = lf === -1 ? raw.length : lf + 1;
  let contentEnd = lf === -1 ? raw.length : lf;
  if (contentEnd > start && raw[contentEnd - 1] === 0x0d) contentEnd--;
  return { start, contentEnd, next };
}

function delimiterKind(raw: Buffer, line: Line, boundaries: Set<string>): 'open' | 'close' | null {
  if (line.contentEnd - line.start < 3 || raw[line.start] !== 0x2d || raw[line.start + 1] !== 0x2d) return null;
  // RFC 2046: trailing whitespace ("transport padding") after a delimiter is allowed
  const text = raw.toString('latin1', line.start + 2, line.contentEnd).replace(/[ \t]+$/, '');
  if (boundaries.has(text)) return 'open';
  if (text.endsWith('--') && boundaries.has(text.slice(0, -2))) return 'close';
  return null;
}

interface HeaderBlock {
  boundaries: string[];
  /** indices (into the block's lines) of the physical lines of the Content-Type header, if any */
  contentTypeLines: number[];
  /** a text part whose charset is missing or us-ascii: its content decides whether it is labelled GB18030 */
  sniffBody: boolean;
  transferEncoding: string;
}

function analyseHeaderBlock(raw: Buffer, lines: Line[]): HeaderBlock {
  // unfold into logical headers, remembering which physical lines belong to each
  const headers: { name: string; value: string; lines: number[] }[] = [];
  lines.forEach((line, i) => {
    const text = raw.toString('latin1', line.start, line.contentEnd);
    const last = headers[headers.length - 1];
    if ((text.startsWith(' ') || text.startsWith('\t')) && last) {
      last.value += ' ' + text.trim();
      last.lines.push(i);
      return;
    }
    const colon = text.indexOf(':');
    if (colon <= 0) return;
    headers.push({ name: text.slice(0, colon).trim().toLowerCase(), value: text.slice(colon + 1).trim(), lines: [i] });
  });
  const contentType = headers.find((h) => h.name === 'content-type');
  const transferEncoding = (headers.find((h) => h.name === 'content-transfer-encoding')?.value ?? '7bit').toLowerCase().trim();
  const result: HeaderBlock = { boundaries: [], contentTypeLines: contentType?.lines ?? [], sniffBody: false, transferEncoding };
  const value = contentType?.value ?? '';
  const type = (value.split(';')[0] ?? '').trim().toLowerCase();
  if (type.startsWith('multipart/')) {
    const m = /\bboundary\s*=\s*(?:"([^"]+)"|([^\s;]+))/i.exec(value);
    const b = m?.[1] ?? m?.[2];
    if (b) result.boundaries.push(b);
    return result;
  }
  const isText = type === '' || type === 'text/plain' || type === 'text/html';
  const charset = /\bcharset\s*=\s*"?([^"\s;]+)/i.exec(value)?.[1]?.toLowerCase();
  const disposition = headers.find((h) => h.name === 'content-disposition')?.value.toLowerCase() ?? '';
  result.sniffBody = isText && !disposition.startsWith('attachment') && (charset === undefined || charset === 'us-ascii' || charset === 'ascii');
  return result;
}

function rewriteHeaderBlock(raw: Buffer, lines: Line[], block: HeaderBlock, labelGb18030: boolean): Buffer | null {
  let changed = false;
  const parts: Buffer[] = [];
  lines.forEach((line, i) => {
    let bytes = raw.subarray(line.start, line.contentEnd);
    const eol = raw.subarray(line.contentEnd, line.next);
    if (hasEightBit(bytes) && looksLikeGb18030(bytes)) {
      bytes = Buffer.from(new TextDecoder('gb18030').decode(bytes), 'utf8');
      changed = true;
    }
    let text = bytes.toString('latin1');
    const before = text;
    text = text.replace(ENCODED_WORD_CHARSET, '=?gb18030$1?$2?').replace(RFC2231_CHARSET, '$1gb18030');
    if (block.contentTypeLines.includes(i)) {
      text = text.replace(CHARSET_PARAM, '$1gb18030');
      if (labelGb18030) text = text.replace(ASCII_CHARSET_PARAM, '$1gb18030');
    }
    if (text !== before) changed = true;
    parts.push(Buffer.from(text, 'latin1'), eol);
  });
  if (labelGb18030) {
    const ctLines = block.contentTypeLines;
    const joined = ctLines.map((i) => parts[i * 2]!.toString('latin1')).join(' ');
    if (!/\bcharset\s*=/i.test(joined)) {
      if (ctLines.length > 0) {
        const lastIndex = ctLines[ctLines.length - 1]! * 2;
        parts[lastIndex] = Buffer.from(parts[lastIndex]!.toString('latin1').replace(/[\s;]*$/, '') + '; charset=gb18030', 'latin1');
      } else {
        parts.unshift(Buffer.from('Content-Type: text/plain; charset=gb18030\r\n', 'latin1'));
      }
    }
    changed = true;
  }
  return changed ? Buffer.concat(parts) : null;
}

function hasEightBit(bytes: Uint8Array): boolean {
  for (const b of bytes) if (b >= 0x80) return true;
  return false;
}

const gb18030Fatal = new TextDecoder('gb18030', { fatal: true });
const utf8Lossy = new TextDecoder('utf-8');

/**
 * True when the bytes are not UTF-8 but are a valid GB18030 sequence that reads like GBK text rather than
 * nearly-UTF-8 with a few corrupt bytes (UTF-8 Chinese is often also valid GB18030, so validity alone is not
 * enough: a lossy UTF-8 decode of real GBK text is mostly U+FFFD).
 */
export function looksLikeGb18030(bytes: Uint8Array): boolean {
  if (!hasEightBit(bytes) || isUtf8(bytes)) return false;
  let gb: string;
  try {
    gb = gb18030Fatal.decode(bytes);
  } catch {
    return false;
  }
  let nonAscii = 0;
  for (const ch of gb) if (ch.codePointAt(0)! >= 0x80) nonAscii++;
  let replaced = 0;
  for (const ch of utf8Lossy.decode(bytes)) if (ch === '\ufffd') replaced++;
  return replaced * 4 >= nonAscii;
}

function decodeTransfer(body: Buffer, encoding: string): Buffer {
  if (encoding === 'base64') return Buffer.from(body.toString('latin1'), 'base64');
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(body.toString('latin1'));
  return body;
}

function decodeQuotedPrintable(s: string): Buffer {
  const joined = s.replace(/[ \t]*=\r?\n/g, '');
  const bytes: number[] = [];
  for (let i = 0; i < joined.length; i++) {
    const c = joined.charCodeAt(i);
    if (c === 0x3d && /^[0-9A-Fa-f]{2}$/.test(joined.slice(i + 1, i + 3))) {
      bytes.push(parseInt(joined.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      bytes.push(c & 0xff);
    }
  }
  return Buffer.from(bytes);
}
