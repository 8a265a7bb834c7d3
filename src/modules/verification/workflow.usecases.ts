import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import { type Em, type Orm, sql } from '../../app/db.ts';
import { forbidden } from '../../app/errors.ts';
import type { Logger } from '../../app/logger.ts';
import { type Category, Clue } from '../clues/clue.entity.ts';
import type { ClueUseCases } from '../clues/clues.usecases.ts';
import { appendEvent } from '../clues/ledger.ts';
import { findings } from '../clues/status-machine.ts';
import type { DeadlineUseCases } from '../deadlines/deadlines.usecases.ts';
import { enqueueInTransaction } from '../outbox/outbox.ts';
import { can, type Principal, type StaffCall, type StaffContext } from '../staff/access.ts';
import { Staff } from '../staff/staff.entity.ts';
import { Unit } from '../staff/unit.entity.ts';
import { assertStaffMayHandle, assertUnitMayHandle, staffWhoMayHandle } from '../visibility/visibility.ts';
import { checklists, type TaskType, VerificationTask } from './task.entity.ts';
import { clueNotVerifiable, recusalRequired, taskClosed, taskNotFound } from './workflow.errors.ts';
import { type TaskRow, tasksOfClue } from './workflow.repository.ts';

export const majorReasons = ['media_exposure', 'leader_instruction', 'several_reporters'] as const;
export type MajorReason = (typeof majorReasons)[number];

export interface WorkflowDeps {
  orm: Orm;
  clock: Clock;
  logger: Logger;
  clues: ClueUseCases;
  deadlines: Pick<DeadlineUseCases, 'onEvent' | 'assignedTo'>;
  afterCommit: () => void;
}

/** Triage, assignment with recusal, special supervision, and verification tasks. */
export function createWorkflowUseCases(deps: WorkflowDeps) {
  const { orm, clock, logger, clues } = deps;

  async function lockClue(tx: Em, principal: Principal, clueId: string) {
    await clues.assertVisible({ ctx: { principal, em: tx }, input: { clueId } });
    return tx.findOneOrFail(Clue, { id: clueId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
  }

  async function triage({
    ctx,
    input: { clueId, ...input },
  }: StaffCall<{ clueId: string; categories?: Category[]; priority?: 'normal' | 'major'; majorReasons?: MajorReason[] }>) {
    const { principal } = ctx;
    if (!can.registerClues(principal)) throw forbidden();
    return ctx.em.transactional(async (tx) => {
      const clue = await lockClue(tx, principal, clueId);
      if (input.categories) clue.categories = input.categories;
      if (input.priority) clue.priority = input.priority;
      appendEvent(tx, clue, { type: 'clue.triaged', actor: ctx.actor, data: { categories: input.categories, priority: input.priority, majorReasons: input.majorReasons } }, ctx.clock.now());
      return clues.publicView(clue);
    });
  }

  async function assign({ ctx, input: { clueId, unitId } }: StaffCall<{ clueId: string; unitId: string }>) {
    const { principal } = ctx;
    if (!can.registerClues(principal)) throw forbidden();
    return ctx.em.transactional(async (tx) => {
      const clue = await lockClue(tx, principal, clueId);
      if (!(await tx.findOne(Unit, { id: unitId }))) throw recusalRequired({ reason: 'unknown_unit' }, '单位不存在 / No such unit.');
      await assertUnitMayHandle(tx, clueId, unitId);
      clue.assignedUnit = unitId;
      await deps.deadlines.assignedTo(tx, clueId, unitId);
      appendEvent(tx, clue, { type: 'clue.assigned', actor: ctx.actor, data: { unitId } }, ctx.clock.now());
      ctx.logger.info({ clueId, unitId, staffId: principal.id }, 'clue assigned');
      return { ...clues.publicView(clue), assignedUnitId: unitId };
    });
  }

  /** 督办: a supervisor attaches themself (or an admin attaches one); every later event notifies them. */
  async function supervise({ ctx, input: { clueId, supervisorId } }: StaffCall<{ clueId: string; supervisorId?: string }>) {
    const { principal } = ctx;
    if (principal.role !== 'supervisor' && principal.role !== 'admin') throw forbidden();
    return ctx.em.transactional(async (tx) => {
      const clue = await lockClue(tx, principal, clueId);
      const who = supervisorId ?? principal.id;
      const sup = await tx.findOne(Staff, { id: who });
      if (!sup || (sup.role !== 'supervisor' && sup.role !== 'admin')) throw forbidden(undefined, '督办人须为督办人员 / The supervisor must have the supervisor role.');
      // Nobody in the clue's excluded set is told of its every event.
      await assertStaffMayHandle(tx, clueId, who);
      clue.supervisor = who;
      appendEvent(tx, clue, { type: 'clue.supervised', actor: ctx.actor, data: { supervisorId: who } }, ctx.clock.now());
      return { ...clues.publicView(clue), supervisorId: who };
    });
  }

  /**
   * Who may be named supervisor (督办人) of a clue: active supervisors and admins outside its
   * excluded set whose unit may handle it (the same test `supervise` applies). Asked only by a
   * supervisor or admin who may see the clue; at most 100, by name.
   */
  async function supervisorChoices({ ctx, input: { clueId } }: StaffCall<{ clueId: string }>): Promise<{ id: string; name: string }[]> {
    const { principal } = ctx;
    // Asked on every clue page: the other roles get none, without a fork of the request's EntityManager.
    if (principal.role !== 'supervisor' && principal.role !== 'admin') return [];
    const { em } = ctx;
    await clues.assertVisible({ ctx, input: { clueId } });
    const rows = await sql<{ id: string; display_name: string }>(
      em,
      `select id, display_name from staff where active and role in ('supervisor', 'admin')
        and not exists (select 1 from clue_exclusion x where x.clue_id = ? and x.staff_id = staff.id)
        order by display_name, id limit 300`,
      [clueId],
    );
    // The recusal test of `supervise` (assertStaffMayHandle), for all the candidates at once.
    const may = await staffWhoMayHandle(em, clueId, rows.map((r) => r.id));
    return rows
      .filter((r) => may.has(r.id))
      .slice(0, 100)
      .map((r) => ({ id: r.id, name: r.display_name }));
  }

  type TaskInput = { type: TaskType; assigneeUnitId: string; assigneeStaffId?: string };

  /** A verification task given by staff: the principal must be one who registers clues. */
  async function createTask({ ctx, input: { clueId, ...input } }: StaffCall<{ clueId: string } & TaskInput>) {
    if (!can.registerClues(ctx.principal)) throw forbidden();
    return openTask(ctx, clueId, input, false);
  }

  /** Writes a task (staff's, or an automatic one under the workflow's own context): `ctx.actor` is its author. */
  async function openTask(ctx: StaffContext, clueId: string, input: TaskInput, automatic: boolean) {
    const { principal, actor } = ctx;
    const task = await ctx.em.transactional(async (tx) => {
      const clue = await lockClue(tx, principal, clueId);
      if (clue.status !== 'accepted' && clue.status !== 'verifying' && clue.status !== 'referred') throw clueNotVerifiable({ status: clue.status });
      if (!(await tx.findOne(Unit, { id: input.assigneeUnitId }))) throw recusalRequired({ reason: 'unknown_unit' }, '单位不存在 / No such unit.');
      await assertUnitMayHandle(tx, clueId, input.assigneeUnitId);
      if (input.assigneeStaffId) await assertStaffMayHandle(tx, clueId, input.assigneeStaffId);
      const now = ctx.clock.now();
      if (clue.status === 'accepted') {
        clue.status = 'verifying';
        appendEvent(tx, clue, { type: 'clue.status_changed', actor, data: { action: 'start_verification', from: 'accepted', to: 'verifying' } }, now);
        await deps.deadlines.onEvent(tx, clue, 'clue.start_verification', now);
      }
      const task = tx.create(VerificationTask, {
        id: randomUUID(),
        clue: clueId,
        type: input.type,
        assigneeUnit: input.assigneeUnitId,
        assigneeStaff: input.assigneeStaffId ?? null,
        status: 'open',
        dueAt: null,
        checklist: checklists[input.type].map((c) => ({ ...c, done: false })),
        findings: null,
        outcome: null,
        automatic,
        createdBy: actor,
        createdAt: now,
        completedAt: null,
      });
      appendEvent(tx, clue, { type: 'task.created', actor, data: { taskId: task.id, type: task.type, unitId: task.assigneeUnit, staffId: task.assigneeStaff ?? undefined, automatic } }, now);
      const { started } = await deps.deadlines.onEvent(tx, clue, 'task.created', now, task.id);
      task.dueAt = started[0]?.dueAt ?? null;
      enqueueInTransaction(tx, now, { queue: 'notifications', name: 'staff.task_assigned', jobId: `task-assigned-${task.id}`, payload: { taskId: task.id } });
      return task;
    });
    deps.afterCommit();
    ctx.logger.info({ clueId, taskId: task.id, type: task.type }, 'verification task created');
    return taskView(task);
  }

  async function completeTask({
    ctx,
    input: { taskId, ...input },
  }: StaffCall<{ taskId: string; findings: string; checklistDone: string[]; finding?: (typeof findings)[number]; outcome?: Record<string, number> }>) {
    const { principal } = ctx;
    const result = await ctx.em.transactional(async (tx) => {
      const peek = await tx.findOne(VerificationTask, { id: taskId });
      if (!peek) throw taskNotFound();
      const clue = await lockClue(tx, principal, peek.clue).catch(() => {
        throw taskNotFound();
      });
      const task = await tx.findOneOrFail(VerificationTask, { id: taskId }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      if (task.status !== 'open') throw taskClosed();
      const unit = await tx.findOneOrFail(Unit, { id: task.assigneeUnit });
      const ownUnit = unit.path.startsWith(principal.unitPath);
      if (!ownUnit && principal.role !== 'supervisor' && principal.role !== 'admin') throw forbidden();
      const now = ctx.clock.now();
      task.status = 'completed';
      task.findings = input.findings;
      task.checklist = task.checklist.map((c) => ({ ...c, done: input.checklistDone.includes(c.item) }));
      task.outcome = { finding: input.finding, ...input.outcome };
      task.completedAt = now;
      appendEvent(tx, clue, { type: 'task.completed', actor: ctx.actor, data: { taskId, finding: input.finding, outcome: input.outcome, checklistDone: input.checklistDone } }, now);
      await deps.deadlines.onEvent(tx, clue, 'task.completed', now, taskId);
      const all = await tx.find(VerificationTask, { clue: clue.id, status: { $ne: 'cancelled' } });
      const open = all.filter((t) => t.status === 'open');
      let summary: Record<string, unknown> | null = null;
      if (open.length === 0) {
        // The tasks' findings suggest the clue's: substantiated beats partly beats unsubstantiated.
        const fs = all.map((t) => t.outcome?.finding as string | undefined).filter(Boolean);
        const suggested = fs.includes('substantiated') ? (fs.every((f) => f === 'substantiated') ? 'substantiated' : 'partly_substantiated') : fs.includes('partly_substantiated') ? 'partly_substantiated' : 'unsubstantiated';
        const totals: Record<string, number> = {};
        for (const t of all) for (const [k, v] of Object.entries(t.outcome ?? {})) if (typeof v === 'number') totals[k] = (totals[k] ?? 0) + v;
        summary = { suggestedFinding: suggested, totals, tasks: all.length };
        appendEvent(tx, clue, { type: 'verification.completed', actor: 'system:workflow', data: summary }, now);
      }
      return { task: taskView(task), verificationComplete: open.length === 0, summary };
    });
    deps.afterCommit();
    return result;
  }

  async function listTasks({ ctx, input: { clueId } }: StaffCall<{ clueId: string }>) {
    await clues.assertVisible({ ctx, input: { clueId } });
    return (await tasksOfClue(ctx.em, clueId)).map(taskView);
  }

  function taskView(t: TaskRow) {
    return {
      id: t.id,
      clueId: t.clue,
      type: t.type,
      assigneeUnitId: t.assigneeUnit,
      assigneeStaffId: t.assigneeStaff,
      status: t.status,
      dueAt: t.dueAt,
      checklist: t.checklist,
      findings: t.findings,
      outcome: t.outcome,
      automatic: t.automatic,
      createdAt: t.createdAt,
      completedAt: t.completedAt,
    };
  }

  const system: Principal = { id: 'system', username: 'system', role: 'admin', unitId: '', unitPath: '/', unitIsRoot: true };

  /**
   * A clue naming a household on a registered near-relative list gets a home visit (入户调查) —
   * the seeds require 100 % home visits for them — once it is accepted. Idempotent.
   */
  async function ensureHomeVisit(clueId: string) {
    const em = orm.em.fork();
    const clue = await em.findOne(Clue, { id: clueId });
    if (!clue || !clue.flags.includes('near_relative_match')) return null;
    if (!['accepted', 'verifying', 'referred'].includes(clue.status)) return null;
    if (await em.count(VerificationTask, { clue: clueId, type: 'home_visit' })) return null;
    // The handling unit, else the street/town above the committee the clue concerns.
    let unitId = clue.assignedUnit ?? clue.unit ?? null;
    const unit = unitId ? await em.findOne(Unit, { id: unitId }) : null;
    if (unit && (unit.kind === 'residents_committee' || unit.kind === 'villagers_committee') && !clue.assignedUnit) unitId = unit.parent ?? unitId;
    for (let tries = 0; unitId && tries < 4; tries++) {
      try {
        return await openTask({ actor: 'system:workflow', principal: system, em: orm.em.fork(), clock, logger }, clueId, { type: 'home_visit', assigneeUnitId: unitId }, true);
      } catch (err) {
        const next = (err as { details?: { suggestedUnitId?: string | null } }).details?.suggestedUnitId;
        if (!next || next === unitId) throw err;
        unitId = next;
      }
    }
    return null;
  }

  return { triage, assign, supervise, supervisorChoices, createTask, completeTask, listTasks, ensureHomeVisit };
}

export type WorkflowUseCases = ReturnType<typeof createWorkflowUseCases>;
