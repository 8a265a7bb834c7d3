import { Migration } from '@mikro-orm/migrations';

/**
 * The hotline figures in one read, and the median without a year of durations per read (bench/README
 * "staff-reads", issue 16). The figures ran five statements, the last `percentile_cont` over every
 * done call-back of the window, the rolled days' `callback_seconds` unnested: ~72 000 values a year
 * at 10⁶ clues, ~10 ms of PostgreSQL CPU a read, most of the request's 16.6 ms.
 *
 * `callback_below` holds, per day, how many of its (sorted) `callback_seconds` are at most each of
 * the fixed edges `hotline_seconds_edges()` (1/8-octave steps from 32 s to 194 days). The median is
 * found by a binary search over the edges (eight sums of one element a day), then only that bucket's
 * values are sorted, sliced from each day's array. It stays exact: the same values, the same order
 * statistics, interpolated as `percentile_cont` does. PLAIN storage keeps the counts inline and
 * uncompressed: each probe reads one element a day, and a compressed array is decompressed for each
 * (measured: ~4× the cost of a probe).
 *
 * `hotline_stats_read` is the read (hotline-stats.usecases.ts `stats`) as a PL/pgSQL function, so its
 * plan is made once per connection and kept (~1 ms of planning a read, measured on the bench clone).
 *
 * The existing rows are deleted: they lack the counts, and the table is filled on read (a database
 * migrated forward, a bench template among them, counts its settled days again on the first read).
 * Changing the edges needs a migration that deletes the rows again.
 */
const EDGES = Array.from({ length: 153 }, (_, i) => Math.round(2 ** ((40 + i) / 8)));

export class Migration20261207000000_hotline_day_median extends Migration {
  override name = 'Migration20261207000000_hotline_day_median';

  override async up(): Promise<void> {
    await this.execute(`delete from "hotline_day"`);
    await this.execute(`alter table "hotline_day" add column "callback_below" int[] not null`);
    await this.execute(`alter table "hotline_day" alter column "callback_below" set storage plain`);
    await this.execute(`create or replace function hotline_seconds_edges() returns float8[] language sql immutable parallel safe as $fn$ select '{${EDGES.join(',')}}'::float8[] $fn$`);
    // [p_start, p_end): the settled days read from hotline_day; [p_a1, p_b1) and [p_a2, p_b2): the
    // rest of the window, from the rows (empty ranges when there is none). The median is
    // percentile_cont(0.5)'s: the values of ranks r1 = ⌊(n−1)/2⌋ and r2 = ⌈(n−1)/2⌉ (0-based) of the
    // done call-backs' durations, lo + 0.5 · (hi − lo). `search` finds the bucket (E[j], E[j+1]]
    // holding rank r1, G(i) being the number of durations at most E[i] (one element a day plus the
    // raw durations counted; G(0) = 0, G(B+1) = n). `cand` is that bucket's durations (each day's
    // sorted array sliced by its counts, with its next value above the bucket) and the raw ones above
    // E[j]: rank r is rank r − G(j) among them, r2 included when it is the first value past the
    // bucket. A done call-back without done_at has no duration and is left out, as percentile_cont
    // leaves out nulls.
    await this.execute(`create or replace function hotline_stats_read(p_start timestamptz, p_end timestamptz,
    p_a1 timestamptz, p_b1 timestamptz, p_a2 timestamptz, p_b2 timestamptz, p_now timestamptz)
  returns table (calls int, answered_by_ivr int, reached_operator int, callback_requested int, abandoned int, in_progress int, reports int,
    created int, raw_called_back int, open int, overdue int, in_days int, rolled_days int, rolled_calls int, rolled_answered_by_ivr int,
    rolled_reached_operator int, rolled_callback_requested int, rolled_abandoned int, rolled_in_progress int, rolled_reports int,
    rolled_called_back int, median float8)
  language plpgsql stable set plan_cache_mode = force_generic_plan as $fn$
#variable_conflict use_column
begin
  return query
  with recursive
  days as materialized (
    select d.calls, d.answered_by_ivr, d.reached_operator, d.callback_requested, d.abandoned, d.in_progress, d.reports, d.called_back,
      d.callback_below, d.callback_seconds
    from hotline_day d where d.day >= p_start and d.day < p_end),
  raw as materialized (
    select extract(epoch from b.done_at - b.created_at)::float8 as s from callback b
    where b.state = 'done' and b.done_at is not null
      and ((b.created_at >= p_a1 and b.created_at < p_b1) or (b.created_at >= p_a2 and b.created_at < p_b2))),
  r as materialized (
    select (t.n - 1) / 2 as r1, t.n / 2 as r2
    from (select (select count(*) from raw)::int + (select coalesce(sum(cardinality(days.callback_seconds)), 0) from days)::int as n offset 0) t
    where t.n > 0),
  search(lo, glo, hi) as (
    select 0, 0, cardinality(hotline_seconds_edges()) + 1 from r
    union all
    select case when m.g <= m.r1 then m.mid else m.lo end, case when m.g <= m.r1 then m.g else m.glo end, case when m.g <= m.r1 then m.hi else m.mid end
    from (select s.lo, s.glo, s.hi, s.mid, r.r1,
            (select coalesce(sum(days.callback_below[s.mid]), 0) from days)::int
              + (select count(*) from raw where raw.s <= (hotline_seconds_edges())[s.mid])::int as g
          from (select search.lo, search.glo, search.hi, (search.lo + search.hi) / 2 as mid from search where search.hi - search.lo > 1) s, r
          offset 0) m),
  j as materialized (select search.lo as j, search.glo as g from search where search.hi - search.lo = 1),
  cand as (
    select unnest(d.callback_seconds[coalesce(d.callback_below[j.j], 0) + 1 : coalesce(d.callback_below[j.j + 1], cardinality(d.callback_seconds)) + 1]) as s
    from days d, j
    union all
    select raw.s from raw, j where raw.s > coalesce((hotline_seconds_edges())[j.j], '-infinity')),
  pick as (select array_agg(p.s order by p.s) as v from (select cand.s from cand order by cand.s offset (select r.r1 - j.g from r, j) limit 2) p)
  select c.*, k.*, o.*, dd.*,
    (select (case when r.r2 = r.r1 then pick.v[1] else pick.v[1] + 0.5::float8 * (pick.v[2] - pick.v[1]) end)::float8 from r, pick)
  from (select count(*)::int,
          count(*) filter (where x.outcome in ('report', 'status'))::int,
          count(*) filter (where x.outcome = 'operator')::int,
          count(*) filter (where x.outcome = 'callback')::int,
          count(*) filter (where x.outcome in ('abandoned', 'no_answer', 'busy', 'failed'))::int,
          count(*) filter (where x.ended_at is null)::int,
          count(*) filter (where x.clue_id is not null)::int
        from "call" x where (x.started_at >= p_a1 and x.started_at < p_b1) or (x.started_at >= p_a2 and x.started_at < p_b2)) c,
    (select count(*) filter (where b.state <> 'cancelled')::int, count(*) filter (where b.state = 'done')::int
       from callback b where (b.created_at >= p_a1 and b.created_at < p_b1) or (b.created_at >= p_a2 and b.created_at < p_b2)) k,
    -- The open call-backs: all of them now, and those created in the settled days (which hotline_day
    -- leaves out, as they may still close): one pass over the open backlog's partial index.
    (select count(*)::int, count(*) filter (where b.due_at < p_now)::int, count(*) filter (where b.created_at >= p_start and b.created_at < p_end)::int
       from callback b where b.state = 'open') o,
    (select count(*)::int, coalesce(sum(days.calls), 0)::int, coalesce(sum(days.answered_by_ivr), 0)::int, coalesce(sum(days.reached_operator), 0)::int,
       coalesce(sum(days.callback_requested), 0)::int, coalesce(sum(days.abandoned), 0)::int, coalesce(sum(days.in_progress), 0)::int,
       coalesce(sum(days.reports), 0)::int, coalesce(sum(days.called_back), 0)::int
     from days) dd;
end
$fn$`);
  }
}
