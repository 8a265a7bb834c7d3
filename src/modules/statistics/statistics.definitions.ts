import type { AccusedRole, Category, Channel, ProblemType } from '../clues/clue.entity.ts';
import type { ClueStatus, Finding } from '../clues/status-machine.ts';

/**
 * The definitions behind every figure of the self-inspection table and the clue ledger export, in
 * one place (README "Statistics and exports" repeats them in words).
 *
 * - 民政部门问题线索 (civil-affairs clues): a clue with at least one accused whose role is official,
 *   caseworker or cadre. Every other clue — accused beneficiaries, "other" people, people of unknown
 *   role, or nobody named — is a 社会救助领域信访事项 (petition).
 * - 已处置到位 (disposed of): the clue stands concluded, replied or closed after a conclusion, at the
 *   time the table is made.
 * - Counts of clues (问题线索数, 信访事项数) are the clues received in the period (受理时间), by the unit
 *   they concern. Merged clues count once, in the clue they were merged into (the merged ones, status
 *   `merged`, are not counted).
 * - Removals, recovered funds, 单人保 corrections and custody cases come from the conclusion event of
 *   each clue whose latest conclusion falls in the period: a clue concluded, reopened (review,
 *   re-review) and concluded again counts once, in the period of its latest conclusion; a clue
 *   reopened and not yet concluded again counts nowhere.
 * - A conclusion that recorded no split by problem type (those made before it was asked for, or
 *   through the API without it) is counted on a separate "type not recorded" line, never guessed into
 *   a column.
 * - 近亲属备案数: near-relative registrations of the unit's staff and cadres that exist at the end of
 *   the period.
 */
export const civilAffairsAccusedRoles: readonly AccusedRole[] = ['official', 'caseworker', 'cadre'];
export const disposedStatuses: readonly ClueStatus[] = ['concluded', 'replied', 'closed'];

/** The table's figures, in the annex's column order. */
export const annexColumns = [
  { key: 'renqingPeople', zh: '清退“人情保”人数（人）', en: '“Favour” enrolments removed (persons)' },
  { key: 'renqingFunds', zh: '清退“人情保”追回资金（元）', en: 'Funds recovered from them (yuan)' },
  { key: 'guanxiPeople', zh: '清退“关系保”人数（人）', en: '“Connection” enrolments removed (persons)' },
  { key: 'guanxiFunds', zh: '清退“关系保”追回资金（元）', en: 'Funds recovered from them (yuan)' },
  { key: 'zhengcePeople', zh: '清退“政策保”人数（人）', en: '“Policy” enrolments removed (persons)' },
  { key: 'zhengceFunds', zh: '清退“政策保”追回资金（元）', en: 'Funds recovered from them (yuan)' },
  { key: 'sanwuPeople', zh: '清退放宽“三无”认定纳入特困供养人员人数（人）', en: 'Removed from extreme-poverty support taken in on loosened “three-nos” criteria (persons)' },
  { key: 'sanwuFunds', zh: '清退放宽“三无”认定纳入特困供养人员追回资金（元）', en: 'Funds recovered from them (yuan)' },
  { key: 'enrolledAfterSingleFix', zh: '纠正以“单人保”代替“整户保”问题新纳入低保人数（人）', en: 'Newly enrolled once “one person instead of the household” was corrected (persons)' },
  { key: 'civilAffairsClues', zh: '民政部门问题线索数（条）', en: 'Civil-affairs clues (clues)' },
  { key: 'civilAffairsDisposed', zh: '其中已处置到位数（件）', en: 'of which disposed of (cases)' },
  { key: 'cardCustodyCases', zh: '卡折代管案数（人）', en: 'Card or passbook custody cases (persons)' },
  { key: 'nearRelativeRegistrations', zh: '近亲属备案数（人）', en: 'Near-relative registrations (persons)' },
  { key: 'petitions', zh: '办理社会救助领域信访事项数（件）', en: 'Social-assistance petitions handled (cases)' },
  { key: 'petitionsDisposed', zh: '其中已处置到位数（件）', en: 'of which disposed of (cases)' },
] as const;
export type AnnexKey = (typeof annexColumns)[number]['key'];
export type AnnexFigures = Record<AnnexKey, number>;

export const problemTypeColumns: Record<ProblemType, { people: AnnexKey; funds: AnnexKey }> = {
  renqing: { people: 'renqingPeople', funds: 'renqingFunds' },
  guanxi: { people: 'guanxiPeople', funds: 'guanxiFunds' },
  zhengce: { people: 'zhengcePeople', funds: 'zhengceFunds' },
  sanwu: { people: 'sanwuPeople', funds: 'sanwuFunds' },
};

export const emptyFigures = (): AnnexFigures => Object.fromEntries(annexColumns.map((c) => [c.key, 0])) as AnnexFigures;

/** Short staff names for the export (the citizen pages use plainer words). */
export const channelNames: Record<Channel, string> = {
  phone: '电话',
  web: '网络',
  email: '电子邮件',
  letter: '来信',
  visit: '来访',
  media: '媒体',
  data_check: '数据比对',
  assigned: '上级交办',
  sms: '短信',
};
export const categoryNames: Record<Category, string> = {
  favor_enrolment: '人情保',
  connection_enrolment: '关系保',
  stability_enrolment: '维稳保',
  policy_stretch_enrolment: '政策保',
  wrongful_enrolment: '错保',
  missed_enrolment: '漏保',
  single_instead_of_household: '单人保代替整户保',
  embezzlement: '贪污侵占',
  false_claim: '虚报冒领',
  withholding_funds: '截留私分',
  extortion: '吃拿卡要',
  favouring_relatives: '优亲厚友',
  obstruction_or_inaction: '推诿刁难不作为',
  payment_irregularity: '资金发放不规范',
  card_custody_abuse: '卡折代管',
  hotline_unanswered: '热线无人接听',
  other: '其他',
};
export const statusNames: Record<ClueStatus, string> = {
  registered: '待受理',
  accepted: '已受理',
  declined: '不予受理',
  verifying: '核查中',
  referred: '已移交纪检监察机关',
  concluded: '已办结',
  replied: '已答复',
  closed: '已结案',
  merged: '已合并',
};
export const findingNames: Record<Finding, string> = {
  substantiated: '属实',
  partly_substantiated: '部分属实',
  unsubstantiated: '不属实',
};
export const accusedRoleNames: Record<AccusedRole, string> = {
  official: '民政部门工作人员',
  caseworker: '低保经办人员',
  cadre: '村（居）委会干部',
  beneficiary: '低保户',
  other: '其他',
  unknown: '身份不详',
};

/** 答复情况: what the reporter has been told, from the clue's status. */
export function replyState(status: ClueStatus): string {
  if (status === 'replied' || status === 'closed') return '已答复';
  if (status === 'concluded') return '待答复';
  if (status === 'declined') return '已告知不予受理';
  if (status === 'merged') return '随并入线索答复';
  return '办理中';
}
