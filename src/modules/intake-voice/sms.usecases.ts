import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import { type Em, type Orm, sql } from '../../app/db.ts';
import { validationFailed } from '../../app/errors.ts';
import type { Keys } from '../../app/keys.ts';
import type { Logger } from '../../app/logger.ts';
import type { Metrics } from '../../app/metrics.ts';
import { type Locale, renderTemplate } from '../../app/templates.ts';
import { Clue, SealedReporter } from '../clues/clue.entity.ts';
import type { ClueUseCases, ReporterIdentity } from '../clues/clues.usecases.ts';
import { appendEvent } from '../clues/ledger.ts';
import { generatePin } from '../clues/secrets.ts';
import { formatTrackingCode } from '../clues/tracking-code.ts';
import { enqueueInTransaction } from '../outbox/outbox.ts';
import type { HotlineDates } from './hotline.dates.ts';
import type { HotlineHashing } from './hotline.hashing.ts';
import { setPin } from './hotline.pin.ts';
import { providerError, type TwilioRest } from './twilio.client.ts';
import { completeIntent } from '../outbox/outbox.relay.ts';
import { Callback, SmsMessage } from './voice.entity.ts';
import { isWithheld, type SmsInput } from './voice.schemas.ts';

/** Reporter name recorded for a named SMS report. */
const NAMED_SMS_REPORTER = '短信实名举报人';
/** Fewer characters than this is not a report (a reply to our own SMS, "你好"): the sender gets the help text. */
export const SMS_MIN_CHARS = 8;
const MAX_NARRATIVE = 5000;
/** A text beginning with 实名 ("named") is a named report; every other text is anonymous. */
const NAMED_PREFIX = /^\s*(实名|named\b)/i;

export interface SmsUseCasesDeps {
  orm: Orm;
  clock: Clock;
  keys: Pick<Keys, 'secretHmacKey'>;
  logger: Logger;
  config: Config;
  clues: Pick<ClueUseCases, 'registerClue'>;
  metrics: Pick<Metrics, 'cluesRegistered'>;
  /** Called after a commit that wrote outbox rows. */
  onOutboxWritten: () => void;
  hashing: HotlineHashing;
  dates: HotlineDates;
  twilioRest: TwilioRest;
}

/**
 * SMS intake and every outbound SMS. Outbound rows are queued in the transaction that causes them;
 * the job unseals the number (from the row, the sealed reporter record or the call-back) and the
 * text, sends through the twilio REST client, and erases both.
 */
export function createSmsUseCases(deps: SmsUseCasesDeps) {
  const { orm, clock, config, logger, hashing, dates } = deps;
  const locale: Locale = config.VOICE_LOCALE;

  /**
   * An incoming SMS report, once per MessageSid: registered as a clue (channel `sms`) with a
   * generated PIN, and the tracking code and PIN queued as a reply.
   *
   * No transaction is open while `registerClue` runs (it takes its own pooled connection): holding
   * one across it is what deadlocked the recording callback at pool-size concurrency (bench/README
   * "voice"). So: register first, made idempotent by the intake key `sms:<MessageSid hash>`, then
   * link the SMS row and queue the reply in one short transaction. A crash between the two leaves a
   * registered clue nobody was told about; Twilio's retry gets the same clue back (`duplicate`),
   * gives it a new PIN (the first was never sent) and links it. Concurrent deliveries of one
   * MessageSid meet at the SMS row's lock: the first to link sends the reply, the others are repeats.
   * `receivedAt`: when a message kept on disk while the database was away came in.
   */
  async function receive(input: SmsInput, receivedAt?: Date): Promise<{ result: 'registered' | 'repeat' | 'too_short' }> {
    const text = input.body.trim().slice(0, MAX_NARRATIVE);
    if ([...text].length < SMS_MIN_CHARS) return { result: 'too_short' };
    if (!input.sid) throw validationFailed({ issues: [{ path: 'MessageSid', message: 'missing' }] });
    const hash = hashing.sidHash('sms', input.sid);
    const now = clock.now();
    // A repeat of a linked message costs one read, and registers nothing.
    const seen = await orm.em.fork().findOne(SmsMessage, { sidHash: hash }, { fields: ['clue'] });
    if (seen?.clue) return { result: 'repeat' };

    const withheld = isWithheld(input.from);
    const named = NAMED_PREFIX.test(text) && !withheld;
    const pin = generatePin(config.PHONE_PIN_LENGTH);
    const { clue, trackingCode, duplicate } = await deps.clues.registerClue('twilio', {
      channel: 'sms',
      // A message kept while the database was away (sms.spool.ts) keeps the time it came in.
      receivedAt: receivedAt ?? now,
      categories: [],
      narrative: text,
      unitId: null,
      accused: [],
      reporter: named ? { name: NAMED_SMS_REPORTER, phone: input.from! } : null,
      secret: { kind: 'pin', pin },
      intakeKey: `sms:${hash}`,
    });
    if (!duplicate) deps.metrics.cluesRegistered.inc({ channel: 'sms' });

    const result = await orm.em.fork().transactional(async (tx) => {
      await sql(
        tx,
        `insert into sms_message (id, direction, sid_hash, purpose, hotline_number, status, created_at) values (?, 'in', ?, 'report', ?, 'received', ?)
         on conflict (sid_hash) do nothing`,
        [randomUUID(), hash, (input.to ?? '').slice(0, 32) || null, now],
      );
      const row = await tx.findOneOrFail(SmsMessage, { sidHash: hash }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (row.clue) return 'repeat' as const;
      // Registered by an earlier or concurrent delivery whose PIN was never sent: a new one is set.
      if (duplicate) await setPin(tx, deps, clue.id, pin, 'system:hotline', 'sms');
      row.clue = clue.id;
      if (!withheld) {
        const id = randomUUID();
        const reply = renderTemplate(locale, 'sms/report-ack.txt', { trackingCode: formatTrackingCode(trackingCode), pin });
        tx.create(SmsMessage, {
          id,
          direction: 'out',
          purpose: 'report_ack',
          hotlineNumber: row.hotlineNumber,
          clue: clue.id,
          status: 'queued',
          // A named reporter's number is in the sealed reporter record; an anonymous texter's only here, until sent.
          toBox: named ? null : hashing.sealText(input.from!, `sms:${id}:to`),
          bodyBox: hashing.sealText(reply, `sms:${id}:body`),
          createdAt: now,
        });
        enqueueInTransaction(tx, now, { queue: 'hotline', name: 'sms.send', jobId: `sms-${id}`, payload: { smsId: id } });
      }
      return 'registered' as const;
    });
    if (result === 'registered') {
      deps.onOutboxWritten();
      logger.info({ clueId: clue.id, channel: 'sms' }, 'sms report registered');
    }
    return { result };
  }

  /**
   * Queues an SMS to a clue's named reporter inside the caller's transaction: the number is read
   * from the sealed reporter record when it is sent, the text (which must carry nothing of the
   * report) is sealed on the row until then. From the hotline number their call or SMS came in on,
   * if any (else TWILIO_SMS_FROM). Returns the row id.
   */
  async function queueToReporter(tx: Em, input: { clueId: string; purpose: string; text: string }, now: Date): Promise<string> {
    const id = randomUUID();
    const [origin] = await sql<{ hotline_number: string | null }>(
      tx,
      `select hotline_number from "call" where clue_id = ? and hotline_number is not null
       union all select hotline_number from sms_message where clue_id = ? and direction = 'in' and hotline_number is not null limit 1`,
      [input.clueId, input.clueId],
    );
    tx.create(SmsMessage, {
      id,
      direction: 'out',
      purpose: input.purpose,
      hotlineNumber: origin?.hotline_number ?? null,
      clue: input.clueId,
      status: 'queued',
      toBox: null,
      bodyBox: hashing.sealText(input.text, `sms:${id}:body`),
      createdAt: now,
    });
    enqueueInTransaction(tx, now, { queue: 'hotline', name: 'sms.send', jobId: `sms-${id}`, payload: { smsId: id } });
    return id;
  }

  /** The help text for a message that is no report; returned as TwiML by the webhook, nothing stored. */
  function helpText() {
    return renderTemplate(locale, 'sms/help.txt', {});
  }

  async function recipientOf(row: SmsMessage): Promise<string | null> {
    const em = orm.em.fork();
    if (row.toBox) return hashing.unsealText(row.toBox, `sms:${row.id}:to`);
    if (row.callback) {
      const cb = await em.findOne(Callback, { id: row.callback });
      return cb?.state === 'open' && cb.numberBox ? hashing.unsealText(cb.numberBox, cb.id) : null;
    }
    if (row.clue) {
      const sealed = await em.findOne(SealedReporter, { clue: row.clue });
      if (!sealed) return null;
      const identity = JSON.parse(hashing.unsealText(sealed.box, row.clue)) as ReporterIdentity;
      return identity.phone ?? null;
    }
    return null;
  }

  async function textOf(row: SmsMessage): Promise<string | null> {
    if (row.bodyBox) return hashing.unsealText(row.bodyBox, `sms:${row.id}:body`);
    if (row.purpose === 'callback_notice' && row.callback) {
      const cb = await orm.em.fork().findOne(Callback, { id: row.callback });
      return cb ? renderTemplate(locale, 'sms/callback-notice.txt', { due: dates.formatDateTime(cb.dueAt) }) : null;
    }
    return null;
  }

  async function finish(smsId: string, status: 'sent' | 'skipped' | 'failed', detail: string | null) {
    await orm.em.fork().transactional(async (tx) => {
      const row = await tx.findOne(SmsMessage, { id: smsId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!row || row.status !== 'queued') return;
      const now = clock.now();
      row.status = status;
      row.detail = detail;
      row.toBox = null;
      row.bodyBox = null;
      if (status === 'sent') row.sentAt = now;
      if (status === 'sent' && row.clue) {
        const clue = await tx.findOneOrFail(Clue, { id: row.clue }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        appendEvent(tx, clue, { type: 'reporter.notified', actor: 'system:job:hotline', data: { channel: 'sms', template: `sms/${row.purpose}` } }, now);
      }
      // The job's intent is done with its effect, in one commit.
      await completeIntent(tx, `sms-${smsId}`);
    });
    sentUnrecorded.delete(smsId);
  }

  /** Sent, but the record did not commit (the database went away): a retry records, it does not send again. */
  const sentUnrecorded = new Set<string>();

  /**
   * The `sms.send` job; the number and text are erased once it is recorded. At least once: a retry
   * after the send succeeded and its record failed only records it (this process remembers), but a
   * crash between Twilio's answer and the commit sends it again (SMS has no Message-ID to dedupe on).
   */
  async function send(smsId: string) {
    const row = await orm.em.fork().findOne(SmsMessage, { id: smsId, direction: 'out' });
    if (!row) return { status: 'missing' as const };
    if (row.status !== 'queued') return { status: row.status, repeated: true };
    if (sentUnrecorded.has(smsId)) {
      await finish(smsId, 'sent', null);
      return { status: 'sent' as const, repeated: true };
    }
    const [to, body] = [await recipientOf(row), await textOf(row)];
    if (!to || isWithheld(to) || !body) {
      await finish(smsId, 'skipped', !to ? 'no number' : 'no text');
      return { status: 'skipped' as const };
    }
    const from = config.TWILIO_SMS_FROM || row.hotlineNumber;
    if (!from) throw new Error('no sender number: set TWILIO_SMS_FROM');
    try {
      await deps.twilioRest().messages.create({ to, from, body });
    } catch (err) {
      throw providerError(err);
    }
    sentUnrecorded.add(smsId);
    await finish(smsId, 'sent', null);
    logger.info({ smsId, purpose: row.purpose, clueId: row.clue ?? undefined, callbackId: row.callback ?? undefined }, 'sms sent');
    return { status: 'sent' as const };
  }

  /** The job's last attempt failed: recorded without the number (provider messages are not kept). */
  async function sendFailed(smsId: string, reason: string) {
    await finish(smsId, 'failed', reason.slice(0, 500));
    logger.warn({ smsId, reason }, 'sms not sent');
  }

  return { receive, helpText, send, sendFailed, queueToReporter };
}

export type SmsUseCases = ReturnType<typeof createSmsUseCases>;
