import { z } from 'zod';
import { locales } from '../../app/templates.ts';
import { accusedRoles, categories, channels, problemTypes } from './clue.entity.ts';
import { clueActions, clueStatuses, type DeclineReason, declineReasons, findings } from './status-machine.ts';

export const NARRATIVE_MAX = 20_000;

export const accusedInput = z.object({
  name: z.string().trim().min(1).max(200),
  role: z.enum(accusedRoles),
  unitId: z.uuid().nullish(),
  position: z.string().trim().max(200).nullish(),
});

export const reporterPhone = z.string().trim().regex(/^\+?[0-9 -]{5,20}$/, 'a phone number');
export const reporterEmail = z.email().max(254);

export const reporterInput = z
  .object({
    name: z.string().trim().min(1).max(200),
    phone: reporterPhone.optional(),
    email: reporterEmail.optional(),
    address: z.string().trim().max(500).optional(),
    consentToShare: z.boolean().optional(),
    /** May we tell you of staff replies, by email (or SMS when only a phone is given)? Default no. */
    notifyProgress: z.boolean().optional(),
  })
  .refine((r) => r.phone || r.email, { message: 'a named reporter gives a phone number or an email address' });

/** Operators register letters, visits and calls they take; the reporter block is absent when anonymous. */
export const registerClueBody = z.object({
  channel: z.enum(channels),
  receivedAt: z.iso.datetime({ offset: true }).optional(),
  categories: z.array(z.enum(categories)).max(categories.length).default([]),
  narrative: z.string().trim().min(5, 'at least one sentence').max(NARRATIVE_MAX),
  occurredWhen: z.string().trim().max(200).nullish(),
  unitId: z.uuid().nullish(),
  accused: z.array(accusedInput).max(50).default([]),
  reporter: reporterInput.nullish(),
  /** The reporter's language: automatic messages and mail to them use it. */
  locale: z.enum(locales).default('zh-CN'),
  /**
   * How the reporter will follow up: `web` (default) gives the 20-symbol web secret; `phone` gives a
   * 6-digit PIN instead, which the hotline's status query takes and the web follow-up page too.
   */
  followUp: z.enum(['web', 'phone']).default('web'),
});

const count = z.number().int().min(0).max(1_000_000);
const yuan = z.number().min(0).max(1e10);
/** Removed from the rolls for one problem type (清退): persons and the funds recovered from them. */
const removal = z.object({ people: count.default(0), fundsYuan: yuan.default(0) });

/**
 * The figures a concluded clue adds to the self-inspection table (Putuo 2024 annex). `byType`
 * splits removals by problem type; when it is given, the totals `peopleRemoved` and
 * `fundsRecoveredYuan` are its sums (given totals must agree). A conclusion without `byType` is
 * counted on the table's "type not recorded" line, never guessed into a column.
 */
export const outcomeFields = z.object({
    householdsRemoved: count.default(0),
    peopleRemoved: count.optional(),
    fundsRecoveredYuan: yuan.optional(),
    householdsEnrolled: count.default(0),
    cardCustodyCases: count.default(0),
    byType: z.partialRecord(z.enum(problemTypes), removal).optional(),
    /** Persons newly enrolled once 单人保 was corrected to 整户保. */
    enrolledAfterSingleFix: count.default(0),
});
export const outcomeInput = outcomeFields
  .superRefine((o, ctx) => {
    if (!o.byType) return;
    const people = Object.values(o.byType).reduce((n, r) => n + (r?.people ?? 0), 0);
    const funds = Object.values(o.byType).reduce((n, r) => n + (r?.fundsYuan ?? 0), 0);
    if (o.peopleRemoved !== undefined && o.peopleRemoved !== people)
      ctx.addIssue({ code: 'custom', path: ['peopleRemoved'], message: `清退人数合计应为各类之和 ${people} / the total must be the sum by type, ${people}` });
    if (o.fundsRecoveredYuan !== undefined && Math.abs(o.fundsRecoveredYuan - funds) > 0.005)
      ctx.addIssue({ code: 'custom', path: ['fundsRecoveredYuan'], message: `追回资金合计应为各类之和 ${funds} / the total must be the sum by type, ${funds}` });
  })
  .transform((o) => {
    if (!o.byType) return { ...o, peopleRemoved: o.peopleRemoved ?? 0, fundsRecoveredYuan: o.fundsRecoveredYuan ?? 0 };
    const types = Object.values(o.byType);
    return {
      ...o,
      peopleRemoved: types.reduce((n, r) => n + (r?.people ?? 0), 0),
      fundsRecoveredYuan: Math.round(types.reduce((n, r) => n + (r?.fundsYuan ?? 0), 0) * 100) / 100,
    };
  });
export type ClueOutcome = z.infer<typeof outcomeInput>;

/** 问题摘要: written by staff at triage, at most 50 characters; exports carry it, never the narrative. */
export const summaryBody = z.object({
  summary: z.string().trim().min(2).max(50, '问题摘要至多 50 字 / at most 50 characters'),
});

export const transitionBody = z
  .object({
    action: z.enum(clueActions),
    reason: z.string().trim().min(2).max(2000).optional(),
    reasonCode: z.enum(Object.keys(declineReasons) as [DeclineReason, ...DeclineReason[]]).optional(),
    finding: z.enum(findings).optional(),
    outcome: outcomeInput.optional(),
    mergedInto: z.uuid().optional(),
  })
  .refine((b) => b.action !== 'decline' || (b.reasonCode && b.reason), {
    message: '不予受理须选择理由并说明 / declining needs a reason from the list (reasonCode) and an explanation (reason)',
    path: ['reasonCode'],
  });

export const revealBody = z.object({
  purpose: z.string().trim().min(2, 'say why you need the identity').max(500),
});

export const listQuery = z.object({
  status: z.enum(clueStatuses).optional(),
  channel: z.enum(channels).optional(),
  category: z.enum(categories).optional(),
  unitId: z.uuid().optional(),
  receivedFrom: z.iso.datetime({ offset: true }).optional(),
  receivedTo: z.iso.datetime({ offset: true }).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
});

const changeReason = z.string().trim().min(2, 'give a reason').max(500);
export const addAccusedBody = accusedInput.extend({ reason: changeReason });
export const removeAccusedBody = z.object({ reason: changeReason });
export const linkAccusedBody = z.object({ staffId: z.uuid(), kind: z.enum(['same_person', 'not_same_person']), reason: changeReason });
export const unlinkAccusedBody = z.object({ staffId: z.uuid(), reason: changeReason });
