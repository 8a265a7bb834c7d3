import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import { type Em, type Orm, sql } from '../../app/db.ts';
import { forbidden } from '../../app/errors.ts';
import type { Logger } from '../../app/logger.ts';
import { Clue } from '../clues/clue.entity.ts';
import { type Actor, appendAuditEvent, appendEvent, canonicalJson, sha256Hex } from '../clues/ledger.ts';
import { Message } from '../messages/message.entity.ts';
import { automaticMessage } from '../messages/messages.automatic.ts';
import { formatDay } from '../../app/templates.ts';
import type { Principal, StaffCall } from '../staff/access.ts';
import { Unit } from '../staff/unit.entity.ts';
import { activeStates, Deadline, DeadlinePolicyVersion, type PolicySnapshot, StaffNotice } from './deadline.entity.ts';
import { addPeriod, firstStepFrom, snapshotOf, stepOf, type WorkCalendar } from './deadlines.engine.ts';
import { approvalRequired, deadlineClosed, deadlineNotFound, extensionNotAllowed, invalidPolicy, pauseNotAllowed } from './deadlines.errors.ts';
import { type DeadlinePolicy, effectsOf, policySchema } from './policy.ts';
import { canSeeClue, deadlineUnitPrefilter, visibleClues } from '../visibility/visibility.ts';

export interface DeadlineDeps {
  orm: Orm;
  clock: Clock;
  logger: Logger;
  calendar: WorkCalendar;
  basePolicy: DeadlinePolicy;
}

/** A row of the deadline views (the columns `view` shows). */
const LIST_COLUMNS = `d.id, d.clue_id, d.kind, d.policy->'kind'->>'zh' as zh, d.policy->'kind'->>'en' as en, d.policy->>'version' as policy_version,
  d.state, d.starts_at, d.due_at, d.original_due_at, d.closed_at, d.paused_at is not null as paused, d.extensions, d.escalation_level, d.unit_id`;

const date = (v: Date | string | null) => (v === null ? null : new Date(v));
function listView(d: ListRow) {
  return {
    id: d.id,
    clueId: d.clue_id,
    kind: d.kind,
    zh: d.zh,
    en: d.en,
    state: d.state,
    startsAt: date(d.starts_at)!,
    dueAt: date(d.due_at)!,
    originalDueAt: date(d.original_due_at)!,
    closedAt: date(d.closed_at),
    paused: d.paused,
    extensions: d.extensions,
    escalationLevel: d.escalation_level,
    unitId: d.unit_id,
    policyVersion: d.policy_version,
  };
}

interface ListRow {
  id: string;
  clue_id: string;
  kind: string;
  zh: string;
  en: string;
  policy_version: string;
  state: Deadline['state'];
  starts_at: Date | string;
  due_at: Date | string;
  original_due_at: Date | string;
  closed_at: Date | string | null;
  paused: boolean;
  extensions: number;
  escalation_level: number;
  unit_id: string | null;
}

type ClueLike = Pick<Clue, 'id' | 'named' | 'unit' | 'assignedUnit' | 'headSeq' | 'headHash' | 'updatedAt'>;
type LedgerInput = { type: string; actor: Actor; data: Record<string, unknown> };

const POLICY_CACHE_MS = 30_000;
const fmt = (d: Date) => new Intl.DateTimeFormat('zh-CN', { timeZone: 'Asia/Shanghai', dateStyle: 'medium', timeStyle: 'short' }).format(d);

export function createDeadlineUseCases(deps: DeadlineDeps) {
  const { orm, clock, logger, calendar } = deps;
  let cached: { policy: DeadlinePolicy; until: number } | null = null;
  // Raw selects only (no entities, no transaction), so one fork serves every such read instead of a
  // fork per call: it never holds an entity, and outside a transaction each statement takes a pool
  // connection of its own. Made on first use: the data-set generator builds these use cases without a
  // database for the pure planning function.
  let readFork: Em | undefined;
  const reads = () => (readFork ??= orm.em.fork());

  /** The policy new deadlines get: the newest admin version, else the shipped defaults. Inside a transaction pass its `em`. */
  async function currentPolicy(em?: Em): Promise<DeadlinePolicy> {
    const now = clock.now().getTime();
    if (cached && cached.until > now) return cached.policy;
    // Forked only when the cache is stale: a fork per call was most of this function's cost on every registration.
    const [latest] = await (em ?? orm.em.fork()).find(DeadlinePolicyVersion, {}, { orderBy: { id: 'desc' }, limit: 1 });
    const policy = latest ? policySchema.parse(latest.policy) : deps.basePolicy;
    cached = { policy, until: now + POLICY_CACHE_MS };
    return policy;
  }

  async function setPolicy({ ctx, input: { policy } }: StaffCall<{ policy: unknown }>) {
    const { principal } = ctx;
    if (principal.role !== 'admin') throw forbidden();
    const parsed = policySchema.safeParse(policy);
    if (!parsed.success) throw invalidPolicy({ issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
    await ctx.em.transactional(async (em) => {
      const now = ctx.clock.now();
      const row = em.create(DeadlinePolicyVersion, { policy: parsed.data as unknown as Record<string, unknown>, createdBy: principal.id, createdAt: now });
      await em.flush();
      // The policy itself is in its row; the chain carries its hash, so a later edit of the row shows.
      await appendAuditEvent(
        em,
        { type: 'deadline_policy.changed', actor: ctx.actor, data: { versionId: row.id, version: parsed.data.version, policySha256: sha256Hex(canonicalJson(parsed.data)) } },
        now,
      );
    });
    cached = { policy: parsed.data, until: ctx.clock.now().getTime() + POLICY_CACHE_MS };
    ctx.logger.info({ staffId: principal.id, version: parsed.data.version }, 'deadline policy changed');
    return parsed.data;
  }

  /** New deadline rows (not yet persisted) that an event starts, with the ledger events recording them. */
  function planStarts(
    policy: DeadlinePolicy,
    clue: { id: string; named: boolean; unit: string | null | undefined; assignedUnit?: string | null },
    token: string,
    at: Date,
    subjectId: string | null = null,
  ) {
    return effectsOf(policy, token, clue).start.map((kind) => {
      const snapshot = snapshotOf(policy, kind);
      const dueAt = addPeriod(calendar, snapshot, at, kind.duration);
      const first = firstStepFrom({ dueAt, policy: snapshot }, 0, at);
      const row = {
        id: randomUUID(),
        clue: clue.id,
        kind: kind.kind,
        subjectId,
        unit: clue.unit ?? null,
        assignedUnitId: clue.assignedUnit ?? null,
        startsAt: at,
        dueAt,
        originalDueAt: dueAt,
        policy: snapshot,
        state: 'open' as const,
        fireSeq: first.seq,
        nextFireAt: first.at,
        createdAt: at,
      };
      const event: LedgerInput = {
        type: 'deadline.started',
        actor: 'system:deadlines',
        data: { deadlineId: row.id, kind: kind.kind, dueAt: dueAt.toISOString(), basis: kind.basis, duration: kind.duration, policyVersion: policy.version, subjectId: subjectId ?? undefined },
      };
      return { row, event };
    });
  }

  /**
   * Inside the transaction that appended `token`'s event: starts and stops the clue's deadlines and
   * records each on the ledger. The caller holds the clue's row lock.
   */
  async function onEvent(tx: Em, clue: ClueLike, token: string, at: Date, subjectId: string | null = null) {
    const policy = await currentPolicy(tx);
    const { stop } = effectsOf(policy, token, clue);
    if (stop.length) {
      const open = await tx.find(Deadline, {
        clue: clue.id,
        kind: { $in: stop.map(String) },
        state: { $in: [...activeStates] },
        ...(subjectId ? { subjectId } : {}),
      });
      for (const d of open) {
        const late = d.state === 'missed';
        d.state = late ? 'missed' : 'met';
        d.closedAt = at;
        d.nextFireAt = null;
        d.syncNeeded = true;
        d.syncVersion++;
        appendEvent(tx, clue, { type: 'deadline.met', actor: 'system:deadlines', data: { deadlineId: d.id, kind: d.kind, late } }, at);
      }
    }
    const started: Deadline[] = [];
    for (const { row, event } of planStarts(policy, clue, token, at, subjectId)) {
      started.push(tx.create(Deadline, row));
      appendEvent(tx, clue, event, at);
    }
    return { started };
  }

  /**
   * The clue was assigned (转办) to this unit: its open deadlines carry the unit from now on, for the
   * deadline views' index walk (deadline.entity.ts `assignedUnitId`). In the assigning transaction.
   */
  async function assignedTo(tx: Em, clueId: string, unitId: string) {
    await sql(tx, 'update deadline set assigned_unit_id = ? where clue_id = ? and closed_at is null', [unitId, clueId]);
  }

  /** Locks the clue, then the deadline (always in that order, like every clue change). */
  async function lockDeadline(tx: Em, deadlineId: string) {
    const peek = await tx.findOne(Deadline, { id: deadlineId }, { fields: ['clue'] });
    if (!peek) return null;
    const clue = await tx.findOneOrFail(Clue, { id: peek.clue }, { lockMode: LockMode.PESSIMISTIC_WRITE });
    const row = await tx.findOneOrFail(Deadline, { id: deadlineId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
    return { clue, row };
  }

  /**
   * The units a deadline's notices go to, nearest first. A clue with no unit (the reporter chose
   * 不清楚, or there is no street or town yet) is the district's: its notices go to the root unit
   * (the first district created), as its staff are the ones who see it.
   */
  async function unitChain(tx: Em, unitId: string | null): Promise<string[]> {
    if (!unitId) {
      const [root] = await tx.find(Unit, { parent: null }, { fields: ['id'], orderBy: { createdAt: 'asc', id: 'asc' }, limit: 1 });
      return root ? [root.id] : [];
    }
    const unit = await tx.findOne(Unit, { id: unitId }, { fields: ['path'] });
    return unit ? unit.path.split('/').filter(Boolean).reverse() : [];
  }

  function notice(tx: Em, row: Deadline, unit: string, role: string | null, kind: 'reminder' | 'missed' | 'escalated' | 'extended', zh: string, en: string, at: Date) {
    tx.create(StaffNotice, { id: randomUUID(), unit, role, clue: row.clue, deadline: row.id, kind, textZh: zh.slice(0, 500), textEn: en.slice(0, 500), createdAt: at });
  }

  /**
   * Fires step `seq` of a deadline (a delayed job). Stale jobs — the deadline closed, paused,
   * extended or already past this step — do nothing, so a job fired twice changes nothing twice.
   */
  async function fireStep(deadlineId: string, seq: number, atIso: string) {
    return orm.em.fork().transactional(async (tx) => {
      const locked = await lockDeadline(tx, deadlineId);
      if (!locked) return { fired: false as const, why: 'missing' };
      const { clue, row } = locked;
      if (row.closedAt || row.pausedAt || row.fireSeq !== seq || row.nextFireAt?.toISOString() !== atIso) return { fired: false as const, why: 'stale' };
      const now = clock.now();
      if (row.nextFireAt.getTime() - now.getTime() > 1000) {
        // Early (a clock moved back, or Redis ran ahead): have the sync schedule it again.
        row.syncNeeded = true;
        row.syncVersion++;
        return { fired: false as const, why: 'early' };
      }
      const step = stepOf(row, seq);
      const kindName = { zh: row.policy.kind.zh, en: row.policy.kind.en };
      const chain = await unitChain(tx, row.unit ?? null);
      let next: { seq: number; at: Date } | null = { seq: seq + 1, at: stepOf(row, seq + 1).at };
      if (step.kind === 'reminder') {
        appendEvent(tx, clue, { type: 'deadline.reminded', actor: 'system:deadlines', data: { deadlineId: row.id, kind: row.kind, dueAt: row.dueAt.toISOString() } }, now);
        if (chain[0]) notice(tx, row, chain[0], null, 'reminder', `提醒：「${kindName.zh}」将于 ${fmt(row.dueAt)} 到期`, `Reminder: "${kindName.en}" is due ${row.dueAt.toISOString()}`, now);
      } else if (step.kind === 'due') {
        row.state = 'missed';
        appendEvent(tx, clue, { type: 'deadline.missed', actor: 'system:deadlines', data: { deadlineId: row.id, kind: row.kind, dueAt: row.dueAt.toISOString() } }, now);
        if (chain[0]) notice(tx, row, chain[0], 'supervisor', 'missed', `超期：「${kindName.zh}」已于 ${fmt(row.dueAt)} 到期未办`, `Overdue: "${kindName.en}" was due ${row.dueAt.toISOString()}`, now);
        if (!chain[1]) next = null;
      } else {
        const level = row.escalationLevel + 1;
        const target = chain[level];
        if (!target) {
          next = null;
        } else {
          row.escalationLevel = level;
          row.escalatedUnit = target;
          appendEvent(tx, clue, { type: 'deadline.escalated', actor: 'system:deadlines', data: { deadlineId: row.id, kind: row.kind, level, unitId: target } }, now);
          notice(tx, row, target, 'supervisor', 'escalated', `督办：「${kindName.zh}」超期未办，已上报至本级`, `Escalated: "${kindName.en}" is overdue and now with your unit`, now);
          if (!chain[level + 1]) next = null;
        }
      }
      row.fireSeq = next ? next.seq : seq + 1;
      row.nextFireAt = next ? next.at : null;
      row.syncNeeded = true;
      row.syncVersion++;
      logger.info({ deadlineId: row.id, kind: row.kind, step: step.kind, lateMs: now.getTime() - step.at.getTime() }, 'deadline step fired');
      return { fired: true as const, step: step.kind };
    });
  }

  /** The deadline, locked with its clue; one on a clue the principal may not see answers as a missing one (visibility module). */
  async function loadForStaff(tx: Em, principal: Principal, deadlineId: string) {
    const locked = await lockDeadline(tx, deadlineId);
    if (!locked) throw deadlineNotFound();
    if (!(await canSeeClue(tx, principal, locked.clue.id).catch(() => false))) throw deadlineNotFound();
    if (locked.row.closedAt) throw deadlineClosed();
    return locked;
  }

  /** A supervisor's approved extension, once where the policy allows; the reporter is told on their thread. */
  async function extend({ ctx, input: { deadlineId, reason } }: StaffCall<{ deadlineId: string; reason: string }>) {
    const { principal } = ctx;
    if (principal.role !== 'supervisor' && principal.role !== 'admin') throw approvalRequired();
    return ctx.em.transactional(async (tx) => {
      const { clue, row } = await loadForStaff(tx, principal, deadlineId);
      const k = row.policy.kind;
      if (!k.extension || row.extensions >= k.maxExtensions) throw extensionNotAllowed({ extensions: row.extensions, maxExtensions: k.maxExtensions });
      const now = ctx.clock.now();
      const previousDue = row.dueAt;
      row.dueAt = addPeriod(calendar, row.policy, row.dueAt, k.extension);
      row.extensions++;
      row.state = 'extended';
      row.escalationLevel = 0;
      row.escalatedUnit = null;
      const first = firstStepFrom(row, 0, now);
      row.fireSeq = first.seq;
      row.nextFireAt = first.at;
      row.syncNeeded = true;
      row.syncVersion++;
      appendEvent(tx, clue, { type: 'deadline.extended', actor: ctx.actor, data: { deadlineId: row.id, kind: row.kind, reason, previousDue: previousDue.toISOString(), newDue: row.dueAt.toISOString() } }, now);
      if (k.visibleToReporter) {
        const text = automaticMessage('deadline-extended', (l) => ({ kind: l === 'en' ? k.en : k.zh, due: formatDay(l, row.dueAt) }));
        const message = tx.create(Message, { id: randomUUID(), clue: clue.id, author: 'staff', staffId: principal.id, ...text, createdAt: now });
        appendEvent(tx, clue, { type: 'message.posted', actor: ctx.actor, data: { messageId: message.id, author: 'staff', reason: 'deadline_extended' } }, now);
      }
      ctx.logger.info({ deadlineId: row.id, staffId: principal.id }, 'deadline extended');
      return view(row);
    });
  }

  async function pause({ ctx, input: { deadlineId, reason } }: StaffCall<{ deadlineId: string; reason: string }>) {
    return ctx.em.transactional(async (tx) => {
      const { clue, row } = await loadForStaff(tx, ctx.principal, deadlineId);
      if (!row.policy.kind.pausable || row.pausedAt) throw pauseNotAllowed();
      const now = ctx.clock.now();
      row.pausedAt = now;
      row.pauseReason = reason;
      row.nextFireAt = null;
      row.syncNeeded = true;
      row.syncVersion++;
      appendEvent(tx, clue, { type: 'deadline.paused', actor: ctx.actor, data: { deadlineId: row.id, kind: row.kind, reason } }, now);
      return view(row);
    });
  }

  async function resume({ ctx, input: { deadlineId } }: StaffCall<{ deadlineId: string }>) {
    return ctx.em.transactional(async (tx) => {
      const { clue, row } = await loadForStaff(tx, ctx.principal, deadlineId);
      if (!row.pausedAt) throw pauseNotAllowed();
      const now = ctx.clock.now();
      const pausedMs = now.getTime() - row.pausedAt.getTime();
      row.pausedMs += pausedMs;
      row.dueAt = new Date(row.dueAt.getTime() + pausedMs);
      row.pausedAt = null;
      row.pauseReason = null;
      const first = firstStepFrom(row, row.state === 'missed' ? row.fireSeq : 0, now);
      row.fireSeq = first.seq;
      row.nextFireAt = first.at;
      row.syncNeeded = true;
      row.syncVersion++;
      appendEvent(tx, clue, { type: 'deadline.resumed', actor: ctx.actor, data: { deadlineId: row.id, kind: row.kind, pausedMs, newDue: row.dueAt.toISOString() } }, now);
      return view(row);
    });
  }

  function view(d: Deadline) {
    return {
      id: d.id,
      clueId: d.clue,
      kind: d.kind,
      zh: d.policy.kind.zh,
      en: d.policy.kind.en,
      state: d.state,
      startsAt: d.startsAt,
      dueAt: d.dueAt,
      originalDueAt: d.originalDueAt,
      closedAt: d.closedAt,
      paused: !!d.pausedAt,
      extensions: d.extensions,
      escalationLevel: d.escalationLevel,
      unitId: d.unit,
      policyVersion: d.policy.version,
    };
  }

  /** Due soon or missed, on clues the principal may see. */
  async function list({ ctx, input: filter }: StaffCall<{ view: 'due_soon' | 'missed' | 'open'; withinHours: number; unitId?: string; kind?: string; limit: number }>) {
    const { em } = ctx;
    const visibility = visibleClues(ctx.principal);
    const prefilter = deadlineUnitPrefilter(ctx.principal);
    const where = [prefilter.where, visibility.where, 'd.closed_at is null'];
    const params: unknown[] = [...prefilter.params, ...visibility.params];
    if (filter.view === 'missed') where.push(`d.state = 'missed'`);
    if (filter.view === 'due_soon') {
      where.push(`d.state in ('open', 'extended') and d.due_at < ?`);
      params.push(new Date(ctx.clock.now().getTime() + filter.withinHours * 3600_000));
    }
    if (filter.unitId) {
      where.push('d.unit_id in (select id from unit where path like (select path from unit where id = ?) || ?)');
      params.push(filter.unitId, '%');
    }
    if (filter.kind) {
      where.push('d.kind = ?');
      params.push(filter.kind);
    }
    // One statement with only what the view shows: loading the rows as entities (each with its
    // whole policy snapshot) cost more of the event loop than the query cost PostgreSQL. The inner
    // walk reads only what the open-deadline indexes carry (id, due time, clue, units), so a street
    // skips other units' deadlines without a heap fetch; the shown columns are read for the rows kept.
    const rows = await sql<ListRow>(
      em,
      `select ${LIST_COLUMNS} from deadline d where d.id in (
         select d.id from deadline d join clue c on c.id = d.clue_id where ${where.join(' and ')} order by d.due_at, d.id limit ?)
       order by d.due_at, d.id`,
      [...params, filter.limit],
    );
    return rows.map(listView);
  }

  /**
   * The deadlines of clues the caller has already been allowed to see (the staff console's clocks:
   * the ids come from `listClues`/`getClue`, which apply the visibility rule). Soonest due first.
   * A caller with a request context passes its `em`; without one, the module's raw-read fork is used.
   */
  async function forClues(clueIds: string[], em: Em = reads()) {
    if (clueIds.length === 0) return [];
    // As `list`: the columns the clocks show, not entities with their policy snapshots (a queue page
    // of 25 clues loads about a hundred; as entities they cost more main thread than the page's query).
    const rows = await sql<ListRow>(
      em,
      `select ${LIST_COLUMNS} from deadline d where d.clue_id in (?) and d.state <> 'cancelled' order by d.due_at, d.id`,
      [clueIds],
    );
    return rows.map(listView);
  }

  async function forReporter(clueId: string, em: Em = orm.em.fork()) {
    const rows = await em.find(Deadline, { clue: clueId, state: { $ne: 'cancelled' } }, { orderBy: { startsAt: 'asc', dueAt: 'asc' } });
    return rows
      .filter((d) => d.policy.kind.visibleToReporter)
      .map((d) => ({ kind: d.kind, zh: d.policy.kind.zh, en: d.policy.kind.en, due: d.dueAt, met: d.state === 'met', state: d.state }));
  }

  /**
   * The newest notices for the principal: its unit's (for everyone, or for its role) and its own.
   * Three branches, each read newest first from its own index (staff_notice_unit_role_created_index,
   * staff_notice_staff_created_index) and cut at `limit`, then merged: an `or` across unit, role and
   * staff in one condition made PostgreSQL gather and sort every notice of the unit.
   */
  async function notices({ ctx, input: { limit = 50, since } }: StaffCall<{ limit?: number; since?: Date }>) {
    const { principal, em } = ctx;
    // `since`: only those from then on (the console's badge on every page counts what arrived after
    // the newest seen; it passes that time plus a millisecond, as JavaScript dates end at milliseconds).
    const after = since ? 'and created_at >= ?' : '';
    const p = since ? [since] : [];
    // A notice about a clue the principal may not see (another unit's, or one whose excluded set
    // holds them) is not theirs to see either (visibility module).
    const excl = visibleClues(principal);
    const rows = await sql<{ id: string; kind: string; clue_id: string | null; deadline_id: string | null; callback_id: string | null; text_zh: string; text_en: string; created_at: Date }>(
      em,
      `select id, kind, clue_id, deadline_id, callback_id, text_zh, text_en, created_at from (
         (select * from staff_notice where unit_id = ? and role is null and staff_id is null ${after} order by created_at desc limit ?)
         union all
         (select * from staff_notice where unit_id = ? and role = ? and staff_id is null ${after} order by created_at desc limit ?)
         union all
         (select * from staff_notice where staff_id = ? ${after} order by created_at desc limit ?)
       ) n where n.clue_id is null or exists (select 1 from clue c where c.id = n.clue_id and ${excl.where})
       order by created_at desc, id desc limit ?`,
      [principal.unitId, ...p, limit, principal.unitId, principal.role, ...p, limit, principal.id, ...p, limit, ...excl.params, limit],
    );
    return rows.map((n) => ({ id: n.id, kind: n.kind, clueId: n.clue_id, deadlineId: n.deadline_id, callbackId: n.callback_id, zh: n.text_zh, en: n.text_en, createdAt: new Date(n.created_at) }));
  }

  return { currentPolicy, setPolicy, planStarts, onEvent, assignedTo, fireStep, extend, pause, resume, list, forClues, forReporter, notices, view };
}

export type DeadlineUseCases = ReturnType<typeof createDeadlineUseCases>;
export type { PolicySnapshot };
