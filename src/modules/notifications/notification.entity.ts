import { defineEntity, p } from '@mikro-orm/core';

/** `sending`: an attempt was recorded before the mail went out; it may or may not have gone. */
export const notificationStatuses = ['sending', 'sent', 'skipped', 'failed'] as const;

/**
 * Every outbound message, recorded once per idempotency key. A reporter recipient is recorded as
 * `reporter` (the address stays in the sealed record), so this table never copies reporter data.
 */
const NotificationSchema = defineEntity({
  name: 'Notification',
  tableName: 'notification',
  properties: {
    id: p.uuid().primary(),
    idempotencyKey: p.string().length(200).unique(),
    channel: p.string().length(16),
    template: p.string().length(100),
    recipient: p.string().length(320),
    clueId: p.uuid().nullable().index(),
    status: p.enum(notificationStatuses),
    detail: p.text().nullable(),
    providerId: p.string().length(300).nullable(),
    /** While `sending`: what a resend must repeat (a secret issued for this mail), sealed; cleared once sent. */
    pendingBox: p.blob().nullable(),
    createdAt: p.datetime(),
  },
});
export class Notification extends NotificationSchema.class {}
NotificationSchema.setClass(Notification);
