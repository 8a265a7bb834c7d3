import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import type { Em, Orm } from '../../app/db.ts';
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
import { createCallsRepository } from './calls.repository.ts';
import { createHotlineHashing } from './hotline.hashing.ts';
import { createTwilioRestClient, type TwilioHttpClient } from './twilio.client.ts';

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
  // The call rows: the pooled upsert of the choice-recording steps, the locked read of the others (calls.repository.ts).
  const callRows = createCallsRepository({ orm, clock, hashing });
  const { pooled, requireSid, upsertCall, withCall } = callRows;
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

  /** Sets a clue's PIN (the caller chose it, or SMS recovery made a new one); on the ledger without the PIN. */
  async function setPin(tx: Em, clueId: string, pin: string, actor: Actor, channel: 'phone' | 'sms') {
    const clue = await tx.findOneOrFail(Clue, { id: clueId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    clue.secretHash = hashSecret(keys.secretHmacKey, clue.trackingCode, pin);
    clue.failedAttempts = 0;
    clue.lockedUntil = null;
    appendEvent(tx, clue, { type: 'reporter.pin_set', actor, data: { channel, length: pin.length } }, clock.now());
    return clue;
  }

  return {
    deps,
    locale,
    pooled,
    requireSid,
    upsertCall,
    callWritesStats: callRows.callWritesStats,
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
