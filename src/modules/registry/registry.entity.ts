import { defineEntity, p } from '@mikro-orm/core';
import { Staff } from '../staff/staff.entity.ts';
import { Unit } from '../staff/unit.entity.ts';

/** Who registers: 民政干部职工, 低保经办人员, 村（居）委会干部, other public officials (东安 annex 1), other. */
export const registrantRoles = ['civil_affairs_staff', 'caseworker', 'cadre', 'official', 'other'] as const;
export type RegistrantRole = (typeof registrantRoles)[number];

/** 与登记人关系. In-laws cover 配偶父母 of the Dong'an annex 4. */
export const relations = ['spouse', 'parent', 'child', 'sibling', 'grandparent', 'grandchild', 'in_law', 'other'] as const;
export type Relation = (typeof relations)[number];

/** 救助类别: 低保, 特困供养, other assistance. */
export const programmes = ['dibao', 'extreme_poverty', 'other'] as const;
export type Programme = (typeof programmes)[number];

/**
 * One near-relative registration (近亲属备案): a staff member or committee cadre declares a relative
 * who receives assistance. The relative's ID number is sealed (AES-256-GCM, aad = row id); the
 * keyed hash (HMAC under the secret HMAC key, which never enters the database) finds duplicates
 * and matches without decrypting. Names are kept normalised (`*_name_key`) for matching.
 */
const NearRelativeSchema = defineEntity({
  name: 'NearRelative',
  tableName: 'near_relative',
  uniques: [{ name: 'near_relative_registrant_relative_unique', properties: ['idHash', 'registrantUnit', 'registrantNameKey'] }],
  properties: {
    id: p.uuid().primary(),
    registrantName: p.string().length(200),
    /** Probed by name in every registration's excluded set (visibility.ts `FRESH_EXCLUSIONS_FUNCTION`). */
    registrantNameKey: p.string().length(200).index(),
    /** The registrant's staff account, when they have one (cadres often do not). */
    registrantStaff: () => p.manyToOne(Staff).mapToPk().nullable().index(),
    registrantUnit: () => p.manyToOne(Unit).mapToPk().index(),
    registrantRole: p.enum(registrantRoles),
    relativeName: p.string().length(200),
    relativeNameKey: p.string().length(200).index(),
    relation: p.enum(relations),
    /** The relative's 18-character ID number, sealed with the reporter key (aad = row id). */
    idBox: p.blob().hidden(),
    /** HMAC-SHA256 (secret HMAC key) of the normalised ID number, hex. */
    idHash: p.string().length(64),
    programme: p.enum(programmes),
    /** 享受起始日期, YYYY-MM-DD. */
    since: p.date(),
    householdAddress: p.string().length(500).nullable(),
    createdAt: p.datetime(),
    createdBy: () => p.manyToOne(Staff).mapToPk().fieldName('created_by'),
  },
});
export class NearRelative extends NearRelativeSchema.class {}
NearRelativeSchema.setClass(NearRelative);

export const registryAuditActions = ['ids_revealed', 'matches_viewed', 'imported'] as const;
export type RegistryAuditAction = (typeof registryAuditActions)[number];

/**
 * Who looked at or bulk-changed the registry. Holds row ids and counts, never a name or an ID number.
 * (Revealing ID numbers in the list has no clue to record it on, so it is recorded here.)
 */
const RegistryAuditSchema = defineEntity({
  name: 'RegistryAudit',
  tableName: 'registry_audit',
  properties: {
    id: p.uuid().primary(),
    staff: () => p.manyToOne(Staff).mapToPk().index(),
    action: p.enum(registryAuditActions),
    /** The clue whose matches were viewed. */
    clueId: p.uuid().nullable(),
    registryIds: p.json<string[]>(),
    rowCount: p.integer(),
    purpose: p.string().length(500).nullable(),
    createdAt: p.datetime(),
  },
});
export class RegistryAudit extends RegistryAuditSchema.class {}
RegistryAuditSchema.setClass(RegistryAudit);
