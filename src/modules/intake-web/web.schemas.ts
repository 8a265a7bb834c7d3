import { z } from 'zod';
import { accusedInput, NARRATIVE_MAX, reporterInput } from '../clues/clues.schemas.ts';
import { categories } from '../clues/clue.entity.ts';
import { locales } from '../../app/templates.ts';
import { MESSAGE_MAX } from '../messages/messages.schemas.ts';


/**
 * A file as standard base64 (RFC 4648, padded), decoded once here. Node's decoder skips characters
 * outside the alphabet instead of failing, so strictness comes from the length: any skipped
 * character makes the decoded size differ from what the text's length promises. (zod's
 * `z.base64()` ran a regex and a JavaScript `atob` over the whole string only to check it, and the
 * route then decoded it a second time: most of a 1 MB upload's CPU.)
 */
export const base64File = z
  .string()
  .describe('base64')
  .transform((text, ctx) => {
    const padding = text.endsWith('==') ? 2 : text.endsWith('=') ? 1 : 0;
    const bytes = text.length % 4 === 0 ? Buffer.from(text, 'base64') : null;
    if (!bytes || bytes.length !== (text.length / 4) * 3 - padding) {
      ctx.addIssue({ code: 'custom', message: 'not valid base64' });
      return z.NEVER;
    }
    // Small results share Node's buffer pool; callers get bytes of their own.
    return bytes.byteOffset === 0 && bytes.buffer.byteLength === bytes.length ? new Uint8Array(bytes.buffer) : new Uint8Array(bytes);
  });

/** `POST /api/v1/reports`: JSON, with files as base64 (or multipart: this as field `report` plus `files`). */
export const reportBody = z.object({
  narrative: z.string().trim().min(5, 'at least one sentence').max(NARRATIVE_MAX),
  occurredWhen: z.string().trim().max(200).nullish(),
  unitId: z.uuid().nullish(),
  categories: z.array(z.enum(categories)).max(categories.length).default([]),
  accused: z.array(accusedInput).max(50).default([]),
  reporter: reporterInput.nullish(),
  /** The reporter's language (default Chinese): automatic messages and mail to them use it. */
  locale: z.enum(locales).default('zh-CN'),
  attachments: z
    .array(z.object({ filename: z.string().trim().min(1).max(255), contentBase64: base64File }))
    .max(20)
    .default([]),
});

export const messageBody = z.object({
  body: z.string().trim().min(1).max(MESSAGE_MAX),
  attachments: z
    .array(z.object({ filename: z.string().trim().min(1).max(255), contentBase64: base64File }))
    .max(20)
    .default([]),
});
