import { timingSafeEqual } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import { type Em, type Orm, sql, sqlBound } from '../../app/db.ts';
import { createGroupCommit } from '../../app/group-commit.ts';
import type { Category } from '../clues/clue.entity.ts';
import { generatePin } from '../clues/secrets.ts';
import { publicStatusText } from '../clues/status-machine.ts';
import { normalizeTrackingCode } from '../clues/tracking-code.ts';
import { enqueueInTransaction } from '../outbox/outbox.ts';
import { type CallsRepository, type RecordingCallRow, type RecordingLink, recordingCallsRead, recordingLinkStatement } from './calls.repository.ts';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import type { Keys } from '../../app/keys.ts';
import type { Logger } from '../../app/logger.ts';
import type { Metrics } from '../../app/metrics.ts';
import type { ClueUseCases } from '../clues/clues.usecases.ts';
import type { WorkingCalendar } from '../deadlines/calendar/calendar.ts';
import type { DeadlineUseCases } from '../deadlines/deadlines.usecases.ts';
import type { OwedCallbacks } from './callbacks.rules.ts';
import type { HotlineDates } from './hotline.dates.ts';
import type { HotlineHashing } from './hotline.hashing.ts';
import { setPin } from './hotline.pin.ts';
import { Call, type CallOutcome, type IvrState, unansweredOutcomes } from './voice.entity.ts';
import { type CallRef, isWithheld, type RecordingInput } from './voice.schemas.ts';

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
/** Reporter name recorded for a named phone report (the caller says their name in the recording). */
const NAMED_PHONE_REPORTER = '电话实名举报人（姓名见录音）';
const NARRATIVE = '电话录音举报，内容见录音附件。/ Report by phone: see the recorded audio.';

/** The IVR handed out a <Record>: a recording callback may come, even after the call has ended. */
const RECORDING_ISSUED: IvrState = { recordingIssued: true, recordingAbsent: false };

export interface StreetUnit {
  id: string;
  name: string;
}

const hexEqual = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));

/** A PIN people can keep but not one anyone guesses first: not all one digit, not a run like 123456. */
export function pinIsWeak(pin: string): boolean {
  if (/^(\d)\1+$/.test(pin)) return true;
  const steps = [...pin].slice(1).map((d, i) => (Number(d) - Number(pin[i]) + 10) % 10);
  return steps.every((s) => s === 1) || steps.every((s) => s === 9);
}

export interface CallUseCasesDeps {
  orm: Orm;
  clock: Clock;
  keys: Pick<Keys, 'secretHmacKey'>;
  logger: Logger;
  config: Config;
  clues: Pick<ClueUseCases, 'registerClue' | 'authenticateReporter'>;
  deadlines: Pick<DeadlineUseCases, 'currentPolicy' | 'forReporter'>;
  calendar: WorkingCalendar;
  metrics: Pick<Metrics, 'cluesRegistered'>;
  /** Called after a commit that wrote outbox rows. */
  onOutboxWritten: () => void;
  callRows: CallsRepository;
  hashing: HotlineHashing;
  owed: OwedCallbacks;
  dates: HotlineDates;
}

/**
 * The IVR's memory and the phone report. Steps that only record a choice are one upsert each
 * (`callRows.upsertCall`); steps that decide from the call's state hold its row lock (`withCall`).
 */
export function createCallUseCases(deps: CallUseCasesDeps) {
  const { clock, config, logger, callRows, hashing, owed, dates } = deps;
  const { withCall } = callRows;

  const patch = (state: IvrState, change: IvrState): IvrState => ({ ...state, ...change });

  /**
   * First request of a call: the row exists from here on (started_at, the figures' "in progress").
   * One statement, shared with the other calls starting at the same moment (group commit).
   */
  async function start(ref: CallRef) {
    const row = await callRows.upsertCall(ref);
    return { callId: row.id, withheld: row.withheld };
  }

  /** Named: the caller ID is sealed on the call until the clue's sealed reporter record takes it. Anonymous: nothing is kept. */
  async function chooseIdentity(ref: CallRef, named: boolean) {
    const row = await callRows.upsertCall(ref, { identity: { named } });
    return { named, withheld: row.withheld };
  }

  /** The category; if there is no street to choose, the next step is the recording (recorded in the same statement). */
  async function chooseCategory(ref: CallRef, digit: string | null) {
    const category = digit ? (phoneCategories[digit] ?? null) : null;
    const units = await streetUnits();
    const recordNext = units.length === 0;
    const row = await callRows.upsertCall(ref, { ivr: recordNext ? { category, ...RECORDING_ISSUED } : { category } });
    return { category, units, named: !!row.named };
  }

  // The street/town list changes when an admin edits the unit tree, i.e. hardly ever, and two
  // report steps of every call read it: it is held for a few seconds (one query per UNITS_TTL_MS).
  const UNITS_TTL_MS = 5_000;
  let units: { at: number; list: Promise<StreetUnit[]> } | null = null;

  /** The street/town units read out as a numbered list, by code (cached for a few seconds). */
  function streetUnits(): Promise<StreetUnit[]> {
    const now = performance.now();
    if (!units || now - units.at > UNITS_TTL_MS) {
      const list = sql<StreetUnit>(callRows.pooled(), `select id, name from unit where kind in ('street', 'town') order by code limit 99`);
      units = { at: now, list };
      // A failed read is not kept: the next step asks again.
      list.catch(() => {
        if (units?.list === list) units = null;
      });
    }
    return units.list;
  }

  /** The street/town; the next step is always the recording, so that is recorded in the same statement. */
  async function chooseUnit(ref: CallRef, digits: string | null) {
    const list = await streetUnits();
    const n = digits ? Number(digits) : 0;
    const unit = Number.isInteger(n) && n >= 1 ? (list[n - 1] ?? null) : null;
    const row = await callRows.upsertCall(ref, { ivr: { unitId: unit?.id ?? null, ...RECORDING_ISSUED } });
    return { unit, named: !!row.named };
  }

  /** The caller is about to record: from here a recording callback may arrive even after hang-up. */
  async function recordingIssued(ref: CallRef) {
    const row = await callRows.upsertCall(ref, { ivr: RECORDING_ISSUED });
    return { named: !!row.named };
  }

  // The recording callbacks arriving together read their calls in one statement, and link them in
  // one (group commit, as registerClue does): one parse, plan and commit for all of them.
  const recordingReads = createGroupCommit<{ hash: string; row?: RecordingCallRow }>({
    maxBatch: 64,
    maxInFlight: 1,
    write: async (items) => {
      const { text, params } = recordingCallsRead([...new Set(items.map((i) => i.hash))]);
      const rows = new Map((await sqlBound<RecordingCallRow>(callRows.pooled(), text, params)).map((r) => [r.sid_hash, r]));
      for (const item of items) item.row = rows.get(item.hash);
    },
  });
  const recordingLinks = createGroupCommit<RecordingLink>({
    maxBatch: 64,
    maxInFlight: 1,
    write: async (items) => {
      const { text, params } = recordingLinkStatement(items);
      const linked = new Set((await sqlBound<{ sid_hash: string }>(callRows.pooled(), text, params)).map((r) => r.sid_hash));
      // One item per linked call says it linked (another of the same call finds it linked).
      for (const item of items) {
        item.linked = linked.delete(item.hash);
      }
    },
  });

  /**
   * A recording callback (the <Record> action or the recording status callback, whichever comes
   * first): registers the clue once per call, with a random placeholder PIN nobody knows until the
   * caller sets theirs, and queues the download. Repeats return the same clue.
   *
   * No transaction is held while `registerClue` runs (a group commit on connections of its own):
   * 1. read the call (no lock; one statement for the callbacks arriving together): a linked call
   *    answers with its clue at once;
   * 2. register, idempotent by the intake key `phone:<CallSid hash>`: a retry, or a concurrent
   *    callback of the same call, gets the same clue back (`duplicate`);
   * 3. link the call and queue the download in one statement (`recordingLinkStatement`, shared by
   *    the callbacks arriving together); only the callback that links queues the download. A crash between 2 and 3 loses nothing: Twilio's retry finds
   *    the clue by its intake key and links it.
   * The unusual cases (no call row yet; a call already counted unanswered whose call-back this
   * report now answers; a concurrent callback that linked first) take the call's lock instead.
   * Answers only after the link has committed.
   */
  async function recordingArrived({ call: ref, recording }: RecordingInput): Promise<{ clueId: string; trackingCode: string } | null> {
    const hash = callRows.callHash(ref);
    const read: { hash: string; row?: RecordingCallRow } = { hash };
    await recordingReads.submit(read);
    const call = read.row;
    if (call?.clue_id) {
      const [linked] = await sqlBound<{ tracking_code: string }>(callRows.pooled(), 'select tracking_code from clue where id = $1', [call.clue_id]);
      if (linked) return { clueId: call.clue_id, trackingCode: linked.tracking_code };
    }
    if (!recording) return null;
    const ivr = call?.ivr ?? {};
    // Later than RECORDING_WAIT_MINUTES: the call was counted unanswered and a named caller's number
    // moved to a call-back, which this report now answers (withdrawn when linking).
    const gaveUp = !!call?.ended_at && !!call.outcome && unansweredOutcomes.includes(call.outcome as CallOutcome) && !!call.callback_id;
    const sealed = ivr.named && call?.caller_box ? hashing.openCallerBox({ id: call.id, sidHash: call.sid_hash, callerBox: call.caller_box }) : null;
    const phone = sealed ?? (ivr.named && gaveUp ? await callbackNumberNow(call!.callback_id!) : null) ?? undefined;
    const { clue, trackingCode, duplicate } = await deps.clues.registerClue('twilio', {
      channel: 'phone',
      receivedAt: call ? new Date(call.started_at) : clock.now(),
      categories: ivr.category ? [ivr.category as Category] : [],
      narrative: NARRATIVE,
      unitId: ivr.unitId ?? null,
      accused: [],
      reporter: ivr.named ? { name: NAMED_PHONE_REPORTER, ...(phone ? { phone } : {}) } : null,
      secret: { kind: 'pin', pin: generatePin(config.PHONE_PIN_LENGTH) },
      intakeKey: `phone:${hash}`,
    });
    if (!duplicate) deps.metrics.cluesRegistered.inc({ channel: 'phone' });
    const recordingSid = recording.sid.slice(0, 64);
    const recordingUrl = recording.url.slice(0, 500);

    let linked = false;
    if (call && !gaveUp) {
      const link: RecordingLink = { hash, clueId: clue.id, recordingSid, recordingUrl, now: clock.now() };
      await recordingLinks.submit(link);
      linked = !!link.linked;
    }
    if (!linked) {
      const result = await withCall(ref, async (tx, row) => {
        // Linked meanwhile by a concurrent callback of this call: the same clue (same intake key).
        if (row.clue) return { linked: false, clueId: row.clue };
        const late = !!row.endedAt && !!row.outcome && unansweredOutcomes.includes(row.outcome) && !!row.callbackId;
        row.clue = clue.id;
        // The number now lives only in the clue's sealed reporter record.
        row.callerBox = null;
        row.recordingSid = recordingSid;
        row.recordingUrl = recordingUrl;
        row.ivr = patch(row.ivr, { recordingIssued: true });
        if (row.endedAt && row.outcome !== 'report') row.outcome = 'report';
        if (late) await owed.withdrawCallback(tx, row);
        enqueueInTransaction(tx, clock.now(), { queue: 'hotline', name: 'recording.fetch', jobId: `rec-${row.id}`, payload: { callId: row.id } });
        return { linked: true, clueId: clue.id };
      });
      // Cannot happen while the intake key holds (one clue per call); fail rather than read out a wrong code.
      if (result.clueId !== clue.id) throw new Error('recording callback: the call is linked to another clue');
      linked = result.linked;
    }
    if (linked) {
      deps.onOutboxWritten();
      logger.info({ clueId: clue.id, channel: 'phone' }, 'phone report registered');
    }
    return { clueId: clue.id, trackingCode };
  }

  /** The number on an open call-back (read without a lock: the link decides under the call's lock). */
  async function callbackNumberNow(callbackId: string): Promise<string | null> {
    const [cb] = await sqlBound<{ id: string; state: string; number_box: Buffer | null }>(callRows.pooled(), 'select id, state, number_box from callback where id = $1', [callbackId]);
    return cb?.state === 'open' && cb.number_box ? hashing.unsealText(cb.number_box, cb.id) : null;
  }

  /**
   * The recording callback says there is no audio. If the call is already over, it now counts as
   * unanswered: a named caller is owed a call-back (from the sealed number); an anonymous one is not.
   */
  async function recordingAbsent(ref: CallRef) {
    let queued = false;
    await withCall(ref, async (tx, call) => {
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
      const number = hashing.openCallerBox({ id: call.id, sidHash: call.sidHash, callerBox: call.callerBox });
      queued = !!(await owed.owedCallback(tx, call, number, 'abandoned'))?.created;
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

  /**
   * First PIN entry: only its keyed hash is kept, until the second entry. One statement: the entry
   * is kept only for a call that registered a clue whose PIN is not set yet; else a read says why not.
   */
  async function pinEntered(ref: CallRef, pin: string) {
    const hash = callRows.callHash(ref);
    const kept = await sqlBound(
      callRows.pooled(),
      `update "call" set ivr = ivr || $2::jsonb, updated_at = $3 where sid_hash = $1 and clue_id is not null and pin_set_at is null returning id`,
      [hash, JSON.stringify({ pinFirst: hashing.pinEntryHash(hash, pin) } satisfies IvrState), clock.now()],
    );
    if (kept.length === 1) return 'ok' as const;
    const [row] = await sqlBound<{ clue_id: string | null }>(callRows.pooled(), 'select clue_id from "call" where sid_hash = $1', [hash]);
    return row?.clue_id ? ('already' as const) : ('no_clue' as const);
  }

  /** `setPhonePin`: once per clue, only from the call that registered it, on the ledger without the PIN. */
  async function pinConfirmed(ref: CallRef, pin: string) {
    return withCall(ref, async (tx, call) => {
      if (!call.clue) return 'no_clue' as const;
      if (call.pinSetAt) return 'already' as const;
      const first = call.ivr.pinFirst;
      const tries = (call.ivr.pinTries ?? 0) + 1;
      // (An entry kept before the entry's binding moved from the row id to the sid hash still counts.)
      const same = !!first && (hexEqual(first, hashing.pinEntryHash(call.sidHash, pin)) || hexEqual(first, hashing.pinEntryHash(call.id, pin)));
      if (!same) {
        call.ivr = patch(call.ivr, { pinFirst: null, pinTries: tries });
        return tries >= config.VOICE_MAX_WRONG_ENTRIES ? ('too_many' as const) : ('mismatch' as const);
      }
      await setPin(tx, deps, call.clue, pin, 'twilio', 'phone');
      call.pinSetAt = clock.now();
      call.ivr = patch(call.ivr, { pinFirst: null, pinTries: tries });
      return 'set' as const;
    });
  }

  /** Status query, step 1: the tracking code (12 digits with a check digit). */
  async function queryCode(ref: CallRef, digits: string) {
    return withCall(ref, async (_tx, call) => {
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
   * Status query, step 2: code + PIN through the reporter's own key (the PIN slow-down per code
   * and per calling number applies), at most `VOICE_MAX_WRONG_ENTRIES` wrong entries per call. The code is forgotten here.
   */
  async function queryPin(ref: CallRef, pin: string): Promise<{ result: 'too_many' | 'wrong' } | { result: 'ok'; status: string; due: string | null }> {
    return withCall(ref, async (tx, call) => {
      const wrong = call.ivr.wrongEntries ?? 0;
      const code = call.ivr.queryCode;
      call.ivr = patch(call.ivr, { queryCode: null });
      if (wrong >= config.VOICE_MAX_WRONG_ENTRIES) return { result: 'too_many' as const };
      const clue = code ? await deps.clues.authenticateReporter(code, pin, tx, { caller: ref.from }) : null;
      if (!clue) {
        call.ivr = patch(call.ivr, { wrongEntries: wrong + 1 });
        return { result: wrong + 1 >= config.VOICE_MAX_WRONG_ENTRIES ? ('too_many' as const) : ('wrong' as const) };
      }
      call.statusAnsweredAt = clock.now();
      const open = (await deps.deadlines.forReporter(clue.id, tx)).filter((d) => !d.met && d.state !== 'cancelled').sort((a, b) => a.due.getTime() - b.due.getTime());
      const text = publicStatusText[clue.status];
      return {
        result: 'ok' as const,
        status: config.VOICE_LOCALE === 'en' ? text.en : text.zh,
        due: open[0] ? dates.formatDate(open[0].due) : null,
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
  async function dialEnded(ref: CallRef, dialStatus: string | undefined) {
    const reached = dialStatus === 'completed' || dialStatus === 'answered';
    // Unanswered: nothing to decide; the row only has to exist.
    if (!reached) {
      await callRows.upsertCall(ref);
      return reached;
    }
    await withCall(ref, async (tx, call) => {
      call.operatorReachedAt ??= clock.now();
      // The caller hung up while talking to the operator and the status callback came first: not unanswered after all.
      if (call.endedAt && call.outcome && unansweredOutcomes.includes(call.outcome)) {
        call.outcome = 'operator';
        if (call.callbackId) await owed.withdrawCallback(tx, call);
      }
    });
    return reached;
  }

  /** The caller asked for a call-back: the task exists before they hang up. */
  async function requestCallback(ref: CallRef) {
    if (isWithheld(ref.from)) return { result: 'withheld' as const };
    const booked = await withCall(ref, async (tx, call) => {
      // Asking to be called back is consent to keep the number for that.
      call.choseAnonymous = false;
      return owed.owedCallback(tx, call, ref.from!, 'requested');
    });
    if (booked?.created) deps.onOutboxWritten();
    const dueAt = booked?.dueAt ?? (await owed.callbackDue(clock.now()));
    return { result: 'ok' as const, due: dates.formatDateTime(dueAt) };
  }

  /**
   * Call status callback. A final status ends the call once (repeats change nothing) and sets its
   * outcome; a call that ended with no report, answer, operator or call-back request is owed a
   * call-back unless the caller withheld their number or chose anonymity.
   */
  async function callStatus(ref: CallRef, providerStatus: string) {
    let queued = false;
    const outcome = await withCall(ref, async (tx, call) => {
      const status = providerStatus.slice(0, 32);
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
      if (unansweredOutcomes.includes(outcome)) queued = !!(await owed.owedCallback(tx, call, ref.from ?? '', outcome))?.created;
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
