import { z } from 'zod';

export const auditListQuery = z.object({
  chain: z.string().regex(/^[a-z_]{1,32}$/).default('system'),
  /** Events after this seq: pages go forward from the oldest. */
  afterSeq: z.coerce.number().int().min(0).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
