/**
 * Content sniffing for uploaded evidence: the type is decided by the bytes, never by the file name or the
 * browser's Content-Type. This is an allowlist — anything not positively recognised is refused (`null`),
 * so executables (MZ/ELF/Mach-O), scripts, HTML/SVG/XML, RTF, archives, MSI installers, macro-enabled Office
 * files and so on all come out as `null` without needing a denylist of their own.
 *
 * Decisions:
 * - HEIC/HEIF is recognised here (so the reporter can be told to convert it) but `stripMetadata` refuses it,
 *   because removing its EXIF/XMP items safely means rewriting the ISOBMFF item tables (see attachments.strip.ts).
 * - RTF is refused: it is a long-standing exploit carrier (embedded OLE objects) and rare as genuine evidence;
 *   it would otherwise pass as valid UTF-8 text, so the text check refuses it explicitly.
 * - ISO-BMFF 'isom'/'mp42' files are reported as audio/mp4 as the brief asks, although they may contain video.
 * - Legacy Office (OLE compound files) is classified by its top-level stream names; OLE files that are not
 *   Word/Excel/PowerPoint (MSI installers, Outlook .msg, encrypted OOXML, Thumbs.db) and files with VBA macro
 *   storages or embedded "Package" objects (\x01Ole10Native) are refused. OOXML with vbaProject.bin is refused.
 */

export type AttachmentKind = 'image' | 'pdf' | 'document' | 'audio';

export interface SniffedType {
  mime: string;
  ext: string;
  kind: AttachmentKind;
}

const JPEG: SniffedType = { mime: 'image/jpeg', ext: 'jpg', kind: 'image' };
const PNG: SniffedType = { mime: 'image/png', ext: 'png', kind: 'image' };
const GIF: SniffedType = { mime: 'image/gif', ext: 'gif', kind: 'image' };
const WEBP: SniffedType = { mime: 'image/webp', ext: 'webp', kind: 'image' };
const HEIC: SniffedType = { mime: 'image/heic', ext: 'heic', kind: 'image' };
const HEIF: SniffedType = { mime: 'image/heif', ext: 'heif', kind: 'image' };
const PDF: SniffedType = { mime: 'application/pdf', ext: 'pdf', kind: 'pdf' };
const DOCX: SniffedType = {
  mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  ext: 'docx',
  kind: 'document',
};
const XLSX: SniffedType = {
  mime: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ext: 'xlsx',
  kind: 'document',
};
const PPTX: SniffedType = {
  mime: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
  ext: 'pptx',
  kind: 'document',
};
const DOC: SniffedType = { mime: 'application/msword', ext: 'doc', kind: 'document' };
const XLS: SniffedType = { mime: 'application/vnd.ms-excel', ext: 'xls', kind: 'document' };
const PPT: SniffedType = { mime: 'application/vnd.ms-powerpoint', ext: 'ppt', kind: 'document' };
const TEXT: SniffedType = { mime: 'text/plain', ext: 'txt', kind: 'document' };
const MP3: SniffedType = { mime: 'audio/mpeg', ext: 'mp3', kind: 'audio' };
const AAC: SniffedType = { mime: 'audio/aac', ext: 'aac', kind: 'audio' };
const M4A: SniffedType = { mime: 'audio/mp4', ext: 'm4a', kind: 'audio' };
const WAV: SniffedType = { mime: 'audio/wav', ext: 'wav', kind: 'audio' };
const AMR: SniffedType = { mime: 'audio/amr', ext: 'amr', kind: 'audio' };
const OGG: SniffedType = { mime: 'audio/ogg', ext: 'ogg', kind: 'audio' };
const OPUS: SniffedType = { mime: 'audio/ogg', ext: 'opus', kind: 'audio' };
const WEBM: SniffedType = { mime: 'audio/webm', ext: 'webm', kind: 'audio' };

/** Identify an upload by its content. Returns `null` for anything that is not on the allowlist. */
export function sniffType(bytes: Uint8Array): SniffedType | null {
  const b = bytes;
  if (b.length === 0) return null;
  if (has(b, 0, [0xff, 0xd8, 0xff])) return { ...JPEG };
  if (has(b, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return { ...PNG };
  if (ascii(b, 0, 6) === 'GIF87a' || ascii(b, 0, 6) === 'GIF89a') return { ...GIF };
  if (ascii(b, 0, 4) === 'RIFF' && b.length >= 12) {
    const form = ascii(b, 8, 4);
    if (form === 'WEBP') return { ...WEBP };
    if (form === 'WAVE') return { ...WAV };
    return null; // AVI, ANI cursors, …
  }
  if (ascii(b, 4, 4) === 'ftyp') return sniffIsoBmff(b);
  if (ascii(b, 0, 5) === '%PDF-') return { ...PDF };
  if (has(b, 0, [0x50, 0x4b, 0x03, 0x04])) return sniffOoxml(b);
  if (has(b, 0, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1])) return sniffOle(b);
  if (ascii(b, 0, 6) === '#!AMR\n' || ascii(b, 0, 9) === '#!AMR-WB\n') return { ...AMR };
  if (ascii(b, 0, 4) === 'OggS') return sniffOgg(b);
  if (has(b, 0, [0x1a, 0x45, 0xdf, 0xa3])) return sniffWebm(b);
  if (isId3(b)) return { ...MP3 };
  if (isFrameSequence(b, mpegFrameLength)) return { ...MP3 };
  if (isFrameSequence(b, adtsFrameLength)) return { ...AAC };
  if (isPlainText(b)) return { ...TEXT };
  return null;
}

// ── byte helpers ────────────────────────────────────────────────────────────

function has(b: Uint8Array, at: number, sig: readonly number[]): boolean {
  if (at + sig.length > b.length) return false;
  for (let i = 0; i < sig.length; i++) if (b[at + i] !== sig[i]) return false;
  return true;
}

function ascii(b: Uint8Array, at: number, len: number): string {
  if (at + len > b.length) return '';
  let s = '';
  for (let i = at; i < at + len; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function u16le(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

function u32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function u32be(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

// ── ISO base media (HEIF, MP4 audio) ────────────────────────────────────────

const HEIC_BRANDS = new Set(['heic', 'heix']);
const HEIF_BRANDS = new Set(['mif1']);
const MP4_AUDIO_BRANDS = new Set(['M4A ', 'M4B ', 'isom', 'iso2', 'mp41', 'mp42']);

function sniffIsoBmff(b: Uint8Array): SniffedType | null {
  if (b.length < 16) return null;
  const size = u32be(b, 0);
  if (size < 16 || size > b.length || size > 4096 || size % 4 !== 0) return null;
  const major = ascii(b, 8, 4);
  const compatible = new Set<string>();
  for (let p = 16; p + 4 <= size; p += 4) compatible.add(ascii(b, p, 4));
  if (HEIC_BRANDS.has(major)) return { ...HEIC };
  if (HEIF_BRANDS.has(major)) return compatible.has('avif') || compatible.has('avis') ? null : { ...HEIF };
  if (MP4_AUDIO_BRANDS.has(major)) return { ...M4A };
  return null; // QuickTime 'qt  ', 3GPP, AVIF, CR3 raw, …
}

// ── OOXML (ZIP) ─────────────────────────────────────────────────────────────

/** Names from the ZIP central directory, or `null` if it is not a well-formed, single-disk, non-ZIP64 archive. */
function zipEntryNames(b: Uint8Array): string[] | null {
  const EOCD = 22;
  if (b.length < EOCD + 30) return null;
  // The end-of-central-directory record sits at the end, followed only by its own comment (≤ 65535 bytes).
  let eocd = -1;
  const lowest = Math.max(0, b.length - EOCD - 0xffff);
  for (let p = b.length - EOCD; p >= lowest; p--) {
    if (b[p] === 0x50 && b[p + 1] === 0x4b && b[p + 2] === 0x05 && b[p + 3] === 0x06) {
      if (p + EOCD + u16le(b, p + 20) === b.length) {
        eocd = p;
        break;
      }
    }
  }
  if (eocd < 0) return null;
  const disk = u16le(b, eocd + 4);
  const cdDisk = u16le(b, eocd + 6);
  const entriesHere = u16le(b, eocd + 8);
  const entries = u16le(b, eocd + 10);
  const cdSize = u32le(b, eocd + 12);
  const cdOffset = u32le(b, eocd + 16);
  if (disk !== 0 || cdDisk !== 0 || entriesHere !== entries) return null;
  if (entries === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) return null; // ZIP64: not for ≤ 10 MB uploads
  if (cdOffset + cdSize > eocd) return null;
  const names: string[] = [];
  const utf8 = new TextDecoder('utf-8');
  let p = cdOffset;
  const end = cdOffset + cdSize;
  for (let i = 0; i < entries; i++) {
    if (p + 46 > end || u32le(b, p) !== 0x02014b50) return null;
    const nameLen = u16le(b, p + 28);
    const extraLen = u16le(b, p + 30);
    const commentLen = u16le(b, p + 32);
    const localOffset = u32le(b, p + 42);
    if (p + 46 + nameLen > end) return null;
    if (localOffset + 30 > cdOffset || u32le(b, localOffset) !== 0x04034b50) return null;
    names.push(utf8.decode(b.subarray(p + 46, p + 46 + nameLen)));
    p += 46 + nameLen + extraLen + commentLen;
  }
  return names;
}

function sniffOoxml(b: Uint8Array): SniffedType | null {
  const names = zipEntryNames(b);
  if (!names || !names.includes('[Content_Types].xml')) return null;
  if (names.some((n) => /(^|\/)vbaProject\.bin$/i.test(n))) return null; // macro-enabled (.docm/.xlsm/.pptm)
  const families: SniffedType[] = [];
  if (names.some((n) => n.startsWith('word/'))) families.push(DOCX);
  if (names.some((n) => n.startsWith('xl/'))) families.push(XLSX);
  if (names.some((n) => n.startsWith('ppt/'))) families.push(PPTX);
  return families.length === 1 ? { ...families[0]! } : null;
}

// ── Legacy Office (OLE2 compound file) ──────────────────────────────────────

const END_OF_CHAIN = 0xfffffffe;
const NO_STREAM = 0xffffffff;

interface OleEntry {
  name: string;
  type: number;
  left: number;
  right: number;
  child: number;
}

/** Directory entries of a compound file, or `null` if the structure is inconsistent. */
function oleDirectory(b: Uint8Array): OleEntry[] | null {
  if (b.length < 512 || u16le(b, 0x1c) !== 0xfffe) return null;
  const shift = u16le(b, 0x1e);
  if (shift !== 9 && shift !== 12) return null;
  const ss = 1 << shift;
  const sectorCount = Math.floor((b.length - ss) / ss) + ((b.length - ss) % ss > 0 ? 1 : 0);
  if (sectorCount <= 0) return null;
  const perSector = ss / 4;
  const fatSectorCount = u32le(b, 0x2c);
  if (fatSectorCount === 0 || fatSectorCount > sectorCount) return null;

  // Collect the FAT's own sector numbers: 109 in the header, the rest in the DIFAT chain.
  const fatSectors: number[] = [];
  for (let i = 0; i < 109 && fatSectors.length < fatSectorCount; i++) fatSectors.push(u32le(b, 0x4c + i * 4));
  let difat = u32le(b, 0x44);
  for (let steps = 0; fatSectors.length < fatSectorCount; steps++) {
    if (steps > sectorCount || difat >= sectorCount) return null;
    const off = (difat + 1) * ss;
    if (off + ss > b.length) return null;
    for (let i = 0; i < perSector - 1 && fatSectors.length < fatSectorCount; i++) fatSectors.push(u32le(b, off + i * 4));
    difat = u32le(b, off + (perSector - 1) * 4);
  }
  if (fatSectors.some((s) => s >= sectorCount)) return null;

  const next = (sector: number): number | null => {
    const fs = fatSectors[Math.floor(sector / perSector)];
    if (fs === undefined) return null;
    const at = (fs + 1) * ss + (sector % perSector) * 4;
    return at + 4 <= b.length ? u32le(b, at) : null;
  };

  const entries: OleEntry[] = [];
  let sector = u32le(b, 0x30);
  for (let steps = 0; sector !== END_OF_CHAIN; steps++) {
    if (steps > sectorCount || sector >= sectorCount) return null;
    const off = (sector + 1) * ss;
    for (let e = off; e + 128 <= Math.min(off + ss, b.length); e += 128) {
      const nameLen = u16le(b, e + 0x40);
      if (nameLen > 64 || nameLen % 2 !== 0) return null;
      let name = '';
      for (let i = 0; i + 2 < nameLen; i += 2) name += String.fromCharCode(u16le(b, e + i));
      entries.push({
        name,
        type: b[e + 0x42]!,
        left: u32le(b, e + 0x44),
        right: u32le(b, e + 0x48),
        child: u32le(b, e + 0x4c),
      });
    }
    const n = next(sector);
    if (n === null) return null;
    sector = n;
  }
  if (entries[0]?.type !== 5) return null; // the first entry is always the root storage
  return entries;
}

function sniffOle(b: Uint8Array): SniffedType | null {
  const entries = oleDirectory(b);
  if (!entries) return null;
  const norm = (n: string) => {
    let i = 0;
    while (i < n.length && n.charCodeAt(i) < 0x20) i++; // e.g. "\x05SummaryInformation", "\x01Ole10Native"
    return n.slice(i).toUpperCase();
  };
  const all = entries.filter((e) => e.type === 1 || e.type === 2).map((e) => norm(e.name));
  const macro = ['MACROS', 'VBA', '_VBA_PROJECT', '_VBA_PROJECT_CUR', 'OLE10NATIVE'];
  if (all.some((n) => macro.includes(n))) return null;

  // Top level = the sibling tree hanging off the root's child pointer (embedded objects live deeper).
  const top = new Set<string>();
  const stack = [entries[0]!.child];
  for (let visited = 0; stack.length > 0; ) {
    const id = stack.pop()!;
    if (id === NO_STREAM) continue;
    const e = entries[id];
    if (!e || ++visited > entries.length) return null; // dangling pointer or a cycle
    top.add(norm(e.name));
    stack.push(e.left, e.right);
  }
  const found: SniffedType[] = [];
  if (top.has('WORDDOCUMENT')) found.push(DOC);
  if (top.has('WORKBOOK') || top.has('BOOK')) found.push(XLS);
  if (top.has('POWERPOINT DOCUMENT')) found.push(PPT);
  return found.length === 1 ? { ...found[0]! } : null;
}

// ── Ogg, WebM ───────────────────────────────────────────────────────────────

function sniffOgg(b: Uint8Array): SniffedType | null {
  if (b.length < 28 || b[4] !== 0) return null;
  const segments = b[26]!;
  const data = 27 + segments;
  if (ascii(b, data, 8) === 'OpusHead') return { ...OPUS };
  if (has(b, data, [0x01, 0x76, 0x6f, 0x72, 0x62, 0x69, 0x73])) return { ...OGG }; // \x01vorbis
  if (has(b, data, [0x7f, 0x46, 0x4c, 0x41, 0x43])) return { ...OGG }; // \x7fFLAC
  if (ascii(b, data, 8) === 'Speex   ') return { ...OGG };
  return null; // Theora video, Skeleton, unknown
}

/** An EBML variable-length integer at `at`: its length in bytes and value (marker bit removed). */
function vint(b: Uint8Array, at: number): { len: number; value: number } | null {
  const first = b[at];
  if (first === undefined || first === 0) return null;
  let len = 1;
  while (!(first & (0x80 >> (len - 1)))) len++;
  if (at + len > b.length) return null;
  let value = first & (0xff >> len);
  for (let i = 1; i < len; i++) value = value * 256 + b[at + i]!;
  return { len, value };
}

function sniffWebm(b: Uint8Array): SniffedType | null {
  const size = vint(b, 4);
  if (!size) return null;
  const start = 4 + size.len;
  const end = start + size.value;
  if (end > b.length) return null;
  for (let p = start; p < end; ) {
    // Element IDs in the EBML header are 1–2 bytes (class A/B).
    const idLen = b[p]! & 0x80 ? 1 : b[p]! & 0x40 ? 2 : 0;
    if (idLen === 0 || p + idLen > end) return null;
    const id = idLen === 1 ? b[p]! : (b[p]! << 8) | b[p + 1]!;
    const len = vint(b, p + idLen);
    if (!len) return null;
    const body = p + idLen + len.len;
    if (body + len.value > end) return null;
    if (id === 0x4282) {
      const docType = ascii(b, body, len.value).replace(/\0+$/, '');
      return docType === 'webm' ? { ...WEBM } : null;
    }
    p = body + len.value;
  }
  return null;
}

// ── MPEG audio, ADTS AAC ───────────────────────────────────────────────────

function isId3(b: Uint8Array): boolean {
  if (ascii(b, 0, 3) !== 'ID3' || b.length < 10) return false;
  if (b[3]! < 2 || b[3]! > 4 || b[4] === 0xff) return false;
  for (let i = 6; i < 10; i++) if (b[i]! & 0x80) return false;
  const size = ((b[6]! << 21) | (b[7]! << 14) | (b[8]! << 7) | b[9]!) + 10;
  return size < b.length;
}

const BITRATES: Record<string, readonly number[]> = {
  '1-1': [0, 32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  '1-2': [0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  '1-3': [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  '2-1': [0, 32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  '2-2': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  '2-3': [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const SAMPLE_RATES: Record<number, readonly number[]> = {
  3: [44100, 48000, 32000], // MPEG-1
  2: [22050, 24000, 16000], // MPEG-2
  0: [11025, 12000, 8000], // MPEG-2.5
};

/** Length of the MPEG-1/2/2.5 audio frame whose header is at `p`, or `null` if there is no valid header. */
function mpegFrameLength(b: Uint8Array, p: number): number | null {
  if (p + 4 > b.length || b[p] !== 0xff || (b[p + 1]! & 0xe0) !== 0xe0) return null;
  const version = (b[p + 1]! >> 3) & 3;
  const layerBits = (b[p + 1]! >> 1) & 3;
  const bitrateIndex = b[p + 2]! >> 4;
  const rateIndex = (b[p + 2]! >> 2) & 3;
  const padding = (b[p + 2]! >> 1) & 1;
  if (version === 1 || layerBits === 0 || bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return null;
  const layer = 4 - layerBits;
  const kbps = BITRATES[`${version === 3 ? 1 : 2}-${layer}`]![bitrateIndex]!;
  const rate = SAMPLE_RATES[version]![rateIndex]!;
  const bps = kbps * 1000;
  if (layer === 1) return (Math.floor((12 * bps) / rate) + padding) * 4;
  if (layer === 3 && version !== 3) return Math.floor((72 * bps) / rate) + padding;
  return Math.floor((144 * bps) / rate) + padding;
}

/** Length of the ADTS (raw AAC) frame at `p`, or `null`. */
function adtsFrameLength(b: Uint8Array, p: number): number | null {
  if (p + 7 > b.length || b[p] !== 0xff || (b[p + 1]! & 0xf6) !== 0xf0) return null;
  if (((b[p + 2]! >> 2) & 0xf) > 12) return null;
  const len = ((b[p + 3]! & 3) << 11) | (b[p + 4]! << 3) | (b[p + 5]! >> 5);
  return len >= 7 ? len : null;
}

/** Two back-to-back valid frame headers at the very start (a lone sync word is too easy to hit by chance). */
function isFrameSequence(b: Uint8Array, frameLength: (b: Uint8Array, p: number) => number | null): boolean {
  const first = frameLength(b, 0);
  return first !== null && frameLength(b, first) !== null;
}

// ── plain text ─────────────────────────────────────────────────────────────

const MARKUP = /<\s*(script|html|svg|iframe|object|embed|body|head|meta|!doctype|\?xml)[\s>/]/i;

/**
 * Valid UTF-8, no NUL, no C0 controls other than TAB LF VT FF CR (plus SUB and ESC, which old DOS files and
 * coloured logs contain), and nothing a browser or desktop would treat as active content: markup, shebang
 * scripts, PostScript or RTF. GBK/UTF-16 text is refused (not UTF-8); the reporter can re-save as UTF-8.
 */
function isPlainText(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c < 0x20 && !(c >= 0x09 && c <= 0x0d) && c !== 0x1a && c !== 0x1b) return false;
    if (c === 0x7f) return false;
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(b);
  } catch {
    return false;
  }
  const head = text.replace(/^\uFEFF/, '').trimStart();
  if (head.startsWith('<') || head.startsWith('#!') || head.startsWith('%!') || /^\{\\rtf/i.test(head)) return false;
  return !MARKUP.test(text);
}
