import { type Em, sql } from '../../app/db.ts';
import { problemTypes } from '../clues/clue.entity.ts';
import { civilAffairsAccusedRoles, disposedStatuses } from './statistics.definitions.ts';

/**
 * The self-inspection table's per-day roll-up (`annex_unit_day`, migration 20261205100000).
 *
 * The table's figures of a period are sums over clues (by 受理时间) and over latest conclusions (by
 * their time), per line. Both are split here by local day and clue unit: a settled day — one before
 * today — is summed once into `annex_unit_day` and read from there; today and later are read live
 * from the rows. Sums of sums are the same sums (numeric, exact), so the table is the same table.
 *
 * A settled day's figures still change: a clue received that day is accepted, concluded, merged,
 * reopened, gets an accused official; a conclusion of that day is undone by a review. Every such
 * change writes a ledger event of the clue in its own transaction (the ledger's rule; verify-ledger
 * holds the clue row to its events, and accused and conclusions are written beside theirs). So the
 * roll-up keeps a watermark — the xmin of the snapshot its last fill started from: every transaction
 * below it had finished and was seen — and before each use drops every day that an event at or
 * above the watermark touches (the clue's day of receipt and the days of its conclusions), then
 * fills the days it lacks and moves the watermark up. A change that commits while this runs has a
 * transaction id at or above the new watermark, so the next use drops its days again: nothing is
 * missed, and nothing is added to the registration or any other write (the events and the
 * `ledger_event_txid_index` are there already). Fills take an exclusive advisory lock, so two never
 * interleave.
 */

const LOCK = `select pg_advisory_xact_lock(hashtextextended('annex_day', 0))`;
const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');
const CIVIL_ROLES = list(civilAffairsAccusedRoles);
const DISPOSED = list(disposedStatuses);

/** The summed columns, in order: counts of received clues, then the figures of conclusions. */
export const figureColumns = [
  'civil_clues',
  'civil_disposed',
  'petitions',
  'petitions_disposed',
  ...problemTypes.flatMap((t) => [`${t}_people`, `${t}_funds`]),
  'single_fix',
  'custody',
  'untyped_clues',
  'untyped_people',
  'untyped_funds',
] as const;
export type FigureColumn = (typeof figureColumns)[number];

const zeros = (cols: readonly string[]) => cols.map((c) => `0 as ${c}`).join(', ');
const num = (path: string) => `coalesce((o.outcome${path})::numeric, 0)`;

/** The civil-affairs and disposed tests of clue `c`, once a clue (\`offset 0\` keeps the lateral apart). */
const CIVIL_TEST = `cross join lateral (select exists (select 1 from accused a where a.clue_id = c.id and a.role in (${CIVIL_ROLES})) as civil,
  c.status in (${DISPOSED}) as disposed offset 0) f`;

/**
 * Received clues' figures, aggregated (over `c` and its CIVIL_TEST `f`), in column order; the
 * caller leaves merged clues out (`c.status <> 'merged'`) and groups.
 */
const RECEIVED = `count(*) filter (where f.civil)::int as civil_clues, count(*) filter (where f.civil and f.disposed)::int as civil_disposed,
  count(*) filter (where not f.civil)::int as petitions, count(*) filter (where not f.civil and f.disposed)::int as petitions_disposed,
  ${zeros(figureColumns.slice(4))}`;

/** Latest conclusions' figures, aggregated (over `o`, of clues that stand concluded), in column order. */
const UNTYPED = `o.outcome->'byType' is null`;
const CONCLUDED = `${zeros(figureColumns.slice(0, 4))},
  ${problemTypes.map((t) => `sum(${num(`->'byType'->'${t}'->>'people'`)}) as ${t}_people, sum(${num(`->'byType'->'${t}'->>'fundsYuan'`)}) as ${t}_funds`).join(',\n  ')},
  sum(${num(`->>'enrolledAfterSingleFix'`)}) as single_fix, sum(${num(`->>'cardCustodyCases'`)}) as custody,
  count(*) filter (where ${UNTYPED})::int as untyped_clues,
  coalesce(sum(${num(`->>'peopleRemoved'`)}) filter (where ${UNTYPED}), 0) as untyped_people,
  coalesce(sum(${num(`->>'fundsRecoveredYuan'`)}) filter (where ${UNTYPED}), 0) as untyped_funds`;

const SUMS = figureColumns.map((c) => `sum(${c}) as ${c}`).join(', ');

/**
 * Fills the days of one run [from, to] of consecutive local dates (params: time zone, the run's
 * first instant, the instant after it, the same three again, now, the first and last dates). Plain
 * ranges with the instants as values, so the estimates are those of the rows read. A day and unit
 * gets a row for its received clues and one for its conclusions (the reads sum them anyway).
 */
const FILL = `with figures as (insert into annex_unit_day (day, unit_id, ${figureColumns.join(', ')})
    select (c.received_at at time zone ?)::date, c.unit_id, ${RECEIVED}
      from clue c ${CIVIL_TEST}
     where c.received_at >= ? and c.received_at < ? and c.status <> 'merged'
     group by 1, 2
    union all
    select (o.concluded_at at time zone ?)::date, c.unit_id, ${CONCLUDED}
      from clue_conclusion o join clue c on c.id = o.clue_id
     where o.concluded_at >= ? and o.concluded_at < ? and c.status in (${DISPOSED})
     group by 1, 2
    returning 1)
  insert into annex_day (day, computed_at) select g::date, ? from generate_series(?::date, ?::date, interval '1 day') g on conflict (day) do nothing`;

/**
 * Drops the days touched by the ledger events at or above the watermark (params: watermark, time
 * zone ×3): each such event's clue's day of receipt, the days of its conclusion events, and the day
 * of its current conclusion row.
 */
const INVALIDATE = `with ev as (select distinct clue_id from ledger_event where txid >= ?::xid8 and clue_id is not null),
  touched as (
    select (c.received_at at time zone ?)::date as day from ev join clue c on c.id = ev.clue_id
    union
    select (e.at at time zone ?)::date from ev join ledger_event e on e.clue_id = ev.clue_id
     where e.type = 'clue.status_changed' and e.data->>'to' = 'concluded'
    union
    select (o.concluded_at at time zone ?)::date from ev join clue_conclusion o on o.clue_id = ev.clue_id),
  gone as (delete from annex_day a using touched t where a.day = t.day returning a.day),
  figures as (delete from annex_unit_day r using gone g where r.day = g.day)
  select count(*)::int as n from gone`;

/**
 * Brings the roll-up up to date for the settled days [from, to] (local dates, inclusive), in the
 * caller's transaction, which then holds the roll-up's lock: read the days' rows in it.
 */
export async function ensureRollup(
  tx: Em,
  q: { from: string; to: string; timeZone: string; startOfDate: (date: string) => Date; now: Date },
): Promise<{ filledDays: number; droppedDays: number }> {
  const { from, to, timeZone, now } = q;
  await sql(tx, LOCK);
  // The fill's per-day joins are estimated far above what they read (a day of clues each): left to
  // itself PostgreSQL JIT-compiles them, ~1 s spent before a ~60 ms statement runs (3·10⁴ clues).
  await sql(tx, 'set local jit = off');
  // A year's fill groups ~300 000 clues by day and unit (10⁶ clues): in memory, not in batches on disk.
  await sql(tx, `set local work_mem = '64MB'`);
  // Taken before anything is read: every transaction below it has finished and is seen below.
  const [snap] = await sql<{ xmin: string }>(tx, 'select pg_snapshot_xmin(pg_current_snapshot())::text as xmin');
  const [state] = await sql<{ watermark: string; time_zone: string }>(tx, 'select watermark::text as watermark, time_zone from annex_rollup where id = 1');
  let droppedDays = 0;
  if (!state || state.time_zone !== timeZone) {
    // A first fill (or days counted in another zone): whatever is there is not known to be current.
    await sql(tx, 'delete from annex_unit_day');
    await sql(tx, 'delete from annex_day');
  } else {
    const [gone] = await sql<{ n: number }>(tx, INVALIDATE, [state.watermark, timeZone, timeZone, timeZone]);
    droppedDays = gone?.n ?? 0;
  }
  const missing = await sql<{ day: string }>(
    tx,
    `select to_char(g.day, 'YYYY-MM-DD') as day from generate_series(?::date, ?::date, interval '1 day') g(day)
      where not exists (select 1 from annex_day a where a.day = g.day::date) order by 1`,
    [from, to],
  );
  for (const [first, last] of runs(missing.map((m) => m.day))) {
    const [start, end] = [q.startOfDate(first), q.startOfDate(shiftDay(last, 1))];
    await sql(tx, FILL, [timeZone, start, end, timeZone, start, end, now, first, last]);
  }
  await sql(
    tx,
    `insert into annex_rollup (id, watermark, time_zone, filled_at) values (1, ?::xid8, ?, ?)
       on conflict (id) do update set watermark = excluded.watermark, time_zone = excluded.time_zone, filled_at = excluded.filled_at`,
    [snap!.xmin, timeZone, now],
  );
  return { filledDays: missing.length, droppedDays };
}

/** Sorted local dates as runs of consecutive days [first, last]. */
function runs(days: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (const day of days) {
    const run = out.at(-1);
    if (run && shiftDay(run[1], 1) === day) run[1] = day;
    else out.push([day, day]);
  }
  return out;
}

export function shiftDay(date: string, days: number): string {
  const d = new Date(`${date}T00:00:00Z`);
  d.setUTCDate(d.getUTCDate() + days);
  return d.toISOString().slice(0, 10);
}

/**
 * The period's figures per line key (`keyOf`, an SQL expression over `u.path`), in one statement:
 * the roll-up's days [rolledFrom, rolledTo] (local dates, inclusive; none when rolledFrom > rolledTo)
 * and the rows of [liveFromAt, liveToAt). `scope(col)` is the SQL condition on `u` (and the clue's
 * unit column `col`) with its parameters.
 */
export function periodFigures(
  em: Em,
  q: { keyOf: string; scope: (col: string) => string; scopeParams: unknown[]; rolledFrom: string; rolledTo: string; liveFromAt: Date; liveToAt: Date },
): Promise<(Record<FigureColumn, string | number> & { k: string })[]> {
  return sql(
    em,
    `select k, ${SUMS} from (
       select ${q.keyOf} as k, ${SUMS}
         from annex_unit_day r left join unit u on u.id = r.unit_id
        where r.day >= ?::date and r.day <= ?::date and ${q.scope('r.unit_id')}
        group by 1
       union all
       select ${q.keyOf} as k, ${RECEIVED}
         from clue c left join unit u on u.id = c.unit_id ${CIVIL_TEST}
        where c.received_at >= ? and c.received_at < ? and c.status <> 'merged' and ${q.scope('c.unit_id')}
        group by 1
       union all
       select ${q.keyOf} as k, ${CONCLUDED}
         from clue_conclusion o join clue c on c.id = o.clue_id left join unit u on u.id = c.unit_id
        where o.concluded_at >= ? and o.concluded_at < ? and c.status in (${DISPOSED}) and ${q.scope('c.unit_id')}
        group by 1
     ) x group by k`,
    [q.rolledFrom, q.rolledTo, ...q.scopeParams, q.liveFromAt, q.liveToAt, ...q.scopeParams, q.liveFromAt, q.liveToAt, ...q.scopeParams],
  );
}
