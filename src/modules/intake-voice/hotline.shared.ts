import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import { type Em, type Orm, sql, sqlBound } from '../../app/db.ts';
import { createGroupCommit } from '../../app/group-commit.ts';
import { validationFailed } from '../../app/errors.ts';
import type { Keys } from '../../app/keys.ts';
import type { Logger } from '../../app/logger.ts';
import type { Metrics } from '../../app/metrics.ts';
import type { Locale } from '../../app/templates.ts';
import type { AttachmentStorage } from '../attachments/attachments.storage.ts';
import { Clue } from '../clues/clue.entity.ts';
import type { ClueUseCases } from '../clues/clues.usecases.ts';
import { type Actor, appendEvent } from '../clues/ledger.ts';
import { hashSecret } from '../clues/secrets.ts';
import type { WorkingCalendar } from '../deadlines/calendar/calendar.ts';
import { addPeriod, snapshotOf } from '../deadlines/deadlines.engine.ts';
import type { DeadlineUseCases } from '../deadlines/deadlines.usecases.ts';
import { enqueueInTransaction } from '../outbox/outbox.ts';
import { type CallbackRules, DEFAULT_CALLBACK_RULES, nextStepAt } from './callbacks.steps.ts';
import { type CallUpsert, type CallUpsertRow, callUpsertStatement } from './calls.repository.ts';
import { callerAad, createHotlineHashing } from './hotline.hashing.ts';
import { createTwilioRestClient, type TwilioHttpClient } from './twilio.client.ts';
import { Call, Callback, type CallOutcome, type IvrState, SmsMessage } from './voice.entity.ts';
import { isWithheld, type TwilioParams } from './voice.schemas.ts';

export interface HotlineDeps {
  orm: Orm;
  clock: Clock;
  keys: Keys;
  logger: Logger;
  config: Config;
  clues: Pick<ClueUseCases, 'registerClue' | 'authenticateReporter'>;
  deadlines: Pick<DeadlineUseCases, 'currentPolicy' | 'forReporter'>;
  calendar: WorkingCalendar;
  storage: AttachmentStorage;
  metrics: Metrics;
  /** Called after a commit that wrote outbox rows. */
  onOutboxWritten: () => void;
  /** Replaces the HTTP client of the twilio REST client (tests); else TWILIO_API_BASE or the real API. */
  twilioHttpClient?: TwilioHttpClient;
}

const dateTimeFormat = (timeZone: string, locale: Locale) =>
  new Intl.DateTimeFormat(locale, { timeZone, month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const dateFormat = (timeZone: string, locale: Locale) => new Intl.DateTimeFormat(locale, { timeZone, year: 'numeric', month: 'long', day: 'numeric' });

export function createHotlineContext(deps: HotlineDeps) {
  const { orm, clock, keys, config } = deps;
  const locale: Locale = config.VOICE_LOCALE;
  let rest: ReturnType<typeof createTwilioRestClient> | null = null;

  // Keyed hashes of provider ids and numbers, sealed texts (hotline.hashing.ts).
  const { sidHash, callerHash, pinEntryHash, sealText, unsealText, openCallerBox } = createHotlineHashing(keys);

  function formatDateTime(at: Date) {
    return dateTimeFormat(config.TIME_ZONE, locale).format(at);
  }
  function formatDate(at: Date) {
    return dateFormat(config.TIME_ZONE, locale).format(at);
  }

  /** The twilio REST client, made on first use (building it needs no network). */
  function twilioRest() {
    rest ??= createTwilioRestClient(config, deps.twilioHttpClient);
    return rest;
  }

  /** The insert half of every call-row upsert: a call we hear of for the first time starts now. */
  function newCallValues(p: TwilioParams, hash: string, now: Date) {
    return { id: randomUUID(), hash, now, withheld: isWithheld(p.From), hotline: (p.To ?? '').slice(0, 32) || null };
  }

  function requireSid(p: TwilioParams): string {
    if (!p.CallSid) throw validationFailed({ issues: [{ path: 'CallSid', message: 'missing' }] });
    return sidHash('call', p.CallSid);
  }

  /**
   * IVR steps that only record a choice: ONE statement each, no explicit transaction. The row is
   * created if this is the first we hear of the call (any webhook may be: the incoming one may have
   * failed), else the change is merged into it atomically (`ivr || patch` under the row lock the
   * upsert takes). Concurrent steps' upserts go out together (group commit): one statement, one
   * commit for all of them; a batch that fails (two steps of one call in it) is retried item by item.
   * One batch in flight: the statement takes about a millisecond, and while it is out the next batch
   * fills, so under load there are half the statements of two in flight (bench/README "voice").
   */
  const callWrites = createGroupCommit<CallUpsert>({
    maxBatch: 64,
    maxInFlight: 1,
    write: async (items) => {
      const { text, params } = callUpsertStatement(items);
      const rows = await sqlBound<CallUpsertRow>(pooled(), text, params);
      const byHash = new Map(rows.map((r) => [r.sid_hash, r]));
      for (const item of items) item.row = byHash.get(item.hash);
    },
  });

  async function upsertCall(p: TwilioParams, change: { ivr?: IvrState; identity?: { named: boolean } } = {}): Promise<CallUpsertRow> {
    const hash = requireSid(p);
    const v = newCallValues(p, hash, clock.now());
    let box: Buffer | null = null;
    const ivr: IvrState = { ...change.ivr };
    if (change.identity) {
      ivr.named = change.identity.named;
      // Named, number shown: the caller ID is sealed, bound to this call, until the clue takes it.
      if (change.identity.named && !v.withheld) box = sealText(p.From!, callerAad(hash));
    }
    const item: CallUpsert = { ...v, ivr: JSON.stringify(ivr), anonymous: change.identity ? !change.identity.named : false, box };
    await callWrites.submit(item);
    if (!item.row) throw new Error('call upsert returned no row');
    return item.row;
  }

  /**
   * Runs `fn` in a transaction holding the call's row lock, for the steps that decide something from
   * the call's state (PIN confirmation, status queries, the status callback, call-backs). One upsert
   * both creates the row on first sight and locks it (`on conflict do update … returning`), so the
   * transaction is begin, that statement, what `fn` does, one update if `fn` changed the row, commit.
   */
  async function withCall<T>(p: TwilioParams, fn: (tx: Em, call: Call) => Promise<T>): Promise<T> {
    const hash = requireSid(p);
    const v = newCallValues(p, hash, clock.now());
    return orm.em.fork().transactional(async (tx) => {
      const [row] = await sqlBound<Record<string, unknown>>(
        tx,
        `insert into "call" (id, sid_hash, started_at, withheld, chose_anonymous, ivr, hotline_number, created_at, updated_at)
         values ($1, $2, $3, $4, false, '{}', $5, $3, $3)
         on conflict (sid_hash) do update set updated_at = excluded.updated_at
         returning *`,
        [v.id, hash, v.now, v.withheld, v.hotline],
      );
      const call = tx.map(Call, row!);
      return fn(tx, call);
    });
  }

  /** Sets a clue's PIN (the caller chose it, or SMS recovery made a new one); on the ledger without the PIN. */
  async function setPin(tx: Em, clueId: string, pin: string, actor: Actor, channel: 'phone' | 'sms') {
    const clue = await tx.findOneOrFail(Clue, { id: clueId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    clue.secretHash = hashSecret(keys.secretHmacKey, clue.trackingCode, pin);
    clue.failedAttempts = 0;
    clue.lockedUntil = null;
    appendEvent(tx, clue, { type: 'reporter.pin_set', actor, data: { channel, length: pin.length } }, clock.now());
    return clue;
  }

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

  /** The number sealed on an open call-back (locked), if it still holds one. */
  async function callbackNumber(tx: Em, callbackId: string): Promise<string | null> {
    const cb = await tx.findOne(Callback, { id: callbackId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    return cb?.state === 'open' && cb.numberBox ? unsealText(cb.numberBox, cb.id) : null;
  }

  /**
   * The call-back owed for an unanswered call, inside the call's transaction. None for a withheld
   * number or a caller who chose anonymity. A second unanswered call from a number that already has
   * an open call-back joins it (one task per caller); the number is sealed on the call-back only.
   */
  async function owedCallback(tx: Em, call: Call, from: string, reason: CallOutcome | 'requested') {
    if (call.choseAnonymous || isWithheld(from)) return null;
    if (call.callbackId) return { id: call.callbackId, created: false };
    const hash = callerHash(from);
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
    tx.create(Callback, { id, call: call.id, callerHash: hash, numberBox: sealText(from, id), reason, calls: 1, dueAt, state: 'open', createdAt: now, nextNoticeAt });
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

  /** Pool-bound (outside any transaction) entity manager for single statements. */
  function pooled(): Em {
    return orm.em.fork();
  }

  return {
    deps,
    locale,
    pooled,
    requireSid,
    upsertCall,
    callWritesStats: callWrites.stats,
    openCallerBox,
    withdrawCallback,
    sidHash,
    callerHash,
    pinEntryHash,
    sealText,
    unsealText,
    formatDate,
    formatDateTime,
    twilioRest,
    withCall,
    setPin,
    callbackDue,
    callbackRules,
    callbackNumber,
    owedCallback,
  };
}

export type HotlineContext = ReturnType<typeof createHotlineContext>;
