import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CalendarFileError, DEFAULT_CALENDAR_DATA_DIR, loadCalendar, validateCalendarFile } from './calendar.ts';

/*
 * Facts used below, all read from data/2026.json and data/2027.json (H = holiday, W = swapped
 * working weekend day). Weekdays were checked against a perpetual calendar.
 *
 * 2026  元旦  H 01-01 Thu … 01-03 Sat            W 01-04 Sun
 *       春节  H 02-15 Sun … 02-23 Mon (除夕 02-16, 初一 02-17)   W 02-14 Sat, 02-28 Sat
 *       清明  H 04-04 Sat … 04-06 Mon
 *       劳动  H 05-01 Fri … 05-05 Tue            W 05-09 Sat
 *       端午  H 06-19 Fri … 06-21 Sun
 *       中秋  H 09-25 Fri … 09-27 Sun
 *       国庆  H 10-01 Thu … 10-07 Wed            W 09-20 Sun, 10-10 Sat
 * 2027 (provisional)
 *       元旦  H 01-01 Fri … 01-03 Sun
 *       春节  H 02-05 Fri … 02-12 Fri (除夕 02-05, 初一 02-06)   W 01-31 Sun, 02-20 Sat
 *       清明  H 04-03 Sat … 04-05 Mon
 *       劳动  H 05-01 Sat … 05-05 Wed            W 05-08 Sat
 *       端午  H 06-09 Wed        中秋  H 09-15 Wed
 *       国庆  H 10-01 Fri … 10-07 Thu            W 09-26 Sun, 10-09 Sat
 */

const calendar = loadCalendar({ dirs: [DEFAULT_CALENDAR_DATA_DIR] });

/** An instant given as Shanghai wall-clock time, e.g. sh('2026-02-13 10:00'). */
const sh = (local: string): Date => new Date(`${local.replace(' ', 'T')}+08:00`);
/** The end of a Shanghai local day: 23:59:59.999 +08:00. */
const endOf = (date: string): string => new Date(`${date}T23:59:59.999+08:00`).toISOString();

const tmpRoot = mkdtempSync(join(tmpdir(), 'calendar-test-'));
afterAll(() => rmSync(tmpRoot, { recursive: true, force: true }));
let tmpCount = 0;
function tmpDirWith(files: Record<string, string>): string {
  const dir = join(tmpRoot, String(++tmpCount));
  mkdirSync(dir);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

describe('data files', () => {
  it('2026 and 2027 are loaded; 2027 is marked provisional, 2026 is not', () => {
    expect(calendar.yearsLoaded()).toEqual([2026, 2027]);
    const sources = calendar.sources();
    expect(sources.map((s) => [s.year, s.provisional])).toEqual([
      [2026, false],
      [2027, true],
    ]);
    expect(sources[1]?.note).toMatch(/MUST replace/);
  });

  it('list the statutory holiday days of 《全国年节及纪念日放假办法》 (2024 revision)', () => {
    const statutory: Record<string, number> = { 元旦: 1, 春节: 4, 清明节: 1, 劳动节: 2, 端午节: 1, 中秋节: 1, 国庆节: 3 };
    for (const year of [2026, 2027]) {
      const data = JSON.parse(readFileSync(join(DEFAULT_CALENDAR_DATA_DIR, `${year}.json`), 'utf8'));
      const counts = Object.fromEntries(data.holidays.map((h: any) => [h.name, h.officialDays.length]));
      expect(counts).toEqual(statutory);
    }
  });

  it('put 端午 on lunar 5/5 and 中秋 on lunar 8/15 (cross-checked with the ICU Chinese calendar)', () => {
    const lunar = new Intl.DateTimeFormat('en-u-ca-chinese', { timeZone: 'UTC', month: 'numeric', day: 'numeric' });
    const md = (date: string) => {
      const parts = lunar.formatToParts(new Date(`${date}T00:00:00Z`));
      return `${parts.find((p) => p.type === 'month')?.value}/${parts.find((p) => p.type === 'day')?.value}`;
    };
    expect(md('2026-06-19')).toBe('5/5'); // 端午 2026
    expect(md('2027-06-09')).toBe('5/5'); // 端午 2027
    expect(md('2026-09-25')).toBe('8/15'); // 中秋 2026
    expect(md('2027-09-15')).toBe('8/15'); // 中秋 2027
    expect(md('2026-02-17')).toBe('1/1'); // 初一 2026; 02-16 is 除夕 (腊月二十九)
    expect(md('2026-02-16')).toBe('12/29');
    // 2027: the new moon is at 23:56 Beijing time on 02-06, so 初一 is 2027-02-06 (as the data
    // says); ICU's approximation puts it on 02-07, so it is deliberately not used for that year.
  });

  it('never ask for more than 6 consecutive working days (the 2025 调休 principle)', () => {
    let run = 0;
    let longest = 0;
    for (let t = Date.UTC(2026, 0, 1); t <= Date.UTC(2027, 11, 31); t += 86_400_000) {
      run = calendar.isWorkingDay(new Date(t).toISOString().slice(0, 10)) ? run + 1 : 0;
      longest = Math.max(longest, run);
    }
    expect(longest).toBe(6); // e.g. 2026-02-09 Mon … 02-14 Sat (W), 2027-02-15 Mon … 02-20 Sat (W)
  });
});

describe('isWorkingDay', () => {
  const cases: Array<[string, boolean, string]> = [
    ['2026-01-02', false, 'Fri, 元旦 day off'],
    ['2026-01-04', true, 'Sun, swapped working day for 元旦'],
    ['2026-02-13', true, 'ordinary Friday'],
    ['2026-02-14', true, 'Sat, swapped working day for 春节'],
    ['2026-02-15', false, 'Sun, first day of 春节'],
    ['2026-02-16', false, 'Mon, 除夕'],
    ['2026-02-17', false, 'Tue, 初一'],
    ['2026-02-23', false, 'Mon, last day of 春节 (调休)'],
    ['2026-02-24', true, 'Tue, first working day after 春节'],
    ['2026-02-28', true, 'Sat, swapped working day for 春节'],
    ['2026-03-01', false, 'ordinary Sunday'],
    ['2026-04-06', false, 'Mon, 清明 (4-05 is a Sunday)'],
    ['2026-05-09', true, 'Sat, swapped working day for 劳动节'],
    ['2026-09-20', true, 'Sun, swapped working day for 国庆'],
    ['2026-09-25', false, 'Fri, 中秋'],
    ['2026-10-07', false, 'Wed, last day of 国庆'],
    ['2026-10-08', true, 'Thu, first working day after 国庆'],
    ['2026-10-10', true, 'Sat, swapped working day for 国庆'],
    ['2026-12-31', true, 'ordinary Thursday'],
    ['2027-01-01', false, 'Fri, 元旦'],
    ['2027-01-31', true, 'Sun, swapped working day for 春节 2027'],
    ['2027-02-05', false, 'Fri, 除夕 2027'],
    ['2027-02-12', false, 'Fri, last day of 春节 2027'],
    ['2027-02-13', false, 'ordinary Saturday'],
    ['2027-02-20', true, 'Sat, swapped working day for 春节 2027'],
    ['2027-05-08', true, 'Sat, swapped working day for 劳动节 2027'],
    ['2027-06-09', false, 'Wed, 端午 2027 (a Wednesday: that day only)'],
    ['2027-09-15', false, 'Wed, 中秋 2027 (a Wednesday: that day only)'],
    ['2027-10-09', true, 'Sat, swapped working day for 国庆 2027'],
  ];
  it.each(cases)('%s → %s (%s)', (date, expected) => {
    expect(calendar.isWorkingDay(date)).toBe(expected);
  });

  it('rejects malformed dates', () => {
    expect(() => calendar.isWorkingDay('2026-2-3')).toThrow(RangeError);
    expect(() => calendar.isWorkingDay('2026-02-30')).toThrow(/not a date/);
  });
});

describe('addWorkingDays: start day not counted, deadline = end of the n-th working day', () => {
  const cases: Array<[start: Date, n: number, expected: string, why: string]> = [
    // Spring Festival 2026
    [sh('2026-02-13 10:00'), 1, '2026-02-14', '02-14 (Sat) is a swapped working day'],
    [sh('2026-02-13 10:00'), 2, '2026-02-24', '02-14 W (1); 02-15…02-23 holiday; 02-24 Tue (2)'],
    [sh('2026-02-12 10:00'), 5, '2026-02-26', '02-13 (1), 02-14 W (2), 02-24 (3), 02-25 (4), 02-26 (5)'],
    [
      sh('2026-02-10 10:00'),
      15,
      '2026-03-09',
      '02-11,12,13 (3), 02-14 W (4), holiday, 02-24…27 (8), 02-28 W (9), 03-02…06 (14), 03-09 Mon (15)',
    ],
    [sh('2026-02-26 10:00'), 2, '2026-02-28', 'month end: 02-27 Fri (1), 02-28 Sat W (2)'],
    [sh('2026-02-27 10:00'), 2, '2026-03-02', 'month end: 02-28 W (1), 03-01 Sun off, 03-02 Mon (2)'],
    [sh('2026-02-17 10:00'), 1, '2026-02-24', 'start on a holiday (初一): 02-18…02-23 holiday, 02-24 (1)'],
    [sh('2026-02-14 15:00'), 1, '2026-02-24', 'start on the swapped working Saturday: next working day 02-24'],
    [sh('2026-02-16 10:00'), 0, '2026-02-16', 'n = 0: end of the start day itself'],
    // Labour Day 2026 across a month end
    [sh('2026-04-30 10:00'), 1, '2026-05-06', '05-01…05-05 holiday, 05-06 Wed (1)'],
    [sh('2026-04-30 10:00'), 4, '2026-05-09', '05-06, 05-07, 05-08 (3), 05-09 Sat W (4)'],
    // Mid-Autumn and National Day 2026
    [sh('2026-09-18 10:00'), 1, '2026-09-20', '09-19 Sat off, 09-20 (Sun) is a swapped working day'],
    [sh('2026-09-20 10:00'), 1, '2026-09-21', 'start on the swapped working Sunday: 09-21 Mon (1)'],
    [sh('2026-09-24 10:00'), 2, '2026-09-29', '09-25…27 中秋, 09-28 Mon (1), 09-29 Tue (2)'],
    [sh('2026-09-30 10:00'), 1, '2026-10-08', '10-01…10-07 国庆, 10-08 Thu (1)'],
    [sh('2026-09-30 10:00'), 3, '2026-10-10', '10-08 (1), 10-09 (2), 10-10 Sat W (3)'],
    [sh('2026-09-30 10:00'), 4, '2026-10-12', '… 10-10 W (3), 10-11 Sun off, 10-12 Mon (4)'],
    // Year end 2026 → 2027
    [sh('2026-12-31 10:00'), 1, '2027-01-04', '2027-01-01…03 元旦, 01-04 Mon (1)'],
    [sh('2026-12-30 10:00'), 2, '2027-01-04', '12-31 Thu (1), 元旦 01-01…03, 01-04 Mon (2)'],
    // Instant late in the evening UTC that is already the next day in Shanghai
    [
      new Date('2026-02-13T17:30:00Z'),
      1,
      '2026-02-24',
      '= 02-14 01:30 Shanghai: start day 02-14 not counted; 02-24 (1) (UTC day would give 02-14)',
    ],
    [
      new Date('2026-09-17T16:30:00Z'),
      1,
      '2026-09-20',
      '= 09-18 (Fri) 00:30 Shanghai; 09-19 Sat off; 09-20 Sun W (1) (UTC day would give 09-18)',
    ],
    // Spring Festival 2027 (provisional data)
    [sh('2027-01-29 10:00'), 1, '2027-01-31', '01-30 Sat off, 01-31 (Sun) is a swapped working day'],
    [sh('2027-02-04 10:00'), 1, '2027-02-15', '02-05…02-12 春节, 02-13/14 weekend, 02-15 Mon (1)'],
    [sh('2027-02-04 10:00'), 6, '2027-02-20', '02-15…02-19 (5), 02-20 Sat W (6)'],
    [sh('2027-06-08 10:00'), 1, '2027-06-10', '06-09 Wed 端午, 06-10 Thu (1)'],
    [sh('2027-09-24 10:00'), 1, '2027-09-26', '09-25 Sat off, 09-26 Sun W (1)'],
    [sh('2027-09-30 10:00'), 2, '2027-10-09', '10-01…10-07 国庆, 10-08 Fri (1), 10-09 Sat W (2)'],
  ];
  it.each(cases)('%s + %i working days → end of %s (%s)', (start, n, expected) => {
    expect(calendar.addWorkingDays(start, n).toISOString()).toBe(endOf(expected));
  });

  it('returns the instant just before the next local midnight', () => {
    const due = calendar.addWorkingDays(sh('2026-02-13 10:00'), 1);
    expect(due.toISOString()).toBe('2026-02-14T15:59:59.999Z');
    expect(calendar.localDate(due)).toBe('2026-02-14');
    expect(calendar.localDate(new Date(due.getTime() + 1))).toBe('2026-02-15');
  });

  it('rejects negative or fractional counts and invalid dates', () => {
    expect(() => calendar.addWorkingDays(sh('2026-02-13 10:00'), -1)).toThrow(RangeError);
    expect(() => calendar.addWorkingDays(sh('2026-02-13 10:00'), 1.5)).toThrow(RangeError);
    expect(() => calendar.addWorkingDays(new Date('nonsense'), 1)).toThrow(RangeError);
  });
});

describe('addCalendarDays: end of the n-th day after the start day, extended over non-working days', () => {
  const cases: Array<[start: Date, n: number, extend: boolean, expected: string, why: string]> = [
    [sh('2026-02-10 10:00'), 15, true, '2026-02-25', '02-25 is a Wednesday, working'],
    [sh('2026-02-01 10:00'), 15, true, '2026-02-24', '02-16 is 除夕; 02-17…02-23 holiday; first working day 02-24'],
    [sh('2026-02-01 10:00'), 15, false, '2026-02-16', 'without extension the period ends on 除夕 02-16'],
    [sh('2026-02-13 10:00'), 15, true, '2026-02-28', '02-28 (Sat) is a swapped working day: no extension'],
    [sh('2026-03-06 10:00'), 15, true, '2026-03-23', '03-21 is an ordinary Saturday; 03-22 Sun; 03-23 Mon'],
    [sh('2026-03-06 10:00'), 15, false, '2026-03-21', 'without extension: the Saturday itself'],
    [sh('2026-09-15 10:00'), 15, true, '2026-09-30', '09-30 Wed is working (last day before 国庆)'],
    [sh('2026-09-15 10:00'), 16, true, '2026-10-08', '10-01 国庆 … 10-07; first working day 10-08'],
    [sh('2026-08-02 10:00'), 60, true, '2026-10-08', '08-02 + 60 = 10-01 (29 days to 08-31, +30 to 09-30), 国庆 → 10-08'],
    [sh('2026-12-17 10:00'), 15, true, '2027-01-04', 'year end: 12-17 + 15 = 2027-01-01 元旦; 01-02/03 off; 01-04 Mon'],
    [
      new Date('2026-12-16T16:30:00Z'),
      15,
      true,
      '2027-01-04',
      '= 12-17 00:30 Shanghai, so as above (the UTC day 12-16 would end on 12-31)',
    ],
    [sh('2026-10-01 10:00'), 0, true, '2026-10-08', 'n = 0 on a holiday: extended to 10-08'],
    [sh('2027-01-16 10:00'), 15, true, '2027-01-31', '01-31 (Sun) is a swapped working day: no extension'],
    [sh('2027-01-21 10:00'), 15, true, '2027-02-15', '02-05 除夕 2027; 02-06…02-12 春节; 02-13/14 weekend; 02-15 Mon'],
  ];
  it.each(cases)('%s + %i days (extend: %s) → end of %s (%s)', (start, n, extend, expected) => {
    expect(calendar.addCalendarDays(start, n, { extendOverHolidays: extend }).toISOString()).toBe(endOf(expected));
  });

  it('extends by default', () => {
    expect(calendar.addCalendarDays(sh('2026-02-01 10:00'), 15).toISOString()).toBe(endOf('2026-02-24'));
  });
});

describe('workingDaysBetween: working days D with day(a) < D <= day(b)', () => {
  const cases: Array<[a: Date, b: Date, expected: number, why: string]> = [
    [sh('2026-02-13 10:00'), sh('2026-02-24 09:00'), 2, '02-14 W, 02-24'],
    [sh('2026-02-10 10:00'), sh('2026-03-09 18:00'), 15, 'the 15-working-day case above'],
    [sh('2026-02-15 10:00'), sh('2026-02-23 10:00'), 0, 'all of 02-16…02-23 is holiday'],
    [sh('2026-02-16 08:00'), sh('2026-02-16 20:00'), 0, 'same day'],
    [sh('2026-09-30 10:00'), sh('2026-10-10 10:00'), 3, '10-08, 10-09, 10-10 W'],
    [sh('2026-10-10 10:00'), sh('2026-09-30 10:00'), -3, 'reversed'],
    [sh('2026-12-31 10:00'), sh('2027-01-04 10:00'), 1, '01-04 only'],
    [new Date('2026-02-13T17:30:00Z'), sh('2026-02-24 10:00'), 1, 'a is 02-14 in Shanghai (start day), so only 02-24'],
  ];
  it.each(cases)('%s → %s = %i (%s)', (a, b, expected) => {
    expect(calendar.workingDaysBetween(a, b)).toBe(expected);
  });

  it('is the inverse of addWorkingDays', () => {
    const starts = [sh('2026-02-12 23:59'), sh('2026-09-20 00:00'), sh('2026-12-24 12:00'), sh('2027-01-28 09:00')];
    for (const start of starts) {
      for (let n = 0; n <= 30; n++) {
        expect(calendar.workingDaysBetween(start, calendar.addWorkingDays(start, n))).toBe(n);
      }
    }
  });
});

describe('addHours', () => {
  it('adds plain elapsed hours', () => {
    expect(calendar.addHours(sh('2026-02-14 23:30'), 2).toISOString()).toBe(sh('2026-02-15 01:30').toISOString());
    expect(calendar.addHours(sh('2026-02-14 23:30'), 0.5).toISOString()).toBe(sh('2026-02-15 00:00').toISOString());
  });
});

describe('nextWorkingHour: one hour of office time (09:00–17:00 on working days) from `at`', () => {
  const hours = { start: '09:00', end: '17:00' };
  const cases: Array<[at: Date, expected: Date, why: string]> = [
    [sh('2026-03-02 10:20'), sh('2026-03-02 11:20'), 'Mon, within office hours: + 1 hour'],
    [sh('2026-03-02 10:20:30.250'), sh('2026-03-02 11:20:30.250'), 'seconds are kept'],
    [sh('2026-03-02 16:00'), sh('2026-03-02 17:00'), 'the hour ends exactly at closing time'],
    [sh('2026-03-02 17:00'), sh('2026-03-03 10:00'), 'at closing time: next working day 09:00 + 1 hour'],
    [sh('2026-03-03 07:45'), sh('2026-03-03 10:00'), 'before opening: 09:00 + 1 hour'],
    [sh('2026-03-06 16:30'), sh('2026-03-09 09:30'), 'Fri: 30 min left, carried to Mon 09:00'],
    [sh('2026-03-07 11:00'), sh('2026-03-09 10:00'), 'Sat: next working day (Mon) 10:00'],
    [sh('2026-02-13 16:30'), sh('2026-02-14 09:30'), 'Fri: carried to 02-14, a swapped working Saturday'],
    [sh('2026-02-14 16:45'), sh('2026-02-24 09:45'), 'swapped Saturday 15 min; 02-15…02-23 holiday; 02-24 09:45'],
    [sh('2026-10-01 12:00'), sh('2026-10-08 10:00'), 'holiday: first working day after 国庆, 10:00'],
    [sh('2026-09-30 16:50'), sh('2026-10-08 09:50'), '10 min on 09-30, 50 min on 10-08'],
    [new Date('2026-03-06T23:30:00Z'), sh('2026-03-09 10:00'), '= Sat 03-07 07:30 Shanghai → Mon 10:00'],
    [new Date('2026-03-02T01:20:00Z'), sh('2026-03-02 10:20'), '= Mon 09:20 Shanghai → 10:20'],
  ];
  it.each(cases)('%s → %s (%s)', (at, expected) => {
    expect(calendar.nextWorkingHour(at, hours).toISOString()).toBe(expected.toISOString());
  });

  it('honours other office hours', () => {
    // 08:30–12:00: 15 min on Mon 03-02, the remaining 45 from Tue 08:30
    expect(calendar.nextWorkingHour(sh('2026-03-02 11:45'), { start: '08:30', end: '12:00' }).toISOString()).toBe(
      sh('2026-03-03 09:15').toISOString(),
    );
  });

  it('rejects malformed office hours', () => {
    expect(() => calendar.nextWorkingHour(sh('2026-03-02 10:00'), { start: '9:00', end: '17:00' })).toThrow(RangeError);
    expect(() => calendar.nextWorkingHour(sh('2026-03-02 10:00'), { start: '17:00', end: '09:00' })).toThrow(/before end/);
  });
});

describe('missing years', () => {
  it('fall back to Monday–Friday and are reported once per year', () => {
    const onMissingYear = vi.fn();
    const cal = loadCalendar({ dirs: [DEFAULT_CALENDAR_DATA_DIR], onMissingYear });
    expect(cal.missingYears()).toEqual([]);
    expect(cal.isWorkingDay('2030-01-01')).toBe(true); // Tue; really 元旦, but no 2030 file → Mon–Fri
    expect(cal.isWorkingDay('2030-01-05')).toBe(false); // Sat
    // 2030-01-04 Fri → 01-05 Sat, 01-06 Sun off → 01-07 Mon (1)
    expect(cal.addWorkingDays(sh('2030-01-04 10:00'), 1).toISOString()).toBe(endOf('2030-01-07'));
    expect(onMissingYear).toHaveBeenCalledTimes(1);
    expect(onMissingYear).toHaveBeenCalledWith(2030);
    expect(cal.missingYears()).toEqual([2030]);
    // 2027-12-30 Thu → 12-31 Fri (1), 2028-01-01 Sat, 01-02 Sun → 2028-01-03 Mon (2): touches 2028
    expect(cal.addWorkingDays(sh('2027-12-30 10:00'), 2).toISOString()).toBe(endOf('2028-01-03'));
    expect(onMissingYear).toHaveBeenCalledTimes(2);
    expect(onMissingYear).toHaveBeenLastCalledWith(2028);
    expect(cal.missingYears()).toEqual([2028, 2030]);
    expect(cal.yearsLoaded()).toEqual([2026, 2027]);
  });
});

describe('loading', () => {
  const valid = { year: 2026, source: 'test', holidays: [{ name: 'test', dates: ['2026-03-02'] }], workdays: [] };

  it('a later directory overrides an earlier one for the same year (whole file, not merged)', () => {
    const dir = tmpDirWith({ '2026.json': JSON.stringify(valid) });
    const cal = loadCalendar({ dirs: [DEFAULT_CALENDAR_DATA_DIR, dir] });
    expect(cal.isWorkingDay('2026-03-02')).toBe(false); // Mon, holiday in the override
    expect(cal.isWorkingDay('2026-02-16')).toBe(true); // Mon; 除夕 only in the replaced built-in file
    expect(cal.isWorkingDay('2027-02-05')).toBe(false); // 2027 still from the built-in directory
    expect(cal.sources()[0]?.file).toBe(join(dir, '2026.json'));
    expect(cal.yearsLoaded()).toEqual([2026, 2027]);
  });

  it('ignores files that are not JSON', () => {
    const dir = tmpDirWith({ '2026.json': JSON.stringify(valid), 'README.md': '# notes' });
    expect(loadCalendar({ dirs: [dir] }).yearsLoaded()).toEqual([2026]);
  });

  const bad = (patch: Record<string, unknown>) => JSON.stringify({ ...valid, ...patch });
  const invalid: Array<[name: string, text: string, message: RegExp]> = [
    [
      '2026.json',
      bad({ holidays: [{ name: 'x', dates: ['2026-02-30'] }] }),
      /holidays\[0\]\.dates\[0\] "2026-02-30" is not a valid date/,
    ],
    ['2026.json', bad({ holidays: [{ name: 'x', dates: ['2026-2-3'] }] }), /"2026-2-3" is not a valid date/],
    ['2026.json', bad({ holidays: [{ name: 'x', dates: ['2027-01-01'] }] }), /"2027-01-01" is outside the year 2026/],
    [
      '2026.json',
      bad({ holidays: [{ name: 'x', dates: ['2026-02-14'] }], workdays: [{ name: 'y', dates: ['2026-02-14'] }] }),
      /2026-02-14 is listed both as a holiday and as a workday/,
    ],
    ['2026.json', bad({ holidays: [{ name: 'x', dates: ['2026-02-16', '2026-02-16'] }] }), /2026-02-16 is listed twice/],
    ['2026.json', bad({ workdays: [{ name: 'y', dates: ['2026-02-16'] }] }), /2026-02-16 is a Monday/],
    ['2026.json', bad({ year: 2027 }), /"year" is 2027 but the file name says 2026/],
    ['2026.json', bad({ source: '' }), /"source" must be a non-empty string/],
    ['2026.json', bad({ holiday: [] }), /unknown key "holiday"/],
    [
      '2026.json',
      bad({ holidays: [{ name: 'x', dates: ['2026-03-02'], officialDays: ['2026-03-03'] }] }),
      /officialDays\[0\] 2026-03-03 is not one of holidays\[0\]\.dates/,
    ],
    ['2026.json', '{ "year": 2026, ', /is not valid JSON/],
    ['2026-draft.json', JSON.stringify(valid), /must be named YYYY\.json/],
  ];
  it.each(invalid)('rejects %s: %s', (name, text, message) => {
    const dir = tmpDirWith({ [name]: text });
    let error: unknown;
    try {
      loadCalendar({ dirs: [dir] });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CalendarFileError);
    expect((error as Error).message).toContain(join(dir, name)); // names the file
    expect((error as Error).message).toMatch(message); // and the problem
  });

  it('rejects a directory that does not exist', () => {
    expect(() => loadCalendar({ dirs: [join(tmpRoot, 'nope')] })).toThrow(/does not exist/);
  });

  it('validateCalendarFile accepts the shipped files', () => {
    for (const year of [2026, 2027]) {
      const file = join(DEFAULT_CALENDAR_DATA_DIR, `${year}.json`);
      expect(validateCalendarFile(JSON.parse(readFileSync(file, 'utf8')), file, year).year).toBe(year);
    }
  });
});

describe('other time zones (offsets come from Intl, not a fixed +8)', () => {
  const berlin = loadCalendar({ dirs: [DEFAULT_CALENDAR_DATA_DIR], timeZone: 'Europe/Berlin' });

  it('day ends follow daylight saving time', () => {
    // Fri 2026-03-27 (CET) + 1 working day → Mon 03-30, which is in CEST (+02:00) after 03-29
    expect(berlin.addWorkingDays(new Date('2026-03-27T10:00:00+01:00'), 1).toISOString()).toBe(
      '2026-03-30T21:59:59.999Z',
    );
    // Fri 2026-10-23 (CEST) + 1 working day → Mon 10-26, back in CET (+01:00) after 10-25
    expect(berlin.addWorkingDays(new Date('2026-10-23T10:00:00+02:00'), 1).toISOString()).toBe(
      '2026-10-26T22:59:59.999Z',
    );
    // Fri 16:30 CET → Mon 09:30 CEST
    expect(
      berlin.nextWorkingHour(new Date('2026-03-27T16:30:00+01:00'), { start: '09:00', end: '17:00' }).toISOString(),
    ).toBe('2026-03-30T07:30:00.000Z');
  });

  it('a start instant belongs to the local day of the zone', () => {
    const t = new Date('2026-02-13T22:30:00Z');
    expect(calendar.localDate(t)).toBe('2026-02-14'); // 06:30 Sat in Shanghai
    expect(berlin.localDate(t)).toBe('2026-02-13'); // 23:30 Fri CET
    // so one working day later is 02-14 (swapped Saturday) in Berlin, 02-24 in Shanghai
    expect(berlin.addWorkingDays(t, 1).toISOString()).toBe('2026-02-14T22:59:59.999Z');
    expect(calendar.addWorkingDays(t, 1).toISOString()).toBe(endOf('2026-02-24'));
  });

  it('the cached zone offsets agree with Intl minute by minute around transitions at local midnight', () => {
    // Chile leaves DST at local midnight 2026-04-05 (00:00 -03 → 23:00 -04) and enters it at
    // local midnight 2026-09-06: the local date of an instant changes across each transition.
    const santiago = loadCalendar({ dirs: [DEFAULT_CALENDAR_DATA_DIR], timeZone: 'America/Santiago' });
    const intl = new Intl.DateTimeFormat('en-CA', { timeZone: 'America/Santiago', year: 'numeric', month: '2-digit', day: '2-digit' });
    for (const around of ['2026-04-05T03:00:00Z', '2026-09-06T04:00:00Z']) {
      const center = Date.parse(around);
      for (let t = center - 3 * 3600_000; t <= center + 3 * 3600_000; t += 60_000 - 7) {
        expect(santiago.localDate(new Date(t)), new Date(t).toISOString()).toBe(intl.format(t));
      }
    }
    const berlinIntl = new Intl.DateTimeFormat('en-CA', { timeZone: 'Europe/Berlin', year: 'numeric', month: '2-digit', day: '2-digit' });
    for (let t = Date.parse('2026-01-01T00:00:00Z'); t < Date.parse('2027-01-01T00:00:00Z'); t += 3 * 3600_000 + 61_001) {
      expect(berlin.localDate(new Date(t))).toBe(berlinIntl.format(t));
    }
  });

  it('rejects an unknown zone', () => {
    expect(() => loadCalendar({ dirs: [DEFAULT_CALENDAR_DATA_DIR], timeZone: 'Mars/Olympus' })).toThrow(/time zone/);
  });
});
