import { Migration } from '@mikro-orm/migrations';

/**
 * The hotline median without a year of durations per read (bench/README "staff-reads", issue 16).
 * The figures took the median time to call-back as `percentile_cont` over every done call-back of
 * the window, the rolled days' `callback_seconds` unnested: ~72 000 values a year at 10⁶ clues,
 * 12–16 ms of PostgreSQL a read, most of the request's 16.6 ms. `callback_below` holds, per day, how
 * many of its sorted `callback_seconds` are at most each of the fixed edges of
 * hotline-stats.usecases.ts (`EDGES`, 1/8-octave steps): the read finds the bucket holding the
 * median by a binary search over the edges (eight sums of one element a day), then sorts only that
 * bucket's values, sliced from each day's array. The median stays exact (the same values, the same
 * order statistics).
 *
 * PLAIN storage keeps the counts inline and uncompressed: each probe reads one element a day, which
 * on a compressed array costs a decompression each time (measured: 4× the cost of a probe).
 *
 * The existing rows are deleted: they lack the counts, and the table is filled on read (a database
 * migrated forward, a bench template among them, counts its settled days again on the first read).
 * Changing `EDGES` needs a migration that deletes them again.
 */
export class Migration20261207000000_hotline_day_median extends Migration {
  override name = 'Migration20261207000000_hotline_day_median';

  override up(): void {
    this.addSql(`delete from "hotline_day"`);
    this.addSql(`alter table "hotline_day" add column "callback_below" int[] not null`);
    this.addSql(`alter table "hotline_day" alter column "callback_below" set storage plain`);
  }
}
