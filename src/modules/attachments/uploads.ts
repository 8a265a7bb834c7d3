import { createErrorFactory } from '../../app/errors.ts';
import type { Locale } from '../../app/templates.ts';
import { ATTACHMENT_POLICY_DESCRIPTION, checkUploadBatch, inspectUpload, MAX_TOTAL_BYTES } from './attachments.policy.ts';
import type { AttachmentStorage } from './attachments.storage.ts';

/** A checked file, stored (content-addressed) before the transaction that attaches it to a clue or message. */
export interface StoredAttachment {
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  storageKey: string;
}

/** Whole request: the files plus form fields, or base64 (4/3) in JSON. */
export const MAX_REQUEST_BYTES = Math.ceil(MAX_TOTAL_BYTES * 1.4) + 1024 * 1024;

/** The limits as stated next to the upload field, in the page's language. */
export function uploadLimitsText(locale: Locale): string {
  const [zh, en] = ATTACHMENT_POLICY_DESCRIPTION.split(' / ');
  return (locale === 'en' ? en : zh) ?? ATTACHMENT_POLICY_DESCRIPTION;
}

export const attachmentRejected = createErrorFactory({
  code: 'attachment.rejected',
  message: '附件不符合要求 / A file was refused.',
  statusCode: 422,
});

export interface UploadedFile {
  name: string;
  bytes: Uint8Array;
}

export interface Uploads {
  /** Checks every file first (limits, type by content, metadata stripped), then stores them all. */
  accept(files: UploadedFile[], locale: Locale): Promise<StoredAttachment[]>;
}

export function createUploads(storage: AttachmentStorage): Uploads {
  return {
    async accept(files) {
      const batch = checkUploadBatch(files.map((f) => f.bytes.length));
      if (!batch.ok) throw attachmentRejected({ reason: batch.reason }, batch.message);
      const checked = files.map((f) => {
        const r = inspectUpload(f.name, f.bytes);
        // Control and bidi-override characters removed: the name is shown back to the reporter.
        const shown = f.name.replace(/[\p{Cc}\p{Cf}]/gu, '').slice(0, 100);
        if (!r.ok) throw attachmentRejected({ reason: r.reason, file: shown }, `${shown}: ${r.message}`);
        return r;
      });
      const stored: StoredAttachment[] = [];
      for (const r of checked) {
        const put = await storage.put(r.bytes);
        stored.push({ filename: r.filename, contentType: r.mime, size: put.size, sha256: put.sha256, storageKey: put.key });
      }
      return stored;
    },
  };
}
