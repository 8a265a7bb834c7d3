import { Migration } from '@mikro-orm/migrations';

/**
 * Fewer index entries per excluded-set member (bench/README "report" put 0.15–0.33 ms of the
 * anonymous report's PostgreSQL extra over the floor on the registration's `accused_unit` row, with
 * its four index entries and foreign keys).
 * - `clue_exclusion_unit_id_index` goes: no statement reads the table by unit. Every read by unit
 *   (the lists' and counts' anti-join, `excludedUnits`) also names the clue and goes through
 *   `clue_exclusion_clue_id_index`; its only other use would be the foreign key's `on delete set
 *   null`, and the app deletes no unit. EXPLAIN ANALYZE of the staff list, count and export pages
 *   (a district admin, a committee caseworker) on the 10⁵ set: the same plans without it.
 * - `clue_exclusion_staff_id_index` becomes partial, on the members that are staff accounts: the
 *   `accused_unit` members (most of the table, and the one member of a typical report) have no
 *   staff and are no longer indexed by it. Its one reader, the recompute's
 *   `select distinct clue_id from clue_exclusion where staff_id = $1` (a staff account created,
 *   renamed or moved), still uses it (0.4 ms on the 10⁵ set, 0.5 ms with 1.3 M rows; without any
 *   staff index a sequential scan: 5.7 ms, and 88–153 ms with 1.3 M rows).
 * Measured (bench/README "The excluded set's indexes"): ~0.005 ms less per member (of ~0.045), too
 * little to see in the report's whole registration statement (~0.9 ms).
 */
export class Migration20261206200000_exclusion_indexes extends Migration {
  override name = 'Migration20261206200000_exclusion_indexes';

  override up(): void {
    this.addSql(`drop index if exists "clue_exclusion_unit_id_index"`);
    this.addSql(`drop index if exists "clue_exclusion_staff_id_index"`);
    this.addSql(`create index "clue_exclusion_staff_id_index" on "clue_exclusion" ("staff_id") where "staff_id" is not null`);
  }
}
