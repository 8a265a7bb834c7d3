import { Migration } from '@mikro-orm/migrations';

/**
 * Call-back reminders and escalation: the steps already taken live on the call-back row, and staff
 * notices may be about a call-back (which has no clue) instead of a clue.
 */
export class Migration20261201000000_callback_notices extends Migration {
  override name = 'Migration20261201000000_callback_notices';

  override up(): void {
    this.addSql(`alter table "callback" add column "reminders_sent" int not null default 0, add column "overdue_notified_at" timestamptz null, add column "escalation_level" int not null default 0, add column "next_notice_at" timestamptz null`);
    this.addSql(`create index "callback_next_notice_at_index" on "callback" ("next_notice_at")`);
    // Open call-backs from before: the first sweep works out where each stands.
    this.addSql(`update "callback" set "next_notice_at" = "created_at" where "state" = 'open'`);
    this.addSql(`alter table "staff_notice" alter column "clue_id" drop not null`);
    // A nullable reference's default rule (clues are never deleted: the ledger is append-only).
    this.addSql(`alter table "staff_notice" drop constraint "staff_notice_clue_id_foreign"`);
    this.addSql(`alter table "staff_notice" add constraint "staff_notice_clue_id_foreign" foreign key ("clue_id") references "clue" ("id") on delete set null`);
    this.addSql(`alter table "staff_notice" add column "callback_id" uuid null`);
  }
}
