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

type DayFigures = { calls: number; answered_by_ivr: number; reached_operator: number; callback_requested: number; abandoned: number; in_progress: number; reports: number; called_back: number; seconds: number[] };
const DAY_SUMS = ['calls', 'answered_by_ivr', 'reached_operator', 'callback_requested', 'abandoned', 'in_progress', 'reports', 'called_back']
  .map((c) => `coalesce(sum(${c}), 0)::int as ${c}`)
  .join(', ');

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
 * stats query below, grouped by day.
 */
const FILL_DAYS = `insert into hotline_day (day, calls, answered_by_ivr, reached_operator, callback_requested, abandoned, in_progress, reports, called_back, callback_seconds, computed_at)
  select d.day, coalesce(c.calls, 0), coalesce(c.answered_by_ivr, 0), coalesce(c.reached_operator, 0), coalesce(c.callback_requested, 0),
    coalesce(c.abandoned, 0), coalesce(c.in_progress, 0), coalesce(c.reports, 0), coalesce(k.called_back, 0), coalesce(k.seconds, '{}'), ?
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
    select ${DAY_BIN('created_at')} as day, count(*) filter (where state = 'done') as called_back,
      array_agg(extract(epoch from done_at - created_at)::float8 order by done_at - created_at) filter (where state = 'done') as seconds
    from callback where created_at >= ? and created_at < ? and state <> 'open' group by 1) k on k.day = d.day
  where not exists (select 1 from hotline_day h where h.day = d.day)
  on conflict (day) do nothing`;

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
    const [calls] = await sql<Record<string, number>>(
      em,
      `select count(*)::int as calls,
         count(*) filter (where outcome in ('report', 'status'))::int as answered_by_ivr,
         count(*) filter (where outcome = 'operator')::int as reached_operator,
         count(*) filter (where outcome = 'callback')::int as callback_requested,
         count(*) filter (where outcome in ('abandoned', 'no_answer', 'busy', 'failed'))::int as abandoned,
         count(*) filter (where ended_at is null)::int as in_progress,
         count(*) filter (where clue_id is not null)::int as reports
       from "call" where ${ranges('started_at')}`,
      rawParams,
    );
    const [cbs] = await sql<{ created: number; called_back: number }>(
      em,
      `select count(*) filter (where state <> 'cancelled')::int as created, count(*) filter (where state = 'done')::int as called_back
       from callback where ${ranges('created_at')}`,
      rawParams,
    );
    // The open call-backs: all of them now, and those created in the settled days (which `hotline_day`
    // leaves out, as they may still close). One pass over the open backlog's partial index.
    const [open] = await sql<{ open: number; overdue: number; in_days: number }>(
      em,
      `select count(*)::int as open, count(*) filter (where due_at < ?)::int as overdue,
         count(*) filter (where created_at >= ? and created_at < ?)::int as in_days
       from callback where state = 'open'`,
      [now, days?.start ?? now, days?.end ?? now],
    );
    const rolled = days ? await hotlineDays(days.start, days.end, now) : null;
    const [median] = await sql<{ median: number | null }>(
      em,
      `select (percentile_cont(0.5) within group (order by s))::float8 as median from (
         select extract(epoch from done_at - created_at)::float8 as s from callback where state = 'done' and (${ranges('created_at')})
         union all
         select unnest(callback_seconds) from hotline_day where day >= ? and day < ?) x`,
      [...rawParams, days?.start ?? now, days?.end ?? now],
    );
    const sum = (k: keyof Omit<DayFigures, 'seconds'>, own: number | undefined) => (own ?? 0) + (rolled?.[k] ?? 0);
    return {
      from,
      to,
      calls: sum('calls', calls?.calls),
      answeredByIvr: sum('answered_by_ivr', calls?.answered_by_ivr),
      reachedOperator: sum('reached_operator', calls?.reached_operator),
      callbackRequested: sum('callback_requested', calls?.callback_requested),
      abandoned: sum('abandoned', calls?.abandoned),
      inProgress: sum('in_progress', calls?.in_progress),
      reports: sum('reports', calls?.reports),
      callbacksCreated: sum('called_back', cbs?.created) + (open?.in_days ?? 0),
      calledBack: sum('called_back', cbs?.called_back),
      callbacksOpen: open?.open ?? 0,
      callbacksOverdue: open?.overdue ?? 0,
      medianTimeToCallbackSeconds: median?.median == null ? null : Math.round(Number(median.median)),
    };
  }

  /**
   * The sums of `hotline_day` over [start, end), whole settled days; the days it lacks are counted
   * first, under an exclusive advisory lock that the late-change triggers take shared: a change that
   * commits while a day is counted either is seen by the count or drops the row after it.
   */
  async function hotlineDays(start: Date, end: Date, now: Date): Promise<Omit<DayFigures, 'seconds'>> {
    const expected = Math.round((end.getTime() - start.getTime()) / DAY_MS);
    const read = async () =>
      (
        await sql<Omit<DayFigures, 'seconds'> & { n: number }>(
          orm.em.fork(),
          `select count(*)::int as n, ${DAY_SUMS} from hotline_day where day >= ? and day < ?`,
          [start, end],
        )
      )[0]!;
    const first = await read();
    if (first.n === expected) return first;
    await orm.em.fork().transactional(async (tx) => {
      await sql(tx, `select pg_advisory_xact_lock(hashtextextended('hotline_day', 0))`);
      await sql(tx, FILL_DAYS, [now, start, new Date(end.getTime() - DAY_MS), start, end, start, end]);
    });
    return read();
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
