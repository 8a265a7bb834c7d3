import { Migration } from '@mikro-orm/migrations';

/** The clue ledger, staff and units, the outbox. */
export class Migration20261122000000_initial extends Migration {
  override name = 'Migration20261122000000_initial';

  override up(): void {
    this.addSql(`create table "ledger_checkpoint" ("id" serial primary key, "sealed_at" timestamptz not null, "from_xid" xid8 not null, "to_xid" xid8 not null, "event_count" int not null, "clues" jsonb not null, "batch_hash" varchar(64) not null, "prev_hash" varchar(64) not null, "hash" varchar(64) not null)`);
    this.addSql(`alter table "ledger_checkpoint" add constraint "ledger_checkpoint_hash_unique" unique ("hash")`);
    this.addSql(`create table "outbox_message" ("id" bigserial primary key, "queue" varchar(64) not null, "job_name" varchar(64) not null, "job_id" varchar(200) not null, "payload" jsonb not null, "delay_ms" int not null default 0, "created_at" timestamptz not null, "dispatched_at" timestamptz null, "attempts" int not null default 0, "last_error" text null)`);
    this.addSql(`alter table "outbox_message" add constraint "outbox_message_job_id_unique" unique ("job_id")`);
    this.addSql(`create table "unit" ("id" uuid not null, "code" varchar(64) not null, "name" varchar(200) not null, "name_en" varchar(200) null, "kind" text not null, "parent_id" uuid null, "path" varchar(1000) not null, "created_at" timestamptz not null, primary key ("id"))`);
    this.addSql(`alter table "unit" add constraint "unit_code_unique" unique ("code")`);
    this.addSql(`create index "unit_parent_id_index" on "unit" ("parent_id")`);
    this.addSql(`create index "unit_path_index" on "unit" ("path")`);
    this.addSql(`alter table "unit" add constraint "unit_kind_check" check ("kind" in ('district', 'street', 'town', 'residents_committee', 'villagers_committee'))`);
    this.addSql(`create table "staff" ("id" uuid not null, "username" varchar(100) not null, "display_name" varchar(200) not null, "password_hash" varchar(300) not null, "role" text not null, "unit_id" uuid not null, "active" boolean not null default true, "created_at" timestamptz not null, primary key ("id"))`);
    this.addSql(`alter table "staff" add constraint "staff_username_unique" unique ("username")`);
    this.addSql(`create index "staff_unit_id_index" on "staff" ("unit_id")`);
    this.addSql(`alter table "staff" add constraint "staff_role_check" check ("role" in ('operator', 'caseworker', 'discipline_officer', 'supervisor', 'admin'))`);
    this.addSql(`create table "staff_session" ("token_hash" varchar(64) not null, "staff_id" uuid not null, "created_at" timestamptz not null, "expires_at" timestamptz not null, primary key ("token_hash"))`);
    this.addSql(`create index "staff_session_staff_id_index" on "staff_session" ("staff_id")`);
    this.addSql(`create table "clue" ("id" uuid not null, "tracking_code" varchar(12) not null, "channel" text not null, "received_at" timestamptz not null, "categories" text[] not null default '{}', "narrative" text not null, "unit_id" uuid null, "status" text not null, "priority" text not null default 'normal', "named" boolean not null, "secret_kind" text not null, "secret_hash" varchar(64) not null, "failed_attempts" int not null default 0, "locked_until" timestamptz null, "head_seq" int not null, "head_hash" varchar(64) not null, "merged_into" uuid null, "finding" varchar(32) null, "flags" text[] not null default '{}', "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"))`);
    this.addSql(`alter table "clue" add constraint "clue_tracking_code_unique" unique ("tracking_code")`);
    this.addSql(`create index "clue_unit_id_index" on "clue" ("unit_id")`);
    this.addSql(`create index "clue_status_index" on "clue" ("status")`);
    this.addSql(`alter table "clue" add constraint "clue_channel_check" check ("channel" in ('phone', 'web', 'email', 'letter', 'visit', 'media', 'data_check', 'assigned', 'sms'))`);
    this.addSql(`alter table "clue" add constraint "clue_status_check" check ("status" in ('registered', 'accepted', 'declined', 'verifying', 'referred', 'concluded', 'replied', 'closed', 'merged'))`);
    this.addSql(`alter table "clue" add constraint "clue_priority_check" check ("priority" in ('normal', 'major'))`);
    this.addSql(`alter table "clue" add constraint "clue_secret_kind_check" check ("secret_kind" in ('web', 'pin'))`);
    this.addSql(`create table "sealed_reporter" ("clue_id" uuid not null, "box" bytea not null, "created_at" timestamptz not null, primary key ("clue_id"))`);
    this.addSql(`create table "ledger_event" ("id" bigserial primary key, "clue_id" uuid not null, "seq" int not null, "type" varchar(64) not null, "actor" varchar(128) not null, "at" timestamptz not null, "data" jsonb not null, "prev_hash" varchar(64) not null, "hash" varchar(64) not null)`);
    this.addSql(`alter table "ledger_event" add constraint "ledger_event_clue_id_seq_unique" unique ("clue_id", "seq")`);
    this.addSql(`create table "attachment" ("id" uuid not null, "clue_id" uuid not null, "filename" varchar(255) not null, "content_type" varchar(127) not null, "size" bigint not null, "sha256" varchar(64) not null, "storage_key" varchar(500) not null, "source" varchar(32) not null, "created_at" timestamptz not null, primary key ("id"))`);
    this.addSql(`create index "attachment_clue_id_index" on "attachment" ("clue_id")`);
    this.addSql(`create table "accused" ("id" uuid not null, "clue_id" uuid not null, "name" varchar(200) not null, "role" text not null, "unit_id" uuid null, "position" varchar(200) null, primary key ("id"))`);
    this.addSql(`create index "accused_clue_id_index" on "accused" ("clue_id")`);
    this.addSql(`create index "accused_unit_id_index" on "accused" ("unit_id")`);
    this.addSql(`alter table "accused" add constraint "accused_role_check" check ("role" in ('official', 'caseworker', 'cadre', 'beneficiary', 'other'))`);
    this.addSql(`alter table "unit" add constraint "unit_parent_id_foreign" foreign key ("parent_id") references "unit" ("id") on delete set null`);
    this.addSql(`alter table "staff" add constraint "staff_unit_id_foreign" foreign key ("unit_id") references "unit" ("id")`);
    this.addSql(`alter table "staff_session" add constraint "staff_session_staff_id_foreign" foreign key ("staff_id") references "staff" ("id")`);
    this.addSql(`alter table "clue" add constraint "clue_unit_id_foreign" foreign key ("unit_id") references "unit" ("id") on delete set null`);
    this.addSql(`alter table "sealed_reporter" add constraint "sealed_reporter_clue_id_foreign" foreign key ("clue_id") references "clue" ("id") on update cascade on delete cascade`);
    this.addSql(`alter table "ledger_event" add constraint "ledger_event_clue_id_foreign" foreign key ("clue_id") references "clue" ("id")`);
    this.addSql(`alter table "attachment" add constraint "attachment_clue_id_foreign" foreign key ("clue_id") references "clue" ("id")`);
    this.addSql(`alter table "accused" add constraint "accused_clue_id_foreign" foreign key ("clue_id") references "clue" ("id")`);
    this.addSql(`alter table "accused" add constraint "accused_unit_id_foreign" foreign key ("unit_id") references "unit" ("id") on delete set null`);
    this.addSql(`alter table "ledger_event" add column "txid" xid8 not null default pg_current_xact_id()`);
    this.addSql(`create index "ledger_event_txid_index" on "ledger_event" ("txid")`);
    this.addSql(`create function ledger_event_append_only() returns trigger language plpgsql as $$ begin raise exception 'ledger_event is append-only (% refused)', tg_op; end $$`);
    this.addSql(`create trigger "ledger_event_append_only" before update or delete on "ledger_event" for each row execute function ledger_event_append_only()`);
    this.addSql(`create trigger "ledger_event_no_truncate" before truncate on "ledger_event" for each statement execute function ledger_event_append_only()`);
    this.addSql(`create index "outbox_message_pending_index" on "outbox_message" ("id") where "dispatched_at" is null`);
    this.addSql(`create index "clue_received_at_index" on "clue" ("received_at" desc, "id")`);
  }
}
