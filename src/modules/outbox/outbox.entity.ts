import { defineEntity, p } from '@mikro-orm/core';

/**
 * Intent to enqueue a job, written in the same transaction as the change that causes it.
 * The relay moves it to BullMQ with `jobId` as the job id, so a replay adds nothing twice, and
 * then deletes it: every row in the table is pending.
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
    attempts: p.integer().default(0),
    lastError: p.text().nullable(),
  },
});
export class OutboxMessage extends OutboxMessageSchema.class {}
OutboxMessageSchema.setClass(OutboxMessage);
