import type { Locale } from '../../app/templates.ts';
import type { DeadlineUseCases } from '../deadlines/deadlines.usecases.ts';

/** How the public reaches the bureau: published on the citizen pages and in acknowledgements (seeds 000, 002, 003). */
export interface PublicContact {
  /** HOTLINE_NUMBERS, as people dial them. */
  numbers: string[];
  /** The office hours the IVR's operator step uses (deadline policy), on working days. */
  hours: { start: string; end: string };
  /** The first of REPORT_ADDRESSES (the intake mail listener accepts mail for it). */
  email: string | null;
}

/** "09:00" → "9:00". */
const clock = (hhmm: string) => hhmm.replace(/^0(\d)/, '$1');

export function createContactUseCases(deps: {
  config: { HOTLINE_NUMBERS: string[]; REPORT_ADDRESSES: string[] };
  deadlines: Pick<DeadlineUseCases, 'currentPolicy'>;
}) {
  const email = deps.config.REPORT_ADDRESSES[0] ?? null;

  /** Read at each use: the office hours follow the deadline policy an admin may edit (cached there). */
  async function current(): Promise<PublicContact> {
    const { officeHours } = await deps.deadlines.currentPolicy();
    return { numbers: deps.config.HOTLINE_NUMBERS, hours: officeHours, email };
  }

  return { current };
}

export type ContactUseCases = ReturnType<typeof createContactUseCases>;

/** The hours in words: "工作日 9:00—17:00" / "working days 9:00–17:00". */
export function officeHoursText(locale: Locale, hours: PublicContact['hours']): string {
  return locale === 'en' ? `working days ${clock(hours.start)}–${clock(hours.end)}` : `工作日 ${clock(hours.start)}—${clock(hours.end)}`;
}

/** One line for mail and SMS: "举报电话 …（工作日 9:00—17:00）；举报邮箱 …". */
export function contactLine(locale: Locale, c: PublicContact): string {
  const parts: string[] = [];
  if (c.numbers.length) {
    parts.push(locale === 'en' ? `Hotline ${c.numbers.join(', ')} (${officeHoursText(locale, c.hours)})` : `举报电话 ${c.numbers.join('、')}（${officeHoursText(locale, c.hours)}）`);
  }
  if (c.email) parts.push(locale === 'en' ? `email ${c.email}` : `举报邮箱 ${c.email}`);
  return parts.join(locale === 'en' ? '; ' : '；');
}
