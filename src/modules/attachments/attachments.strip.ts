/**
 * Metadata removal for uploaded images, so that nothing identifying the reporter's device, location or
 * software survives (EXIF incl. GPS and maker notes, XMP, IPTC, comments, embedded thumbnails, C2PA
 * manifests, trailing data after the image).
 *
 * Every parser keeps an explicit allowlist of what it copies, walks the input once with a cursor that only
 * moves forward (so every loop is bounded by the input length), and throws `AttachmentRejected` with reason
 * 'corrupt_image' for anything malformed or truncated. Image data itself is copied byte for byte.
 *
 * Decisions:
 * - JPEG: keeps SOI, DQT/DHT/DRI/SOFn/SOS and the entropy-coded data verbatim, a JFIF APP0 (rewritten without its
 *   thumbnail) and an Adobe APP14 (needed to decode CMYK/YCCK colours correctly). Drops APP1 (Exif, XMP),
 *   APP2 (ICC profile, MPF), APP3–APP13 (incl. IPTC/Photoshop APP13, C2PA/JUMBF APP11), APP15, COM, and anything
 *   after EOI (Samsung/Google trailers, motion-photo videos, MPF secondary images — each with their own EXIF).
 * - ICC profiles are dropped everywhere (JPEG APP2, PNG iCCP, WebP ICCP): they carry device make/model and
 *   creation dates. Cost: wide-gamut (Display P3) photos render slightly less saturated. Pixels are unchanged.
 * - PNG: chunks are allowlisted rather than denylisted — critical chunks plus rendering chunks (tRNS, gAMA,
 *   cHRM, sRGB, sBIT, bKGD, pHYs, hIST, cICP, mDCV, cLLI, APNG acTL/fcTL/fdAT) are kept unchanged with their
 *   CRCs; eXIf, tEXt, iTXt, zTXt, tIME and every other ancillary chunk (e.g. C2PA caBX, vendor chunks) are dropped.
 * - WebP: extended (VP8X) files keep VP8X/ANIM/ANMF/ALPH/VP8/VP8L, drop EXIF/XMP/ICCP and unknown chunks, clear the
 *   matching VP8X flags and rewrite the RIFF size. Simple (VP8/VP8L) files keep only the image chunk.
 * - GIF: comment extensions and application extensions other than the NETSCAPE2.0/ANIMEXTS1.0 loop count (e.g. XMP
 *   "XMP DataXMP", Photoshop/ImageMagick IRB) are dropped.
 * - HEIC/HEIF is refused (reason 'type_not_allowed', detail 'heic_metadata'): its Exif/XMP are items referenced from
 *   the iinf/iloc/iref tables of an ISOBMFF container; removing them safely means rewriting those tables and the
 *   offsets into mdat, which is too much risk for a hand-written parser. iOS Safari normally converts HEIC photos to
 *   JPEG when they are chosen in a web file input, and the reporter is told to convert otherwise.
 * - Any other image/* type is refused rather than passed through. Non-images are returned unchanged.
 */
import { AttachmentRejected } from './attachments.errors.ts';

export function stripMetadata(bytes: Uint8Array, mime: string): Uint8Array {
  switch (mime) {
    case 'image/jpeg':
      return stripJpeg(bytes);
    case 'image/png':
      return stripPng(bytes);
    case 'image/webp':
      return stripWebp(bytes);
    case 'image/gif':
      return stripGif(bytes);
    case 'image/heic':
    case 'image/heif':
      throw new AttachmentRejected('type_not_allowed', 'heic_metadata');
    default:
      if (mime.startsWith('image/')) throw new AttachmentRejected('type_not_allowed', `unsupported_image:${mime}`);
      return bytes;
  }
}

// ── helpers ────────────────────────────────────────────────────────────────

function corrupt(format: string, detail: string): AttachmentRejected {
  return new AttachmentRejected('corrupt_image', `${format}_${detail}`);
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function ascii(b: Uint8Array, at: number, len: number): string {
  if (at < 0 || at + len > b.length) return '';
  let s = '';
  for (let i = at; i < at + len; i++) s += String.fromCharCode(b[i]!);
  return s;
}

function u32be(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function u32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function le32(n: number): Uint8Array {
  return new Uint8Array([n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]);
}

// ── JPEG ───────────────────────────────────────────────────────────────────

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;
const APP0 = 0xe0;
const APP14 = 0xee;
const COM = 0xfe;

function isSof(m: number): boolean {
  return m >= 0xc0 && m <= 0xcf && m !== 0xc4 && m !== 0xc8 && m !== 0xcc; // not DHT, JPG, DAC
}

function stripJpeg(b: Uint8Array): Uint8Array {
  const bad = (d: string) => corrupt('jpeg', d);
  if (b.length < 4 || b[0] !== 0xff || b[1] !== SOI) throw bad('signature');
  const out: Uint8Array[] = [b.subarray(0, 2)];
  let sawFrame = false;
  let sawScan = false;
  let p = 2;
  for (;;) {
    if (p >= b.length) throw bad('truncated');
    if (b[p] !== 0xff) throw bad('expected_marker');
    while (p + 1 < b.length && b[p + 1] === 0xff) p++; // fill bytes before a marker: dropped
    if (p + 1 >= b.length) throw bad('truncated');
    const m = b[p + 1]!;
    if (m === EOI) {
      if (!sawScan) throw bad('no_scan');
      out.push(b.subarray(p, p + 2)); // anything after EOI is dropped
      return concat(out);
    }
    if (m === 0x00 || m === SOI) throw bad('unexpected_marker');
    if (m === 0x01 || (m >= 0xd0 && m <= 0xd7)) {
      out.push(b.subarray(p, p + 2)); // TEM / stray RSTn: no length
      p += 2;
      continue;
    }
    if (p + 4 > b.length) throw bad('truncated');
    const len = (b[p + 2]! << 8) | b[p + 3]!;
    if (len < 2) throw bad('segment_length');
    const end = p + 2 + len;
    if (end > b.length) throw bad('truncated');
    const payload = p + 4;

    if (m === APP0) {
      // Keep JFIF (density/aspect), without the optional RGB thumbnail. JFXX thumbnails and others are dropped.
      if (len >= 16 && ascii(b, payload, 5) === 'JFIF\0') {
        const seg = new Uint8Array(18);
        seg.set([0xff, APP0, 0x00, 0x10]);
        seg.set(b.subarray(payload, payload + 12), 4); // id, version, units, Xdensity, Ydensity; thumb 0×0
        out.push(seg);
      }
    } else if (m === APP14) {
      if (len >= 14 && ascii(b, payload, 5) === 'Adobe') {
        const seg = new Uint8Array(16);
        seg.set([0xff, APP14, 0x00, 0x0e]);
        seg.set(b.subarray(payload, payload + 12), 4); // id, version, flags0, flags1, colour transform
        out.push(seg);
      }
    } else if ((m >= 0xe1 && m <= 0xef) || m === COM) {
      // dropped: Exif/XMP (APP1), ICC/MPF (APP2), IPTC (APP13), JUMBF/C2PA (APP11), vendor blocks, comments
    } else {
      if (isSof(m)) sawFrame = true;
      out.push(b.subarray(p, end));
    }
    p = end;

    if (m === SOS) {
      if (!sawFrame) throw bad('scan_before_frame');
      sawScan = true;
      // Entropy-coded data runs up to the next 0xFF that is not stuffing (FF00), a restart marker (FFD0–FFD7)
      // or fill (FFFF…). Copied verbatim; the marker that ends it is handled by the outer loop.
      const start = p;
      for (;;) {
        if (p + 1 >= b.length) throw bad('truncated_scan');
        if (b[p] !== 0xff) {
          p++;
          continue;
        }
        const n = b[p + 1]!;
        if (n === 0x00 || (n >= 0xd0 && n <= 0xd7)) p += 2;
        else if (n === 0xff) p += 1;
        else break;
      }
      out.push(b.subarray(start, p));
    }
  }
}

// ── PNG ────────────────────────────────────────────────────────────────────

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const PNG_CRITICAL = new Set(['IHDR', 'PLTE', 'IDAT', 'IEND']);
const PNG_KEEP = new Set([
  'tRNS',
  'gAMA',
  'cHRM',
  'sRGB',
  'sBIT',
  'bKGD',
  'pHYs',
  'hIST',
  'cICP',
  'mDCV',
  'cLLI',
  'acTL',
  'fcTL',
  'fdAT',
]);

function stripPng(b: Uint8Array): Uint8Array {
  const bad = (d: string) => corrupt('png', d);
  if (b.length < 8 || PNG_SIGNATURE.some((v, i) => b[i] !== v)) throw bad('signature');
  const out: Uint8Array[] = [b.subarray(0, 8)];
  let p = 8;
  let first = true;
  let sawData = false;
  for (;;) {
    if (p + 12 > b.length) throw bad('truncated');
    const len = u32be(b, p);
    if (len > 0x7fffffff) throw bad('chunk_length');
    const end = p + 12 + len;
    if (end > b.length) throw bad('truncated');
    const type = ascii(b, p + 4, 4);
    if (!/^[A-Za-z]{4}$/.test(type)) throw bad('chunk_type');
    if (first && (type !== 'IHDR' || len !== 13)) throw bad('no_ihdr');
    first = false;
    const critical = type.charCodeAt(0) < 0x61; // uppercase first letter
    if (critical && !PNG_CRITICAL.has(type)) throw bad(`unknown_critical_${type}`);
    if (critical || PNG_KEEP.has(type)) out.push(b.subarray(p, end));
    if (type === 'IDAT') sawData = true;
    p = end;
    if (type === 'IEND') {
      if (!sawData) throw bad('no_idat');
      return concat(out); // trailing bytes after IEND are dropped
    }
  }
}

// ── WebP ───────────────────────────────────────────────────────────────────

const VP8X_ICC = 0x20;
const VP8X_EXIF = 0x08;
const VP8X_XMP = 0x04;
const WEBP_EXTENDED_KEEP = new Set(['VP8X', 'ANIM', 'ANMF', 'ALPH', 'VP8 ', 'VP8L']);

function stripWebp(b: Uint8Array): Uint8Array {
  const bad = (d: string) => corrupt('webp', d);
  if (b.length < 20 || ascii(b, 0, 4) !== 'RIFF' || ascii(b, 8, 4) !== 'WEBP') throw bad('signature');
  const riffSize = u32le(b, 4);
  if (riffSize < 12 || 8 + riffSize > b.length) throw bad('riff_size');
  const end = 8 + riffSize; // bytes after the RIFF are dropped
  const chunks: { type: string; start: number; dataEnd: number }[] = [];
  for (let p = 12; p < end; ) {
    if (p + 8 > end) throw bad('truncated');
    const size = u32le(b, p + 4);
    const dataEnd = p + 8 + size;
    if (dataEnd > end) throw bad('truncated');
    chunks.push({ type: ascii(b, p, 4), start: p, dataEnd });
    p = dataEnd + (size & 1); // chunks are padded to an even length
  }
  const head = chunks[0];
  if (!head) throw bad('no_chunks');
  const parts: Uint8Array[] = [];
  const addChunk = (c: { start: number; dataEnd: number }, replacement?: Uint8Array) => {
    const bytes = replacement ?? b.subarray(c.start, c.dataEnd);
    parts.push(bytes);
    if ((c.dataEnd - c.start) & 1) parts.push(new Uint8Array(1));
  };
  if (head.type === 'VP8 ' || head.type === 'VP8L') {
    addChunk(head);
  } else if (head.type === 'VP8X') {
    if (head.dataEnd - head.start < 18) throw bad('vp8x_size');
    if (!chunks.some((c) => c.type === 'VP8 ' || c.type === 'VP8L' || c.type === 'ANMF')) throw bad('no_image');
    for (const c of chunks) {
      if (!WEBP_EXTENDED_KEEP.has(c.type)) continue;
      if (c.type === 'VP8X') {
        const vp8x = b.slice(c.start, c.dataEnd);
        vp8x[8] = vp8x[8]! & ~(VP8X_ICC | VP8X_EXIF | VP8X_XMP);
        addChunk(c, vp8x);
      } else {
        addChunk(c);
      }
    }
  } else {
    throw bad(`first_chunk_${head.type.trim()}`);
  }
  const body = concat(parts);
  return concat([new TextEncoder().encode('RIFF'), le32(4 + body.length), new TextEncoder().encode('WEBP'), body]);
}

// ── GIF ────────────────────────────────────────────────────────────────────

function stripGif(b: Uint8Array): Uint8Array {
  const bad = (d: string) => corrupt('gif', d);
  const version = ascii(b, 0, 6);
  if (version !== 'GIF87a' && version !== 'GIF89a') throw bad('signature');
  if (b.length < 13) throw bad('truncated');
  const colorTable = (packed: number) => (packed & 0x80 ? 3 * (1 << ((packed & 7) + 1)) : 0);
  /** Skip a sequence of data sub-blocks starting at `q`; returns the index after the terminator. */
  const skipSubBlocks = (q: number): number => {
    for (;;) {
      if (q >= b.length) throw bad('truncated');
      const n = b[q]!;
      q += 1 + n;
      if (n === 0) return q;
    }
  };
  let p = 13 + colorTable(b[10]!);
  if (p > b.length) throw bad('truncated');
  const out: Uint8Array[] = [b.subarray(0, p)];
  let sawImage = false;
  for (;;) {
    if (p >= b.length) throw bad('truncated');
    const introducer = b[p]!;
    if (introducer === 0x3b) {
      if (!sawImage) throw bad('no_image');
      out.push(b.subarray(p, p + 1)); // trailer; anything after it is dropped
      return concat(out);
    }
    if (introducer === 0x2c) {
      if (p + 11 > b.length) throw bad('truncated');
      const q = skipSubBlocks(p + 10 + colorTable(b[p + 9]!) + 1); // descriptor, local table, LZW code size
      out.push(b.subarray(p, q));
      sawImage = true;
      p = q;
    } else if (introducer === 0x21) {
      if (p + 2 > b.length) throw bad('truncated');
      const label = b[p + 1]!;
      const q = skipSubBlocks(p + 2);
      const appId = ascii(b, p + 3, 11);
      const keep =
        label === 0xf9 || // graphic control (frame delay, transparency)
        label === 0x01 || // plain text
        (label === 0xff && b[p + 2] === 11 && (appId === 'NETSCAPE2.0' || appId === 'ANIMEXTS1.0'));
      if (keep) out.push(b.subarray(p, q)); // dropped: comments (0xFE), XMP and other application blocks
      p = q;
    } else {
      throw bad('block');
    }
  }
}
