export const clueStatuses = [
  'registered',
  'accepted',
  'declined',
  'verifying',
  'referred',
  'concluded',
  'replied',
  'closed',
  'merged',
] as const;
export type ClueStatus = (typeof clueStatuses)[number];
/** Still being handled (the staff queue's default view): not declined, replied, closed or merged. */
export const openStatuses = ['registered', 'accepted', 'verifying', 'referred', 'concluded'] as const satisfies readonly ClueStatus[];

export const findings = ['substantiated', 'partly_substantiated', 'unsubstantiated'] as const;
export type Finding = (typeof findings)[number];

export type Requirement = 'reason' | 'finding' | 'mergedInto';

/**
 * Every legal status change, in one place (DESIGN.md "The clue ledger"). An action not listed
 * for the current status is refused with `clue.illegal_transition` and writes nothing.
 * Review (复查) and re-review (复核), asked for by the reporter, reopen a concluded, replied or closed clue.
 */
export const transitions = {
  accept: { from: ['registered', 'declined'], to: 'accepted', requires: [] },
  decline: { from: ['registered'], to: 'declined', requires: ['reason'] },
  merge: { from: ['registered', 'accepted'], to: 'merged', requires: ['mergedInto'] },
  start_verification: { from: ['accepted'], to: 'verifying', requires: [] },
  refer: { from: ['accepted', 'verifying'], to: 'referred', requires: [] },
  resume_verification: { from: ['referred'], to: 'verifying', requires: [] },
  conclude: { from: ['verifying', 'referred'], to: 'concluded', requires: ['finding'] },
  reply: { from: ['concluded'], to: 'replied', requires: [] },
  close: { from: ['replied', 'declined'], to: 'closed', requires: [] },
  review: { from: ['concluded', 'replied', 'closed'], to: 'verifying', requires: ['reason'] },
  re_review: { from: ['concluded', 'replied', 'closed'], to: 'verifying', requires: ['reason'] },
} as const satisfies Record<string, { from: readonly ClueStatus[]; to: ClueStatus; requires: readonly Requirement[] }>;

export type ClueAction = keyof typeof transitions;
export const clueActions = Object.keys(transitions) as ClueAction[];

export function nextStatus(from: ClueStatus, action: ClueAction): ClueStatus | null {
  const t = transitions[action];
  return (t.from as readonly ClueStatus[]).includes(from) ? t.to : null;
}

export function allowedActions(from: ClueStatus): ClueAction[] {
  return clueActions.filter((a) => nextStatus(from, a) !== null);
}

/** Plain words for the reporter (zh-CN first, English beside it). */
export const publicStatusText: Record<ClueStatus, { zh: string; en: string }> = {
  registered: { zh: '已登记，等待受理', en: 'Registered, awaiting a decision to accept' },
  accepted: { zh: '已受理', en: 'Accepted' },
  declined: { zh: '不予受理', en: 'Not accepted' },
  verifying: { zh: '正在核实', en: 'Being verified' },
  referred: { zh: '已移交纪检监察机关', en: 'Referred to the discipline inspection body' },
  concluded: { zh: '已办结', en: 'Concluded' },
  replied: { zh: '已答复', en: 'Answered' },
  closed: { zh: '已结案', en: 'Closed' },
  merged: { zh: '已并入相同问题的线索一并办理', en: 'Merged with a report of the same matter' },
};

/** Reasons a clue is not accepted (不予受理), told to the reporter with the free text. */
export const declineReasons = {
  not_dibao_matter: { zh: '不属于低保工作范围', en: 'Not a matter of the minimum living allowance' },
  outside_jurisdiction: { zh: '不属于本机关管辖，已告知应向哪里反映', en: 'Outside our jurisdiction; you were told where to turn' },
  insufficient_information: { zh: '反映内容不具体，无法核查', en: 'Too little information to verify' },
  already_handled: { zh: '同一事项已办结且无新情况', en: 'The same matter was already concluded and nothing new was raised' },
  in_other_procedure: { zh: '已进入诉讼、仲裁或其他法定程序', en: 'Already in court, arbitration or another legal procedure' },
  other: { zh: '其他原因', en: 'Another reason' },
} as const;
export type DeclineReason = keyof typeof declineReasons;
