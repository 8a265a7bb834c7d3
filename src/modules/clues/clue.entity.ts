import { defineEntity, p } from '@mikro-orm/core';
import { Unit } from '../staff/unit.entity.ts';
import { Message } from '../messages/message.entity.ts';
import { clueStatuses } from './status-machine.ts';
import { locales } from '../../app/templates.ts';

export const channels = ['phone', 'web', 'email', 'letter', 'visit', 'media', 'data_check', 'assigned', 'sms'] as const;
export type Channel = (typeof channels)[number];

export const categories = [
  'favor_enrolment',
  'connection_enrolment',
  'stability_enrolment',
  'policy_stretch_enrolment',
  'wrongful_enrolment',
  'missed_enrolment',
  'single_instead_of_household',
  'embezzlement',
  'false_claim',
  'withholding_funds',
  'extortion',
  'favouring_relatives',
  'obstruction_or_inaction',
  'payment_irregularity',
  'card_custody_abuse',
  'hotline_unanswered',
  'other',
] as const;
export type Category = (typeof categories)[number];

/**
 * `unknown` (不清楚): the reporter does not know the person's role. It excludes no unit by itself
 * (the accused's unit, if given, still does) and is what the form starts with, so that nobody is
 * filed as a civil-affairs official by default.
 */
export const accusedRoles = ['official', 'caseworker', 'cadre', 'beneficiary', 'other', 'unknown'] as const;
export type AccusedRole = (typeof accusedRoles)[number];

/**
 * The problem types the self-inspection table counts removals by (Putuo 2024 annex): 人情保,
 * 关系保, 政策保, and persons taken into 特困供养 on loosened 三无 criteria.
 */
export const problemTypes = ['renqing', 'guanxi', 'zhengce', 'sanwu'] as const;
export type ProblemType = (typeof problemTypes)[number];

export const priorities = ['normal', 'major'] as const;
export const secretKinds = ['web', 'pin'] as const;
export type SecretKind = (typeof secretKinds)[number];

/** What a conclusion recorded (see `outcomeInput`); older conclusions have no `byType`. */
export interface ClueOutcomeFigures {
  householdsRemoved?: number;
  peopleRemoved?: number;
  fundsRecoveredYuan?: number;
  householdsEnrolled?: number;
  cardCustodyCases?: number;
  enrolledAfterSingleFix?: number;
  byType?: Partial<Record<ProblemType, { people: number; fundsYuan: number }>>;
}

const ClueSchema = defineEntity({
  name: 'Clue',
  tableName: 'clue',
  properties: {
    id: p.uuid().primary(),
    trackingCode: p.string().length(12).unique(),
    channel: p.enum(channels),
    receivedAt: p.datetime(),
    categories: p.array().default([]),
    narrative: p.text(),
    /** When it happened, in the reporter's words ("去年冬天", "2026年3月"). */
    occurredWhen: p.string().length(200).nullable(),
    unit: () => p.manyToOne(Unit).mapToPk().nullable().index(),
    // No index of its own: `clue_status_received_index` starts with it, and `clue_open_received_index` holds the open ones.
    status: p.enum(clueStatuses),
    priority: p.enum(priorities).default('normal'),
    /** Named report (实名举报): a sealed reporter row exists. */
    named: p.boolean(),
    secretKind: p.enum(secretKinds),
    secretHash: p.string().length(64).hidden(),
    failedAttempts: p.integer().default(0),
    lockedUntil: p.datetime().nullable(),
    /** Seq and hash of the newest ledger event: the chain head, locked when appending. */
    headSeq: p.integer(),
    headHash: p.string().length(64),
    mergedInto: p.uuid().nullable(),
    /** The unit handling it (转办/交办), when not the unit it concerns. */
    assignedUnit: () => p.manyToOne(Unit).mapToPk().nullable().index(),
    /** Special supervision (督办): this supervisor is told of every event on the clue. */
    supervisor: p.uuid().nullable(),
    finding: p.string().length(32).nullable(),
    /** The figures the monthly statistics table needs, set when the clue is concluded. */
    outcome: p.json<ClueOutcomeFigures>().nullable(),
    /** 问题摘要 (≤ 50 characters), written by staff and checked to carry nothing of the reporter. */
    summary: p.string().length(50).nullable(),
    flags: p.array().default([]),
    /** The reporter's language, chosen at intake: automatic messages and mail to them are in it. */
    locale: p.enum(locales).default('zh-CN'),
    /**
     * A named reporter agreed at intake to be told of staff replies (by email, or by SMS when they
     * gave only a phone number): someone else may read their phone, so it is never assumed.
     */
    notifyProgress: p.boolean().default(false),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export class Clue extends ClueSchema.class {}
ClueSchema.setClass(Clue);

const AccusedSchema = defineEntity({
  name: 'Accused',
  tableName: 'accused',
  properties: {
    id: p.uuid().primary(),
    clue: () => p.manyToOne(Clue).mapToPk().index(),
    name: p.string().length(200),
    /** `nameKey(name)` (app/text.ts): what staff names and the registry are matched on. */
    nameKey: p.string().length(200).index(),
    role: p.enum(accusedRoles),
    unit: () => p.manyToOne(Unit).mapToPk().nullable().index(),
    position: p.string().length(200).nullable(),
  },
});
export class Accused extends AccusedSchema.class {}
AccusedSchema.setClass(Accused);

/** The reporter's identity and contact, AES-256-GCM sealed; absent for anonymous reports. */
const SealedReporterSchema = defineEntity({
  name: 'SealedReporter',
  tableName: 'sealed_reporter',
  properties: {
    clue: () => p.manyToOne(Clue).mapToPk().primary(),
    box: p.blob().hidden(),
    createdAt: p.datetime(),
  },
});
export class SealedReporter extends SealedReporterSchema.class {}
SealedReporterSchema.setClass(SealedReporter);

const AttachmentSchema = defineEntity({
  name: 'Attachment',
  tableName: 'attachment',
  properties: {
    id: p.uuid().primary(),
    clue: () => p.manyToOne(Clue).mapToPk().index(),
    /** The thread message it came with, if any (null: attached at registration). */
    message: () => p.manyToOne(Message).mapToPk().nullable(),
    /** Clear name: only rows from before names were sealed, until the start-up step seals them (then null). */
    filename: p.string().length(255).nullable(),
    /** The file name, sealed under the reporter key (src/modules/attachments/attachments.names.ts). */
    filenameBox: p.blob().nullable().lazy(),
    contentType: p.string().length(127),
    size: p.bigint('number'),
    sha256: p.string().length(64),
    storageKey: p.string().length(500),
    source: p.string().length(32),
    createdAt: p.datetime(),
  },
});
export class Attachment extends AttachmentSchema.class {}
AttachmentSchema.setClass(Attachment);

/**
 * What an outside delivery is known by (an email's Message-ID, a Twilio RecordingSid), written in
 * the same statement as the clue: a second delivery of the same thing finds it and adds nothing.
 */
const IntakeKeySchema = defineEntity({
  name: 'IntakeKey',
  tableName: 'intake_key',
  properties: {
    key: p.string().length(300).primary(),
    clue: () => p.manyToOne(Clue).mapToPk(),
    createdAt: p.datetime(),
  },
});
export class IntakeKey extends IntakeKeySchema.class {}
IntakeKeySchema.setClass(IntakeKey);

/**
 * The conclusion a concluded clue stands on: its latest `clue.status_changed` → concluded event,
 * kept in the transaction that writes the event and removed by the one that reopens the clue
 * (review, re-review). The statistics read it instead of scanning the ledger; `verify-ledger`'s
 * row check and the statistics test hold it to the events.
 */
const ClueConclusionSchema = defineEntity({
  name: 'ClueConclusion',
  tableName: 'clue_conclusion',
  properties: {
    clue: () => p.manyToOne(Clue).mapToPk().primary(),
    concludedAt: p.datetime().index(),
    outcome: p.json<ClueOutcomeFigures>().nullable(),
  },
});
export class ClueConclusion extends ClueConclusionSchema.class {}
ClueConclusionSchema.setClass(ClueConclusion);
