import { Migration } from '@mikro-orm/migrations';

/** The near-relative registry (近亲属备案) and its audit of reveals, match views and imports. */
export class Migration20261122050000_registry extends Migration {
  override name = 'Migration20261122050000_registry';

  override up(): void {
    this.addSql(`create table "registry_audit" ("id" uuid not null, "staff_id" uuid not null, "action" text not null, "clue_id" uuid null, "registry_ids" jsonb not null, "row_count" int not null, "purpose" varchar(500) null, "created_at" timestamptz not null, primary key ("id"))`);
    this.addSql(`create index "registry_audit_staff_id_index" on "registry_audit" ("staff_id")`);
    this.addSql(`create table "near_relative" ("id" uuid not null, "registrant_name" varchar(200) not null, "registrant_name_key" varchar(200) not null, "registrant_staff_id" uuid null, "registrant_unit_id" uuid not null, "registrant_role" text not null, "relative_name" varchar(200) not null, "relative_name_key" varchar(200) not null, "relation" text not null, "id_box" bytea not null, "id_hash" varchar(64) not null, "programme" text not null, "since" date not null, "household_address" varchar(500) null, "created_at" timestamptz not null, "created_by" uuid not null, primary key ("id"))`);
    this.addSql(`create index "near_relative_registrant_staff_id_index" on "near_relative" ("registrant_staff_id")`);
    this.addSql(`create index "near_relative_registrant_unit_id_index" on "near_relative" ("registrant_unit_id")`);
    this.addSql(`create index "near_relative_relative_name_key_index" on "near_relative" ("relative_name_key")`);
    this.addSql(`alter table "near_relative" add constraint "near_relative_registrant_relative_unique" unique ("id_hash", "registrant_unit_id", "registrant_name_key")`);
    this.addSql(`alter table "registry_audit" add constraint "registry_audit_staff_id_foreign" foreign key ("staff_id") references "staff" ("id")`);
    this.addSql(`alter table "registry_audit" add constraint "registry_audit_action_check" check ("action" in ('ids_revealed', 'matches_viewed', 'imported'))`);
    this.addSql(`alter table "near_relative" add constraint "near_relative_registrant_staff_id_foreign" foreign key ("registrant_staff_id") references "staff" ("id") on delete set null`);
    this.addSql(`alter table "near_relative" add constraint "near_relative_registrant_unit_id_foreign" foreign key ("registrant_unit_id") references "unit" ("id")`);
    this.addSql(`alter table "near_relative" add constraint "near_relative_created_by_foreign" foreign key ("created_by") references "staff" ("id")`);
    this.addSql(`alter table "near_relative" add constraint "near_relative_registrant_role_check" check ("registrant_role" in ('civil_affairs_staff', 'caseworker', 'cadre', 'official', 'other'))`);
    this.addSql(`alter table "near_relative" add constraint "near_relative_relation_check" check ("relation" in ('spouse', 'parent', 'child', 'sibling', 'grandparent', 'grandchild', 'in_law', 'other'))`);
    this.addSql(`alter table "near_relative" add constraint "near_relative_programme_check" check ("programme" in ('dibao', 'extreme_poverty', 'other'))`);
  }
}
