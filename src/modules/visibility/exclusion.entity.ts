import { defineEntity, p } from '@mikro-orm/core';
import { Accused, Clue } from '../clues/clue.entity.ts';
import { Staff } from '../staff/staff.entity.ts';

/** Why a unit or a staff account is in a clue's excluded set (README "Who sees what"). */
export const exclusionReasons = ['accused_unit', 'accused_name', 'accused_linked', 'accused_registrant', 'registered_relative'] as const;
export type ExclusionReason = (typeof exclusionReasons)[number];

/**
 * One member of a clue's excluded set: a unit (it and every unit below it) or a staff account.
 * Derived from the clue's accused, the staff accounts, the operators' links and the near-relative
 * registry; rewritten by `recomputeExclusions` whenever one of those changes.
 */
const ClueExclusionSchema = defineEntity({
  name: 'ClueExclusion',
  tableName: 'clue_exclusion',
  // Read by clue (every read names it); by staff account only in the recompute for an account
  // (`recomputeForStaff`), so the staff index holds the members that are accounts, not the unit
  // members (most rows, and a registration's usual one). No index by unit: no read goes by unit
  // alone, and units are never deleted (Migration20261206200000_exclusion_indexes, measured there).
  indexes: [{ name: 'clue_exclusion_staff_id_index', properties: ['staff'], where: 'staff_id is not null' }],
  properties: {
    id: p.uuid().primary(),
    // No foreign keys: derived data, written with its clue or rewritten from the clue's accused under
    // the clue's lock, and nothing it names is ever deleted; each key cost a trigger query per member
    // inserted (Migration20261208000000_exclusion_name_gate).
    clue: p.uuid().fieldName('clue_id').index(),
    /** The accused person this member comes from. */
    accused: p.uuid().fieldName('accused_id'),
    unit: p.uuid().fieldName('unit_id').nullable(),
    staff: p.uuid().fieldName('staff_id').nullable(),
    reason: p.enum(exclusionReasons),
  },
});
export class ClueExclusion extends ClueExclusionSchema.class {}
ClueExclusionSchema.setClass(ClueExclusion);

/** `same_person`: an operator says this staff account is the accused; `not_same_person`: a name match is wrong. */
export const accusedLinkKinds = ['same_person', 'not_same_person'] as const;
export type AccusedLinkKind = (typeof accusedLinkKinds)[number];

/** An operator's word on whether an accused person is a staff account, with their reason. */
const AccusedLinkSchema = defineEntity({
  name: 'AccusedLink',
  tableName: 'accused_link',
  uniques: [{ properties: ['accused', 'staff'] }],
  properties: {
    id: p.uuid().primary(),
    clue: () => p.manyToOne(Clue).mapToPk().index(),
    accused: () => p.manyToOne(Accused).mapToPk(),
    staff: () => p.manyToOne(Staff).mapToPk(),
    kind: p.enum(accusedLinkKinds),
    reason: p.string().length(500),
    createdBy: p.uuid(),
    createdAt: p.datetime(),
  },
});
export class AccusedLink extends AccusedLinkSchema.class {}
AccusedLinkSchema.setClass(AccusedLink);
