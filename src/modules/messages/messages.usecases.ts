import type { KeyObject } from 'node:crypto';
import { labelled, openName, sealName } from '../attachments/attachments.names.ts';
import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import type { Em, Orm } from '../../app/db.ts';
import type { Logger } from '../../app/logger.ts';
import { Attachment, Clue, IntakeKey } from '../clues/clue.entity.ts';
import type { StoredAttachment } from '../clues/clues.usecases.ts';
import { clueNotFound } from '../clues/clues.errors.ts';
import { forbidden, validationFailed } from '../../app/errors.ts';
import { can, type StaffCall } from '../staff/access.ts';
import { canSeeClue } from '../visibility/visibility.ts';
import { type Actor, appendEvent, sha256Hex } from '../clues/ledger.ts';
import { Message, type MessageAuthor } from './message.entity.ts';
import { messageEventSeqs, messagesOfClue } from './messages.repository.ts';
import { attachmentsOfClue } from '../clues/clues.repository.ts';
import { enqueueInTransaction } from '../outbox/outbox.ts';

/**
 * A named reporter who agreed at intake hears of a staff reply: a `reporter.reply_notice` job, in the
 * transaction that posts it, with ids only (the job reads the address from the sealed record and
 * sends nothing of the message itself).
 */
export function queueReplyNotice(tx: Em, clue: Pick<Clue, 'id' | 'named' | 'notifyProgress'>, messageId: string, now: Date): boolean {
  if (!clue.named || !clue.notifyProgress) return false;
  enqueueInTransaction(tx, now, { queue: 'notifications', name: 'reporter.reply_notice', jobId: `reply-${messageId}`, payload: { clueId: clue.id, messageId } });
  return true;
}

/** The thread between the reporter and the handling staff. Every message is a ledger event. */
export function createMessageUseCases({ orm, clock, logger, reporterKey, onOutboxWritten }: { orm: Orm; clock: Clock; logger: Logger; reporterKey: KeyObject; onOutboxWritten?: () => void }) {
  // Raw selects only (no entities, no transaction): one fork for every thread read without a request's `em`.
  const reads = orm.em.fork();

  async function postMessage(
    clueId: string,
    input: { author: MessageAuthor; actor: Actor; staffId?: string; body: string; attachments?: StoredAttachment[]; intakeKey?: string },
  ) {
    if (input.intakeKey && (await orm.em.fork().findOne(IntakeKey, { key: input.intakeKey }))) return null; // delivered before
    let queued = false;
    const message = await orm.em.fork().transactional(async (tx) => {
      const clue = await tx.findOne(Clue, { id: clueId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!clue) throw clueNotFound();
      const now = clock.now();
      const message = tx.create(Message, {
        id: randomUUID(),
        clue: clueId,
        author: input.author,
        staffId: input.staffId ?? null,
        body: input.body,
        createdAt: now,
      });
      if (input.intakeKey) tx.create(IntakeKey, { key: input.intakeKey, clue: clueId, createdAt: now });
      const files = (input.attachments ?? []).map(({ filename, ...a }) => {
        const id = randomUUID();
        // The name is the reporter's text: sealed, never in the event.
        return tx.create(Attachment, { id, clue: clueId, message: message.id, ...a, filename: null, filenameBox: sealName(reporterKey, id, filename), source: input.author, createdAt: now });
      });
      appendEvent(
        tx,
        clue,
        {
          type: 'message.posted',
          actor: input.actor,
          data: {
            message: message.id,
            author: input.author,
            bodySha256: sha256Hex(input.body),
            attachments: files.map((f) => ({ id: f.id, contentType: f.contentType, size: f.size, sha256: f.sha256 })),
          },
        },
        now,
      );
      if (input.author === 'staff') queued = queueReplyNotice(tx, clue, message.id, now);
      return message;
    });
    if (queued) onOutboxWritten?.();
    logger.info({ clueId, message: message.id, author: input.author }, 'message posted');
    return message;
  }

  /**
   * The thread oldest first: by the time written, and messages of the same moment in ledger order.
   * (A message's event names it `message` when posted here, `messageId` when a decision or an
   * extension wrote it; both are read.)
   */
  /**
   * Staff ask the reporter a question or answer them: roles that handle clues, on a clue they may see
   * (else `clue.not_found`, as for a missing clue), with a body that is not empty.
   */
  async function postStaffMessage({ ctx, input: { clueId, body } }: StaffCall<{ clueId: string; body: string }>) {
    const { principal } = ctx;
    if (!can.handleClues(principal)) throw forbidden();
    if (!(await canSeeClue(ctx.em, principal, clueId))) throw clueNotFound();
    if (!body.trim()) throw validationFailed({ issues: [{ path: 'body', message: 'empty' }] });
    return postMessage(clueId, { author: 'staff', actor: ctx.actor, staffId: principal.id, body });
  }

  /** The thread as staff read it: of a clue the principal may see, else `clue.not_found`. */
  async function threadForStaff({ ctx, input: { clueId } }: StaffCall<{ clueId: string }>) {
    if (!(await canSeeClue(ctx.em, ctx.principal, clueId))) throw clueNotFound();
    return listMessages(clueId, { em: ctx.em });
  }

  /** The thread of a clue the caller may show (the caller checked the visibility; `em`: the request's, if it has one). */
  async function listMessages(clueId: string, opts: { reporterView?: boolean; em?: Em } = {}) {
    const em = opts.em ?? reads;
    const [messages, files, seqOf] = await Promise.all([
      messagesOfClue(em, clueId),
      // All the clue's attachments, in the clue's order, so that "附件 n" is the same n as in the clue view.
      attachmentsOfClue(em, clueId, { names: !!opts.reporterView }),
      messageEventSeqs(em, clueId),
    ]);
    const seq = (id: string) => seqOf.get(id) ?? Number.MAX_SAFE_INTEGER;
    messages.sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || seq(a.id) - seq(b.id));
    return messages.map((m) => ({
      id: m.id,
      author: m.author,
      staffId: m.staffId,
      body: m.body,
      localized: m.localized ?? null,
      createdAt: m.createdAt,
      // Staff see a label; the reporter, on their own page, the names they gave.
      attachments: files
        .map((f, i) => ({ f, i }))
        .filter(({ f }) => f.message === m.id)
        .map(({ f, i }) => ({ id: f.id, ...labelled(i + 1, f), ...(opts.reporterView ? { filename: openName(reporterKey, f) } : {}), contentType: f.contentType, size: f.size, sha256: f.sha256 })),
    }));
  }

  return { postMessage, postStaffMessage, threadForStaff, listMessages };
}

export type MessageUseCases = ReturnType<typeof createMessageUseCases>;
