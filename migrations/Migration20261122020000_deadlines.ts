import { Migration } from '@mikro-orm/migrations';

/** Deadlines as rows, admin-edited deadline policy versions, in-app staff notices. */
export class Migration20261122020000_deadlines extends Migration {
  override name = 'Migration20261122020000_deadlines';

  override up(): void {
    this.addSql(`create table "deadline_policy_version" ("id" serial primary key, "policy" jsonb not null, "created_by" uuid null, "created_at" timestamptz not null)`);
    this.addSql(`create table "deadline" ("id" uuid not null, "clue_id" uuid not null, "kind" varchar(32) not null, "subject_id" uuid null, "unit_id" uuid null, "starts_at" timestamptz not null, "due_at" timestamptz not null, "original_due_at" timestamptz not null, "policy" jsonb not null, "state" text not null, "closed_at" timestamptz null, "paused_at" timestamptz null, "pause_reason" varchar(500) null, "paused_ms" bigint not null default '0', "extensions" int not null default 0, "fire_seq" int not null default 0, "next_fire_at" timestamptz null, "escalation_level" int not null default 0, "escalated_unit" uuid null, "sync_needed" boolean not null default true, "sync_version" int not null default 0, "scheduled_job" varchar(200) null, "created_at" timestamptz not null, primary key ("id"))`);
    this.addSql(`create index "deadline_clue_id_index" on "deadline" ("clue_id")`);
    this.addSql(`alter table "deadline" add constraint "deadline_state_check" check ("state" in ('open', 'extended', 'missed', 'met', 'cancelled'))`);
    this.addSql(`create table "staff_notice" ("id" uuid not null, "unit_id" uuid not null, "role" varchar(32) null, "staff_id" uuid null, "clue_id" uuid not null, "deadline_id" uuid null, "kind" text not null, "text_zh" varchar(500) not null, "text_en" varchar(500) not null, "created_at" timestamptz not null, primary key ("id"))`);
    this.addSql(`create index "staff_notice_unit_id_index" on "staff_notice" ("unit_id")`);
    this.addSql(`alter table "staff_notice" add constraint "staff_notice_kind_check" check ("kind" in ('reminder', 'missed', 'escalated', 'extended', 'task_assigned', 'supervised'))`);
    this.addSql(`alter table "deadline" add constraint "deadline_clue_id_foreign" foreign key ("clue_id") references "clue" ("id")`);
    this.addSql(`alter table "deadline" add constraint "deadline_unit_id_foreign" foreign key ("unit_id") references "unit" ("id") on delete set null`);
    this.addSql(`alter table "staff_notice" add constraint "staff_notice_unit_id_foreign" foreign key ("unit_id") references "unit" ("id")`);
    this.addSql(`alter table "staff_notice" add constraint "staff_notice_clue_id_foreign" foreign key ("clue_id") references "clue" ("id")`);
    this.addSql(`alter table "staff_notice" add constraint "staff_notice_deadline_id_foreign" foreign key ("deadline_id") references "deadline" ("id") on delete set null`);
    this.addSql(`create index "deadline_next_fire_index" on "deadline" ("next_fire_at") where "closed_at" is null`);
    this.addSql(`create index "deadline_sync_index" on "deadline" ("id") where "sync_needed"`);
    this.addSql(`create index "deadline_state_due_index" on "deadline" ("state", "due_at")`);
    this.addSql(`create index "staff_notice_created_index" on "staff_notice" ("unit_id", "created_at" desc)`);
  }
}
