import { Migration } from '@mikro-orm/migrations';

/**
 * A street's reads on years of clues (bench/README "staff-reads", "console"): a street sees about
 * 1/12 of a district's clues, so its queue, count and deadline views walked about twelve rows for
 * every row they kept, each fetched from the heap (and the clue's row for a deadline) only to be
 * dropped by the unit rule. These indexes carry what the unit rule reads, so PostgreSQL drops those
 * rows from the index alone:
 * - the clues still being handled (the console's default view: `openStatuses` in status-machine.ts)
 *   newest first, with their unit and assigned unit. `clue_status_index` (status alone) goes, as
 *   `clue_status_received_index` starts with the status, so a registration writes as many index
 *   entries as before; that one now carries the two units as well (the list filtered by status);
 * - the open deadlines (all of them, the pending ones, the missed ones) in the views' order (due
 *   time, id), with the clue, its unit and — new column — its assigned unit, replacing the three
 *   partial indexes of the same rows (wider entries, no more of them). The views walk them index
 *   only and fetch the columns they show for the rows kept (deadlines.usecases.ts `list`).
 * - a clue's deadlines by kind, newest first, with the due time (the clue ledger export's 办理时限:
 *   2 000 clues a page, from the index alone instead of every deadline row with its policy
 *   snapshot), replacing the index on the clue alone, which it serves too.
 * Measured on the 10⁶ set (bench/README "reports"): a 2 000-clue page's deadline read 103 → 61 ms on
 * a cold cache, 25 → 16 ms warm.
 * `deadline.assigned_unit_id` is the clue's assigned unit (转办) while the deadline is open: set when
 * it starts, rewritten on the clue's open deadlines when the clue is assigned (workflow.assign);
 * `deadline.unit_id` already is the clue's unit (a clue's unit never changes). The deadline views
 * still check the clue itself through the visibility rule: these columns only let a walk skip rows
 * early, they cannot show one. No foreign key: a deadline is written with its clue, whose own key
 * already holds the unit.
 */
export class Migration20261206000000_unit_covering_indexes extends Migration {
  override name = 'Migration20261206000000_unit_covering_indexes';

  override up(): void {
    this.addSql(
      `create index "clue_open_received_index" on "clue" ("received_at" desc, "id" desc) include ("unit_id", "assigned_unit_id")
         where "status" in ('registered', 'accepted', 'verifying', 'referred', 'concluded')`,
    );
    this.addSql(`drop index if exists "clue_status_index"`);
    this.addSql(`drop index if exists "clue_status_received_index"`);
    this.addSql(`create index "clue_status_received_index" on "clue" ("status", "received_at" desc, "id" desc) include ("unit_id", "assigned_unit_id")`);
    this.addSql(`alter table "deadline" add column "assigned_unit_id" uuid null`);
    this.addSql(
      `update "deadline" d set "assigned_unit_id" = c."assigned_unit_id" from "clue" c
         where c."id" = d."clue_id" and d."closed_at" is null and c."assigned_unit_id" is not null`,
    );
    this.addSql(`drop index if exists "deadline_open_due_index"`);
    this.addSql(`drop index if exists "deadline_pending_due_index"`);
    this.addSql(`drop index if exists "deadline_missed_due_index"`);
    const include = `include ("unit_id", "assigned_unit_id", "clue_id")`;
    this.addSql(`create index "deadline_open_due_index" on "deadline" ("due_at", "id") ${include} where "closed_at" is null`);
    this.addSql(`create index "deadline_pending_due_index" on "deadline" ("due_at", "id") ${include} where "closed_at" is null and "state" in ('open', 'extended')`);
    this.addSql(`create index "deadline_missed_due_index" on "deadline" ("due_at", "id") ${include} where "closed_at" is null and "state" = 'missed'`);
    // The clue ledger export reads each clue's latest conclusion deadline: from the index alone.
    this.addSql(`create index "deadline_clue_kind_index" on "deadline" ("clue_id", "kind", "starts_at" desc) include ("due_at")`);
    this.addSql(`drop index if exists "deadline_clue_id_index"`);
  }
}
