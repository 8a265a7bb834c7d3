import type { Locale } from '../../app/templates.ts';
import type { AccusedRole, Category } from '../clues/clue.entity.ts';

/** Plain-language names of the problem categories (GLOSSARY.md), as a citizen would say them. */
export const categoryLabels: Record<Category, { zh: string; en: string }> = {
  favor_enrolment: { zh: '人情保：因为人情关系被纳入低保', en: 'Enrolled as a favour' },
  connection_enrolment: { zh: '关系保：干部亲属、熟人违规享受低保', en: 'Enrolled through connections (relatives or friends of officials)' },
  stability_enrolment: { zh: '维稳保：为了平息上访而给低保', en: 'Enrolled to placate a petitioner' },
  policy_stretch_enrolment: { zh: '政策保：放宽标准违规纳入', en: 'Rules stretched to enrol someone' },
  wrongful_enrolment: { zh: '错保：不符合条件却在享受低保', en: 'Receiving the allowance without being eligible' },
  missed_enrolment: { zh: '漏保：符合条件却没有纳入', en: 'Eligible but left out' },
  single_instead_of_household: { zh: '只保一个人、不保整户', en: 'Only one person enrolled instead of the household' },
  embezzlement: { zh: '贪污、侵占低保金', en: 'Allowance money embezzled' },
  false_claim: { zh: '虚报冒领', en: 'False claims' },
  withholding_funds: { zh: '截留、私分低保金', en: 'Allowance money withheld or shared out' },
  extortion: { zh: '吃拿卡要、索要好处', en: 'Asking for gifts or bribes' },
  favouring_relatives: { zh: '优亲厚友', en: 'Favouring relatives and friends' },
  obstruction_or_inaction: { zh: '推诿、刁难、不作为', en: 'Obstruction, shirking or inaction' },
  payment_irregularity: { zh: '资金发放不规范（打到别人账户等）', en: 'Irregular payments (to someone else’s account, etc.)' },
  card_custody_abuse: { zh: '低保卡、存折被别人拿着', en: 'Someone else keeps the beneficiary’s card or passbook' },
  hotline_unanswered: { zh: '举报电话打不通、没人管', en: 'The hotline is not answered' },
  other: { zh: '其他问题', en: 'Something else' },
};

export const accusedRoleLabels: Record<AccusedRole, { zh: string; en: string }> = {
  unknown: { zh: '不清楚', en: 'Not sure' },
  official: { zh: '民政部门工作人员', en: 'Civil-affairs official' },
  caseworker: { zh: '低保经办人员', en: 'Caseworker' },
  cadre: { zh: '村（居）委会干部', en: 'Village or residents’ committee cadre' },
  beneficiary: { zh: '低保户', en: 'Beneficiary household' },
  other: { zh: '其他人', en: 'Someone else' },
};

const strings = {
  siteName: { zh: '低保投诉举报', en: 'Dibao complaints and reports' },
  switchLang: { zh: 'English', en: '中文' },
  skipLink: { zh: '跳到正文', en: 'Skip to main content' },
  errorTitle: { zh: '错误：', en: 'Error: ' },
  homeIntro: {
    zh: '发现低保办理中的人情保、关系保、错保、漏保、贪污挪用、推诿刁难等问题，可以在这里举报。可以匿名。',
    en: 'Report favouritism, wrongful or missed enrolment, embezzlement, obstruction or other problems in the minimum living allowance programme. You may stay anonymous.',
  },
  startReport: { zh: '我要举报', en: 'Make a report' },
  followUp: { zh: '查询办理进度', en: 'Check progress' },
  contactTitle: { zh: '也可以打电话或发邮件', en: 'You can also phone or email' },
  hotline: { zh: '举报电话', en: 'Hotline' },
  reportEmail: { zh: '举报邮箱', en: 'Email' },
  noHotlineYet: { zh: '举报电话尚未公布，请先在网上或用邮件举报。', en: 'The hotline number is not published yet; please report online or by email.' },
  reportTitle: { zh: '举报低保问题', en: 'Report a dibao problem' },
  whatHappened: { zh: '发生了什么？（必填）', en: 'What happened? (required)' },
  whatHappenedHint: { zh: '请写清楚是谁、做了什么、您是怎么知道的。至少写一句话。', en: 'Say who did what and how you know. At least one sentence.' },
  when: { zh: '大约什么时候？', en: 'Roughly when?' },
  whenHint: { zh: '例如：2026年3月、去年冬天', en: 'For example: March 2026, last winter' },
  where: { zh: '在哪个街道（镇）、居（村）委会？', en: 'Which street/town and committee?' },
  whereHint: { zh: '不清楚就选“不清楚”，举报会交给区民政局处理。', en: 'If you are not sure, choose “Not sure”: the district bureau will handle the report.' },
  whereDistrictOnly: {
    zh: '目前还不能选择街道或乡镇，您的举报将由区民政局直接处理。',
    en: 'Streets and towns cannot be chosen yet: the district bureau will handle your report directly.',
  },
  whereUnknown: { zh: '不清楚', en: 'Not sure' },
  wholeStreet: { zh: '（不确定具体居委会）', en: '(committee not sure)' },
  wholeTown: { zh: '（不确定具体村委会）', en: '(village committee not sure)' },
  categories: { zh: '属于哪类问题？（可多选）', en: 'What kind of problem? (choose any)' },
  accusedTitle: { zh: '举报的是谁？（可不填）', en: 'Who is it about? (optional)' },
  accusedHint: { zh: '最多填 3 人，更多的请写在“发生了什么”里。不知道身份就选“不清楚”。', en: 'Up to 3 people; write about more in “What happened”. If you do not know their role, choose “Not sure”.' },
  accusedPerson: { zh: '第 {n} 人', en: 'Person {n}' },
  accusedName: { zh: '姓名', en: 'Name' },
  accusedRole: { zh: '身份', en: 'Role' },
  accusedUnit: { zh: '所在单位', en: 'Unit' },
  files: { zh: '证据材料（可不传）', en: 'Evidence (optional)' },
  filesHint: {
    zh: '可以上传照片、文件或录音，最多 5 个，每个不超过 10 MB。照片里的拍摄地点会被自动删除。',
    en: 'You can add photos, documents or recordings: up to 5 files, each at most 10 MB. The place a photo was taken is removed automatically.',
  },
  filesDetails: { zh: '详细', en: 'Details' },
  uploading: { zh: '正在上传，请不要关闭页面……', en: 'Uploading; please keep this page open…' },
  identityTitle: { zh: '实名还是匿名？', en: 'Named or anonymous?' },
  anonymous: { zh: '匿名举报（不留姓名和联系方式）', en: 'Anonymous (no name or contact)' },
  named: { zh: '实名举报（便于我们联系您、告知结果）', en: 'Named (so we can contact you and tell you the result)' },
  contactFields: { zh: '您的联系方式', en: 'How to contact you' },
  namedOnly: { zh: '选择匿名举报时，这里填写的内容不会被提交。', en: 'If you choose anonymous, nothing you type here is sent.' },
  yourName: { zh: '您的姓名', en: 'Your name' },
  yourPhone: { zh: '手机号码', en: 'Mobile phone' },
  yourEmail: { zh: '电子邮箱', en: 'Email' },
  contactHint: { zh: '实名举报请至少留下手机号码或电子邮箱之一。', en: 'For a named report give at least a phone number or an email address.' },
  consent: { zh: '如线索移交纪检监察机关，同意一并提供我的身份信息', en: 'If the report is referred to a discipline inspection body, my identity may go with it' },
  notifyQuestion: { zh: '可以发短信/邮件告诉您进展吗？', en: 'May we text or email you when there is news?' },
  notifyHint: {
    zh: '有新回复时，我们只发一句“您的举报有新回复，请凭查询码查看”，不写任何内容。有邮箱发邮件，只有手机号码发短信。',
    en: 'When staff reply we send only “There is a new reply about your report”, nothing of its content: by email if you gave one, else by SMS.',
  },
  notifyYes: { zh: '可以', en: 'Yes' },
  notifyNo: { zh: '不用（例如别人可能会看到我的手机）', en: 'No (for example, someone else may read my phone)' },
  identityNotice: {
    zh: '您的身份信息加密保存，只有负责受理的工作人员在需要联系您时才能查看，每次查看都会留下记录；绝不会透露给被举报人或其所在单位。',
    en: 'Your identity is stored encrypted. Only the staff handling your report can open it, when they need to contact you, and every opening is recorded. It is never passed to the person you report or to their unit.',
  },
  submit: { zh: '提交举报', en: 'Submit report' },
  fixErrors: { zh: '请修改以下问题后重新提交：', en: 'Please fix the following and submit again:' },
  reselectFiles: { zh: '如有附件，请重新选择文件。', en: 'If you attached files, please choose them again.' },
  doneTitle: { zh: '举报已提交', en: 'Report submitted' },
  trackingCode: { zh: '查询码', en: 'Tracking code' },
  secret: { zh: '密码', en: 'Secret' },
  secretWarning: {
    zh: '请立即抄写或截图保存查询码和密码。密码只显示这一次，丢失后无法找回；任何工作人员都不会向您索要密码。',
    en: 'Write down or screenshot the tracking code and the secret now. The secret is shown only this once and cannot be recovered; no staff member will ever ask you for it.',
  },
  whatNext: { zh: '接下来', en: 'What happens next' },
  followUpTitle: { zh: '查询办理进度', en: 'Check progress' },
  followUpIntro: { zh: '请输入提交举报时得到的查询码和密码。', en: 'Enter the tracking code and secret you received when you reported.' },
  codeHint: { zh: '12 位数字，例如 1234 5678 9012', en: '12 digits, for example 1234 5678 9012' },
  open: { zh: '查询', en: 'Open' },
  wrongCode: { zh: '查询码或密码不正确。', en: 'Wrong tracking code or secret.' },
  signOut: { zh: '退出', en: 'Sign out' },
  signedOut: { zh: '您已退出。', en: 'You are signed out.' },
  sessionEnded: { zh: '您已退出或长时间没有操作，请重新输入查询码和密码。', en: 'You were signed out or away too long; enter the tracking code and secret again.' },
  status: { zh: '当前状态', en: 'Status' },
  dates: { zh: '我们的承诺', en: 'What we promise' },
  history: { zh: '办理记录', en: 'History' },
  thread: { zh: '与工作人员的沟通', en: 'Messages with the staff' },
  noMessages: { zh: '暂无消息。', en: 'No messages yet.' },
  you: { zh: '您', en: 'You' },
  staff: { zh: '工作人员', en: 'Staff' },
  yourMessage: { zh: '回复或补充情况', en: 'Reply or add information' },
  emptyMessage: { zh: '请先写下要回复或补充的内容。', en: 'Write your reply or the information to add first.' },
  send: { zh: '发送', en: 'Send' },
  sent: { zh: '已发送。', en: 'Sent.' },
  tooMany: { zh: '操作过于频繁，请稍后再试。', en: 'Too many attempts; please try again later.' },
} as const;

export type StringKey = keyof typeof strings;

export function t(locale: Locale, key: StringKey): string {
  return locale === 'en' ? strings[key].en : strings[key].zh;
}

export function label(locale: Locale, l: { zh: string; en: string }): string {
  return locale === 'en' ? l.en : l.zh;
}

/** The page-language half of a "中文 / English" message (coded errors carry both). */
export function pickLanguage(locale: Locale, bilingual: string): string {
  const i = bilingual.indexOf(' / ');
  if (i < 0) return bilingual;
  return locale === 'en' ? bilingual.slice(i + 3) : bilingual.slice(0, i);
}
