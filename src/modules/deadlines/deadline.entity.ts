import { defineEntity, p } from '@mikro-orm/core';
import { Clue } from '../clues/clue.entity.ts';
import { Unit } from '../staff/unit.entity.ts';
import type { KindPolicy } from './policy.ts';

export const deadlineStates = ['open', 'extended', 'missed', 'met', 'cancelled'] as const;
export type DeadlineState = (typeof deadlineStates)[number];
/** States in which a deadline still reminds, falls due or escalates. */
export const activeStates: readonly DeadlineState[] = ['open', 'extended', 'missed'];

export interface PolicySnapshot {
  version: string;
  officeHours: { start: string; end: string };
  kind: KindPolicy;
}

/**
 * One deadline of one clue, created and closed by the transactions that change the clue. It keeps
 * the policy it was given (`policy`), so a later policy change affects only new deadlines.
 */
const DeadlineSchema = defineEntity({
  name: 'Deadline',
  tableName: 'deadline',
  properties: {
    id: p.uuid().primary(),
    // Indexed with its kind and start (`deadline_clue_kind_index`, migration unit_covering_indexes).
    clue: () => p.manyToOne(Clue).mapToPk(),
    kind: p.string().length(32),
    /** The task, referral or call it is about, when not the clue itself. */
    subjectId: p.uuid().nullable(),
    /** The unit answerable for it when it started; escalation climbs from here. */
    unit: () => p.manyToOne(Unit).mapToPk().nullable(),
    /**
     * The clue's assigned unit (转办) while the deadline is open: set when it starts, rewritten on the
     * clue's open deadlines when the clue is assigned. The deadline views' indexes carry it beside
     * `unit` so that a street's walk skips other units' rows in the index (migration
     * unit_covering_indexes); the views still check the clue itself. No foreign key (the clue's holds).
     */
    assignedUnitId: p.uuid().nullable(),
    startsAt: p.datetime(),
    dueAt: p.datetime(),
    originalDueAt: p.datetime(),
    policy: p.json<PolicySnapshot>(),
    state: p.enum(deadlineStates),
    closedAt: p.datetime().nullable(),
    pausedAt: p.datetime().nullable(),
    pauseReason: p.string().length(500).nullable(),
    pausedMs: p.bigint('number').default(0),
    extensions: p.integer().default(0),
    /** How many of its steps (reminders, due, escalations) have fired. */
    fireSeq: p.integer().default(0),
    nextFireAt: p.datetime().nullable(),
    escalationLevel: p.integer().default(0),
    escalatedUnit: p.uuid().nullable(),
    /** Redis must be brought in line with this row (set by every change, cleared by the sync). */
    syncNeeded: p.boolean().default(true),
    /** Bumped by every change, so a sync never clears `syncNeeded` for a change it did not see. */
    syncVersion: p.integer().default(0),
    /** The BullMQ job id currently standing for the next step, if one is in Redis. */
    scheduledJob: p.string().length(200).nullable(),
    createdAt: p.datetime(),
  },
});
export class Deadline extends DeadlineSchema.class {}
DeadlineSchema.setClass(Deadline);

/** Admin edits of the policy; the newest applies to deadlines created after it. */
const DeadlinePolicyVersionSchema = defineEntity({
  name: 'DeadlinePolicyVersion',
  tableName: 'deadline_policy_version',
  properties: {
    id: p.integer().primary().autoincrement(),
    policy: p.json<Record<string, unknown>>(),
    createdBy: p.uuid().nullable(),
    createdAt: p.datetime(),
  },
});
export class DeadlinePolicyVersion extends DeadlinePolicyVersionSchema.class {}
DeadlinePolicyVersionSchema.setClass(DeadlinePolicyVersion);

export const noticeKinds = ['reminder', 'missed', 'escalated', 'extended', 'task_assigned', 'supervised', 'ledger_overdue'] as const;

/** An in-app notice for the staff of a unit (reminders to assignees, misses and escalations to supervisors). */
const StaffNoticeSchema = defineEntity({
  name: 'StaffNotice',
  tableName: 'staff_notice',
  properties: {
    id: p.uuid().primary(),
    unit: () => p.manyToOne(Unit).mapToPk().index(),
    /** Only this role of the unit sees it (null: everyone of the unit). */
    role: p.string().length(32).nullable(),
    /** Only this staff member sees it (special supervision). */
    staffId: p.uuid().nullable(),
    /** The clue it is about; null for a notice about a hotline call-back (`callbackId`), which has no clue. */
    clue: () => p.manyToOne(Clue).mapToPk().nullable(),
    deadline: () => p.manyToOne(Deadline).mapToPk().nullable(),
    callbackId: p.uuid().nullable(),
    kind: p.enum(noticeKinds),
    textZh: p.string().length(500),
    textEn: p.string().length(500),
    createdAt: p.datetime(),
  },
});
export class StaffNotice extends StaffNoticeSchema.class {}
StaffNoticeSchema.setClass(StaffNotice);
