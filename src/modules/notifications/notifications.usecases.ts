import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Transporter } from 'nodemailer';
import nodemailer from 'nodemailer';
import type { Clock } from '../../app/clock.ts';
import type { Orm } from '../../app/db.ts';
import type { Keys } from '../../app/keys.ts';
import type { Logger } from '../../app/logger.ts';
import { unseal } from '../../app/seal.ts';
import { renderBilingual } from '../../app/templates.ts';
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
}

const dateFormat = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
});

export function createNotificationUseCases(deps: NotificationDeps) {
  const { orm, clock, logger, keys, transport } = deps;

  async function record(input: {
    key: string;
    template: string;
    clueId: string | null;
    recipient: string;
    status: 'sent' | 'skipped' | 'failed';
    detail?: string;
    providerId?: string;
  }) {
    const em = orm.em.fork();
    em.create(Notification, {
      id: randomUUID(),
      idempotencyKey: input.key,
      channel: 'email',
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

  /**
   * Emails a named reporter: the address is read from the sealed record at send time, so it never
   * sits in a job payload or in the send record. Once per `key`, however often the job runs.
   */
  async function emailReporter(clueId: string, key: string, template: string, extraVars: (clue: Clue) => Promise<Record<string, string>>) {
    const em = orm.em.fork();
    const done = await em.findOne(Notification, { idempotencyKey: key });
    if (done) return { status: done.status, repeated: true };
    const clue = await em.findOne(Clue, { id: clueId });
    if (!clue) return { status: 'skipped' as const, repeated: false };
    const sealed = await em.findOne(SealedReporter, { clue: clueId });
    const identity = sealed ? (JSON.parse(unseal(keys.reporterKey, Buffer.from(sealed.box), clueId)) as ReporterIdentity) : null;
    if (!identity?.email) {
      await record({ key, template, clueId, recipient: 'reporter', status: 'skipped', detail: 'no email address' });
      return { status: 'skipped' as const, repeated: false };
    }
    const vars = {
      trackingCode: formatTrackingCode(clue.trackingCode),
      receivedAt: dateFormat.format(clue.receivedAt),
      followUpUrl: `${deps.publicBaseUrl.replace(/\/$/, '')}/follow-up`,
      ...(await extraVars(clue)),
    };
    const info = await transport.sendMail({
      from: deps.mailFrom,
      to: identity.email,
      subject: renderBilingual(`${template}.subject.txt`, vars, ' / ').replace(/\n/g, ''),
      text: renderBilingual(`${template}.txt`, vars, '\n\n----------------------------------------\n\n'),
      html: renderBilingual(`${template}.html`, vars, '<hr>'),
      messageId: `<${key.replace(/[^a-zA-Z0-9.-]/g, '-')}@dibao-hotline>`,
      // RFC 3834: an automatic message; well-behaved mail systems will not answer it.
      headers: { 'Auto-Submitted': 'auto-replied', 'X-Auto-Response-Suppress': 'All' },
    });
    await orm.em.fork().transactional(async (tx) => {
      const locked = await tx.findOneOrFail(Clue, { id: clueId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      appendEvent(tx, locked, { type: 'reporter.notified', actor: 'system:job:notifications', data: { channel: 'email', template } }, clock.now());
      tx.create(Notification, {
        id: randomUUID(),
        idempotencyKey: key,
        channel: 'email',
        template,
        recipient: 'reporter',
        clueId,
        status: 'sent',
        detail: null,
        providerId: String(info.messageId ?? ''),
        createdAt: clock.now(),
      });
    });
    logger.info({ clueId, template }, 'reporter emailed');
    return { status: 'sent' as const, repeated: false };
  }

  /**
   * Acknowledges a named report. Someone who reported BY email never saw a page with their secret,
   * so they get one here: a new secret is issued (only its keyed hash is kept, as always) and
   * committed before the mail goes out; a retried send issues another.
   */
  async function sendReporterAck(clueId: string) {
    const clue = await orm.em.fork().findOne(Clue, { id: clueId }, { fields: ['channel'] });
    if (clue?.channel !== 'email') return emailReporter(clueId, `email:reporter-ack:${clueId}`, 'email/reporter-ack', async () => ({}));
    return emailReporter(clueId, `email:reporter-ack:${clueId}`, 'email/reporter-ack-email', async (c) => {
      const secret = generateWebSecret();
      await orm.em.fork().transactional(async (tx) => {
        const locked = await tx.findOneOrFail(Clue, { id: c.id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        locked.secretHash = hashSecret(keys.secretHmacKey, locked.trackingCode, secret);
        appendEvent(tx, locked, { type: 'secret.issued', actor: 'system:job:notifications', data: { channel: 'email' } }, clock.now());
      });
      return { secret };
    });
  }

  /** Tells a named reporter of acceptance or refusal: the text is the thread message staff wrote. */
  function sendReporterDecision(clueId: string, messageId: string) {
    return emailReporter(clueId, `email:reporter-decision:${messageId}`, 'email/reporter-decision', async () => {
      const message = await orm.em.fork().findOne(Message, { id: messageId, clue: clueId });
      return { message: message?.body ?? '' };
    });
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

  async function recordFailure(key: string, template: string, clueId: string, reason: string) {
    await record({ key, template, clueId, recipient: 'reporter', status: 'failed', detail: reason.slice(0, 500) });
  }

  return { sendReporterAck, sendReporterDecision, noticeTaskAssigned, recordFailure };
}

export type NotificationUseCases = ReturnType<typeof createNotificationUseCases>;
