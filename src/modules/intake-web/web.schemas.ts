import { z } from 'zod';
import { accusedInput, NARRATIVE_MAX, reporterInput } from '../clues/clues.schemas.ts';
import { categories } from '../clues/clue.entity.ts';
import { locales } from '../../app/templates.ts';
import { MESSAGE_MAX } from '../messages/messages.schemas.ts';


export { base64File } from '../attachments/attachments.schemas.ts';
import { base64File } from '../attachments/attachments.schemas.ts';

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
