import { defineEntity, p } from '@mikro-orm/core';
import { Unit } from './unit.entity.ts';

export const staffRoles = ['operator', 'caseworker', 'discipline_officer', 'supervisor', 'admin'] as const;
export type StaffRole = (typeof staffRoles)[number];

const StaffSchema = defineEntity({
  name: 'Staff',
  tableName: 'staff',
  properties: {
    id: p.uuid().primary(),
    username: p.string().length(100).unique(),
    displayName: p.string().length(200),
    passwordHash: p.string().length(300).hidden(),
    role: p.enum(staffRoles),
    unit: () => p.manyToOne(Unit).mapToPk().index(),
    active: p.boolean().default(true),
    /** For discipline officers: the body whose referrals they see. */
    disciplineBody: p.uuid().nullable(),
    createdAt: p.datetime(),
    /** The TOTP secret, sealed (AAD: the staff id): set at enrolment, in force once confirmed. */
    totpBox: p.blob().nullable().hidden(),
    totpConfirmedAt: p.datetime().nullable(),
    /** SHA-256 (hex) of each unused one-time recovery code. */
    recoveryCodes: p.json<string[]>().nullable().hidden(),
    /** The time step (30 s) of the last TOTP code used: each code signs in once. */
    totpLastStep: p.bigint('number').nullable(),
    passwordChangedAt: p.datetime().nullable(),
  },
});
export class Staff extends StaffSchema.class {}
StaffSchema.setClass(Staff);

/** A bearer token's SHA-256 (the token itself is never stored). */
const StaffSessionSchema = defineEntity({
  name: 'StaffSession',
  tableName: 'staff_session',
  properties: {
    tokenHash: p.string().length(64).primary(),
    staff: () => p.manyToOne(Staff).mapToPk().index(),
    createdAt: p.datetime(),
    expiresAt: p.datetime(),
    /** Last request on this token (updated at most once a minute): the idle timeout counts from it. */
    lastSeenAt: p.datetime(),
  },
});
export class StaffSession extends StaffSessionSchema.class {}
StaffSessionSchema.setClass(StaffSession);
