import { defineEntity, p } from '@mikro-orm/core';

export const quarantineStatuses = ['held', 'released', 'discarded'] as const;

/**
 * Mail that could not become a clue as it came (unparseable, too large, a forbidden attachment,
 * automated), kept whole — sealed, because the raw message holds the sender's address — until an
 * operator releases it into a clue or discards it. Each mail has its own hash chain on the ledger
 * (`ledger_event.quarantine_id`): held, then released or discarded, each event written in the same
 * transaction as the change; `headSeq`/`headHash` are its head, as on a clue.
 */
const QuarantinedMailSchema = defineEntity({
  name: 'QuarantinedMail',
  tableName: 'quarantined_mail',
  properties: {
    id: p.uuid().primary(),
    messageId: p.string().length(300).unique(),
    reason: p.string().length(32),
    detail: p.text(),
    /** Storage key of the sealed raw message (AES-GCM under the reporter key). */
    storageKey: p.string().length(500),
    size: p.bigint('number'),
    status: p.enum(quarantineStatuses),
    resolvedBy: p.uuid().nullable(),
    resolvedAt: p.datetime().nullable(),
    resolution: p.text().nullable(),
    clueId: p.uuid().nullable(),
    receivedAt: p.datetime(),
    headSeq: p.integer(),
    headHash: p.string().length(64),
  },
});
export class QuarantinedMail extends QuarantinedMailSchema.class {}
QuarantinedMailSchema.setClass(QuarantinedMail);
