import type { Clock } from '../../app/clock.ts';
import { type Orm, sql, sqlBound } from '../../app/db.ts';
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

/** A settled day's figures in `hotline_day`, summed over the days by `hotline_stats_read` as `rolled_…`. */
type DayColumn = 'calls' | 'answered_by_ivr' | 'reached_operator' | 'callback_requested' | 'abandoned' | 'in_progress' | 'reports' | 'called_back';

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
 * stats read, grouped by day; the done call-backs' seconds sorted, and how many are at most each of
 * the median's edges (`width_bucket` over the sorted array: the number of elements at most the edge;
 * migration 20261207000000).
 */
const FILL_DAYS = `insert into hotline_day (day, calls, answered_by_ivr, reached_operator, callback_requested, abandoned, in_progress, reports, called_back, callback_seconds, callback_below, computed_at)
  select d.day, coalesce(c.calls, 0), coalesce(c.answered_by_ivr, 0), coalesce(c.reached_operator, 0), coalesce(c.callback_requested, 0),
    coalesce(c.abandoned, 0), coalesce(c.in_progress, 0), coalesce(c.reports, 0), coalesce(k.called_back, 0), coalesce(k.seconds, '{}'),
    array(select width_bucket(e, coalesce(k.seconds, '{}')) from unnest(hotline_seconds_edges()) with ordinality x(e, o) order by o), ?
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

/** The row of `hotline_stats_read`: the raw part's counts, the open call-backs, the days' sums, the median. */
type Row = { [K in Exclude<DayColumn, 'called_back'>]: number } & { [K in DayColumn as `rolled_${K}`]: number } & {
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
    const [start, end] = [days?.start ?? now, days?.end ?? now];
    // The raw ranges, two of them always (an empty one for a part the window does not have).
    const [[a1, b1], [a2, b2]] = [...raw, [now, now], [now, now]] as [[Date, Date], [Date, Date]];
    // One read (migration 20261207000000, `hotline_stats_read`): the raw ranges' calls and call-backs,
    // the open call-backs, the settled days' sums and the median across both.
    const read = async () => (await sqlBound<Row>(em, 'select * from hotline_stats_read($1, $2, $3, $4, $5, $6, $7)', [start, end, a1, b1, a2, b2, now]))[0]!;
    let row = await read();
    const expected = days ? Math.round((days.end.getTime() - days.start.getTime()) / DAY_MS) : 0;
    if (row.rolled_days !== expected) {
      await fillDays(start, end, now);
      row = await read();
    }
    const sum = (k: DayColumn, own: number) => own + row[`rolled_${k}`];
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
