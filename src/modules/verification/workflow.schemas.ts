import { z } from 'zod';
import { categories } from '../clues/clue.entity.ts';
import { outcomeFields } from '../clues/clues.schemas.ts';
import { findings } from '../clues/status-machine.ts';
import { taskTypes } from './task.entity.ts';
import { majorReasons } from './workflow.usecases.ts';

/** The inputs of the workflow routes (workflow.routes.ts). */
export const triageBody = z.object({
  categories: z.array(z.enum(categories)).max(categories.length).optional(),
  priority: z.enum(['normal', 'major']).optional(),
  majorReasons: z.array(z.enum(majorReasons)).max(3).optional(),
});
export const assignBody = z.object({ unitId: z.uuid() });
export const superviseBody = z.object({ supervisorId: z.uuid().optional() });
export const taskBody = z.object({ type: z.enum(taskTypes), assigneeUnitId: z.uuid(), assigneeStaffId: z.uuid().optional() });
export const completeBody = z.object({
  findings: z.string().trim().min(2).max(20_000),
  checklistDone: z.array(z.string().max(64)).max(20).default([]),
  finding: z.enum(findings).optional(),
  outcome: outcomeFields.omit({ byType: true }).partial().optional(),
});
