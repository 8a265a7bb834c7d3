import { z } from 'zod';
import { staffRoles } from './staff.entity.ts';
import { unitKinds } from './unit.entity.ts';

export const loginBody = z.object({
  username: z.string().trim().min(1).max(100),
  password: z.string().min(1).max(200),
  /** Once the account has two-factor sign-in: the authenticator's 6 digits, or a recovery code. */
  totp: z.string().trim().min(1).max(40).optional(),
});

export const changePasswordBody = z.object({
  currentPassword: z.string().min(1).max(200),
  newPassword: z.string().min(10, 'at least 10 characters').max(200),
});

export const totpConfirmBody = z.object({ code: z.string().trim().min(1).max(40) });

export const createUnitBody = z.object({
  code: z.string().trim().regex(/^[a-z0-9][a-z0-9._-]{0,63}$/, 'lowercase letters, digits, . _ - (max 64)'),
  name: z.string().trim().min(1).max(200),
  nameEn: z.string().trim().max(200).optional(),
  kind: z.enum(unitKinds),
  parentId: z.uuid().nullish(),
});

export const createStaffBody = z.object({
  username: z.string().trim().regex(/^[a-zA-Z0-9._-]{3,100}$/, '3–100 letters, digits, . _ -'),
  displayName: z.string().trim().min(1).max(200),
  password: z.string().min(10, 'at least 10 characters').max(200),
  role: z.enum(staffRoles),
  unitId: z.uuid(),
  /** Discipline officers: the body whose referrals they see. */
  disciplineBodyId: z.uuid().optional(),
});

/** Rename or move a staff account (admin): the clues naming it are re-evaluated. */
export const updateStaffBody = z
  .object({
    displayName: z.string().trim().min(1).max(200).optional(),
    unitId: z.uuid().optional(),
  })
  .refine((b) => b.displayName !== undefined || b.unitId !== undefined, { message: 'give displayName or unitId' });
