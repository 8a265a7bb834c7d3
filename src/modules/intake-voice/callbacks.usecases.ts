import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import { type Em, type Orm, sql } from '../../app/db.ts';
import { forbidden } from '../../app/errors.ts';
import type { Logger } from '../../app/logger.ts';
import type { Metrics } from '../../app/metrics.ts';
import { StaffNotice } from '../deadlines/deadline.entity.ts';
import type { Principal } from '../staff/access.ts';
import { createHotlineUnit } from '../staff/hotline-unit.ts';
import { type CallbackRules, dueSteps, nextStepAt } from './callbacks.steps.ts';
import type { OwedCallbacks } from './callbacks.rules.ts';
import type { HotlineHashing } from './hotline.hashing.ts';
import { callbackClosed, callbackNoNumber, callbackNotFound } from './voice.errors.ts';
import { Callback, CallbackEvent, type callbackResults } from './voice.entity.ts';

/** Why a call-back is owed, for the staff notices (never anything about the caller). */
const reasonText: Record<string, { zh: string; en: string }> = {
  abandoned: { zh: '来电未获接听即挂断', en: 'hung up unanswered' },
  no_answer: { zh: '来电无人接听', en: 'not answered' },
  busy: { zh: '来电遇忙', en: 'line busy' },
  failed: { zh: '来电接续失败', en: 'call failed' },
  requested: { zh: '来电人要求回电', en: 'the caller asked for a call-back' },
};

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

/** Call-backs for the operators, and the hotline figures (computed from the call and call-back rows). */
export interface CallbackUseCasesDeps {
  orm: Orm;
  clock: Clock;
  logger: Logger;
  config: Pick<Config, 'HOTLINE_UNIT_CODE' | 'TIME_ZONE'>;
  metrics: Pick<Metrics, 'hotlineCalls' | 'hotlineCallbacks' | 'hotlineCallbackMedianSeconds'>;
  hashing: Pick<HotlineHashing, 'unsealText'>;
  owed: Pick<OwedCallbacks, 'callbackRules'>;
}

export function createCallbackUseCases(deps: CallbackUseCasesDeps) {
  const { orm, clock, logger } = deps;
  // Call-backs and their numbers belong to the hotline unit: its operators and supervisors, and admins.
  const hotlineUnit = createHotlineUnit(() => orm.em.fork(), deps.config.HOTLINE_UNIT_CODE);
  const assertHotline = async (p: Principal) => {
    if (!(await hotlineUnit.mayHandle(p))) throw forbidden();
  };

  function view(cb: Callback, now: Date) {
    return {
      id: cb.id,
      reason: cb.reason,
      calls: cb.calls,
      dueAt: cb.dueAt,
      state: cb.state,
      overdue: cb.state === 'open' && cb.dueAt.getTime() < now.getTime(),
      hasNumber: !!cb.numberBox,
      createdAt: cb.createdAt,
      doneAt: cb.doneAt ?? null,
      doneBy: cb.doneBy ?? null,
      result: cb.result ?? null,
      note: cb.note ?? null,
      overdueNotifiedAt: cb.overdueNotifiedAt ?? null,
      escalationLevel: cb.escalationLevel,
    };
  }

  /**
   * The hotline unit (HOTLINE_UNIT_CODE; unset: the root units), as its chain up the tree, itself
   * first: reminders go to its operators, the overdue notice to its supervisors, escalation level n
   * to the supervisors n levels up. Never the units where the caller may live or work.
   */
  async function operatorChains(_em: Em): Promise<string[][]> {
    const rows = await hotlineUnit.units();
    return rows.map((r) => r.path.split('/').filter(Boolean).reverse());
  }

  const zhTime = (at: Date) => new Intl.DateTimeFormat('zh-CN', { timeZone: deps.config.TIME_ZONE, dateStyle: 'medium', timeStyle: 'short' }).format(at);

  /** Takes the steps one call-back owes now, under its row lock; each is recorded on the row in the same transaction. */
  async function stepCallback(id: string, now: Date, rules: CallbackRules, chains: string[][], maxLevel: number): Promise<number> {
    return orm.em.fork().transactional(async (tx) => {
      const cb = await tx.findOne(Callback, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!cb) return 0;
      if (cb.state !== 'open') {
        cb.nextNoticeAt = null;
        return 0;
      }
      const steps = dueSteps(cb, rules, now, maxLevel);
      const why = reasonText[cb.reason] ?? { zh: cb.reason, en: cb.reason };
      const calls = { zh: cb.calls > 1 ? `，共${cb.calls}次来电` : '', en: cb.calls > 1 ? `, ${cb.calls} calls` : '' };
      let sent = 0;
      const notice = (unit: string, role: 'operator' | 'supervisor', kind: 'reminder' | 'missed' | 'escalated', zh: string, en: string) => {
        tx.create(StaffNotice, { id: randomUUID(), unit, role, staffId: null, clue: null, deadline: null, callbackId: cb.id, kind, textZh: zh.slice(0, 500), textEn: en.slice(0, 500), createdAt: now });
        sent++;
      };
      if (steps.remind) {
        for (const chain of chains) {
          notice(chain[0]!, 'operator', 'reminder', `提醒：回电任务将于 ${zhTime(cb.dueAt)} 到期（${why.zh}${calls.zh}）`, `Reminder: a call-back is due ${cb.dueAt.toISOString()} (${why.en}${calls.en})`);
        }
      }
      cb.remindersSent = steps.remindersSent;
      if (steps.overdue) {
        for (const chain of chains) {
          notice(chain[0]!, 'supervisor', 'missed', `超期：回电任务已于 ${zhTime(cb.dueAt)} 到期，仍未回电（${why.zh}${calls.zh}）`, `Overdue: a call-back was due ${cb.dueAt.toISOString()} and the caller has not been called back (${why.en}${calls.en})`);
        }
        cb.overdueNotifiedAt = now;
      }
      for (const level of steps.escalateTo) {
        for (const unit of new Set(chains.map((c) => c[level]).filter((u): u is string => !!u))) {
          notice(unit, 'supervisor', 'escalated', `督办：回电任务超期未办（应于 ${zhTime(cb.dueAt)} 前回电），已上报至本级`, `Escalated: a call-back overdue since ${cb.dueAt.toISOString()} is now with your unit`);
        }
        cb.escalationLevel = level;
      }
      cb.nextNoticeAt = nextStepAt(cb, rules, maxLevel);
      if (sent) logger.info({ callbackId: cb.id, reminded: steps.remind, overdue: steps.overdue, escalatedTo: cb.escalationLevel, notices: sent }, 'call-back notices');
      return sent;
    });
  }

  /**
   * The `hotline.sweep` job: reminders before a call-back falls due, the overdue notice, escalation
   * up the tree, per the policy's `callback` kind. Each step is recorded on the call-back row with
   * its notices, so repeated or concurrent runs, and runs after a Redis flush, never repeat one.
   */
  async function sendDueNotices(batch = 200) {
    const now = clock.now();
    const em = orm.em.fork();
    const rules = await deps.owed.callbackRules();
    const chains = await operatorChains(em);
    const maxLevel = Math.max(0, ...chains.map((c) => c.length - 1));
    let callbacks = 0;
    let notices = 0;
    for (let round = 0; round < 50; round++) {
      const rows = await sql<{ id: string }>(em, `select id from callback where state = 'open' and next_notice_at <= ? order by next_notice_at, id limit ?`, [now, batch]);
      for (const { id } of rows) notices += await stepCallback(id, now, rules, chains, maxLevel);
      callbacks += rows.length;
      if (rows.length < batch) break;
    }
    return { callbacks, notices };
  }

  async function list(principal: Principal, filter: { state: 'open' | 'done' | 'all'; overdue?: boolean; limit: number }) {
    await assertHotline(principal);
    const now = clock.now();
    const where: Record<string, unknown> = {};
    if (filter.state !== 'all') where.state = filter.state;
    if (filter.overdue) Object.assign(where, { state: 'open', dueAt: { $lt: now } });
    const rows = await orm.em.fork().find(Callback, where, { orderBy: { dueAt: 'asc', id: 'asc' }, limit: filter.limit });
    return rows.map((cb) => view(cb, now));
  }

  async function load(principal: Principal, id: string) {
    await assertHotline(principal);
    const row = await orm.em.fork().findOne(Callback, { id });
    if (!row) throw callbackNotFound();
    return view(row, clock.now());
  }

  /** The number to dial, for operators and supervisors; every view is an audit row. */
  async function number(principal: Principal, id: string) {
    await assertHotline(principal);
    return orm.em.fork().transactional(async (tx) => {
      const cb = await tx.findOne(Callback, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!cb) throw callbackNotFound();
      if (!cb.numberBox || cb.state !== 'open') throw callbackNoNumber();
      tx.create(CallbackEvent, { id: randomUUID(), callback: cb.id, staffId: principal.id, action: 'number_viewed', at: clock.now() });
      logger.info({ callbackId: cb.id, staffId: principal.id }, 'call-back number viewed');
      return { number: deps.hashing.unsealText(cb.numberBox, cb.id) };
    });
  }

  /** Done: the number is erased with it (nothing more to call). */
  async function complete(principal: Principal, id: string, input: { result: (typeof callbackResults)[number]; note?: string }) {
    await assertHotline(principal);
    const now = clock.now();
    const row = await orm.em.fork().transactional(async (tx) => {
      const cb = await tx.findOne(Callback, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!cb) throw callbackNotFound();
      if (cb.state !== 'open') throw callbackClosed();
      cb.state = 'done';
      cb.doneAt = now;
      cb.doneBy = principal.id;
      cb.result = input.result;
      cb.note = input.note ?? null;
      cb.numberBox = null;
      cb.nextNoticeAt = null;
      tx.create(CallbackEvent, { id: randomUUID(), callback: cb.id, staffId: principal.id, action: 'done', at: now });
      return cb;
    });
    logger.info({ callbackId: id, staffId: principal.id, result: input.result, minutes: Math.round((now.getTime() - row.createdAt.getTime()) / 60_000) }, 'call-back done');
    return view(row, now);
  }

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

  async function statsFor(principal: Principal, from: Date, to: Date) {
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

  return { list, load, number, complete, stats: statsFor, sampleMetrics, sendDueNotices };
}

export type CallbackUseCases = ReturnType<typeof createCallbackUseCases>;
