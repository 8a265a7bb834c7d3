/**
 * Working-day calendar (工作日历) for legal response deadlines under Chinese rules.
 *
 * Data: one `YYYY.json` file per year (see README.md in this folder) listing the official days off
 * (`holidays`, including weekdays given off in exchange, 调休) and the swapped working weekend
 * days (`workdays`, 调休上班). A day is a WORKING DAY when
 *   - it is listed in `workdays` of its year's file, or
 *   - it is Monday–Friday and not listed in `holidays`.
 * A year without a file falls back to plain Monday–Friday; the first time such a year is asked
 * about, `onMissingYear(year)` is called (once per year) and the year appears in `missingYears()`.
 *
 * Time semantics (exact):
 *   - Every `Date` argument and result is an instant. Day boundaries are local midnights in the
 *     calendar's `timeZone` (default Asia/Shanghai). The UTC offset is looked up with `Intl` for
 *     every instant, so zones with DST work too; nothing assumes +08:00.
 *   - The "start day" of an instant is the local date on which it falls. An instant of
 *     2026-02-13T17:30Z is 2026-02-14 01:30 in Shanghai, so its start day is 2026-02-14.
 *   - "End of local day D" is the last millisecond before the local midnight that ends D
 *     (23:59:59.999 local), i.e. `startOfDay(D + 1) − 1 ms`.
 *
 *   addWorkingDays(start, n): per administrative practice the start day is NOT counted. Days after
 *     the start day are walked one by one; each working day counts one; the result is the end of
 *     the n-th working day. `n = 0` gives the end of the start day itself. A start on a holiday or
 *     weekend is treated the same way: counting begins with the next day.
 *   addCalendarDays(start, n, { extendOverHolidays = true }): the end of the local day `n` days
 *     after the start day (start day not counted). With `extendOverHolidays` (the default), when
 *     that last day is not a working day — an official holiday or an ordinary weekend day — the
 *     period ends at the end of the first working day after it (期间届满的最后一日是法定节假日的，
 *     以节假日后的第一日为期间届满的日期). A swapped working weekend day (调休上班) is a working day,
 *     so a period ending on it is not extended.
 *   workingDaysBetween(a, b): the number of working days D with startDay(a) < D <= startDay(b),
 *     i.e. the same counting as addWorkingDays, so `workingDaysBetween(s, addWorkingDays(s, n)) === n`.
 *     Negative when b's day is before a's day (−workingDaysBetween(b, a)); 0 on the same day.
 *   addHours(start, h): plain elapsed time, `start + h × 3 600 000 ms`; no calendar involved.
 *   nextWorkingHour(at, { start, end }): the instant at which ONE HOUR OF OFFICE TIME has elapsed
 *     from `at`, where office time is [start, end) local wall-clock time on working days. Time
 *     outside office hours (evenings, nights, weekends, holidays) does not count; minutes left over
 *     at the close of a working day carry over to the opening of the next working day. Examples
 *     with 09:00–17:00: Monday 10:20 → Monday 11:20; Monday 16:00 → Monday 17:00; Friday 16:30 →
 *     next working day 09:30; Monday 17:00 or later, or Saturday any time → next working day 10:00;
 *     a working day at 07:45 → same day 10:00.
 *
 * All functions throw RangeError for an invalid Date, a negative or non-integer day count, or a
 * malformed date string / office-hours string.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The calendar files shipped with the application. */
export const DEFAULT_CALENDAR_DATA_DIR: string = fileURLToPath(new URL('./data/', import.meta.url));
export const DEFAULT_TIME_ZONE = 'Asia/Shanghai';

export interface CalendarEntry {
  name: string;
  nameEn?: string;
  note?: string;
  /** Local dates YYYY-MM-DD. */
  dates: string[];
  /** Holidays only: the statutory holiday days within `dates` (法定节假日, e.g. 除夕 and 初一–初三). */
  officialDays?: string[];
}

export interface CalendarYearFile {
  year: number;
  source: string;
  provisional?: boolean;
  note?: string;
  holidays: CalendarEntry[];
  workdays: CalendarEntry[];
}

export interface LoadedCalendarYear {
  year: number;
  /** Absolute path of the file that won (later directories override earlier ones). */
  file: string;
  source: string;
  provisional: boolean;
  note?: string;
}

export interface OfficeHours {
  /** 'HH:MM' local wall-clock time, e.g. '09:00'. */
  start: string;
  /** 'HH:MM' local wall-clock time, after `start`, e.g. '17:00'. '24:00' means midnight at the end of the day. */
  end: string;
}

export interface CalendarDaysOptions {
  /** Extend a period whose last day is not a working day to the next working day. Default true. */
  extendOverHolidays?: boolean;
}

export interface LoadCalendarOptions {
  /** Directories holding YYYY.json files; for the same year a later directory overrides an earlier one. */
  dirs: string[];
  /** IANA zone in which day boundaries and office hours are taken. Default 'Asia/Shanghai'. */
  timeZone?: string;
  /** Called once per year that is asked about but has no file (the calendar then uses Monday–Friday). */
  onMissingYear?: (year: number) => void;
}

export interface WorkingCalendar {
  readonly timeZone: string;
  /** Whether a local date (YYYY-MM-DD) is a working day. */
  isWorkingDay(date: string): boolean;
  /** The local date (YYYY-MM-DD) on which an instant falls in the calendar's time zone. */
  localDate(at: Date): string;
  /** The instant a local date (YYYY-MM-DD) begins in the calendar's time zone. */
  startOfDate(date: string): Date;
  addWorkingDays(start: Date, n: number): Date;
  addCalendarDays(start: Date, n: number, opts?: CalendarDaysOptions): Date;
  workingDaysBetween(a: Date, b: Date): number;
  addHours(start: Date, h: number): Date;
  nextWorkingHour(at: Date, hours: OfficeHours): Date;
  /** Years with a data file, ascending. */
  yearsLoaded(): number[];
  /** Years that were asked about but had no data file (Monday–Friday fallback), ascending. */
  missingYears(): number[];
  /** Where each loaded year came from, ascending by year (for /healthz and admin screens). */
  sources(): LoadedCalendarYear[];
}

/** A calendar data file (or directory) is unusable; the message names the file and the problem. */
export class CalendarFileError extends Error {
  readonly file: string;
  constructor(file: string, problem: string) {
    super(`Working-day calendar file ${file}: ${problem}`);
    this.name = 'CalendarFileError';
    this.file = file;
  }
}

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;
const FILE_NAME = /^(\d{4})\.json$/;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const TIME_RE = /^(\d{2}):(\d{2})$/;
const WEEKDAY_NAMES = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

// ---------------------------------------------------------------------------------------------
// Day numbers: days since 1970-01-01 of a local calendar date (a "wall-clock" date, no zone).

/** Parses YYYY-MM-DD into a day number, or returns null if it is not a real calendar date. */
function parseDay(date: string): number | null {
  const m = DATE_RE.exec(date);
  if (!m) return null;
  const y = Number(m[1]);
  const mo = Number(m[2]);
  const d = Number(m[3]);
  if (mo < 1 || mo > 12 || d < 1 || d > 31) return null;
  const t = Date.UTC(y, mo - 1, d);
  const back = new Date(t);
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return null;
  return t / DAY_MS;
}

function formatDay(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

function yearOfDay(day: number): number {
  return new Date(day * DAY_MS).getUTCFullYear();
}

/** 0 = Sunday … 6 = Saturday. */
function weekdayOfDay(day: number): number {
  return new Date(day * DAY_MS).getUTCDay();
}

// ---------------------------------------------------------------------------------------------
// Time zone arithmetic through Intl (no fixed offsets).

interface Zone {
  /** Local wall-clock time of an instant, expressed as milliseconds since 1970-01-01T00:00 "local". */
  wallClock(t: number): number;
  /** The instant at which the local wall clock shows `wall`; in a DST gap, the first instant after it. */
  instantOf(wall: number): number;
}

function makeZone(timeZone: string): Zone {
  let fmt: Intl.DateTimeFormat;
  try {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  } catch {
    throw new RangeError(`Working-day calendar: unknown time zone ${JSON.stringify(timeZone)}`);
  }

  const exactWallClock = (t: number): number => {
    const ms = ((t % 1000) + 1000) % 1000;
    const f: Record<string, number> = {};
    for (const p of fmt.formatToParts(t - ms)) {
      if (p.type !== 'literal') f[p.type] = Number(p.value);
    }
    const hour = f.hour === 24 ? 0 : (f.hour ?? 0);
    const d = new Date(0);
    d.setUTCFullYear(f.year ?? 1970, (f.month ?? 1) - 1, f.day ?? 1);
    d.setUTCHours(hour, f.minute ?? 0, f.second ?? 0, ms);
    return d.getTime();
  };

  // formatToParts costs microseconds and deadline planning calls it on every registration, so the
  // offset is cached per 15-minute slice of time. A slice is cached only when its first and last
  // instants have the same offset, i.e. no transition falls inside it; otherwise every instant in it
  // is computed exactly. (Zones change offset at most a few times a year, never twice in 15 minutes.)
  const SLICE_MS = 15 * 60_000;
  const sliceOffsets = new Map<number, number | null>();
  const wallClock = (t: number): number => {
    const slice = Math.floor(t / SLICE_MS);
    let offset = sliceOffsets.get(slice);
    if (offset === undefined) {
      const first = exactWallClock(slice * SLICE_MS) - slice * SLICE_MS;
      const last = exactWallClock((slice + 1) * SLICE_MS - 1) - ((slice + 1) * SLICE_MS - 1);
      offset = first === last ? first : null;
      if (sliceOffsets.size >= 50_000) sliceOffsets.clear();
      sliceOffsets.set(slice, offset);
    }
    return offset === null ? exactWallClock(t) : t + offset;
  };

  const offsetAt = (t: number): number => wallClock(t) - t;

  const instantOf = (wall: number): number => {
    // Two candidates from the offsets just around the wanted wall time; keep those that really
    // show `wall` (the earliest if the local time occurs twice), otherwise we are in a DST gap.
    const o1 = offsetAt(wall - DAY_MS / 2);
    const o2 = offsetAt(wall + DAY_MS / 2);
    const candidates = [wall - o1, wall - o2].filter((t) => wallClock(t) === wall);
    if (candidates.length > 0) return Math.min(...candidates);
    return wall - Math.min(o1, o2);
  };

  return { wallClock, instantOf };
}

// ---------------------------------------------------------------------------------------------
// Loading and validation.

interface YearData {
  info: LoadedCalendarYear;
  holidays: Set<number>;
  workdays: Set<number>;
}

const TOP_KEYS = new Set(['year', 'source', 'provisional', 'note', 'holidays', 'workdays']);
const HOLIDAY_KEYS = new Set(['name', 'nameEn', 'note', 'dates', 'officialDays']);
const WORKDAY_KEYS = new Set(['name', 'nameEn', 'note', 'dates']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Validates the parsed contents of one calendar file strictly and returns it typed.
 * `expectedYear` is the year from the file name. Throws CalendarFileError naming `file`.
 */
export function validateCalendarFile(json: unknown, file: string, expectedYear?: number): CalendarYearFile {
  const fail = (problem: string): never => {
    throw new CalendarFileError(file, problem);
  };
  if (!isPlainObject(json)) return fail('the top level must be a JSON object');
  for (const key of Object.keys(json)) {
    if (!TOP_KEYS.has(key)) fail(`unknown key "${key}" (allowed: ${[...TOP_KEYS].join(', ')})`);
  }
  const { year, source, provisional, note, holidays, workdays } = json;
  if (typeof year !== 'number' || !Number.isInteger(year) || year < 1000 || year > 9999) {
    fail('"year" must be a four-digit integer');
  }
  if (expectedYear !== undefined && year !== expectedYear) {
    fail(`"year" is ${String(year)} but the file name says ${expectedYear}`);
  }
  if (typeof source !== 'string' || source.trim() === '') fail('"source" must be a non-empty string naming the notice');
  if (provisional !== undefined && typeof provisional !== 'boolean') fail('"provisional" must be true or false');
  if (note !== undefined && typeof note !== 'string') fail('"note" must be a string');
  if (!Array.isArray(holidays)) fail('"holidays" must be an array');
  if (!Array.isArray(workdays)) fail('"workdays" must be an array');

  const y = year as number;
  const seen = new Map<string, string>(); // date → where it was first listed

  const checkDate = (value: unknown, where: string): number => {
    if (typeof value !== 'string') return fail(`${where} must be a date string YYYY-MM-DD`);
    const day = parseDay(value);
    if (day === null) return fail(`${where} "${value}" is not a valid date (expected YYYY-MM-DD)`);
    if (yearOfDay(day) !== y) return fail(`${where} "${value}" is outside the year ${y}`);
    return day;
  };

  const checkEntries = (list: unknown[], kind: 'holidays' | 'workdays'): void => {
    const allowed = kind === 'holidays' ? HOLIDAY_KEYS : WORKDAY_KEYS;
    list.forEach((entry, i) => {
      const at = `${kind}[${i}]`;
      if (!isPlainObject(entry)) return fail(`${at} must be an object with "name" and "dates"`);
      for (const key of Object.keys(entry)) {
        if (!allowed.has(key)) fail(`${at} has unknown key "${key}" (allowed: ${[...allowed].join(', ')})`);
      }
      if (typeof entry.name !== 'string' || entry.name.trim() === '') fail(`${at}.name must be a non-empty string`);
      if (entry.nameEn !== undefined && typeof entry.nameEn !== 'string') fail(`${at}.nameEn must be a string`);
      if (entry.note !== undefined && typeof entry.note !== 'string') fail(`${at}.note must be a string`);
      if (!Array.isArray(entry.dates) || entry.dates.length === 0) fail(`${at}.dates must be a non-empty array of dates`);
      const dates = entry.dates as unknown[];
      dates.forEach((value, j) => {
        const where = `${at}.dates[${j}]`;
        const day = checkDate(value, where);
        const key = formatDay(day);
        const first = seen.get(key);
        if (first !== undefined) {
          const firstKind = first.slice(0, first.indexOf('['));
          if (firstKind !== kind) fail(`${key} is listed both as a holiday and as a workday (${first} and ${where})`);
          fail(`${key} is listed twice (${first} and ${where})`);
        }
        seen.set(key, where);
        if (kind === 'workdays') {
          const wd = weekdayOfDay(day);
          if (wd !== 0 && wd !== 6) {
            fail(`${where} ${key} is a ${WEEKDAY_NAMES[wd]}; "workdays" lists only swapped Saturdays/Sundays (调休上班)`);
          }
        }
      });
      if (entry.officialDays !== undefined) {
        if (!Array.isArray(entry.officialDays)) fail(`${at}.officialDays must be an array of dates`);
        const own = new Set(dates as string[]);
        (entry.officialDays as unknown[]).forEach((value, j) => {
          const where = `${at}.officialDays[${j}]`;
          const day = checkDate(value, where);
          if (!own.has(formatDay(day))) fail(`${where} ${formatDay(day)} is not one of ${at}.dates`);
        });
      }
    });
  };
  checkEntries(holidays as unknown[], 'holidays');
  checkEntries(workdays as unknown[], 'workdays');
  return json as unknown as CalendarYearFile;
}

function readYearFile(file: string, expectedYear: number): YearData {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new CalendarFileError(file, `cannot be read (${(err as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new CalendarFileError(file, `is not valid JSON (${(err as Error).message})`);
  }
  const data = validateCalendarFile(json, file, expectedYear);
  const toDays = (entries: CalendarEntry[]): Set<number> =>
    new Set(entries.flatMap((e) => e.dates.map((d) => parseDay(d) as number)));
  const info: LoadedCalendarYear = {
    year: data.year,
    file,
    source: data.source,
    provisional: data.provisional === true,
  };
  if (data.note !== undefined) info.note = data.note;
  return { info, holidays: toDays(data.holidays), workdays: toDays(data.workdays) };
}

function readDirs(dirs: string[]): Map<number, YearData> {
  const years = new Map<number, YearData>();
  for (const dirArg of dirs) {
    const dir = resolve(dirArg);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) {
      throw new CalendarFileError(dir, 'the calendar directory does not exist or is not a directory');
    }
    for (const name of readdirSync(dir).sort()) {
      if (!name.toLowerCase().endsWith('.json')) continue;
      const file = join(dir, name);
      const m = FILE_NAME.exec(name);
      if (!m) throw new CalendarFileError(file, 'calendar files must be named YYYY.json (e.g. 2028.json)');
      const year = Number(m[1]);
      years.set(year, readYearFile(file, year)); // later directories override earlier ones
    }
  }
  return years;
}

// ---------------------------------------------------------------------------------------------
// The calendar.

function checkInstant(d: Date, what: string): number {
  const t = d instanceof Date ? d.getTime() : Number.NaN;
  if (Number.isNaN(t)) throw new RangeError(`Working-day calendar: ${what} is not a valid Date`);
  return t;
}

function checkCount(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 0) {
    throw new RangeError(`Working-day calendar: ${what} must be a non-negative integer, got ${String(n)}`);
  }
}

function parseTime(value: string, what: string): number {
  const m = typeof value === 'string' ? TIME_RE.exec(value) : null;
  const h = m ? Number(m[1]) : Number.NaN;
  const min = m ? Number(m[2]) : Number.NaN;
  if (!m || min > 59 || h > 24 || (h === 24 && min !== 0)) {
    throw new RangeError(`Working-day calendar: office hours ${what} must be 'HH:MM', got ${JSON.stringify(value)}`);
  }
  return h * HOUR_MS + min * MINUTE_MS;
}

/** Reads every YYYY.json in `opts.dirs` (validated strictly) and returns the working-day calendar. */
export function loadCalendar(opts: LoadCalendarOptions): WorkingCalendar {
  const timeZone = opts.timeZone ?? DEFAULT_TIME_ZONE;
  const zone = makeZone(timeZone);
  const years = readDirs(opts.dirs);
  const missing = new Set<number>();
  const onMissingYear = opts.onMissingYear;

  const isWorking = (day: number): boolean => {
    const year = yearOfDay(day);
    const data = years.get(year);
    if (data) {
      if (data.workdays.has(day)) return true;
      if (data.holidays.has(day)) return false;
    } else if (!missing.has(year)) {
      missing.add(year);
      onMissingYear?.(year);
    }
    const wd = weekdayOfDay(day);
    return wd !== 0 && wd !== 6;
  };

  const dayOf = (t: number): number => Math.floor(zone.wallClock(t) / DAY_MS);
  const startOfDay = (day: number): number => zone.instantOf(day * DAY_MS);
  const endOfDay = (day: number): Date => new Date(startOfDay(day + 1) - 1);

  const countBetween = (from: number, to: number): number => {
    let n = 0;
    for (let d = from + 1; d <= to; d++) if (isWorking(d)) n++;
    return n;
  };

  return {
    timeZone,

    isWorkingDay(date: string): boolean {
      const day = typeof date === 'string' ? parseDay(date) : null;
      if (day === null) throw new RangeError(`Working-day calendar: ${JSON.stringify(date)} is not a date YYYY-MM-DD`);
      return isWorking(day);
    },

    localDate(at: Date): string {
      return formatDay(dayOf(checkInstant(at, 'at')));
    },
    startOfDate(date: string): Date {
      return new Date(startOfDay(Date.parse(`${date}T00:00:00Z`) / DAY_MS));
    },

    addWorkingDays(start: Date, n: number): Date {
      const t = checkInstant(start, 'start');
      checkCount(n, 'the number of working days');
      let day = dayOf(t);
      for (let counted = 0; counted < n; ) {
        day++;
        if (isWorking(day)) counted++;
      }
      return endOfDay(day);
    },

    addCalendarDays(start: Date, n: number, options: CalendarDaysOptions = {}): Date {
      const t = checkInstant(start, 'start');
      checkCount(n, 'the number of calendar days');
      let day = dayOf(t) + n;
      if (options.extendOverHolidays ?? true) while (!isWorking(day)) day++;
      return endOfDay(day);
    },

    workingDaysBetween(a: Date, b: Date): number {
      const da = dayOf(checkInstant(a, 'a'));
      const db = dayOf(checkInstant(b, 'b'));
      return db >= da ? countBetween(da, db) : -countBetween(db, da);
    },

    addHours(start: Date, h: number): Date {
      const t = checkInstant(start, 'start');
      if (!Number.isFinite(h)) throw new RangeError(`Working-day calendar: hours must be a finite number, got ${String(h)}`);
      return new Date(t + h * HOUR_MS);
    },

    nextWorkingHour(at: Date, hours: OfficeHours): Date {
      const t = checkInstant(at, 'at');
      const open = parseTime(hours?.start, 'start');
      const close = parseTime(hours?.end, 'end');
      if (open >= close) {
        throw new RangeError(`Working-day calendar: office hours start ${hours.start} must be before end ${hours.end}`);
      }
      let remaining = HOUR_MS;
      let cursor = t;
      for (let day = dayOf(t); ; day++) {
        if (!isWorking(day)) continue;
        const opensAt = zone.instantOf(day * DAY_MS + open);
        const closesAt = zone.instantOf(day * DAY_MS + close);
        const from = Math.max(cursor, opensAt);
        if (from < closesAt) {
          if (remaining <= closesAt - from) return new Date(from + remaining);
          remaining -= closesAt - from;
        }
        cursor = closesAt;
      }
    },

    yearsLoaded(): number[] {
      return [...years.keys()].sort((x, y) => x - y);
    },

    missingYears(): number[] {
      return [...missing].sort((x, y) => x - y);
    },

    sources(): LoadedCalendarYear[] {
      return [...years.values()].map((y) => ({ ...y.info })).sort((x, y) => x.year - y.year);
    },
  };
}
