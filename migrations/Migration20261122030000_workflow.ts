import { Migration } from '@mikro-orm/migrations';

/** Assignment, special supervision and outcome on the clue; verification tasks. */
export class Migration20261122030000_workflow extends Migration {
  override name = 'Migration20261122030000_workflow';

  override up(): void {
    this.addSql(`alter table "clue" add column "assigned_unit_id" uuid null, add column "supervisor" uuid null, add column "outcome" jsonb null`);
    this.addSql(`create index "clue_assigned_unit_id_index" on "clue" ("assigned_unit_id")`);
    this.addSql(`alter table "clue" add constraint "clue_assigned_unit_id_foreign" foreign key ("assigned_unit_id") references "unit" ("id") on delete set null`);
    this.addSql(`create table "verification_task" ("id" uuid not null, "clue_id" uuid not null, "type" text not null, "assignee_unit_id" uuid not null, "assignee_staff" uuid null, "status" text not null, "due_at" timestamptz null, "checklist" jsonb not null, "findings" text null, "outcome" jsonb null, "automatic" boolean not null default false, "created_by" varchar(128) not null, "created_at" timestamptz not null, "completed_at" timestamptz null, primary key ("id"))`);
    this.addSql(`create index "verification_task_clue_id_index" on "verification_task" ("clue_id")`);
    this.addSql(`create index "verification_task_assignee_unit_id_index" on "verification_task" ("assignee_unit_id")`);
    this.addSql(`alter table "verification_task" add constraint "verification_task_type_check" check ("type" in ('home_visit', 'data_cross_check', 'community_review', 'payment_check', 'interview'))`);
    this.addSql(`alter table "verification_task" add constraint "verification_task_status_check" check ("status" in ('open', 'completed', 'cancelled'))`);
    this.addSql(`alter table "verification_task" add constraint "verification_task_clue_id_foreign" foreign key ("clue_id") references "clue" ("id")`);
    this.addSql(`alter table "verification_task" add constraint "verification_task_assignee_unit_id_foreign" foreign key ("assignee_unit_id") references "unit" ("id")`);
  }
}
