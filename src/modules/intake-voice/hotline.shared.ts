import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import { type Em, type Orm, sqlBound } from '../../app/db.ts';
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
import type { DeadlineUseCases } from '../deadlines/deadlines.usecases.ts';
import { createOwedCallbacks } from './callbacks.rules.ts';
import { type CallUpsert, type CallUpsertRow, callUpsertStatement } from './calls.repository.ts';
import { callerAad, createHotlineHashing } from './hotline.hashing.ts';
import { createTwilioRestClient, type TwilioHttpClient } from './twilio.client.ts';
import { Call, type IvrState } from './voice.entity.ts';
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
  const hashing = createHotlineHashing(keys);
  const { sidHash, callerHash, pinEntryHash, sealText, unsealText, openCallerBox } = hashing;
  // When a call-back is owed, joined, withdrawn and due (callbacks.rules.ts).
  const { callbackDue, callbackRules, owedCallback, withdrawCallback } = createOwedCallbacks({ ...deps, hashing });

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
    owedCallback,
  };
}

export type HotlineContext = ReturnType<typeof createHotlineContext>;
