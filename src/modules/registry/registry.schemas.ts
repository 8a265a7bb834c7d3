import { z } from 'zod';
import { programmes, registrantRoles, relations } from './registry.entity.ts';

/**
 * Register one relative. Without a registrant the signed-in staff member registers for themselves;
 * supervisors and admins may name another staff account, or a cadre by name and unit.
 */
export const registerBody = z.object({
  registrantStaffId: z.uuid().nullish(),
  registrantName: z.string().trim().min(1).max(100).nullish(),
  registrantUnitId: z.uuid().nullish(),
  registrantRole: z.enum(registrantRoles).nullish(),
  relativeName: z.string().trim().min(1).max(100),
  relation: z.enum(relations),
  /** 18 characters; full-width digits and spaces are tolerated. */
  idNumber: z.string().trim().min(1).max(40),
  programme: z.enum(programmes),
  /** YYYY-MM-DD (YYYY/M/D and YYYY年M月D日 are accepted too). */
  since: z.string().trim().min(8).max(20),
  householdAddress: z.string().trim().max(500).nullish(),
});

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

export const listQuery = z.object({
  unitId: z.uuid().optional(),
  programme: z.enum(programmes).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
  /** Full ID numbers (supervisors and admins; recorded in registry_audit). */
  reveal: bool.optional(),
  purpose: z.string().trim().max(500).optional(),
});

export const importQuery = z.object({
  /** Check everything, write nothing. */
  dryRun: bool.optional(),
});
