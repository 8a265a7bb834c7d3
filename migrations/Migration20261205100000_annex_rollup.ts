import { Migration } from '@mikro-orm/migrations';

/**
 * The self-inspection table's per-day roll-up (src/modules/statistics/rollup.ts; bench/README
 * "reports"): a district-year read ~365 days × units of small rows instead of every clue and
 * conclusion of the year. `annex_unit_day` holds the figures of a settled local day per clue unit,
 * `annex_day` the days it holds, `annex_rollup` the ledger watermark and the time zone.
 *
 * Nothing is added to the write path: no trigger, no index on the registration's tables. The
 * roll-up is filled on read, and a day it holds is dropped on read when a ledger event written since
 * the last fill (`ledger_event.txid` ≥ the watermark, on `ledger_event_txid_index`) concerns a clue
 * received or concluded that day. Starts empty: nothing to backfill.
 */
export class Migration20261205100000_annex_rollup extends Migration {
  override name = 'Migration20261205100000_annex_rollup';

  override up(): void {
    const numeric = (names: string[]) => names.map((n) => `"${n}" numeric not null`).join(', ');
    this.addSql(`create table "annex_unit_day" (
      "id" bigserial primary key, "day" date not null, "unit_id" uuid null,
      "civil_clues" int not null, "civil_disposed" int not null, "petitions" int not null, "petitions_disposed" int not null,
      ${numeric(['renqing_people', 'renqing_funds', 'guanxi_people', 'guanxi_funds', 'zhengce_people', 'zhengce_funds', 'sanwu_people', 'sanwu_funds', 'single_fix', 'custody'])},
      "untyped_clues" int not null, ${numeric(['untyped_people', 'untyped_funds'])})`);
    this.addSql(`create index "annex_unit_day_day_index" on "annex_unit_day" ("day")`);
    this.addSql(`create table "annex_day" ("day" date not null, "computed_at" timestamptz not null, primary key ("day"))`);
    this.addSql(`create table "annex_rollup" ("id" int not null, "watermark" xid8 not null, "time_zone" varchar(64) not null, "filled_at" timestamptz not null, primary key ("id"))`);
  }
}
