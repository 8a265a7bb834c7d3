/**
 * What staff (and a referral packet without the reporter's consent) see instead of an attachment's
 * file name, which is the reporter's own text: its place, its type and its size —
 * "附件 1 (PDF, 2.1 MB)" / "Attachment 1 (PDF, 2.1 MB)".
 */
const TYPE_NAMES: Record<string, string> = {
  'application/pdf': 'PDF',
  'image/jpeg': 'JPEG',
  'image/png': 'PNG',
  'image/gif': 'GIF',
  'image/webp': 'WEBP',
  'image/heic': 'HEIC',
  'audio/mpeg': 'MP3',
  'audio/wav': 'WAV',
  'audio/x-wav': 'WAV',
  'audio/mp4': 'M4A',
  'video/mp4': 'MP4',
  'text/plain': 'TXT',
  'application/msword': 'DOC',
  'application/vnd.openxmlformats-officedocument.wordprocessingml.document': 'DOCX',
  'application/vnd.ms-excel': 'XLS',
  'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet': 'XLSX',
};

export function typeName(contentType: string): string {
  return TYPE_NAMES[contentType.toLowerCase()] ?? (contentType.split('/')[1] ?? contentType).toUpperCase().slice(0, 12);
}

export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

/** `index` counts from 1. */
export function attachmentLabel(index: number, contentType: string, size: number): { zh: string; en: string } {
  const rest = `(${typeName(contentType)}, ${sizeText(size)})`;
  return { zh: `附件 ${index} ${rest}`, en: `Attachment ${index} ${rest}` };
}
