import type { Config } from '../../app/config.ts';
import type { Locale } from '../../app/templates.ts';

const dateTimeFormat = (timeZone: string, locale: Locale) =>
  new Intl.DateTimeFormat(locale, { timeZone, month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
const dateFormat = (timeZone: string, locale: Locale) => new Intl.DateTimeFormat(locale, { timeZone, year: 'numeric', month: 'long', day: 'numeric' });

/** Dates as the hotline says and texts them: in TIME_ZONE, in the prompts' locale (VOICE_LOCALE). */
export function createHotlineDates(config: Pick<Config, 'TIME_ZONE' | 'VOICE_LOCALE'>) {
  const locale: Locale = config.VOICE_LOCALE;
  return {
    formatDateTime: (at: Date) => dateTimeFormat(config.TIME_ZONE, locale).format(at),
    formatDate: (at: Date) => dateFormat(config.TIME_ZONE, locale).format(at),
  };
}

export type HotlineDates = ReturnType<typeof createHotlineDates>;
