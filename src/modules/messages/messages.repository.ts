/**
 * The thread's reads: a clue's messages and the seqs of their `message.posted` events, as columns
 * (the thread is shown on every clue page; as entities it cost more main thread than its queries).
 * Every function runs on the `em` it is given.
 */
import { type Em, sql } from '../../app/db.ts';
import type { Locale } from '../../app/templates.ts';
import type { Message, MessageAuthor } from './message.entity.ts';

export type MessageRow = Pick<Message, 'id' | 'author' | 'staffId' | 'body' | 'localized' | 'createdAt'>;

/** A clue's messages, in the table's order (the caller sorts them). */
export async function messagesOfClue(em: Em, clueId: string): Promise<MessageRow[]> {
  const rows = await sql<{ id: string; author: MessageAuthor; staff_id: string | null; body: string; localized: Partial<Record<Locale, string>> | null; created_at: Date | string }>(
    em,
    'select id, author, staff_id, body, localized, created_at from message where clue_id = ?',
    [clueId],
  );
  return rows.map((r) => ({
    id: r.id,
    author: r.author,
    staffId: r.staff_id,
    body: r.body,
    localized: r.localized,
    createdAt: r.created_at instanceof Date ? r.created_at : new Date(r.created_at),
  }));
}

/**
 * The seq of each message's `message.posted` event, by message id (the event names it `message`
 * when posted in the thread, `messageId` when a decision or an extension wrote it).
 */
export async function messageEventSeqs(em: Em, clueId: string): Promise<Map<string, number>> {
  const rows = await sql<{ message_id: string | null; seq: number }>(
    em,
    `select coalesce(data->>'message', data->>'messageId') as message_id, seq from ledger_event where clue_id = ? and type = 'message.posted'`,
    [clueId],
  );
  return new Map(rows.map((r) => [r.message_id as string, r.seq]));
}
