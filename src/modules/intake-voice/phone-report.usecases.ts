import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import { type Em, type Orm, sql, sqlBound } from '../../app/db.ts';
import { createGroupCommit } from '../../app/group-commit.ts';
import type { Logger } from '../../app/logger.ts';
import type { Metrics } from '../../app/metrics.ts';
import type { Category } from '../clues/clue.entity.ts';
import type { ClueUseCases } from '../clues/clues.usecases.ts';
import { generatePin } from '../clues/secrets.ts';
import { enqueueInTransaction } from '../outbox/outbox.ts';
import type { OwedCallbacks } from './callbacks.rules.ts';
import { type CallsRepository, type RecordingCallRow, type RecordingLink, recordingCallsRead, recordingLinkStatement } from './calls.repository.ts';
import type { HotlineHashing } from './hotline.hashing.ts';
import { Call, type CallOutcome, type IvrState, unansweredOutcomes } from './voice.entity.ts';
import type { CallRef, RecordingInput } from './voice.schemas.ts';

/** Reporter name recorded for a named phone report (the caller says their name in the recording). */
const NAMED_PHONE_REPORTER = '电话实名举报人（姓名见录音）';
const NARRATIVE = '电话录音举报，内容见录音附件。/ Report by phone: see the recorded audio.';

export interface PhoneReportUseCasesDeps {
  orm: Orm;
  clock: Clock;
  logger: Logger;
  config: Pick<Config, 'PHONE_PIN_LENGTH' | 'RECORDING_WAIT_MINUTES'>;
  clues: Pick<ClueUseCases, 'registerClue'>;
  metrics: Pick<Metrics, 'cluesRegistered'>;
  /** Called after a commit that wrote outbox rows. */
  onOutboxWritten: () => void;
  callRows: CallsRepository;
  hashing: Pick<HotlineHashing, 'openCallerBox' | 'unsealText'>;
  owed: Pick<OwedCallbacks, 'owedCallback' | 'withdrawCallback'>;
}

/**
 * The phone report, from the recording callbacks: registered once per call when the audio is
 * there, or the call settled as unanswered (a named caller owed a call-back) when it is not, or
 * never comes. The IVR's steps before the <Record> are calls.usecases.ts; the download is
 * recording.usecases.ts.
 */
export function createPhoneReportUseCases(deps: PhoneReportUseCasesDeps) {
  const { clock, config, logger, callRows, hashing, owed } = deps;
  const { withCall } = callRows;

  const patch = (state: IvrState, change: IvrState): IvrState => ({ ...state, ...change });

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


  return { recordingArrived, recordingAbsent, settleMissingRecordings };
}

export type PhoneReportUseCases = ReturnType<typeof createPhoneReportUseCases>;
