import { Migration } from '@mikro-orm/migrations';

/**
 * The relay deletes an outbox row once BullMQ has its job, instead of marking it dispatched: a
 * delete adds no index entries, an update added a whole new row version with three. Every row left
 * in the table is pending, so the partial "pending" index is no longer needed.
 */
export class Migration20261130000000_outbox_delete extends Migration {
  override name = 'Migration20261130000000_outbox_delete';

  override up(): void {
    this.addSql(`delete from "outbox_message" where "dispatched_at" is not null`);
    this.addSql(`drop index if exists "outbox_message_pending_index"`);
    this.addSql(`alter table "outbox_message" drop column "dispatched_at"`);
  }
}
