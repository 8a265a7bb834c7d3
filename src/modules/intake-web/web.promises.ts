import { formatDay, type Locale } from '../../app/templates.ts';

export interface ReporterDeadline {
  kind: string;
  zh: string;
  en: string;
  due: Date;
  met: boolean;
  state: string;
}

type Sentences = { open: [string, string]; met: [string, string]; missed: [string, string] };

/**
 * One plain sentence per promise ({date} is the day). The receipt notice and a named report's
 * acceptance notice are one promise to the reporter ("we tell you whether we accept it"): only the
 * earlier date is shown.
 */
const promises: Record<string, Sentences> = {
  decide: {
    open: ['我们将在 {date}前告诉您是否受理。', 'We will tell you by {date} whether your report is accepted.'],
    met: ['我们已告诉您是否受理。', 'We have told you whether your report is accepted.'],
    missed: ['我们本应在 {date}前告诉您是否受理，已经超期，已报负责人督办。', 'We should have told you by {date} whether your report is accepted; this is overdue and has gone to a supervisor.'],
  },
  conclusion: {
    open: ['我们将在 {date}前核实并处理完毕。', 'We will finish verifying and handling it by {date}.'],
    met: ['已经核实并处理完毕。', 'It has been verified and handled.'],
    missed: ['我们本应在 {date}前核实并处理完毕，已经超期，已报负责人督办。', 'We should have finished by {date}; this is overdue and has gone to a supervisor.'],
  },
  reply_to_reporter: {
    open: ['我们将在 {date}前把处理结果告诉您。', 'We will tell you the result by {date}.'],
    met: ['我们已把处理结果告诉您。', 'We have told you the result.'],
    missed: ['我们本应在 {date}前把处理结果告诉您，已经超期，已报负责人督办。', 'We should have told you the result by {date}; this is overdue and has gone to a supervisor.'],
  },
  review: {
    open: ['我们将在 {date}前给出复查意见。', 'We will give the review’s findings by {date}.'],
    met: ['复查意见已经给出。', 'The review’s findings have been given.'],
    missed: ['我们本应在 {date}前给出复查意见，已经超期，已报负责人督办。', 'We should have given the review’s findings by {date}; this is overdue and has gone to a supervisor.'],
  },
  re_review: {
    open: ['我们将在 {date}前给出复核意见。', 'We will give the re-review’s findings by {date}.'],
    met: ['复核意见已经给出。', 'The re-review’s findings have been given.'],
    missed: ['我们本应在 {date}前给出复核意见，已经超期，已报负责人督办。', 'We should have given the re-review’s findings by {date}; this is overdue and has gone to a supervisor.'],
  },
};

const shanghaiYear = new Intl.DateTimeFormat('en', { timeZone: 'Asia/Shanghai', year: 'numeric' });
const groupOf = (kind: string) => (kind === 'receipt_notice' || kind === 'acceptance_decision' ? 'decide' : kind);

/** The sentences for a reporter's deadlines, in order, one per promise. */
export function promiseSentences(locale: Locale, deadlines: ReporterDeadline[], now: Date): { text: string; met: boolean; extended: boolean }[] {
  const groups = new Map<string, ReporterDeadline[]>();
  for (const d of deadlines) groups.set(groupOf(d.kind), [...(groups.get(groupOf(d.kind)) ?? []), d]);
  return [...groups].map(([group, rows]) => {
    // A promise is kept when any of its deadlines was met (they stop on the same events).
    const met = rows.some((r) => r.met);
    const first = rows.reduce((a, b) => (b.due < a.due ? b : a));
    const state = met ? 'met' : first.state === 'missed' ? 'missed' : 'open';
    const words = promises[group];
    const day = formatDay(locale, first.due, { year: shanghaiYear.format(first.due) !== shanghaiYear.format(now) });
    const [zh, en] = words ? words[state] : [`${first.zh}：{date}`, `${first.en}: {date}`];
    return { text: (locale === 'en' ? en : zh).replace('{date}', day), met, extended: first.state === 'extended' };
  });
}
