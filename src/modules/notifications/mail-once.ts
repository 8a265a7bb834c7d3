import { randomUUID } from 'node:crypto';
import type { SendMailOptions, Transporter } from 'nodemailer';
import type { Clock } from '../../app/clock.ts';
import type { Em, Orm } from '../../app/db.ts';
import { completeIntent } from '../outbox/outbox.relay.ts';
import { Notification } from './notification.entity.ts';

/**
 * A mail server's or the transport's failure reduced to a code: the reply text ("550 5.1.1
 * <someone@example.com>: user unknown") may carry an address, so it never reaches a log line, a
 * job's failure reason or a row. `smtp 550 5.1.1`, `smtp ECONNECTION`, or `mail error`.
 */
export function mailErrorCode(err: unknown): string {
  const e = err as { responseCode?: unknown; response?: unknown; code?: unknown };
  if (typeof e?.responseCode === 'number') {
    const enhanced = typeof e.response === 'string' ? /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(e.response)?.[1] : undefined;
    return `smtp ${e.responseCode}${enhanced ? ` ${enhanced}` : ''}`;
  }
  if (typeof e?.code === 'string' && /^[A-Z_]{3,32}$/.test(e.code)) return `smtp ${e.code}`;
  return 'mail error';
}

export class MailNotSent extends Error {
  override name = 'MailNotSent';
}

export interface MailOnceInput {
  /** Idempotency key of the notification row. */
  key: string;
  template: string;
  clueId: string | null;
  /** As recorded on the row (`reporter` for a reporter: the address stays sealed). */
  recipient: string;
  /** The outbox job this mail is the effect of: its row is deleted in the transaction that records the send. */
  jobId?: string;
  /** The mail, built for this attempt; `pendingBox` is what an earlier attempt kept for it (null the first time). */
  build: (attempt: { pendingBox: Buffer | null; tx: Em | null }) => Promise<SendMailOptions>;
  /** Runs in the transaction that records the send (the ledger event). */
  commit: (tx: Em, providerId: string) => Promise<void>;
  /** Called, inside the transaction that records the attempt, the first time: what a resend must repeat, sealed. */
  prepare?: (tx: Em) => Promise<Buffer | null>;
}

/**
 * Sends a mail once per key, as nearly as SMTP allows:
 * - the attempt is committed (`sending`, with its deterministic Message-ID) before the mail goes out;
 * - a retry after the send succeeded but its record failed to commit (the database went away) only
 *   commits the record: this process remembers the sends it made;
 * - a retry after a crash in between (nobody knows whether the server took it) sends again, the same
 *   mail with the same Message-ID, which the recipient's mail system may drop as a duplicate;
 * - the send is recorded (`sent`, the ledger event, the outbox row deleted) in one transaction.
 */
export function createMailOnce(deps: { orm: Orm; clock: Clock; transport: Transporter; mailFrom: string }) {
  /** Sent but not yet recorded, by key: the provider's message id. */
  const unrecorded = new Map<string, string>();

  return async function mailOnce(input: MailOnceInput): Promise<{ status: 'sent' | 'skipped' | 'failed' | 'sending'; repeated: boolean }> {
    const { orm, clock } = deps;
    const messageId = `<${input.key.replace(/[^a-zA-Z0-9.-]/g, '-')}@dibao-hotline>`;
    const em = orm.em.fork();
    const existing = await em.findOne(Notification, { idempotencyKey: input.key });
    if (existing && (existing.status === 'sent' || existing.status === 'skipped')) return { status: existing.status, repeated: true };

    let providerId = unrecorded.get(input.key);
    if (providerId === undefined) {
      let pendingBox: Buffer | null = existing?.pendingBox ? Buffer.from(existing.pendingBox) : null;
      if (!existing) {
        // The attempt first, committed: from now on a crash leaves a `sending` row, never silence.
        pendingBox = await orm.em.fork().transactional(async (tx) => {
          const box = (await input.prepare?.(tx)) ?? null;
          tx.create(Notification, {
            id: randomUUID(),
            idempotencyKey: input.key,
            channel: 'email',
            template: input.template,
            recipient: input.recipient,
            clueId: input.clueId,
            status: 'sending',
            detail: null,
            providerId: messageId,
            pendingBox: box,
            createdAt: clock.now(),
          });
          return box;
        });
      }
      const mail = await input.build({ pendingBox, tx: null });
      try {
        const info = await deps.transport.sendMail({ from: deps.mailFrom, ...mail, messageId });
        providerId = String(info.messageId ?? messageId);
      } catch (err) {
        const code = mailErrorCode(err);
        // Not sent (as far as anyone can tell): the row says why, by its code; a retry sends again.
        await orm.em
          .fork()
          .nativeUpdate(Notification, { idempotencyKey: input.key, status: { $ne: 'sent' } }, { status: 'failed', detail: code })
          .catch(() => 0);
        throw new MailNotSent(code);
      }
      unrecorded.set(input.key, providerId);
    }
    await orm.em.fork().transactional(async (tx) => {
      const row = await tx.findOneOrFail(Notification, { idempotencyKey: input.key });
      row.status = 'sent';
      row.detail = null;
      row.pendingBox = null;
      row.providerId = providerId;
      await input.commit(tx, providerId);
      if (input.jobId) await completeIntent(tx, input.jobId);
    });
    unrecorded.delete(input.key);
    return { status: 'sent', repeated: false };
  };
}

export type MailOnce = ReturnType<typeof createMailOnce>;
