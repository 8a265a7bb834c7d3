import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import type { Orm } from '../../app/db.ts';
import type { Logger } from '../../app/logger.ts';
import { Attachment, Clue, IntakeKey } from '../clues/clue.entity.ts';
import type { StoredAttachment } from '../clues/clues.usecases.ts';
import { clueNotFound } from '../clues/clues.errors.ts';
import { type Actor, appendEvent, sha256Hex } from '../clues/ledger.ts';
import { LedgerEvent } from '../clues/ledger.entity.ts';
import { Message, type MessageAuthor } from './message.entity.ts';

/** The thread between the reporter and the handling staff. Every message is a ledger event. */
export function createMessageUseCases({ orm, clock, logger }: { orm: Orm; clock: Clock; logger: Logger }) {
  async function postMessage(
    clueId: string,
    input: { author: MessageAuthor; actor: Actor; staffId?: string; body: string; attachments?: StoredAttachment[]; intakeKey?: string },
  ) {
    if (input.intakeKey && (await orm.em.fork().findOne(IntakeKey, { key: input.intakeKey }))) return null; // delivered before
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
      const files = (input.attachments ?? []).map((a) =>
        tx.create(Attachment, { id: randomUUID(), clue: clueId, message: message.id, ...a, source: input.author, createdAt: now }),
      );
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
            attachments: files.map((f) => ({ id: f.id, filename: f.filename, contentType: f.contentType, size: f.size, sha256: f.sha256 })),
          },
        },
        now,
      );
      return message;
    });
    logger.info({ clueId, message: message.id, author: input.author }, 'message posted');
    return message;
  }

  /** The thread in ledger order (the order the messages were committed in). */
  async function listMessages(clueId: string) {
    const em = orm.em.fork();
    const [messages, files, events] = await Promise.all([
      em.find(Message, { clue: clueId }),
      em.find(Attachment, { clue: clueId, message: { $ne: null } }),
      em.find(LedgerEvent, { clue: clueId, type: 'message.posted' }),
    ]);
    const seqOf = new Map(events.map((e) => [e.data.messageId as string, e.seq]));
    messages.sort((a, b) => (seqOf.get(a.id) ?? 0) - (seqOf.get(b.id) ?? 0));
    return messages.map((m) => ({
      id: m.id,
      author: m.author,
      staffId: m.staffId,
      body: m.body,
      createdAt: m.createdAt,
      attachments: files
        .filter((f) => f.message === m.id)
        .map((f) => ({ id: f.id, filename: f.filename, contentType: f.contentType, size: f.size, sha256: f.sha256 })),
    }));
  }

  return { postMessage, listMessages };
}

export type MessageUseCases = ReturnType<typeof createMessageUseCases>;
