import { z } from 'zod';
import { bodyKinds, dispositions } from './referral.entity.ts';

/** The inputs of the referral routes (referrals.routes.ts). */
export const bodyInput = z.object({
  name: z.string().trim().min(2).max(200),
  nameEn: z.string().trim().max(200).optional(),
  kind: z.enum(bodyKinds),
  email: z.email(),
  authority: z.object({
    accusedRoles: z.array(z.enum(['official', 'caseworker', 'cadre'])).min(1),
    unitIds: z.array(z.uuid()).default([]),
  }),
});
export const referBody = z.object({
  bodyId: z.uuid().optional(),
  /** To a body whose authority does not cover the persons reported: a supervisor, with a reason (on the ledger). */
  override: z.object({ reason: z.string().trim().min(5).max(1000) }).optional(),
});
export const officerAction = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('acknowledge') }),
  z.object({ kind: z.literal('request_info'), text: z.string().trim().min(2).max(5000) }),
  z.object({ kind: z.literal('report'), disposition: z.enum(dispositions), result: z.string().trim().min(2).max(20_000) }),
]);
