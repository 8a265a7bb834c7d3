import { Migration } from '@mikro-orm/migrations';

/**
 * Indexes for the staff read paths that slowed down with data (bench/README "staff-reads", measured
 * on the 10⁵ and 10⁶ data sets of bench/data):
 * - notices: one index per branch of the notices query (the unit's notices for everyone, for a role;
 *   a person's own), newest first, replacing the (unit, created_at) index; each notice is in exactly
 *   one of the three, so writing a notice costs what it did;
 * - deadline views: the open deadlines by due time (the `open` view), the pending ones (`due_soon`)
 *   and the missed ones (`missed`), partial, so they hold only the open backlog and each view reads
 *   its rows in order; the full (state, due_at) index, which the missed view walked through every
 *   late-closed deadline, goes;
 * - call-backs: the open ones by due time (the list and the overdue query), partial;
 * - the clue list filtered by status (with or without a channel), in the list's own order;
 * - the hotline figures: call-backs by creation time, with what the figures count.
 */
export class Migration20261203060000_read_indexes extends Migration {
  override name = 'Migration20261203060000_read_indexes';

  override up(): void {
    // (`role is null` is in the predicate, not a column: an index column compared with IS NULL does
    // not give PostgreSQL the created_at order, and it sorted the unit's every notice instead.)
    this.addSql(`create index "staff_notice_unit_created_index" on "staff_notice" ("unit_id", "created_at" desc) where "role" is null and "staff_id" is null`);
    this.addSql(`create index "staff_notice_unit_role_created_index" on "staff_notice" ("unit_id", "role", "created_at" desc) where "role" is not null and "staff_id" is null`);
    this.addSql(`create index "staff_notice_staff_created_index" on "staff_notice" ("staff_id", "created_at" desc) where "staff_id" is not null`);
    this.addSql(`drop index if exists "staff_notice_created_index"`);
    this.addSql(`create index "deadline_open_due_index" on "deadline" ("due_at") where "closed_at" is null`);
    this.addSql(`create index "deadline_pending_due_index" on "deadline" ("due_at") where "closed_at" is null and "state" in ('open', 'extended')`);
    this.addSql(`create index "deadline_missed_due_index" on "deadline" ("due_at") where "closed_at" is null and "state" = 'missed'`);
    this.addSql(`drop index if exists "deadline_state_due_index"`);
    this.addSql(`create index "callback_open_due_index" on "callback" ("due_at", "id") where "state" = 'open'`);
    this.addSql(`create index "callback_created_index" on "callback" ("created_at") include ("state", "done_at")`);
    this.addSql(`create index "clue_status_received_index" on "clue" ("status", "received_at" desc, "id" desc)`);
  }
}
