import { randomUUID } from 'node:crypto';
import { LockMode, UniqueConstraintViolationException } from '@mikro-orm/core';
import type { Transporter } from 'nodemailer';
import nodemailer from 'nodemailer';
import type { Throttle } from '../../app/throttle.ts';
import type { Clock } from '../../app/clock.ts';
import type { Em, Orm } from '../../app/db.ts';
import type { Keys } from '../../app/keys.ts';
import type { Logger } from '../../app/logger.ts';
import { seal, unseal } from '../../app/seal.ts';
import { createMailOnce, type MailOnce } from './mail-once.ts';
import { type Locale, renderTemplate } from '../../app/templates.ts';
import { type ContactUseCases, contactLine } from '../contact/contact.usecases.ts';
import { messageText } from '../messages/messages.automatic.ts';
import { Clue, SealedReporter } from '../clues/clue.entity.ts';
import type { ReporterIdentity } from '../clues/clues.usecases.ts';
import { appendEvent } from '../clues/ledger.ts';
import { formatTrackingCode } from '../clues/tracking-code.ts';
import { generateWebSecret, hashSecret } from '../clues/secrets.ts';
import { Notification } from './notification.entity.ts';
import { Message } from '../messages/message.entity.ts';
import { StaffNotice } from '../deadlines/deadline.entity.ts';
import { VerificationTask } from '../verification/task.entity.ts';

export type MailTransport = Transporter;

/** One nodemailer transport from configuration: an SMTP URL, or `json` (messages built, not sent). */
export function createMailTransport(mailUrl: string): MailTransport {
  return mailUrl === 'json' ? nodemailer.createTransport({ jsonTransport: true }) : nodemailer.createTransport(mailUrl);
}

export interface NotificationDeps {
  orm: Orm;
  clock: Clock;
  logger: Logger;
  keys: Keys;
  transport: MailTransport;
  mailFrom: string;
  publicBaseUrl: string;
  /** The published hotline, in acknowledgements. */
  contact: Pick<ContactUseCases, 'current'>;
  /** Queues an SMS to the clue's named reporter in the given transaction (the hotline's SMS rows and job). */
  queueReporterSms: (tx: Em, input: { clueId: string; purpose: string; text: string }, now: Date) => Promise<string>;
  /** Shared with the referral packets (one memory of sends not yet recorded). */
  mailOnce?: MailOnce;
  /** Called after a commit that wrote outbox rows. */
  onOutboxWritten?: () => void;
  /** Acknowledgements to one address per hour (throttle.ts): beyond it they are recorded as skipped, not sent. */
  ackLimit?: { throttle: Throttle; perAddressHour: number };
}

const dateFormats: Record<Locale, Intl.DateTimeFormat> = {
  'zh-CN': new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }),
  en: new Intl.DateTimeFormat('en-GB', { timeZone: 'Asia/Shanghai', year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }),
};

export function createNotificationUseCases(deps: NotificationDeps) {
  const { orm, clock, logger, keys } = deps;
  const mailOnce = deps.mailOnce ?? createMailOnce({ orm, clock, transport: deps.transport, mailFrom: deps.mailFrom });

  async function record(input: {
    key: string;
    template: string;
    clueId: string | null;
    recipient: string;
    status: 'sent' | 'skipped' | 'failed';
    detail?: string;
    providerId?: string;
    channel?: 'email' | 'sms';
  }) {
    const em = orm.em.fork();
    em.create(Notification, {
      id: randomUUID(),
      idempotencyKey: input.key,
      channel: input.channel ?? 'email',
      template: input.template,
      recipient: input.recipient,
      clueId: input.clueId,
      status: input.status,
      detail: input.detail ?? null,
      providerId: input.providerId ?? null,
      createdAt: clock.now(),
    });
    await em.flush();
  }

  /** The clue and its sealed reporter, opened (null identity: anonymous). */
  async function reporterOf(clueId: string) {
    const em = orm.em.fork();
    const clue = await em.findOne(Clue, { id: clueId });
    if (!clue) return null;
    const sealed = await em.findOne(SealedReporter, { clue: clueId });
    const identity = sealed ? (JSON.parse(unseal(keys.reporterKey, Buffer.from(sealed.box), clueId)) as ReporterIdentity) : null;
    return { clue, identity };
  }

  /**
   * Emails a named reporter, in their language: the address is read from the sealed record at send
   * time, so it never sits in a job payload or in the send record. Once per `key`, however often
   * the job runs (`mailOnce`: the attempt is recorded before the send, the send with the ledger
   * event and the job's outbox row after). `extraVars` may use what `prepare` sealed for this mail
   * at its first attempt (a resend repeats it).
   */
  async function emailReporter(
    clueId: string,
    key: string,
    template: string,
    extraVars: (clue: Clue, pendingBox: Buffer | null) => Promise<Record<string, string>>,
    opts: { jobId?: string; prepare?: (tx: Em) => Promise<Buffer | null> } = {},
  ) {
    const done = await orm.em.fork().findOne(Notification, { idempotencyKey: key });
    if (done && (done.status === 'sent' || done.status === 'skipped')) return { status: done.status, repeated: true };
    const found = await reporterOf(clueId);
    if (!found) return { status: 'skipped' as const, repeated: false };
    const { clue, identity } = found;
    if (!identity?.email) {
      if (!done) await record({ key, template, clueId, recipient: 'reporter', status: 'skipped', detail: 'no email address' });
      return { status: 'skipped' as const, repeated: false };
    }
    if (deps.ackLimit && template.startsWith('email/reporter-ack')) {
      const now = clock.now().getTime();
      const n = await deps.ackLimit.throttle.countWindow('ack-to', identity.email.toLowerCase(), now - (now % 3600_000), 3600_000);
      if (n > deps.ackLimit.perAddressHour) {
        // Forged mail in a stranger's name must not turn into a stream of acknowledgements to them.
        await record({ key, template, clueId, recipient: 'reporter', status: 'skipped', detail: 'rate: acknowledgements to this address this hour' });
        logger.warn({ clueId, template }, 'acknowledgement not sent: too many to one address this hour');
        return { status: 'skipped' as const, repeated: false };
      }
    }
    const email = identity.email;
    const locale: Locale = clue.locale;
    const result = await mailOnce({
      key,
      template,
      clueId,
      recipient: 'reporter',
      jobId: opts.jobId,
      prepare: opts.prepare,
      build: async ({ pendingBox }) => {
        const vars = {
          trackingCode: formatTrackingCode(clue.trackingCode),
          receivedAt: dateFormats[locale].format(clue.receivedAt),
          followUpUrl: `${deps.publicBaseUrl.replace(/\/$/, '')}/follow-up${locale === 'en' ? '?lang=en' : ''}`,
          contact: contactLine(locale, await deps.contact.current()),
          ...(await extraVars(clue, pendingBox)),
        };
        return {
          to: email,
          subject: renderTemplate(locale, `${template}.subject.txt`, vars).replace(/\n/g, ''),
          text: renderTemplate(locale, `${template}.txt`, vars),
          html: renderTemplate(locale, `${template}.html`, vars),
          // RFC 3834: an automatic message; well-behaved mail systems will not answer it.
          headers: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' },
        };
      },
      commit: async (tx) => {
        const locked = await tx.findOneOrFail(Clue, { id: clueId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        appendEvent(tx, locked, { type: 'reporter.notified', actor: 'system:job:notifications', data: { channel: 'email', template } }, clock.now());
      },
    });
    if (!result.repeated) logger.info({ clueId, template }, 'reporter emailed');
    return result;
  }

  /**
   * Texts a named reporter `templates/<their locale>/<template>.txt`, which must say nothing of the
   * report (someone else may read the phone). The hotline's SMS row and job do the sending (number
   * from the sealed record at send time, the ledger's `reporter.notified` once it has gone); this
   * records the hand-over once per `key`, in the transaction that queues the SMS.
   */
  async function smsReporter(clue: Clue, key: string, template: string) {
    const locale: Locale = clue.locale;
    const text = renderTemplate(locale, `${template}.txt`, {}).trim();
    const queued = await orm.em
      .fork()
      .transactional(async (tx) => {
        if (await tx.findOne(Notification, { idempotencyKey: key })) return false;
        const now = clock.now();
        const smsId = await deps.queueReporterSms(tx, { clueId: clue.id, purpose: template.replace(/^sms\//, '').replace(/-/g, '_'), text }, now);
        tx.create(Notification, {
          id: randomUUID(),
          idempotencyKey: key,
          channel: 'sms',
          template,
          recipient: 'reporter',
          clueId: clue.id,
          status: 'sent',
          detail: 'queued as an SMS (sms_message)',
          providerId: smsId,
          createdAt: now,
        });
        return true;
      })
      .catch((err: unknown) => {
        // Two runs of the same job at once: the other one queued it.
        if (err instanceof UniqueConstraintViolationException) return false;
        throw err;
      });
    if (!queued) return { status: 'sent' as const, repeated: true };
    deps.onOutboxWritten?.();
    logger.info({ clueId: clue.id, template }, 'reporter sms queued');
    return { status: 'sent' as const, repeated: false };
  }

  /**
   * Acknowledges a named report. Someone who reported BY email never saw a page with their secret,
   * so they get one here: a new secret is issued (only its keyed hash is kept, as always) in the
   * transaction that records the attempt, and kept sealed on that row until the mail is recorded as
   * sent, so a resend after a crash carries the same secret (and the same Message-ID).
   */
  async function sendReporterAck(clueId: string, jobId?: string) {
    const key = `email:reporter-ack:${clueId}`;
    const clue = await orm.em.fork().findOne(Clue, { id: clueId }, { fields: ['channel'] });
    if (clue?.channel !== 'email') return emailReporter(clueId, key, 'email/reporter-ack', async () => ({}), { jobId });
    const aad = `notification:${key}`;
    return emailReporter(
      clueId,
      key,
      'email/reporter-ack-email',
      async (_c, box) => {
        if (!box) throw new Error('acknowledgement attempt without its secret');
        return { secret: unseal(keys.reporterKey, box, aad) };
      },
      {
        jobId,
        prepare: async (tx) => {
          const secret = generateWebSecret();
          const locked = await tx.findOneOrFail(Clue, { id: clueId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
          locked.secretHash = hashSecret(keys.secretHmacKey, locked.trackingCode, secret);
          appendEvent(tx, locked, { type: 'secret.issued', actor: 'system:job:notifications', data: { channel: 'email' } }, clock.now());
          return seal(keys.reporterKey, secret, aad);
        },
      },
    );
  }

  /**
   * Tells a named reporter of acceptance or refusal: the text is the thread message staff wrote, in
   * the reporter's language. One with only a phone number who agreed to hear of replies gets the
   * fixed "new reply" SMS instead.
   */
  async function sendReporterDecision(clueId: string, messageId: string, jobId?: string) {
    const found = await reporterOf(clueId);
    if (found && !found.identity?.email && found.identity?.phone && found.clue.notifyProgress) {
      return smsReporter(found.clue, `sms:reporter-decision:${messageId}`, 'sms/reply-notice');
    }
    return emailReporter(clueId, `email:reporter-decision:${messageId}`, 'email/reporter-decision', async (clue) => {
      const message = await orm.em.fork().findOne(Message, { id: messageId, clue: clueId });
      return { message: message ? messageText(message, clue.locale) : '' };
    }, { jobId });
  }

  /**
   * A staff reply in the thread of a named reporter who agreed to hear of replies (queued only then):
   * by email when they gave an address, else by SMS; never the reply itself, only that there is one.
   */
  async function sendReplyNotice(clueId: string, messageId: string, jobId?: string) {
    const found = await reporterOf(clueId);
    if (!found?.clue.notifyProgress || !found.identity) return { status: 'skipped' as const, repeated: false };
    if (found.identity.email) return emailReporter(clueId, `email:reporter-reply:${messageId}`, 'email/reporter-reply', async () => ({}), { jobId });
    if (found.identity.phone) return smsReporter(found.clue, `sms:reporter-reply:${messageId}`, 'sms/reply-notice');
    const key = `reporter-reply:${messageId}`;
    if (!(await orm.em.fork().findOne(Notification, { idempotencyKey: key }))) {
      await record({ key, template: 'reporter-reply', clueId, recipient: 'reporter', status: 'skipped', detail: 'no email address or phone number' });
    }
    return { status: 'skipped' as const, repeated: false };
  }

  /** In-app notices to the unit a verification task was given to. */
  async function noticeTaskAssigned(taskId: string) {
    const em = orm.em.fork();
    const task = await em.findOne(VerificationTask, { id: taskId });
    if (!task) return { status: 'skipped' as const };
    const key = `notice:task-assigned:${taskId}`;
    if (await em.findOne(Notification, { idempotencyKey: key })) return { status: 'sent' as const, repeated: true };
    em.create(StaffNotice, {
      id: randomUUID(),
      unit: task.assigneeUnit,
      role: null,
      staffId: task.assigneeStaff ?? null,
      clue: task.clue,
      deadline: null,
      kind: 'task_assigned',
      textZh: `新的核实任务：${task.type}`,
      textEn: `New verification task: ${task.type}`,
      createdAt: clock.now(),
    });
    em.create(Notification, {
      id: randomUUID(),
      idempotencyKey: key,
      channel: 'inbox',
      template: 'notice/task-assigned',
      recipient: `unit:${task.assigneeUnit}`,
      clueId: task.clue,
      status: 'sent',
      detail: null,
      providerId: null,
      createdAt: clock.now(),
    });
    await em.flush();
    return { status: 'sent' as const };
  }

  /** The job's last attempt failed: recorded with the failure's code (never a provider's text), over the attempt if there is one. */
  async function recordFailure(key: string, template: string, clueId: string, reason: string) {
    const em = orm.em.fork();
    const row = await em.findOne(Notification, { idempotencyKey: key });
    if (row) {
      if (row.status === 'sent' || row.status === 'skipped') return;
      row.status = 'failed';
      row.detail = reason.slice(0, 200);
      await em.flush();
      return;
    }
    await record({ key, template, clueId, recipient: 'reporter', status: 'failed', detail: reason.slice(0, 200) });
  }

  return { sendReporterAck, sendReporterDecision, sendReplyNotice, noticeTaskAssigned, recordFailure };
}

export type NotificationUseCases = ReturnType<typeof createNotificationUseCases>;
