import { Migration } from '@mikro-orm/migrations';

/** Idempotency keys of outside deliveries; quarantined mail. */
export class Migration20261122070000_email extends Migration {
  override name = 'Migration20261122070000_email';

  override up(): void {
    this.addSql(`create table "intake_key" ("key" varchar(300) not null, "clue_id" uuid not null, "created_at" timestamptz not null, primary key ("key"))`);
    this.addSql(`alter table "intake_key" add constraint "intake_key_clue_id_foreign" foreign key ("clue_id") references "clue" ("id")`);
    this.addSql(`create table "quarantined_mail" ("id" uuid not null, "message_id" varchar(300) not null, "reason" varchar(32) not null, "detail" text not null, "storage_key" varchar(500) not null, "size" bigint not null, "status" text not null, "resolved_by" uuid null, "resolved_at" timestamptz null, "resolution" text null, "clue_id" uuid null, "received_at" timestamptz not null, primary key ("id"))`);
    this.addSql(`alter table "quarantined_mail" add constraint "quarantined_mail_message_id_unique" unique ("message_id")`);
    this.addSql(`alter table "quarantined_mail" add constraint "quarantined_mail_status_check" check ("status" in ('held', 'released', 'discarded'))`);
  }
}
