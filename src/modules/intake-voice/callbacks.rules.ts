/**
 * When a call-back is owed, joined or withdrawn, and when it falls due: the rules the call steps
 * apply inside the call's transaction (calls.usecases.ts) and the notice sweep reads
 * (callbacks.usecases.ts).
 */
import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import { type Em, sql } from '../../app/db.ts';
import type { Logger } from '../../app/logger.ts';
import type { WorkingCalendar } from '../deadlines/calendar/calendar.ts';
import { addPeriod, snapshotOf } from '../deadlines/deadlines.engine.ts';
import type { DeadlineUseCases } from '../deadlines/deadlines.usecases.ts';
import { enqueueInTransaction } from '../outbox/outbox.ts';
import { type CallbackRules, DEFAULT_CALLBACK_RULES, nextStepAt } from './callbacks.steps.ts';
import type { HotlineHashing } from './hotline.hashing.ts';
import { type Call, Callback, type CallOutcome, SmsMessage } from './voice.entity.ts';
import { isWithheld } from './voice.schemas.ts';

export interface OwedCallbacksDeps {
  clock: Clock;
  config: Pick<Config, 'SMS_CALLBACK_NOTICE'>;
  logger: Logger;
  deadlines: Pick<DeadlineUseCases, 'currentPolicy'>;
  calendar: WorkingCalendar;
  hashing: Pick<HotlineHashing, 'callerHash' | 'sealText'>;
}

export function createOwedCallbacks(deps: OwedCallbacksDeps) {
  const { clock, config, hashing } = deps;

  /** Due time of a call-back: the policy's `callback` kind (default one working hour), else the next working hour. */
  async function callbackDue(at: Date, em?: Em): Promise<Date> {
    const policy = await deps.deadlines.currentPolicy(em);
    const kind = policy.kinds.find((k) => k.kind === 'callback');
    return kind ? addPeriod(deps.calendar, snapshotOf(policy, kind), at, kind.duration) : deps.calendar.nextWorkingHour(at, policy.officeHours);
  }

  /** Reminder offsets and escalation interval of call-backs: the policy's `callback` kind, else the shipped ones. */
  async function callbackRules(em?: Em): Promise<CallbackRules> {
    const kind = (await deps.deadlines.currentPolicy(em)).kinds.find((k) => k.kind === 'callback');
    return kind ? { reminders: kind.reminders, escalateEvery: kind.escalateEvery } : DEFAULT_CALLBACK_RULES;
  }

  /**
   * The call-back owed for an unanswered call, inside the call's transaction. None for a withheld
   * number or a caller who chose anonymity. A second unanswered call from a number that already has
   * an open call-back joins it (one task per caller); the number is sealed on the call-back only.
   */
  async function owedCallback(tx: Em, call: Call, from: string, reason: CallOutcome | 'requested') {
    if (call.choseAnonymous || isWithheld(from)) return null;
    if (call.callbackId) return { id: call.callbackId, created: false };
    const hash = hashing.callerHash(from);
    await sql(tx, 'select pg_advisory_xact_lock(hashtextextended(?, 0))', [`callback:${hash}`]);
    const now = clock.now();
    const open = await tx.findOne(Callback, { callerHash: hash, state: 'open' }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    if (open) {
      open.calls += 1;
      call.callbackId = open.id;
      return { id: open.id, created: false, dueAt: open.dueAt };
    }
    const id = randomUUID();
    const dueAt = await callbackDue(now, tx);
    const nextNoticeAt = nextStepAt({ dueAt, remindersSent: 0, overdueNotifiedAt: null, escalationLevel: 0 }, await callbackRules(tx), 0);
    tx.create(Callback, { id, call: call.id, callerHash: hash, numberBox: hashing.sealText(from, id), reason, calls: 1, dueAt, state: 'open', createdAt: now, nextNoticeAt });
    call.callbackId = id;
    if (config.SMS_CALLBACK_NOTICE) {
      const smsId = randomUUID();
      tx.create(SmsMessage, { id: smsId, direction: 'out', purpose: 'callback_notice', hotlineNumber: call.hotlineNumber, callback: id, status: 'queued', createdAt: now });
      enqueueInTransaction(tx, now, { queue: 'hotline', name: 'sms.send', jobId: `sms-${smsId}`, payload: { smsId } });
    }
    deps.logger.info({ callId: call.id, callbackId: id, reason, dueAt }, 'call-back owed');
    return { id, created: true, dueAt };
  }

  /** A call turned out answered after all: it leaves its call-back (cancelled, number erased, if it was the only call). */
  async function withdrawCallback(tx: Em, call: Call) {
    const cb = call.callbackId ? await tx.findOne(Callback, { id: call.callbackId }, { lockMode: LockMode.PESSIMISTIC_WRITE }) : null;
    call.callbackId = null;
    if (!cb || cb.state !== 'open') return;
    if (cb.calls > 1) {
      cb.calls -= 1;
      return;
    }
    cb.state = 'cancelled';
    cb.numberBox = null;
    cb.nextNoticeAt = null;
    cb.doneAt = clock.now();
    deps.logger.info({ callId: call.id, callbackId: cb.id }, 'call-back withdrawn: the call was answered');
  }

  return { callbackDue, callbackRules, owedCallback, withdrawCallback };
}

export type OwedCallbacks = ReturnType<typeof createOwedCallbacks>;
