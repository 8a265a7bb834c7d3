import { z } from 'zod';
import { callbackResults } from './voice.entity.ts';

/** The inputs of the call-back routes (callbacks.routes.ts). */
export const listQuery = z.object({
  state: z.enum(['open', 'done', 'all']).default('open'),
  overdue: z.enum(['true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const doneBody = z.object({
  result: z.enum(callbackResults).default('reached'),
  note: z.string().trim().max(500).optional(),
});
export const statsQuery = z.object({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
});
