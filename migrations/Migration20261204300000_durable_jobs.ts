import { Migration } from '@mikro-orm/migrations';

/**
 * Nothing lives only in Redis (issue 14):
 * - an outbox row now stays until the worker has committed its job's effect: the relay marks it
 *   `dispatched_at` once BullMQ has the job, the worker deletes it; the reconciler re-enqueues
 *   dispatched rows whose job Redis no longer holds (restarted empty, keys deleted), and a job that
 *   failed for good marks its row `failed_at` (kept, not retried by the reconciler);
 * - the relay reads the rows not yet dispatched through a partial index;
 * - `notification.status` gains `sending`: an email attempt is recorded (with its Message-ID)
 *   before the mail goes out, so a retry knows a send may have happened and sends the same mail
 *   (same Message-ID); `pending_box` holds, sealed, what that mail must repeat (a secret issued
 *   for it) until the send is recorded;
 * - provider error text (an SMTP server's "550 5.1.1 <address> …", Twilio's messages) may carry
 *   an address or a number: `detail` and `last_error` rows written before are reduced to a code.
 */
export class Migration20261204300000_durable_jobs extends Migration {
  override name = 'Migration20261204300000_durable_jobs';

  override up(): void {
    this.addSql(`alter table "outbox_message" add "dispatched_at" timestamptz null, add "failed_at" timestamptz null`);
    this.addSql(`create index "outbox_message_undispatched_index" on "outbox_message" ("id") where "dispatched_at" is null`);
    this.addSql(`alter table "notification" add "pending_box" bytea null`);
    this.addSql(`alter table "notification" drop constraint "notification_status_check"`);
    this.addSql(`alter table "notification" add constraint "notification_status_check" check ("status" in ('sending', 'sent', 'skipped', 'failed'))`);
    // Failure text of sends: keep the SMTP reply code (or "provider error"), never the text.
    this.addSql(
      `update "notification" set "detail" = coalesce('smtp ' || substring("detail" from '(?:^|\\D)([245]\\d\\d(?: [245]\\.\\d{1,3}\\.\\d{1,3})?)(?:\\D|$)'), 'provider error')
       where "status" = 'failed' and "detail" is not null`,
    );
    this.addSql(`update "sms_message" set "detail" = 'provider error' where "detail" is not null and "detail" ~ '[@+]|\\d{5,}'`);
    this.addSql(`update "outbox_message" set "last_error" = 'redis unavailable' where "last_error" is not null`);
  }
}
