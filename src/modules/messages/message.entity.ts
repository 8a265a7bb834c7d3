import { defineEntity, p } from '@mikro-orm/core';
import { Clue } from '../clues/clue.entity.ts';
import type { Locale } from '../../app/templates.ts';

export const messageAuthors = ['reporter', 'staff'] as const;
export type MessageAuthor = (typeof messageAuthors)[number];

/** One message of the thread between the reporter and the handling staff; each is a ledger event. */
const MessageSchema = defineEntity({
  name: 'Message',
  tableName: 'message',
  properties: {
    id: p.uuid().primary(),
    clue: () => p.manyToOne(Clue).mapToPk().index(),
    author: p.enum(messageAuthors),
    /** The staff member who wrote it; never shown to the reporter. */
    staffId: p.uuid().nullable(),
    /** As written; for an automatic message, its Chinese text (what staff see). */
    body: p.text(),
    /**
     * Automatic messages (acceptance, refusal, an extended deadline) in every language, by locale:
     * the reporter sees theirs alone. Null for messages people wrote.
     */
    localized: p.json<Partial<Record<Locale, string>>>().nullable(),
    createdAt: p.datetime(),
  },
});
export class Message extends MessageSchema.class {}
MessageSchema.setClass(Message);
