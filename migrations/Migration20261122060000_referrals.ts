import { Migration } from '@mikro-orm/migrations';

/** Discipline bodies, referrals (移交), and discipline officers' body. */
export class Migration20261122060000_referrals extends Migration {
  override name = 'Migration20261122060000_referrals';

  override up(): void {
    this.addSql(`create table "discipline_body" ("id" uuid not null, "name" varchar(200) not null, "name_en" varchar(200) null, "kind" text not null, "email" varchar(320) not null, "authority" jsonb not null, "created_at" timestamptz not null, primary key ("id"))`);
    this.addSql(`alter table "discipline_body" add constraint "discipline_body_kind_check" check ("kind" in ('district_commission', 'stationed_group', 'town_commission'))`);
    this.addSql(`alter table "staff" add column "discipline_body" uuid null`);
    this.addSql(`create table "referral" ("id" uuid not null, "clue_id" uuid not null, "body_id" uuid not null, "status" text not null, "includes_reporter" boolean not null, "disposition" varchar(32) null, "result" text null, "confirmed_by" uuid not null, "link_expires_at" timestamptz not null, "created_at" timestamptz not null, primary key ("id"))`);
    this.addSql(`create index "referral_clue_id_index" on "referral" ("clue_id")`);
    this.addSql(`create index "referral_body_id_index" on "referral" ("body_id")`);
    this.addSql(`alter table "referral" add constraint "referral_status_check" check ("status" in ('sent', 'acknowledged', 'info_requested', 'disposed', 'result_reported', 'withdrawn'))`);
    this.addSql(`alter table "referral" add constraint "referral_clue_id_foreign" foreign key ("clue_id") references "clue" ("id")`);
    this.addSql(`alter table "referral" add constraint "referral_body_id_foreign" foreign key ("body_id") references "discipline_body" ("id")`);
  }
}
