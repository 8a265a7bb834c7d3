import { AttachmentRejected, type AttachmentRejectReason } from './attachments.errors.ts';
import { sniffType, type AttachmentKind } from './attachments.sniff.ts';
import { stripMetadata } from './attachments.strip.ts';

export const MAX_FILES_PER_REPORT = 5;
export const MAX_FILE_BYTES = 10 * 1024 * 1024;
export const MAX_TOTAL_BYTES = 25 * 1024 * 1024;
export const MAX_FILENAME_CHARS = 200;

/** Shown next to the upload field (zh-CN first, then English). */
export const ATTACHMENT_POLICY_DESCRIPTION =
  '每份举报最多上传 5 个文件，单个文件不超过 10 MB，合计不超过 25 MB。' +
  '支持：照片（JPEG、PNG、GIF、WebP）、PDF、Word/Excel/PowerPoint 文档、UTF-8 纯文本，' +
  '以及录音（MP3、M4A、AAC、WAV、AMR、OGG/Opus、WebM）。' +
  '照片中的拍摄位置、设备型号等信息会被自动删除；iPhone 的 HEIC 照片请先转换为 JPEG。' +
  '文档和录音中的作者、设备等信息不会被自动删除，请在上传前自行检查。' +
  ' / ' +
  'Up to 5 files per report, each at most 10 MB and 25 MB in total. ' +
  'Accepted: photos (JPEG, PNG, GIF, WebP), PDF, Word/Excel/PowerPoint documents, UTF-8 plain text, ' +
  'and audio recordings (MP3, M4A, AAC, WAV, AMR, OGG/Opus, WebM). ' +
  'Location, camera model and similar details are removed from photos automatically; please convert iPhone HEIC photos to JPEG first. ' +
  'Author, device and similar details inside documents and recordings are NOT removed: please check them before uploading.';

export const REJECT_MESSAGES: Readonly<Record<AttachmentRejectReason, string>> = {
  empty: '文件为空 / The file is empty.',
  too_large: '文件超过 10 MB 上限 / The file is larger than the 10 MB limit.',
  type_not_allowed: '不支持此文件类型 / This file type is not allowed.',
  corrupt_image: '图片文件已损坏，无法处理 / The image file is damaged and cannot be processed.',
};

const HEIC_MESSAGE =
  '暂不接受 HEIC/HEIF 照片（无法可靠删除其中的位置信息），请转换为 JPEG 后再上传 / ' +
  'HEIC/HEIF photos are not accepted because their location data cannot be removed reliably; please convert to JPEG and upload again.';

export type InspectedUpload =
  | {
      ok: true;
      mime: string;
      ext: string;
      kind: AttachmentKind;
      /** The content to store: metadata stripped for images, unchanged otherwise. */
      bytes: Uint8Array;
      /** Display name: sanitised, with the extension of the sniffed type. */
      filename: string;
    }
  | { ok: false; reason: AttachmentRejectReason; message: string };

/**
 * Decide whether one uploaded file is accepted, by its content only (`name` is used for the display name alone).
 * Never throws for bad input: parsers signal problems with `AttachmentRejected`, which becomes `{ ok: false }`.
 */
export function inspectUpload(name: string, bytes: Uint8Array): InspectedUpload {
  if (bytes.length === 0) return reject('empty');
  if (bytes.length > MAX_FILE_BYTES) return reject('too_large');
  const type = sniffType(bytes);
  if (!type) return reject('type_not_allowed');
  let stripped: Uint8Array;
  try {
    stripped = stripMetadata(bytes, type.mime);
  } catch (err) {
    if (!(err instanceof AttachmentRejected)) throw err;
    return { ok: false, reason: err.reason, message: err.detail === 'heic_metadata' ? HEIC_MESSAGE : REJECT_MESSAGES[err.reason] };
  }
  return { ok: true, ...type, bytes: stripped, filename: sanitizeFilename(name, type.ext) };
}

function reject(reason: AttachmentRejectReason): InspectedUpload {
  return { ok: false, reason, message: REJECT_MESSAGES[reason] };
}

export type BatchCheck =
  | { ok: true }
  | { ok: false; reason: 'too_many_files' | 'total_too_large'; message: string };

/** The per-report limits, given the sizes of all files of one report. */
export function checkUploadBatch(sizes: readonly number[]): BatchCheck {
  if (sizes.length > MAX_FILES_PER_REPORT) {
    return { ok: false, reason: 'too_many_files', message: '每份举报最多上传 5 个文件 / At most 5 files per report.' };
  }
  if (sizes.reduce((a, b) => a + b, 0) > MAX_TOTAL_BYTES) {
    return { ok: false, reason: 'total_too_large', message: '文件合计不能超过 25 MB / The files may not exceed 25 MB in total.' };
  }
  return { ok: true };
}

const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/i;

/**
 * A safe display name: last path component only; control, format (bidi overrides such as U+202E, zero-width) and
 * line-separator characters removed; characters Windows forbids in names replaced by '_'; whitespace collapsed;
 * leading/trailing dots and spaces trimmed; the user's extension (ASCII, ≤ 10 chars) replaced by the sniffed one;
 * at most 200 characters (code points) including the extension. Chinese and other letters are kept.
 */
export function sanitizeFilename(name: string, ext: string): string {
  let s = typeof name === 'string' ? name.normalize('NFC') : '';
  s = s.split(/[/\\]/).pop() ?? '';
  s = s.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu, '');
  s = s.replace(/[<>:"|?*]/g, '_');
  s = s.replace(/\s+/gu, ' ');
  s = s.replace(/^[\s.]+|[\s.]+$/gu, '');
  s = s.replace(/\.[A-Za-z0-9]{1,10}$/, '');
  s = s.replace(/[\s.]+$/u, '');
  if (s === '') s = '附件';
  if (WINDOWS_RESERVED.test(s)) s = `_${s}`;
  const room = MAX_FILENAME_CHARS - 1 - ext.length;
  const chars = Array.from(s);
  if (chars.length > room) s = chars.slice(0, room).join('').replace(/[\s.]+$/u, '') || '附件';
  return `${s}.${ext}`;
}
