import { z } from 'zod';

const localDate = z.iso.date('a date, YYYY-MM-DD');
/** Printable one-line text for the table's header fields. */
const headerText = (max: number) => z.string().trim().max(max).regex(/^[^\p{Cc}]*$/u, 'no control characters');

export const selfInspectionQuery = z.object({
  unitId: z.uuid().optional(),
  from: localDate,
  to: localDate,
  format: z.enum(['json', 'xlsx']).default('json'),
  /** 联系人 and 电话 printed above the table. */
  contact: headerText(50).optional(),
  phone: headerText(30).optional(),
});

export const clueExportQuery = z.object({
  format: z.enum(['csv', 'xlsx']).default('csv'),
  /** CSV only: UTF-8 with a byte-order mark (default), or GBK for older spreadsheet programs. */
  encoding: z.enum(['utf-8', 'gbk']).default('utf-8'),
  from: localDate.optional(),
  to: localDate.optional(),
  unitId: z.uuid().optional(),
});
