import { z } from 'zod';
import { deadlineKinds } from './policy.ts';

/** The inputs of the deadline routes (deadlines.routes.ts). */
export const listQuery = z.object({
  view: z.enum(['due_soon', 'missed', 'open']).default('due_soon'),
  withinHours: z.coerce.number().positive().max(24 * 365).default(72),
  unitId: z.uuid().optional(),
  kind: z.enum(deadlineKinds).optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
});
export const reasonBody = z.object({ reason: z.string().trim().min(2, 'give a reason').max(500) });
