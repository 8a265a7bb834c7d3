import { defineEntity, p } from '@mikro-orm/core';
import { Clue } from '../clues/clue.entity.ts';

/** How a call ended, for the hotline figures (README "Phone hotline"). */
export const callOutcomes = ['report', 'status', 'operator', 'callback', 'abandoned', 'no_answer', 'busy', 'failed'] as const;
export type CallOutcome = (typeof callOutcomes)[number];
/** Outcomes of a call nobody dealt with: a call-back is owed unless the caller stayed anonymous. */
export const unansweredOutcomes: readonly CallOutcome[] = ['abandoned', 'no_answer', 'busy', 'failed'];

/** What the IVR remembers between the steps of one call; never a number, never a PIN in clear. */
export interface IvrState {
  /** The caller chose a named (true) or anonymous (false) report. */
  named?: boolean;
  category?: string | null;
  unitId?: string | null;
  /** A <Record> was handed out: a recording callback may still come after the call ends. */
  recordingIssued?: boolean;
  /** The recording callback said there is no audio. */
  recordingAbsent?: boolean;
  /** Keyed hash of the first PIN entry, until it is confirmed. */
  pinFirst?: string | null;
  pinTries?: number;
  /** The tracking code typed for a status query, until the PIN step; then cleared. */
  queryCode?: string | null;
  /** Wrong codes or PINs in this call. */
  wrongEntries?: number;
}

/**
 * One phone call to the hotline. The CallSid is kept only as a keyed hash (`sidHash`): it is unique
 * and makes every webhook idempotent, yet the table alone cannot be joined to the provider's call
 * log (which holds the caller's number). The caller's number is never stored here except, sealed,
 * for a named report between the caller choosing "named" and the clue taking it over.
 */
const CallSchema = defineEntity({
  name: 'Call',
  tableName: 'call',
  properties: {
    id: p.uuid().primary(),
    sidHash: p.string().length(64).unique(),
    startedAt: p.datetime().index(),
    endedAt: p.datetime().nullable(),
    /** The provider's last CallStatus (in-progress, completed, busy, no-answer, failed, canceled). */
    providerStatus: p.string().length(32).nullable(),
    outcome: p.enum(callOutcomes).nullable(),
    /** The hotline number dialled (ours, not the caller's): the sender of SMS replies. */
    hotlineNumber: p.string().length(32).nullable(),
    /** The caller withheld their number (caller ID anonymous, restricted, unavailable or empty). */
    withheld: p.boolean(),
    /** The caller chose an anonymous report: no number is kept and no call-back is made. */
    choseAnonymous: p.boolean().default(false),
    /** Sealed caller number of a named caller until the clue's sealed reporter record takes it over. */
    callerBox: p.blob().nullable().hidden(),
    ivr: p.json<IvrState>(),
    clue: () => p.manyToOne(Clue).mapToPk().nullable().index(),
    pinSetAt: p.datetime().nullable(),
    statusAnsweredAt: p.datetime().nullable(),
    operatorReachedAt: p.datetime().nullable(),
    /** The call-back this call caused or joined. */
    callbackId: p.uuid().nullable(),
    /** Held only until the recording is stored (and deleted at the provider, if configured). */
    recordingSid: p.string().length(64).nullable(),
    recordingUrl: p.string().length(500).nullable(),
    recordingAttachmentId: p.uuid().nullable(),
    recordingDeletedAt: p.datetime().nullable(),
    recordingFailedAt: p.datetime().nullable(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
  },
});
export class Call extends CallSchema.class {}
CallSchema.setClass(Call);

export const callbackStates = ['open', 'done', 'cancelled'] as const;
export type CallbackState = (typeof callbackStates)[number];
export const callbackResults = ['reached', 'no_answer', 'wrong_number', 'declined', 'other'] as const;

/**
 * A call-back owed to a caller who got no answer. Not a clue (no ledger chain, no deadline row):
 * its own due time and state, an overdue query, and its own reminder and escalation steps (the
 * policy's `callback` kind, fired by the `hotline.sweep` job, each recorded here so it happens once).
 * The number is sealed with the reporter key (additional data: the row id) and erased when the
 * call-back is done.
 */
const CallbackSchema = defineEntity({
  name: 'Callback',
  tableName: 'callback',
  properties: {
    id: p.uuid().primary(),
    call: () => p.manyToOne(Call).mapToPk().unique(),
    /** Keyed hash of the number: a second unanswered call from it joins this call-back. */
    callerHash: p.string().length(64).index(),
    numberBox: p.blob().nullable().hidden(),
    reason: p.string().length(32),
    /** Unanswered calls from the same number this call-back answers. */
    calls: p.integer().default(1),
    dueAt: p.datetime().index(),
    state: p.enum(callbackStates),
    createdAt: p.datetime(),
    doneAt: p.datetime().nullable(),
    doneBy: p.uuid().nullable(),
    result: p.string().length(32).nullable(),
    note: p.string().length(500).nullable(),
    /** Reminders of the policy's `callback` kind already past (sent, or skipped as too late). */
    remindersSent: p.integer().default(0),
    /** When the supervisors were told it is overdue (once). */
    overdueNotifiedAt: p.datetime().nullable(),
    /** Unit levels above the operators' unit it has been escalated to (once each). */
    escalationLevel: p.integer().default(0),
    /** When the notice sweep next has something to say about it (null: nothing more). */
    nextNoticeAt: p.datetime().nullable().index(),
  },
});
export class Callback extends CallbackSchema.class {}
CallbackSchema.setClass(Callback);

/** Who looked at a call-back's number or closed it: the audit trail of a record that is not a clue. */
const CallbackEventSchema = defineEntity({
  name: 'CallbackEvent',
  tableName: 'callback_event',
  properties: {
    id: p.uuid().primary(),
    callback: () => p.manyToOne(Callback).mapToPk().index(),
    staffId: p.uuid(),
    action: p.string().length(32),
    at: p.datetime(),
  },
});
export class CallbackEvent extends CallbackEventSchema.class {}
CallbackEventSchema.setClass(CallbackEvent);

export const smsDirections = ['in', 'out'] as const;
export const smsStatuses = ['received', 'queued', 'sent', 'failed', 'skipped'] as const;

/**
 * SMS in and out. Inbound rows are keyed by a keyed hash of the MessageSid (idempotent webhooks).
 * Outbound rows hold what the job needs, sealed, until it is sent, then nothing: `toBox` (the
 * number, when it is in no sealed reporter record) and `bodyBox` (a text carrying a PIN). The
 * provider's message id is not kept: with the provider's log it would name the recipient.
 */
const SmsMessageSchema = defineEntity({
  name: 'SmsMessage',
  tableName: 'sms_message',
  properties: {
    id: p.uuid().primary(),
    direction: p.enum(smsDirections),
    sidHash: p.string().length(64).nullable().unique(),
    purpose: p.string().length(32),
    hotlineNumber: p.string().length(32).nullable(),
    clue: () => p.manyToOne(Clue).mapToPk().nullable().index(),
    callback: () => p.manyToOne(Callback).mapToPk().nullable(),
    status: p.enum(smsStatuses),
    toBox: p.blob().nullable().hidden(),
    bodyBox: p.blob().nullable().hidden(),
    detail: p.string().length(500).nullable(),
    createdAt: p.datetime(),
    sentAt: p.datetime().nullable(),
  },
});
export class SmsMessage extends SmsMessageSchema.class {}
SmsMessageSchema.setClass(SmsMessage);

/**
 * The hotline figures of one settled day (a Shanghai day that ended two days before it was counted):
 * the calls that started that day and the closed call-backs created that day, with the done ones'
 * seconds to call-back (sorted, for the median) and their counts below fixed edges. Filled on read by the figures (callbacks.usecases.ts) and
 * dropped by triggers when something it counted changes late (migration 20261204520000).
 */
const HotlineDaySchema = defineEntity({
  name: 'HotlineDay',
  tableName: 'hotline_day',
  properties: {
    day: p.datetime().primary(),
    calls: p.integer(),
    answeredByIvr: p.integer(),
    reachedOperator: p.integer(),
    callbackRequested: p.integer(),
    abandoned: p.integer(),
    inProgress: p.integer(),
    reports: p.integer(),
    calledBack: p.integer(),
    callbackSeconds: p.type('double precision[]').columnType('double precision[]'),
    /** How many of `callbackSeconds` are at most each edge of `hotline_seconds_edges()`, for the median (migration 20261207000000). */
    callbackBelow: p.type('integer[]').columnType('int[]'),
    computedAt: p.datetime(),
  },
});
export class HotlineDay extends HotlineDaySchema.class {}
HotlineDaySchema.setClass(HotlineDay);

export const hotlineEntities = [Call, Callback, CallbackEvent, SmsMessage, HotlineDay];
