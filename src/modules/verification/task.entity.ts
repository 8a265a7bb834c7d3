import { defineEntity, p } from '@mikro-orm/core';
import { Clue } from '../clues/clue.entity.ts';
import { Unit } from '../staff/unit.entity.ts';

export const taskTypes = ['home_visit', 'data_cross_check', 'community_review', 'payment_check', 'interview'] as const;
export type TaskType = (typeof taskTypes)[number];
export const taskStatuses = ['open', 'completed', 'cancelled'] as const;

export interface ChecklistItem {
  item: string;
  zh: string;
  en: string;
  done: boolean;
}

/** A verification task (核实任务) given to a street/town or committee unit. */
const TaskSchema = defineEntity({
  name: 'VerificationTask',
  tableName: 'verification_task',
  properties: {
    id: p.uuid().primary(),
    clue: () => p.manyToOne(Clue).mapToPk().index(),
    type: p.enum(taskTypes),
    assigneeUnit: () => p.manyToOne(Unit).mapToPk().index(),
    assigneeStaff: p.uuid().nullable(),
    status: p.enum(taskStatuses),
    dueAt: p.datetime().nullable(),
    checklist: p.json<ChecklistItem[]>(),
    findings: p.text().nullable(),
    /** The task's own finding and figures (households removed, funds recovered, …). */
    outcome: p.json<Record<string, unknown>>().nullable(),
    automatic: p.boolean().default(false),
    createdBy: p.string().length(128),
    createdAt: p.datetime(),
    completedAt: p.datetime().nullable(),
  },
});
export class VerificationTask extends TaskSchema.class {}
TaskSchema.setClass(VerificationTask);

/** Checklists suited to each type, from the seeds' verification steps. */
export const checklists: Record<TaskType, { item: string; zh: string; en: string }[]> = {
  home_visit: [
    { item: 'household_members', zh: '核对家庭成员及户籍', en: 'Check household members and registration' },
    { item: 'housing_vehicles', zh: '查看住房、车辆等财产状况', en: 'See housing, vehicles and other property' },
    { item: 'income_employment', zh: '了解收入和就业情况', en: 'Ask about income and employment' },
    { item: 'neighbours', zh: '走访邻居了解情况', en: 'Talk to neighbours' },
    { item: 'photos_signed_record', zh: '拍照并形成签字的入户调查记录', en: 'Take photos and a signed visit record' },
  ],
  data_cross_check: [
    { item: 'civil_affairs_system', zh: '比对低保信息系统记录', en: 'Compare the dibao system records' },
    { item: 'vehicles_property', zh: '比对车辆、不动产登记', en: 'Compare vehicle and property registers' },
    { item: 'business_tax', zh: '比对工商、税务信息', en: 'Compare business and tax records' },
    { item: 'funeral_judicial', zh: '比对殡葬、司法信息', en: 'Compare funeral and judicial data' },
    { item: 'near_relatives', zh: '比对近亲属备案', en: 'Compare the near-relative registry' },
  ],
  community_review: [
    { item: 'meeting_held', zh: '召开民主评议会', en: 'Hold the community review meeting' },
    { item: 'attendance_recorded', zh: '记录参会人员和表决结果', en: 'Record attendance and the vote' },
    { item: 'results_published', zh: '评议结果公示', en: 'Publish the result' },
  ],
  payment_check: [
    { item: 'account_holder', zh: '核对收款账户户名与低保对象是否一致', en: 'Check the account holder is the beneficiary' },
    { item: 'frequent_large', zh: '检查同一账户频繁或大额发放', en: 'Look for frequent or large payments to one account' },
    { item: 'card_custody', zh: '核查卡折代管情况', en: 'Check card or passbook custody' },
    { item: 'payment_records', zh: '调取发放记录', en: 'Obtain the payment records' },
  ],
  interview: [
    { item: 'interview_reporter_or_witness', zh: '约谈举报人或证人（经同意）', en: 'Interview the reporter or witnesses (with consent)' },
    { item: 'interview_accused', zh: '约谈被举报人', en: 'Interview the person reported' },
    { item: 'written_record', zh: '形成谈话笔录', en: 'Make a written record' },
  ],
};
