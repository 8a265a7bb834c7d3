import { Migration } from '@mikro-orm/migrations';

/** Reporter–staff message thread, attachments on messages, the record of outbound notifications. */
export class Migration20261122010000_web_intake extends Migration {
  override name = 'Migration20261122010000_web_intake';

  override up(): void {
    this.addSql(`create table "message" ("id" uuid not null, "clue_id" uuid not null, "author" text not null, "staff_id" uuid null, "body" text not null, "created_at" timestamptz not null, primary key ("id"))`);
    this.addSql(`create index "message_clue_id_index" on "message" ("clue_id")`);
    this.addSql(`alter table "message" add constraint "message_author_check" check ("author" in ('reporter', 'staff'))`);
    this.addSql(`alter table "message" add constraint "message_clue_id_foreign" foreign key ("clue_id") references "clue" ("id")`);
    this.addSql(`alter table "attachment" add column "message_id" uuid null`);
    this.addSql(`alter table "clue" add column "occurred_when" varchar(200) null`);
    this.addSql(`alter table "attachment" add constraint "attachment_message_id_foreign" foreign key ("message_id") references "message" ("id") on delete set null`);
    this.addSql(`create table "notification" ("id" uuid not null, "idempotency_key" varchar(200) not null, "channel" varchar(16) not null, "template" varchar(100) not null, "recipient" varchar(320) not null, "clue_id" uuid null, "status" text not null, "detail" text null, "provider_id" varchar(300) null, "created_at" timestamptz not null, primary key ("id"))`);
    this.addSql(`alter table "notification" add constraint "notification_idempotency_key_unique" unique ("idempotency_key")`);
    this.addSql(`create index "notification_clue_id_index" on "notification" ("clue_id")`);
    this.addSql(`alter table "notification" add constraint "notification_status_check" check ("status" in ('sent', 'skipped', 'failed'))`);
  }
}
