import { Migration } from '@mikro-orm/migrations';

/**
 * Checkpoints are signed (Ed25519, a key outside the database), and a stalled checkpoint job is told
 * to supervisors once per stall (`ledger_alert`, one row per last-sealed checkpoint it was raised after).
 * Checkpoints sealed before this have no signature: `node src/main.ts ledger-sign-legacy` signs them
 * once, at the upgrade (README "The ledger").
 */
export class Migration20261203090000_signed_checkpoints extends Migration {
  override name = 'Migration20261203090000_signed_checkpoints';

  override up(): void {
    this.addSql(`alter table "ledger_checkpoint" add "signature" text null, add "key_id" varchar(16) null`);
    this.addSql(`create table "ledger_alert" ("after_checkpoint_id" int not null, "raised_at" timestamptz not null, constraint "ledger_alert_pkey" primary key ("after_checkpoint_id"))`);
    this.addSql(`alter table "staff_notice" drop constraint "staff_notice_kind_check"`);
    this.addSql(`alter table "staff_notice" add constraint "staff_notice_kind_check" check ("kind" in ('reminder', 'missed', 'escalated', 'extended', 'task_assigned', 'supervised', 'ledger_overdue'))`);
  }
}
