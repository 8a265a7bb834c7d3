import type { Clock } from '../../app/clock.ts';
import { type Orm, sql } from '../../app/db.ts';
import { forbidden } from '../../app/errors.ts';
import type { Metrics } from '../../app/metrics.ts';
import type { StaffCall } from '../staff/access.ts';

export interface HotlineStats {
  from: Date;
  to: Date;
  calls: number;
  /** Ended with a registered report or a status answer, without staff. */
  answeredByIvr: number;
  reachedOperator: number;
  /** The caller asked for a call-back. */
  callbackRequested: number;
  /** Ended with nothing: hung up in the menu, or busy / no answer / failed. */
  abandoned: number;
  inProgress: number;
  reports: number;
  callbacksCreated: number;
  /** Call-backs (created in the window) done. */
  calledBack: number;
  callbacksOpen: number;
  callbacksOverdue: number;
  /** From the missed call to the call-back being done, for call-backs created in the window. */
  medianTimeToCallbackSeconds: number | null;
}

const DAY_MS = 86_400_000;
/** Shanghai midnight, the days' origin (also in the migration's trigger function: keep the two the same). */
const DAY_ORIGIN = Date.parse('2000-01-01T00:00:00+08:00');
const DAY_BIN = (col: string) => `date_bin('1 day', ${col}, timestamptz '2000-01-01 00:00:00+08')`;
/** A day is rolled up once it ended this long ago (the triggers watch changes a day after the fact). */
const SETTLED_AFTER_MS = 2 * DAY_MS;

type DayFigures = { calls: number; answered_by_ivr: number; reached_operator: number; callback_requested: number; abandoned: number; in_progress: number; reports: number; called_back: number };
const DAY_COLUMNS = ['calls', 'answered_by_ivr', 'reached_operator', 'callback_requested', 'abandoned', 'in_progress', 'reports', 'called_back'] as const;

/**
 * The fixed edges of the call-backs' durations (seconds, 1/8-octave steps from 32 s to 194 days):
 * `hotline_day.callback_below[i]` is how many of the day's done call-backs took at most `EDGES[i]`
 * seconds. The median is found by a binary search over these edges, then sorted within its bucket
 * (the `stats` statement below). The rows hold counts for these very edges: changing them needs a
 * migration that deletes the rows (migration 20261207000000).
 */
export const EDGES: readonly number[] = Array.from({ length: 153 }, (_, i) => Math.round(2 ** ((40 + i) / 8)));
const EDGES_SQL = `'{${EDGES.join(',')}}'::float8[]`;

/** The whole settled days inside [from, to), or null when there is not one. */
export function settledDays(from: Date, to: Date, now: Date): { start: Date; end: Date } | null {
  const floor = (t: number) => DAY_ORIGIN + Math.floor((t - DAY_ORIGIN) / DAY_MS) * DAY_MS;
  const start = floor(from.getTime() + DAY_MS - 1);
  const end = Math.min(floor(to.getTime()), floor(now.getTime() - SETTLED_AFTER_MS));
  return end - start >= DAY_MS ? { start: new Date(start), end: new Date(end) } : null;
}

/**
 * Counts the days of the series that `hotline_day` lacks (with zeros for a day without calls, so it is
 * not counted again): the calls that started that day, and its call-backs that are closed (the open
 * ones are counted live; one that closes late drops the day). Each day's figures are those of the
 * stats query below, grouped by day; the done call-backs' seconds sorted, and their counts at most
 * each edge (`width_bucket` over the sorted array: the number of elements at most the edge).
 */
const FILL_DAYS = `insert into hotline_day (day, calls, answered_by_ivr, reached_operator, callback_requested, abandoned, in_progress, reports, called_back, callback_seconds, callback_below, computed_at)
  select d.day, coalesce(c.calls, 0), coalesce(c.answered_by_ivr, 0), coalesce(c.reached_operator, 0), coalesce(c.callback_requested, 0),
    coalesce(c.abandoned, 0), coalesce(c.in_progress, 0), coalesce(c.reports, 0), coalesce(k.called_back, 0), coalesce(k.seconds, '{}'),
    array(select width_bucket(e, coalesce(k.seconds, '{}')) from unnest(${EDGES_SQL}) with ordinality x(e, o) order by o), ?
  from generate_series(?::timestamptz, ?::timestamptz, interval '24 hours') d(day)
  left join (
    select ${DAY_BIN('started_at')} as day, count(*) as calls,
      count(*) filter (where outcome in ('report', 'status')) as answered_by_ivr,
      count(*) filter (where outcome = 'operator') as reached_operator,
      count(*) filter (where outcome = 'callback') as callback_requested,
      count(*) filter (where outcome in ('abandoned', 'no_answer', 'busy', 'failed')) as abandoned,
      count(*) filter (where ended_at is null) as in_progress,
      count(*) filter (where clue_id is not null) as reports
    from "call" where started_at >= ? and started_at < ? group by 1) c on c.day = d.day
  left join (
    select day, count(*) filter (where state = 'done') as called_back, array_agg(s order by s) filter (where state = 'done' and s is not null) as seconds
    from (select ${DAY_BIN('created_at')} as day, state, extract(epoch from done_at - created_at)::float8 as s
          from callback where created_at >= ? and created_at < ? and state <> 'open') cb
    group by 1) k on k.day = d.day
  where not exists (select 1 from hotline_day h where h.day = d.day)
  on conflict (day) do nothing`;

/**
 * The figures in one statement (bench/README "staff-reads": five statements before, and the median
 * sorted every done call-back of the window, ~72 000 a year at 10⁶ clues, 12–16 ms of PostgreSQL).
 * `ranges(col)` is the raw part of the window (the partial first day, the days not yet settled);
 * `days` the settled days' rows. The median is `percentile_cont(0.5)`'s: the values of ranks
 * ⌊(n−1)/2⌋ and ⌈(n−1)/2⌉ (0-based) of the done call-backs, interpolated as PostgreSQL does
 * (lo + 0.5 · (hi − lo)). `search` is a binary search over the edges for the bucket (EDGES[j],
 * EDGES[j+1]] holding rank r1: G(i), the number of values at most EDGES[i], is the sum of one
 * element per day plus the raw values counted; G(0) = 0 and G(B+1) = n. `cand` is that bucket's
 * values (each day's array sliced by its counts, its next value above the bucket too) and the raw
 * values above EDGES[j]: the value of rank r is the one of rank r − G(j) among them, r2 included
 * when it is the first value past the bucket (a done call-back without `done_at` has no duration,
 * and is left out as percentile_cont leaves out nulls). Parameters: the raw ranges thrice (calls, call-backs,
 * the raw durations), now, the settled days' start and end twice (open call-backs, days).
 * The open call-backs (`o`): all of them now, and those created in the settled days (which
 * `hotline_day` leaves out, as they may still close), in one pass over the open backlog's partial
 * index `callback_open_due_index`.
 */
const STATS = (ranges: (col: string) => string) => `with recursive
  days as materialized (select ${DAY_COLUMNS.join(', ')}, callback_below, callback_seconds from hotline_day where day >= ? and day < ?),
  raw as materialized (select extract(epoch from done_at - created_at)::float8 as s from callback where state = 'done' and done_at is not null and (${ranges('created_at')})),
  r as materialized (select (n - 1) / 2 as r1, n / 2 as r2 from (select (select count(*) from raw)::int + (select coalesce(sum(cardinality(callback_seconds)), 0) from days)::int as n offset 0) t where n > 0),
  search(lo, glo, hi) as (
    select 0, 0, ${EDGES.length + 1} from r
    union all
    select case when m.g <= m.r1 then m.mid else m.lo end, case when m.g <= m.r1 then m.g else m.glo end, case when m.g <= m.r1 then m.hi else m.mid end
    from (select s.*, r.r1, (select coalesce(sum(callback_below[s.mid]), 0) from days)::int + (select count(*) from raw where raw.s <= (${EDGES_SQL})[s.mid])::int as g
          from (select lo, glo, hi, (lo + hi) / 2 as mid from search where hi - lo > 1) s, r offset 0) m),
  j as materialized (select lo as j, glo as g from search where hi - lo = 1),
  cand as (
    select unnest(d.callback_seconds[coalesce(d.callback_below[j.j], 0) + 1 : coalesce(d.callback_below[j.j + 1], cardinality(d.callback_seconds)) + 1]) as s from days d, j
    union all
    select raw.s from raw, j where raw.s > coalesce((${EDGES_SQL})[j.j], '-infinity')),
  pick as (select array_agg(s order by s) as v from (select s from cand order by s offset (select r1 - g from r, j) limit 2) p)
  select c.*, k.*, o.*, d.*,
    (select (case when r.r2 = r.r1 then pick.v[1] else pick.v[1] + 0.5::float8 * (pick.v[2] - pick.v[1]) end)::float8 from r, pick) as median
  from (select count(*)::int as calls,
          count(*) filter (where outcome in ('report', 'status'))::int as answered_by_ivr,
          count(*) filter (where outcome = 'operator')::int as reached_operator,
          count(*) filter (where outcome = 'callback')::int as callback_requested,
          count(*) filter (where outcome in ('abandoned', 'no_answer', 'busy', 'failed'))::int as abandoned,
          count(*) filter (where ended_at is null)::int as in_progress,
          count(*) filter (where clue_id is not null)::int as reports
        from "call" where ${ranges('started_at')}) c,
    (select count(*) filter (where state <> 'cancelled')::int as created, count(*) filter (where state = 'done')::int as raw_called_back
       from callback where ${ranges('created_at')}) k,
    (select count(*)::int as open, count(*) filter (where due_at < ?)::int as overdue,
       count(*) filter (where created_at >= ? and created_at < ?)::int as in_days
     from callback where state = 'open') o,
    (select count(*)::int as rolled_days, ${DAY_COLUMNS.map((c) => `coalesce(sum(${c}), 0)::int as rolled_${c}`).join(', ')} from days) d`;

type Row = Omit<DayFigures, 'called_back'> & { [K in (typeof DAY_COLUMNS)[number] as `rolled_${K}`]: number } & {
  created: number;
  raw_called_back: number;
  open: number;
  overdue: number;
  in_days: number;
  rolled_days: number;
  median: number | null;
};

export interface HotlineStatsUseCasesDeps {
  orm: Orm;
  clock: Clock;
  metrics: Pick<Metrics, 'hotlineCalls' | 'hotlineCallbacks' | 'hotlineCallbackMedianSeconds'>;
}

/** The hotline figures, computed from the call and call-back rows (and the settled days' roll-up). */
export function createHotlineStatsUseCases(deps: HotlineStatsUseCasesDeps) {
  const { orm, clock } = deps;

  /**
   * The settled whole days of [from, to) — Shanghai days that ended two days before now — counted
   * from `hotline_day` (filled here for the days it does not hold yet), and the rest of the window
   * from the rows. A year's figures thus read ~365 small rows and two or three days of calls, not
   * every call of the year (bench/README "staff-reads"). Calls and call-backs hardly change once a
   * day has passed; when one does, a trigger drops its day's row (migration 20261204520000).
   */
  async function stats(from: Date, to: Date): Promise<HotlineStats> {
    const em = orm.em.fork();
    const now = clock.now();
    const days = settledDays(from, to, now);
    const raw: [Date, Date][] = days ? ([[from, days.start], [days.end, to]] as [Date, Date][]).filter(([a, b]) => a < b) : [[from, to]];
    // `(col >= ? and col < ?) or …` over the raw ranges (false when the window is all settled days).
    const ranges = (col: string) => (raw.length ? raw.map(() => `(${col} >= ? and ${col} < ?)`).join(' or ') : 'false');
    const rawParams = raw.flat();
    const [start, end] = [days?.start ?? now, days?.end ?? now];
    const read = async () =>
      (await sql<Row>(em, STATS(ranges), [start, end, ...rawParams, ...rawParams, ...rawParams, now, start, end]))[0]!;
    let row = await read();
    const expected = days ? Math.round((days.end.getTime() - days.start.getTime()) / DAY_MS) : 0;
    if (row.rolled_days !== expected) {
      await fillDays(start, end, now);
      row = await read();
    }
    const sum = (k: (typeof DAY_COLUMNS)[number], own: number) => own + row[`rolled_${k}`];
    return {
      from,
      to,
      calls: sum('calls', row.calls),
      answeredByIvr: sum('answered_by_ivr', row.answered_by_ivr),
      reachedOperator: sum('reached_operator', row.reached_operator),
      callbackRequested: sum('callback_requested', row.callback_requested),
      abandoned: sum('abandoned', row.abandoned),
      inProgress: sum('in_progress', row.in_progress),
      reports: sum('reports', row.reports),
      callbacksCreated: sum('called_back', row.created) + row.in_days,
      calledBack: sum('called_back', row.raw_called_back),
      callbacksOpen: row.open,
      callbacksOverdue: row.overdue,
      medianTimeToCallbackSeconds: row.median == null ? null : Math.round(Number(row.median)),
    };
  }

  /**
   * Counts the days of [start, end) that `hotline_day` lacks, under an exclusive advisory lock that
   * the late-change triggers take shared: a change that commits while a day is counted either is
   * seen by the count or drops the row after it.
   */
  async function fillDays(start: Date, end: Date, now: Date): Promise<void> {
    await orm.em.fork().transactional(async (tx) => {
      await sql(tx, `select pg_advisory_xact_lock(hashtextextended('hotline_day', 0))`);
      await sql(tx, FILL_DAYS, [now, start, new Date(end.getTime() - DAY_MS), start, end, start, end]);
    });
  }

  async function statsFor({ ctx, input: { from, to } }: StaffCall<{ from: Date; to: Date }>) {
    const { principal } = ctx;
    // Figures only, nothing about a caller: any operator, supervisor or admin.
    if (principal.role !== 'operator' && principal.role !== 'supervisor' && principal.role !== 'admin') throw forbidden();
    return stats(from, to);
  }

  /** The /metrics gauges: the last 24 hours, and the call-backs owed now. */
  async function sampleMetrics() {
    const now = clock.now();
    const s = await stats(new Date(now.getTime() - 86_400_000), now);
    const g = deps.metrics.hotlineCalls;
    g.set({ figure: 'calls' }, s.calls);
    g.set({ figure: 'answered_by_ivr' }, s.answeredByIvr);
    g.set({ figure: 'reached_operator' }, s.reachedOperator);
    g.set({ figure: 'callback_requested' }, s.callbackRequested);
    g.set({ figure: 'abandoned' }, s.abandoned);
    g.set({ figure: 'callbacks_created' }, s.callbacksCreated);
    g.set({ figure: 'called_back' }, s.calledBack);
    deps.metrics.hotlineCallbacks.set({ state: 'open' }, s.callbacksOpen);
    deps.metrics.hotlineCallbacks.set({ state: 'overdue' }, s.callbacksOverdue);
    if (s.medianTimeToCallbackSeconds != null) deps.metrics.hotlineCallbackMedianSeconds.set(s.medianTimeToCallbackSeconds);
    return s;
  }

  return { stats: statsFor, sampleMetrics };
}

export type HotlineStatsUseCases = ReturnType<typeof createHotlineStatsUseCases>;
