import type { ClueAction } from '../clues/status-machine.ts';

type Words = { zh: string; en: string };

/** What each status change did, in words (the status itself is shown apart). */
const actionWords: Record<ClueAction, Words> = {
  accept: { zh: '举报已受理', en: 'Report accepted' },
  decline: { zh: '决定不予受理', en: 'Decided not to accept the report' },
  merge: { zh: '与反映同一问题的举报合并办理', en: 'Merged with a report of the same matter' },
  start_verification: { zh: '开始核实', en: 'Verification started' },
  refer: { zh: '移交纪检监察机关', en: 'Referred to the discipline inspection body' },
  resume_verification: { zh: '继续核实', en: 'Verification resumed' },
  conclude: { zh: '核实完毕，已办结', en: 'Verified and concluded' },
  reply: { zh: '已把处理结果告诉您', en: 'You were told the result' },
  close: { zh: '已结案', en: 'Closed' },
  review: { zh: '开始复查', en: 'Review started' },
  re_review: { zh: '开始复核', en: 'Re-review started' },
};

/** What each message to the reporter was (`reporter.notified`, by template): a receipt is not a decision. */
const notifiedWords: Record<string, Words> = {
  'email/reporter-ack': { zh: '已向您的邮箱发送登记回执', en: 'A receipt was emailed to you' },
  'email/reporter-ack-email': { zh: '已向您的邮箱发送登记回执和密码', en: 'A receipt with your secret was emailed to you' },
  'email/reporter-decision': { zh: '已发邮件告诉您是否受理', en: 'You were emailed whether the report is accepted' },
  'email/reporter-reply': { zh: '已发邮件提醒您有新回复', en: 'You were emailed that there is a new reply' },
  'sms/report_ack': { zh: '已用短信发送查询码和密码', en: 'Your tracking code and PIN were sent by SMS' },
  'sms/reply_notice': { zh: '已发短信提醒您有新回复', en: 'You were texted that there is a new reply' },
};

const otherWords: Record<string, Words> = {
  'clue.registered': { zh: '举报已登记', en: 'Report registered' },
  'deadline.extended': { zh: '办理期限经批准延长', en: 'A time limit was extended with approval' },
};

/** The reporter's history: the events they may know of, each in words saying what happened. */
export function publicHistory(events: { type: string; at: Date; data: Record<string, unknown> }[]): ({ at: Date } & Words)[] {
  return events.flatMap((e) => {
    const words =
      e.type === 'clue.status_changed'
        ? actionWords[e.data.action as ClueAction]
        : e.type === 'reporter.notified'
          ? (notifiedWords[e.data.template as string] ?? { zh: '已通知您', en: 'You were notified' })
          : otherWords[e.type];
    return words ? [{ at: e.at, zh: words.zh, en: words.en }] : [];
  });
}
