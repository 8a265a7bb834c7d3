import { Migration } from '@mikro-orm/migrations';

const GENESIS = '0'.repeat(64);

/**
 * Audit chains for what is not a clue (staff accounts, 2FA resets, exports, policy and calendar
 * changes): `audit_chain` holds each chain's head (one row, `system`, to begin with), ledger events
 * name their chain in `audit_id` (exactly one of clue_id, quarantine_id and audit_id is set), and
 * checkpoints list the audit ranges they seal in `audits`, as they do for clues and quarantined mail.
 */
export class Migration20261203000000_audit_chain extends Migration {
  override name = 'Migration20261203000000_audit_chain';

  override up(): void {
    this.addSql(`create table "audit_chain" ("id" varchar(32) not null, "head_seq" int not null, "head_hash" varchar(64) not null, constraint "audit_chain_pkey" primary key ("id"))`);
    this.addSql(`insert into "audit_chain" ("id", "head_seq", "head_hash") values ('system', 0, '${GENESIS}')`);
    this.addSql(`alter table "ledger_event" add "audit_id" varchar(32) null`);
    this.addSql(`alter table "ledger_event" add constraint "ledger_event_audit_id_foreign" foreign key ("audit_id") references "audit_chain" ("id") on delete no action`);
    this.addSql(`alter table "ledger_event" add constraint "ledger_event_audit_id_seq_unique" unique ("audit_id", "seq")`);
    this.addSql(`alter table "ledger_event" drop constraint "ledger_event_one_chain_check"`);
    this.addSql(`alter table "ledger_event" add constraint "ledger_event_one_chain_check" check (num_nonnulls(clue_id, quarantine_id, audit_id) = 1)`);
    this.addSql(`alter table "ledger_checkpoint" add "audits" jsonb not null default '{}'`);
    this.addSql(`alter table "ledger_checkpoint" alter column "audits" drop default`);
  }
}
