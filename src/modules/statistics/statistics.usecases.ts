import type { Clock } from '../../app/clock.ts';
import type { Em, Orm } from '../../app/db.ts';
import type { Logger } from '../../app/logger.ts';
import type { WorkingCalendar } from '../deadlines/calendar/calendar.ts';
import { forbidden } from '../../app/errors.ts';
import type { Principal, StaffCall } from '../staff/access.ts';
import { createClueExport, type ExportFilter } from './clue-export.ts';
import { shiftDay } from './rollup.ts';
import { selfInspectionTable } from './self-inspection.ts';
import { selfInspectionWorkbook } from './self-inspection.xlsx.ts';
import { periodInvalid } from './statistics.errors.ts';

const MAX_PERIOD_DAYS = 5 * 366;

/** The bureau's self-inspection table and the clue ledger export. */
export function createStatisticsUseCases(deps: { orm: Orm; clock: Clock; logger: Logger; calendar: WorkingCalendar }) {
  const { orm, clock, calendar } = deps;
  const clueExport = createClueExport({ orm, clock, logger: deps.logger, timeZone: calendar.timeZone });

  /** Local dates, both inclusive, as the instants [from 00:00, the day after `to` 00:00). */
  function period(from: string, to: string) {
    const fromAt = calendar.startOfDate(from);
    const toAt = calendar.startOfDate(nextDay(to));
    if (fromAt >= toAt || toAt.getTime() - fromAt.getTime() > MAX_PERIOD_DAYS * 86_400_000) throw periodInvalid({ from, to });
    return { fromAt, toAt };
  }

  /** The self-inspection table of a unit (the principal's own by default) for a period: supervisors and admins (the period is checked first). */
  async function selfInspection({ ctx, input: q }: StaffCall<{ unitId?: string; from: string; to: string }>) {
    const { principal } = ctx;
    const now = ctx.clock.now();
    const today = calendar.localDate(now);
    const days = { yesterday: shiftDay(today, -1), todayAt: calendar.startOfDate(today), timeZone: calendar.timeZone, startOfDate: (d: string) => calendar.startOfDate(d), now };
    const within = period(q.from, q.to);
    if (!mayReadStatistics(principal)) throw forbidden();
    return selfInspectionTable(ctx.em, principal, { ...q, ...within, ...days });
  }

  /** The same table as the annex workbook (XLSX), titled with the district's name. */
  async function selfInspectionXlsx({ ctx, input: q }: StaffCall<{ unitId?: string; from: string; to: string; contact?: string; phone?: string }>) {
    const table = await selfInspection({ ctx, input: q });
    const district = await districtName(ctx, table.unit.id);
    const title = `${district}社会救助“人情保”“关系保”问题自查自纠工作开展情况统计表`;
    return { table, file: await selfInspectionWorkbook(table, { title, contact: q.contact, phone: q.phone, filledOn: calendar.localDate(ctx.clock.now()) }) };
  }

  async function districtName(ctx: { em: Em }, unitId: string): Promise<string> {
    const { em } = ctx;
    const [row] = await em.getConnection().execute<{ name: string }[]>(
      `select d.name from unit u join unit d on u.path like '/' || d.id || '/%' where u.id = ? and d.parent_id is null`,
      [unitId],
    );
    return row?.name ?? '';
  }

  /**
   * The clue ledger export of the clues the principal may see, streamed (the period is checked first).
   * A discipline officer without a body sees no clue and may not export.
   */
  function exportClues({ ctx, input: q }: StaffCall<{ format: 'csv' | 'xlsx'; encoding: 'utf-8' | 'gbk'; from?: string; to?: string; unitId?: string }>) {
    const { principal } = ctx;
    const filter: ExportFilter = { format: q.format, encoding: q.encoding, unitId: q.unitId };
    if (q.from) filter.fromAt = calendar.startOfDate(q.from);
    if (q.to) filter.toAt = calendar.startOfDate(nextDay(q.to));
    if (filter.fromAt && filter.toAt && filter.fromAt >= filter.toAt) throw periodInvalid({ from: q.from, to: q.to });
    if (principal.role === 'discipline_officer' && !principal.disciplineBodyId) throw forbidden();
    return clueExport.exportClues(principal, filter);
  }

  return { selfInspection, selfInspectionXlsx, exportClues };
}

/** The self-inspection statistics are for supervisors and admins. */
const mayReadStatistics = (p: Principal) => p.role === 'supervisor' || p.role === 'admin';

const nextDay = (date: string) => shiftDay(date, 1);

export type StatisticsUseCases = ReturnType<typeof createStatisticsUseCases>;
