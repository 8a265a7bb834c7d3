import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import { type Em, type Orm, sql } from '../../app/db.ts';
import { forbidden } from '../../app/errors.ts';
import type { Logger } from '../../app/logger.ts';
import { StaffNotice } from '../deadlines/deadline.entity.ts';
import type { Principal, StaffCall } from '../staff/access.ts';
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

export interface CallbackUseCasesDeps {
  orm: Orm;
  clock: Clock;
  logger: Logger;
  config: Pick<Config, 'HOTLINE_UNIT_CODE' | 'TIME_ZONE'>;
  hashing: Pick<HotlineHashing, 'unsealText'>;
  owed: Pick<OwedCallbacks, 'callbackRules'>;
}

/** Call-backs for the operators: the list, the number to dial, done; the reminder and escalation sweep (the figures: hotline-stats.usecases.ts). */
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

  async function list({ ctx, input: filter }: StaffCall<{ state: 'open' | 'done' | 'all'; overdue?: boolean; limit: number }>) {
    await assertHotline(ctx.principal);
    const now = ctx.clock.now();
    const where: Record<string, unknown> = {};
    if (filter.state !== 'all') where.state = filter.state;
    if (filter.overdue) Object.assign(where, { state: 'open', dueAt: { $lt: now } });
    const rows = await ctx.em.find(Callback, where, { orderBy: { dueAt: 'asc', id: 'asc' }, limit: filter.limit });
    return rows.map((cb) => view(cb, now));
  }

  async function load({ ctx, input: { id } }: StaffCall<{ id: string }>) {
    await assertHotline(ctx.principal);
    const row = await ctx.em.findOne(Callback, { id });
    if (!row) throw callbackNotFound();
    return view(row, ctx.clock.now());
  }

  /** The number to dial, for operators and supervisors; every view is an audit row. */
  async function number({ ctx, input: { id } }: StaffCall<{ id: string }>) {
    const { principal } = ctx;
    await assertHotline(principal);
    return ctx.em.transactional(async (tx) => {
      const cb = await tx.findOne(Callback, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!cb) throw callbackNotFound();
      if (!cb.numberBox || cb.state !== 'open') throw callbackNoNumber();
      tx.create(CallbackEvent, { id: randomUUID(), callback: cb.id, staffId: principal.id, action: 'number_viewed', at: ctx.clock.now() });
      ctx.logger.info({ callbackId: cb.id, staffId: principal.id }, 'call-back number viewed');
      return { number: deps.hashing.unsealText(cb.numberBox, cb.id) };
    });
  }

  /** Done: the number is erased with it (nothing more to call). */
  async function complete({ ctx, input: { id, ...input } }: StaffCall<{ id: string; result: (typeof callbackResults)[number]; note?: string }>) {
    const { principal } = ctx;
    await assertHotline(principal);
    const now = ctx.clock.now();
    const row = await ctx.em.transactional(async (tx) => {
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
    ctx.logger.info({ callbackId: id, staffId: principal.id, result: input.result, minutes: Math.round((now.getTime() - row.createdAt.getTime()) / 60_000) }, 'call-back done');
    return view(row, now);
  }

  return { list, load, number, complete, sendDueNotices };
}

export type CallbackUseCases = ReturnType<typeof createCallbackUseCases>;
