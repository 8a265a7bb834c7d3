/**
 * The workflow's reads as columns (the clue page shows a clue's tasks on every request; as entities
 * they cost more main thread than their query). Every function runs on the `em` it is given.
 */
import { type Em, sql } from '../../app/db.ts';
import type { VerificationTask } from './task.entity.ts';

const date = (v: Date | string) => (v instanceof Date ? v : new Date(v));
const dateOrNull = (v: Date | string | null) => (v === null ? null : date(v));

export type TaskRow = Pick<
  VerificationTask,
  'id' | 'clue' | 'type' | 'assigneeUnit' | 'assigneeStaff' | 'status' | 'dueAt' | 'checklist' | 'findings' | 'outcome' | 'automatic' | 'createdAt' | 'completedAt'
>;

/** A clue's verification tasks, oldest first. */
export async function tasksOfClue(em: Em, clueId: string): Promise<TaskRow[]> {
  const rows = await sql<{
    id: string;
    clue_id: string;
    type: TaskRow['type'];
    assignee_unit_id: string;
    assignee_staff: string | null;
    status: TaskRow['status'];
    due_at: Date | string | null;
    checklist: TaskRow['checklist'];
    findings: string | null;
    outcome: TaskRow['outcome'];
    automatic: boolean;
    created_at: Date | string;
    completed_at: Date | string | null;
  }>(
    em,
    `select id, clue_id, type, assignee_unit_id, assignee_staff, status, due_at, checklist, findings, outcome, automatic, created_at, completed_at
       from verification_task where clue_id = ? order by created_at asc`,
    [clueId],
  );
  return rows.map((r) => ({
    id: r.id,
    clue: r.clue_id,
    type: r.type,
    assigneeUnit: r.assignee_unit_id,
    assigneeStaff: r.assignee_staff,
    status: r.status,
    dueAt: dateOrNull(r.due_at),
    checklist: r.checklist,
    findings: r.findings,
    outcome: r.outcome,
    automatic: r.automatic,
    createdAt: date(r.created_at),
    completedAt: dateOrNull(r.completed_at),
  }));
}
