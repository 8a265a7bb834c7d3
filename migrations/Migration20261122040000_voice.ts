import { Migration } from '@mikro-orm/migrations';

/** Phone hotline: calls (keyed-hash CallSid), call-backs and their audit trail, SMS in and out. */
export class Migration20261122040000_voice extends Migration {
  override name = 'Migration20261122040000_voice';

  override up(): void {
    this.addSql(`create table "call" ("id" uuid not null, "sid_hash" varchar(64) not null, "started_at" timestamptz not null, "ended_at" timestamptz null, "provider_status" varchar(32) null, "outcome" text null, "hotline_number" varchar(32) null, "withheld" boolean not null, "chose_anonymous" boolean not null default false, "caller_box" bytea null, "ivr" jsonb not null, "clue_id" uuid null, "pin_set_at" timestamptz null, "status_answered_at" timestamptz null, "operator_reached_at" timestamptz null, "callback_id" uuid null, "recording_sid" varchar(64) null, "recording_url" varchar(500) null, "recording_attachment_id" uuid null, "recording_deleted_at" timestamptz null, "recording_failed_at" timestamptz null, "created_at" timestamptz not null, "updated_at" timestamptz not null, primary key ("id"))`);
    this.addSql(`alter table "call" add constraint "call_sid_hash_unique" unique ("sid_hash")`);
    this.addSql(`create index "call_started_at_index" on "call" ("started_at")`);
    this.addSql(`create index "call_clue_id_index" on "call" ("clue_id")`);
    this.addSql(`create table "callback" ("id" uuid not null, "call_id" uuid not null, "caller_hash" varchar(64) not null, "number_box" bytea null, "reason" varchar(32) not null, "calls" int not null default 1, "due_at" timestamptz not null, "state" text not null, "created_at" timestamptz not null, "done_at" timestamptz null, "done_by" uuid null, "result" varchar(32) null, "note" varchar(500) null, primary key ("id"))`);
    this.addSql(`alter table "callback" add constraint "callback_call_id_unique" unique ("call_id")`);
    this.addSql(`create index "callback_caller_hash_index" on "callback" ("caller_hash")`);
    this.addSql(`create index "callback_due_at_index" on "callback" ("due_at")`);
    this.addSql(`create table "sms_message" ("id" uuid not null, "direction" text not null, "sid_hash" varchar(64) null, "purpose" varchar(32) not null, "hotline_number" varchar(32) null, "clue_id" uuid null, "callback_id" uuid null, "status" text not null, "to_box" bytea null, "body_box" bytea null, "detail" varchar(500) null, "created_at" timestamptz not null, "sent_at" timestamptz null, primary key ("id"))`);
    this.addSql(`alter table "sms_message" add constraint "sms_message_sid_hash_unique" unique ("sid_hash")`);
    this.addSql(`create index "sms_message_clue_id_index" on "sms_message" ("clue_id")`);
    this.addSql(`create table "callback_event" ("id" uuid not null, "callback_id" uuid not null, "staff_id" uuid not null, "action" varchar(32) not null, "at" timestamptz not null, primary key ("id"))`);
    this.addSql(`create index "callback_event_callback_id_index" on "callback_event" ("callback_id")`);
    this.addSql(`alter table "call" add constraint "call_clue_id_foreign" foreign key ("clue_id") references "clue" ("id") on delete set null`);
    this.addSql(`alter table "call" add constraint "call_outcome_check" check ("outcome" in ('report', 'status', 'operator', 'callback', 'abandoned', 'no_answer', 'busy', 'failed'))`);
    this.addSql(`alter table "callback" add constraint "callback_call_id_foreign" foreign key ("call_id") references "call" ("id")`);
    this.addSql(`alter table "callback" add constraint "callback_state_check" check ("state" in ('open', 'done', 'cancelled'))`);
    this.addSql(`alter table "sms_message" add constraint "sms_message_clue_id_foreign" foreign key ("clue_id") references "clue" ("id") on delete set null`);
    this.addSql(`alter table "sms_message" add constraint "sms_message_callback_id_foreign" foreign key ("callback_id") references "callback" ("id") on delete set null`);
    this.addSql(`alter table "sms_message" add constraint "sms_message_direction_check" check ("direction" in ('in', 'out'))`);
    this.addSql(`alter table "sms_message" add constraint "sms_message_status_check" check ("status" in ('received', 'queued', 'sent', 'failed', 'skipped'))`);
    this.addSql(`alter table "callback_event" add constraint "callback_event_callback_id_foreign" foreign key ("callback_id") references "callback" ("id")`);
  }
}
