import { Migration } from '@mikro-orm/migrations';

/** Fills `clue_conclusion` from the ledger's events (also run by the benchmark data set's build). */
export const DERIVED_CLUE_CONCLUSION = `insert into "clue_conclusion" ("clue_id", "concluded_at", "outcome")
  select distinct on (e.clue_id) e.clue_id, e.at, e.data->'outcome'
    from "ledger_event" e join "clue" c on c.id = e.clue_id
   where e.type = 'clue.status_changed' and e.data->>'to' = 'concluded' and c.status in ('concluded', 'replied', 'closed')
   order by e.clue_id, e.seq desc`;

/**
 * The self-inspection table and the clue ledger export (issue 18):
 * - `clue.summary`: 问题摘要, written by staff (≤ 50 characters); exports carry it, never the narrative;
 * - `clue_conclusion`: the latest conclusion of every clue that stands concluded (concluded, replied
 *   or closed after a conclusion), filled here from the ledger's events: the newest
 *   `clue.status_changed` event to `concluded` of each such clue, with the figures it recorded.
 */
export class Migration20261204400000_statistics extends Migration {
  override name = 'Migration20261204400000_statistics';

  override async up(): Promise<void> {
    for (const statement of [
      `alter table "clue" add "summary" varchar(50) null`,
      `create table "clue_conclusion" ("clue_id" uuid not null, "concluded_at" timestamptz not null, "outcome" jsonb null, constraint "clue_conclusion_pkey" primary key ("clue_id"))`,
      `alter table "clue_conclusion" add constraint "clue_conclusion_clue_id_foreign" foreign key ("clue_id") references "clue" ("id") on update cascade on delete cascade`,
      `create index "clue_conclusion_concluded_at_index" on "clue_conclusion" ("concluded_at")`,
      DERIVED_CLUE_CONCLUSION,
    ]) {
      await this.execute(statement);
    }
  }
}
