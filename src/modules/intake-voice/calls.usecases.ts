import { timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import { sql, sqlBound } from '../../app/db.ts';
import type { Keys } from '../../app/keys.ts';
import type { Category } from '../clues/clue.entity.ts';
import type { ClueUseCases } from '../clues/clues.usecases.ts';
import { publicStatusText } from '../clues/status-machine.ts';
import { normalizeTrackingCode } from '../clues/tracking-code.ts';
import type { WorkingCalendar } from '../deadlines/calendar/calendar.ts';
import type { DeadlineUseCases } from '../deadlines/deadlines.usecases.ts';
import type { OwedCallbacks } from './callbacks.rules.ts';
import type { CallsRepository } from './calls.repository.ts';
import type { HotlineDates } from './hotline.dates.ts';
import type { HotlineHashing } from './hotline.hashing.ts';
import { setPin } from './hotline.pin.ts';
import { type CallOutcome, type IvrState, unansweredOutcomes } from './voice.entity.ts';
import { type CallRef, isWithheld } from './voice.schemas.ts';

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

/** The IVR handed out a <Record>: a recording callback may come, even after the call has ended. */
const RECORDING_ISSUED: IvrState = { recordingIssued: true, recordingAbsent: false };

export interface StreetUnit {
  id: string;
  name: string;
}

const hexEqual = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));

export interface CallUseCasesDeps {
  clock: Clock;
  keys: Pick<Keys, 'secretHmacKey'>;
  config: Pick<Config, 'VOICE_LOCALE' | 'VOICE_MAX_WRONG_ENTRIES' | 'OPERATOR_NUMBERS'>;
  clues: Pick<ClueUseCases, 'authenticateReporter'>;
  deadlines: Pick<DeadlineUseCases, 'currentPolicy' | 'forReporter'>;
  calendar: WorkingCalendar;
  /** Called after a commit that wrote outbox rows. */
  onOutboxWritten: () => void;
  callRows: CallsRepository;
  hashing: Pick<HotlineHashing, 'pinEntryHash'>;
  owed: OwedCallbacks;
  dates: HotlineDates;
}

/**
 * The IVR's memory: its steps up to the <Record>, the PIN, the status query, the operators, the
 * call-back request and the call status callback (the recording callbacks that register the phone
 * report are phone-report.usecases.ts). Steps that only record a choice are one upsert each
 * (`callRows.upsertCall`); steps that decide from the call's state hold its row lock (`withCall`).
 */
export function createCallUseCases(deps: CallUseCasesDeps) {
  const { clock, config, callRows, hashing, owed, dates } = deps;
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
