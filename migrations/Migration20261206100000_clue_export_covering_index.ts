import { Migration } from '@mikro-orm/migrations';

/**
 * The clue ledger export (statistics/clue-export.ts) reads 10⁶ clues in keyset pages of 2 000 by
 * (received_at, id), testing each with the visibility rule. Its clue rows are wide (the narrative,
 * ~830 bytes a row on the bench's set), so a page fetched ~600 heap pages of which the export
 * reads a few short columns, and on a cold cache those were read from disk
 * (bench/README "reports"). `clue_received_at_index` now carries those columns, so the page read
 * is an index-only scan: the export's columns (tracking code, channel, categories, summary, status,
 * finding) and what the unit rule reads (unit, assigned unit; the excluded set is tested on the id).
 * On the 10⁵ set a page's clue read went from 637 to 91 shared blocks.
 *
 * It replaces the index on the same key (a registration still writes one entry in it, a wider
 * one; no index is added). The key order becomes ascending in both columns: the export's order
 * forward, the clue list's (received_at desc, id desc) backward; the old (received_at desc, id)
 * matched neither exactly (an incremental sort on the id). The roll-up fill's ranges on
 * received_at read their clues (unit, status, id) from it alone.
 * A clue update that changes one of the included columns (summary, finding, categories) is no
 * longer a HOT update: it writes new entries in the clue's indexes. Those are staff edits and
 * conclusions, not intake; the chain-head update of every ledger append touches none of them.
 */
export class Migration20261206100000_clue_export_covering_index extends Migration {
  override name = 'Migration20261206100000_clue_export_covering_index';

  override up(): void {
    this.addSql(`drop index if exists "clue_received_at_index"`);
    this.addSql(
      `create index "clue_received_at_index" on "clue" ("received_at", "id")
         include ("tracking_code", "channel", "categories", "summary", "status", "finding", "unit_id", "assigned_unit_id")`,
    );
  }
}
