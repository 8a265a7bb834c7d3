import { defineEntity, p } from '@mikro-orm/core';

/**
 * Intent to run a job, written in the same transaction as the change that causes it.
 * The relay adds it to BullMQ with `jobId` as the job id (a replay adds nothing twice) and marks it
 * `dispatchedAt`; the worker deletes it once the job's effect is committed, so every row in the
 * table is a job not yet done (`failedAt`: failed for good, kept for a person to look at).
 */
const OutboxMessageSchema = defineEntity({
  name: 'OutboxMessage',
  tableName: 'outbox_message',
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    queue: p.string().length(64),
    jobName: p.string().length(64),
    jobId: p.string().length(200).unique(),
    payload: p.json<Record<string, unknown>>(),
    delayMs: p.integer().default(0),
    createdAt: p.datetime(),
    dispatchedAt: p.datetime().nullable(),
    failedAt: p.datetime().nullable(),
    attempts: p.integer().default(0),
    lastError: p.text().nullable(),
  },
});
export class OutboxMessage extends OutboxMessageSchema.class {}
OutboxMessageSchema.setClass(OutboxMessage);
