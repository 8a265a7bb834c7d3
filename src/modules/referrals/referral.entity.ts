import { defineEntity, p } from '@mikro-orm/core';
import { Clue } from '../clues/clue.entity.ts';

export const bodyKinds = ['district_commission', 'stationed_group', 'town_commission'] as const;

export interface BodyAuthority {
  /** Accused roles (official, caseworker, cadre) within its cadre management authority. */
  accusedRoles: string[];
  /** Units (and their subtrees) under its authority; empty means the whole district. */
  unitIds: string[];
}

/** A discipline inspection body (纪检监察机关 / 驻在纪检监察组) that receives referrals. */
const DisciplineBodySchema = defineEntity({
  name: 'DisciplineBody',
  tableName: 'discipline_body',
  properties: {
    id: p.uuid().primary(),
    name: p.string().length(200),
    nameEn: p.string().length(200).nullable(),
    kind: p.enum(bodyKinds),
    email: p.string().length(320),
    authority: p.json<BodyAuthority>(),
    createdAt: p.datetime(),
  },
});
export class DisciplineBody extends DisciplineBodySchema.class {}
DisciplineBodySchema.setClass(DisciplineBody);

export const referralStatuses = ['sent', 'acknowledged', 'info_requested', 'disposed', 'result_reported', 'withdrawn'] as const;
export const dispositions = ['talk_and_inquiry', 'preliminary_verification', 'shelved_pending', 'closed_no_action', 'case_opened'] as const;
export const dispositionText: Record<(typeof dispositions)[number], { zh: string; en: string }> = {
  talk_and_inquiry: { zh: '谈话函询', en: 'Talk and written inquiry' },
  preliminary_verification: { zh: '初步核实', en: 'Preliminary verification' },
  shelved_pending: { zh: '暂存待查', en: 'Shelved pending further evidence' },
  closed_no_action: { zh: '予以了结', en: 'Closed without action' },
  case_opened: { zh: '立案审查', en: 'Case opened for investigation' },
};

/** One referral (移交) of a clue to a discipline body, followed through its signed link. */
const ReferralSchema = defineEntity({
  name: 'Referral',
  tableName: 'referral',
  properties: {
    id: p.uuid().primary(),
    clue: () => p.manyToOne(Clue).mapToPk().index(),
    body: () => p.manyToOne(DisciplineBody).mapToPk().index(),
    status: p.enum(referralStatuses),
    /** The reporter consented to their identity going with the referral. */
    includesReporter: p.boolean(),
    disposition: p.string().length(32).nullable(),
    result: p.text().nullable(),
    confirmedBy: p.uuid(),
    linkExpiresAt: p.datetime(),
    /** A supervisor revoked the packet link: it opens no more. */
    linkRevokedAt: p.datetime().nullable(),
    createdAt: p.datetime(),
  },
});
export class Referral extends ReferralSchema.class {}
ReferralSchema.setClass(Referral);
