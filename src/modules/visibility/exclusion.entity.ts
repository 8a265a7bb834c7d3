import { defineEntity, p } from '@mikro-orm/core';
import { Accused, Clue } from '../clues/clue.entity.ts';
import { Staff } from '../staff/staff.entity.ts';
import { Unit } from '../staff/unit.entity.ts';

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
  properties: {
    id: p.uuid().primary(),
    /** Derived data: goes with its clue. */
    clue: () => p.manyToOne(Clue).mapToPk().index().deleteRule('cascade'),
    /** The accused person this member comes from. */
    accused: p.uuid().fieldName('accused_id'),
    /** Indexed, as `staff` is: a principal's excluded clues are read by unit ids and staff id (the list's anti-join). */
    unit: () => p.manyToOne(Unit).mapToPk().nullable().index(),
    staff: () => p.manyToOne(Staff).mapToPk().nullable().index(),
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
