import { timingSafeEqual } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import { type Em, sql } from '../../app/db.ts';
import { Clue } from '../clues/clue.entity.ts';
import type { Category } from '../clues/clue.entity.ts';
import { generatePin } from '../clues/secrets.ts';
import { publicStatusText } from '../clues/status-machine.ts';
import { normalizeTrackingCode } from '../clues/tracking-code.ts';
import { Unit } from '../staff/unit.entity.ts';
import { enqueueInTransaction } from '../outbox/outbox.ts';
import { type HotlineContext, isWithheld, NAMED_PHONE_REPORTER, type TwilioParams } from './hotline.shared.ts';
import { Call, type CallOutcome, type IvrState, unansweredOutcomes } from './voice.entity.ts';

/** Categories a caller can choose by keypad (the spoken list is templates/<locale>/voice/report-category.txt). */
export const phoneCategories: Record<string, Category> = {
  '1': 'favor_enrolment',
  '2': 'connection_enrolment',
  '3': 'wrongful_enrolment',
  '4': 'missed_enrolment',
  '5': 'embezzlement',
  '6': 'extortion',
  '7': 'obstruction_or_inaction',
  '8': 'card_custody_abuse',
  '9': 'other',
};

const FINAL_CALL_STATUSES = new Set(['completed', 'busy', 'no-answer', 'failed', 'canceled']);
const NARRATIVE = '电话录音举报，内容见录音附件。/ Report by phone: see the recorded audio.';

const hexEqual = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));

/** A PIN people can keep but not one anyone guesses first: not all one digit, not a run like 123456. */
export function pinIsWeak(pin: string): boolean {
  if (/^(\d)\1+$/.test(pin)) return true;
  const steps = [...pin].slice(1).map((d, i) => (Number(d) - Number(pin[i]) + 10) % 10);
  return steps.every((s) => s === 1) || steps.every((s) => s === 9);
}

/** The IVR's memory and the phone report: everything a step of a call changes, under the call's row lock. */
export function createCallUseCases(ctx: HotlineContext) {
  const { deps, withCall } = ctx;
  const { clock, config, logger } = deps;

  const patch = (state: IvrState, change: IvrState): IvrState => ({ ...state, ...change });

  // A recording callback holds the call row's transaction (one pooled connection) while
  // registerClue takes a second one. Without a bound, DATABASE_POOL_MAX concurrent callbacks each
  // hold one and wait forever for another (found by the voice benchmark). At most half the pool
  // may be in this section at once, so every holder can always get its second connection.
  const registrationSlots = Math.max(1, Math.floor(config.DATABASE_POOL_MAX / 2));
  let inSection = 0;
  const waiting: (() => void)[] = [];
  async function withRegistrationSlot<T>(work: () => Promise<T>): Promise<T> {
    if (inSection >= registrationSlots) await new Promise<void>((r) => waiting.push(r));
    inSection++;
    try {
      return await work();
    } finally {
      inSection--;
      waiting.shift()?.();
    }
  }

  /** First request of a call: the row exists from here on. Returns whether the caller withheld their number. */
  async function start(p: TwilioParams) {
    return withCall(p, async (_tx, call) => ({ callId: call.id, withheld: call.withheld }));
  }

  /** Named: the caller ID is sealed on the call until the clue's sealed reporter record takes it. Anonymous: nothing is kept. */
  async function chooseIdentity(p: TwilioParams, named: boolean) {
    return withCall(p, async (_tx, call) => {
      call.ivr = patch(call.ivr, { named });
      call.choseAnonymous = !named;
      call.callerBox = named && !isWithheld(p.From) ? ctx.sealText(p.From!, `call:${call.id}`) : null;
      return { named, withheld: call.withheld };
    });
  }

  async function chooseCategory(p: TwilioParams, digit: string | null) {
    const category = digit ? (phoneCategories[digit] ?? null) : null;
    await withCall(p, async (_tx, call) => {
      call.ivr = patch(call.ivr, { category });
    });
    return category;
  }

  /** The street/town units read out as a numbered list: children of the root units, by code. */
  async function streetUnits() {
    const em = deps.orm.em.fork();
    return em.find(Unit, { kind: { $in: ['street', 'town'] } }, { orderBy: { code: 'asc' }, limit: 99 });
  }

  async function chooseUnit(p: TwilioParams, digits: string | null) {
    const units = await streetUnits();
    const n = digits ? Number(digits) : 0;
    const unit = Number.isInteger(n) && n >= 1 ? (units[n - 1] ?? null) : null;
    await withCall(p, async (_tx, call) => {
      call.ivr = patch(call.ivr, { unitId: unit?.id ?? null });
    });
    return unit;
  }

  /** The caller is about to record: from here a recording callback may arrive even after hang-up. */
  async function recordingIssued(p: TwilioParams) {
    return withCall(p, async (_tx, call) => {
      call.ivr = patch(call.ivr, { recordingIssued: true, recordingAbsent: false });
      return { named: !!call.ivr.named };
    });
  }

  /**
   * A recording callback (the <Record> action or the recording status callback, whichever comes
   * first): registers the clue once per call, with a random placeholder PIN nobody knows until the
   * caller sets theirs, and queues the download. Repeats return the same clue.
   */
  async function recordingArrived(p: TwilioParams): Promise<{ clueId: string; trackingCode: string } | null> {
    let queued = false;
    const result = await withRegistrationSlot(() => withCall(p, async (tx, call) => {
      if (call.clue) {
        const clue = await tx.findOneOrFail(Clue, { id: call.clue }, { fields: ['trackingCode'] });
        return { clueId: call.clue, trackingCode: clue.trackingCode };
      }
      if (!p.RecordingUrl || !p.RecordingSid) return null;
      const ivr = call.ivr;
      // Later than RECORDING_WAIT_MINUTES: the call was counted unanswered and a named caller's number
      // moved to a call-back, which this report now answers (withdrawn below, number and all).
      const gaveUp = !!call.endedAt && !!call.outcome && unansweredOutcomes.includes(call.outcome) && !!call.callbackId;
      const sealed = ivr.named && call.callerBox ? ctx.unsealText(call.callerBox, `call:${call.id}`) : null;
      const phone = sealed ?? (ivr.named && gaveUp ? await ctx.callbackNumber(tx, call.callbackId!) : null) ?? undefined;
      // The intake key makes the registration itself idempotent: should this transaction die after
      // the clue's commit, the retried callback gets the same clue back and links it.
      const { clue, trackingCode, duplicate } = await deps.clues.registerClue('twilio', {
        channel: 'phone',
        receivedAt: call.startedAt,
        categories: ivr.category ? [ivr.category as Category] : [],
        narrative: NARRATIVE,
        unitId: ivr.unitId ?? null,
        accused: [],
        reporter: ivr.named ? { name: NAMED_PHONE_REPORTER, ...(phone ? { phone } : {}) } : null,
        secret: { kind: 'pin', pin: generatePin(config.PHONE_PIN_LENGTH) },
        intakeKey: `phone:${call.sidHash}`,
      });
      if (!duplicate) deps.metrics.cluesRegistered.inc({ channel: 'phone' });
      const registered = { id: clue.id, trackingCode };
      call.clue = registered.id;
      // The number now lives only in the clue's sealed reporter record.
      call.callerBox = null;
      call.recordingSid = p.RecordingSid.slice(0, 64);
      call.recordingUrl = p.RecordingUrl.slice(0, 500);
      call.ivr = patch(ivr, { recordingIssued: true });
      if (call.endedAt && call.outcome !== 'report') call.outcome = 'report';
      if (gaveUp) await ctx.withdrawCallback(tx, call);
      enqueueInTransaction(tx, clock.now(), { queue: 'hotline', name: 'recording.fetch', jobId: `rec-${call.id}`, payload: { callId: call.id } });
      queued = true;
      return { clueId: registered.id, trackingCode: registered.trackingCode };
    }));
    if (queued) {
      deps.onOutboxWritten();
      logger.info({ clueId: result?.clueId, channel: 'phone' }, 'phone report registered');
    }
    return result;
  }

  /**
   * The recording callback says there is no audio. If the call is already over, it now counts as
   * unanswered: a named caller is owed a call-back (from the sealed number); an anonymous one is not.
   */
  async function recordingAbsent(p: TwilioParams) {
    let queued = false;
    await withCall(p, async (tx, call) => {
      if (call.clue) return;
      call.ivr = patch(call.ivr, { recordingAbsent: true });
      if (!call.endedAt || call.outcome !== 'report') return;
      queued = await endedWithoutReport(tx, call);
    });
    if (queued) deps.onOutboxWritten();
  }

  /**
   * A call that ended in the recording step turned out to have no report: it is unanswered, and a
   * named caller (number shown, sealed on the call) is owed a call-back. An anonymous caller's number
   * was never kept, so there is nothing to call. Returns whether an outbox row was written.
   */
  async function endedWithoutReport(tx: Em, call: Call): Promise<boolean> {
    call.outcome = 'abandoned';
    let queued = false;
    if (call.callerBox && !call.choseAnonymous) {
      const number = ctx.unsealText(call.callerBox, `call:${call.id}`);
      queued = !!(await ctx.owedCallback(tx, call, number, 'abandoned'))?.created;
    }
    call.callerBox = null;
    return queued;
  }

  /**
   * The `hotline.sweep` job: calls that ended waiting for a recording (the caller hung up before
   * any audio, or Twilio never called back) and heard nothing for RECORDING_WAIT_MINUTES are settled
   * as unanswered, like an `absent` recording callback. The wait exists because the recording
   * callbacks routinely arrive after the call's status callback.
   */
  async function settleMissingRecordings(batch = 200) {
    const now = clock.now();
    const cutoff = new Date(now.getTime() - config.RECORDING_WAIT_MINUTES * 60_000);
    // Bounded by the start time so the call_started_at index does the work; no call lasts a week.
    const since = new Date(now.getTime() - 7 * 86_400_000);
    let settled = 0;
    let queued = false;
    for (let round = 0; round < 50; round++) {
      const rows = await sql<{ id: string }>(
        deps.orm.em.fork(),
        `select id from "call" where started_at >= ? and outcome = 'report' and clue_id is null and ended_at <= ? order by ended_at, id limit ?`,
        [since, cutoff, batch],
      );
      for (const { id } of rows) {
        const done = await deps.orm.em.fork().transactional(async (tx) => {
          const call = await tx.findOne(Call, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
          if (!call || call.clue || call.outcome !== 'report' || !call.endedAt || call.endedAt > cutoff) return null;
          const wrote = await endedWithoutReport(tx, call);
          call.updatedAt = now;
          logger.info({ callId: call.id, callbackId: call.callbackId ?? undefined }, 'no recording came: call counted unanswered');
          return wrote;
        });
        if (done !== null) settled++;
        queued ||= !!done;
      }
      if (rows.length < batch) break;
    }
    if (queued) deps.onOutboxWritten();
    return { settled };
  }

  /** First PIN entry: only its keyed hash is kept, until the second entry. */
  async function pinEntered(p: TwilioParams, pin: string) {
    return withCall(p, async (_tx, call) => {
      if (!call.clue) return 'no_clue' as const;
      if (call.pinSetAt) return 'already' as const;
      call.ivr = patch(call.ivr, { pinFirst: ctx.pinEntryHash(call.id, pin) });
      return 'ok' as const;
    });
  }

  /** `setPhonePin`: once per clue, only from the call that registered it, on the ledger without the PIN. */
  async function pinConfirmed(p: TwilioParams, pin: string) {
    return withCall(p, async (tx, call) => {
      if (!call.clue) return 'no_clue' as const;
      if (call.pinSetAt) return 'already' as const;
      const first = call.ivr.pinFirst;
      const tries = (call.ivr.pinTries ?? 0) + 1;
      if (!first || !hexEqual(first, ctx.pinEntryHash(call.id, pin))) {
        call.ivr = patch(call.ivr, { pinFirst: null, pinTries: tries });
        return tries >= config.VOICE_MAX_WRONG_ENTRIES ? ('too_many' as const) : ('mismatch' as const);
      }
      await ctx.setPin(tx, call.clue, pin, 'twilio', 'phone');
      call.pinSetAt = clock.now();
      call.ivr = patch(call.ivr, { pinFirst: null, pinTries: tries });
      return 'set' as const;
    });
  }

  /** Status query, step 1: the tracking code (12 digits with a check digit). */
  async function queryCode(p: TwilioParams, digits: string) {
    return withCall(p, async (_tx, call) => {
      const wrong = call.ivr.wrongEntries ?? 0;
      if (wrong >= config.VOICE_MAX_WRONG_ENTRIES) return 'too_many' as const;
      const code = normalizeTrackingCode(digits);
      if (!code) {
        call.ivr = patch(call.ivr, { wrongEntries: wrong + 1, queryCode: null });
        return wrong + 1 >= config.VOICE_MAX_WRONG_ENTRIES ? ('too_many' as const) : ('wrong' as const);
      }
      call.ivr = patch(call.ivr, { queryCode: code });
      return 'ok' as const;
    });
  }

  /**
   * Status query, step 2: code + PIN through the reporter's own key (the code's PIN lockout
   * applies), at most `VOICE_MAX_WRONG_ENTRIES` wrong entries per call. The code is forgotten here.
   */
  async function queryPin(p: TwilioParams, pin: string): Promise<{ result: 'too_many' | 'wrong' } | { result: 'ok'; status: string; due: string | null }> {
    return withCall(p, async (_tx, call) => {
      const wrong = call.ivr.wrongEntries ?? 0;
      const code = call.ivr.queryCode;
      call.ivr = patch(call.ivr, { queryCode: null });
      if (wrong >= config.VOICE_MAX_WRONG_ENTRIES) return { result: 'too_many' as const };
      const clue = code ? await deps.clues.authenticateReporter(code, pin) : null;
      if (!clue) {
        call.ivr = patch(call.ivr, { wrongEntries: wrong + 1 });
        return { result: wrong + 1 >= config.VOICE_MAX_WRONG_ENTRIES ? ('too_many' as const) : ('wrong' as const) };
      }
      call.statusAnsweredAt = clock.now();
      const open = (await deps.deadlines.forReporter(clue.id)).filter((d) => !d.met && d.state !== 'cancelled').sort((a, b) => a.due.getTime() - b.due.getTime());
      const text = publicStatusText[clue.status];
      return {
        result: 'ok' as const,
        status: ctx.locale === 'en' ? text.en : text.zh,
        due: open[0] ? ctx.formatDate(open[0].due) : null,
      };
    });
  }

  /** Operators take calls on working days within the policy's office hours, if any number is configured. */
  async function operatorsOnDuty(): Promise<{ open: boolean; hours: { start: string; end: string } }> {
    const { officeHours } = await deps.deadlines.currentPolicy();
    if (config.OPERATOR_NUMBERS.length === 0) return { open: false, hours: officeHours };
    const now = clock.now();
    if (!deps.calendar.isWorkingDay(deps.calendar.localDate(now))) return { open: false, hours: officeHours };
    const hhmm = new Intl.DateTimeFormat('en-GB', { timeZone: deps.calendar.timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(now);
    return { open: hhmm >= officeHours.start && hhmm < officeHours.end, hours: officeHours };
  }

  /** The <Dial> ended: an answered dial means the caller reached an operator. */
  async function dialEnded(p: TwilioParams) {
    const reached = p.DialCallStatus === 'completed' || p.DialCallStatus === 'answered';
    await withCall(p, async (tx, call) => {
      if (!reached) return;
      call.operatorReachedAt ??= clock.now();
      // The caller hung up while talking to the operator and the status callback came first: not unanswered after all.
      if (call.endedAt && call.outcome && unansweredOutcomes.includes(call.outcome)) {
        call.outcome = 'operator';
        if (call.callbackId) await ctx.withdrawCallback(tx, call);
      }
    });
    return reached;
  }

  /** The caller asked for a call-back: the task exists before they hang up. */
  async function requestCallback(p: TwilioParams) {
    if (isWithheld(p.From)) return { result: 'withheld' as const };
    const owed = await withCall(p, async (tx, call) => {
      // Asking to be called back is consent to keep the number for that.
      call.choseAnonymous = false;
      return ctx.owedCallback(tx, call, p.From!, 'requested');
    });
    if (owed?.created) deps.onOutboxWritten();
    const dueAt = owed?.dueAt ?? (await ctx.callbackDue(clock.now()));
    return { result: 'ok' as const, due: ctx.formatDateTime(dueAt) };
  }

  /**
   * Call status callback. A final status ends the call once (repeats change nothing) and sets its
   * outcome; a call that ended with no report, answer, operator or call-back request is owed a
   * call-back unless the caller withheld their number or chose anonymity.
   */
  async function callStatus(p: TwilioParams) {
    let queued = false;
    const outcome = await withCall(p, async (tx, call) => {
      const status = (p.CallStatus ?? '').slice(0, 32);
      if (!call.endedAt) call.providerStatus = status || call.providerStatus;
      if (!FINAL_CALL_STATUSES.has(status) || call.endedAt) return call.outcome;
      call.endedAt = clock.now();
      const recordingPending = !call.clue && !!call.ivr.recordingIssued && !call.ivr.recordingAbsent;
      let outcome: CallOutcome;
      if (call.clue || recordingPending) outcome = 'report';
      else if (call.statusAnsweredAt) outcome = 'status';
      else if (call.operatorReachedAt) outcome = 'operator';
      else if (call.callbackId) outcome = 'callback';
      else outcome = status === 'busy' ? 'busy' : status === 'no-answer' ? 'no_answer' : status === 'failed' ? 'failed' : 'abandoned';
      call.outcome = outcome;
      if (unansweredOutcomes.includes(outcome)) queued = !!(await ctx.owedCallback(tx, call, p.From ?? '', outcome))?.created;
      // A named caller's sealed number waits only for a recording still to come.
      if (!recordingPending) call.callerBox = null;
      call.ivr = patch(call.ivr, { pinFirst: null, queryCode: null });
      return outcome;
    });
    if (queued) deps.onOutboxWritten();
    return outcome;
  }

  return {
    start,
    chooseIdentity,
    chooseCategory,
    streetUnits,
    chooseUnit,
    recordingIssued,
    recordingArrived,
    recordingAbsent,
    settleMissingRecordings,
    pinEntered,
    pinConfirmed,
    queryCode,
    queryPin,
    operatorsOnDuty,
    dialEnded,
    requestCallback,
    callStatus,
  };
}

export type CallUseCases = ReturnType<typeof createCallUseCases>;
