import { Readable } from 'node:stream';
import { Hono } from 'hono';
import { contentDisposition, readQuery } from '../../app/http.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { AppEnv } from '../staff/http-env.ts';
import { clueExportQuery, selfInspectionQuery } from './statistics.schemas.ts';
import type { StatisticsUseCases } from './statistics.usecases.ts';


export function statisticsRoutes(statistics: StatisticsUseCases, docs: ApiDocs) {
  const app = new Hono<AppEnv>();
  const tag = 'statistics';

  docs.add({ method: 'get', path: '/api/v1/staff/reports/self-inspection', summary: 'The self-inspection statistics table (Putuo 2024 annex) for a unit and a period; format=xlsx gives the annex workbook', tag, auth: 'staff', query: selfInspectionQuery, responses: { 200: 'The table (JSON) or the workbook', 400: 'Invalid period', 403: 'Supervisors and admins only', 404: 'No such unit within mine' } });
  app.get('/reports/self-inspection', async (c) => {
    const q = readQuery(c, selfInspectionQuery);
    const ctx = c.get('ctx')!;
    c.header('Cache-Control', 'no-store');
    if (q.format === 'json') return c.json(await statistics.selfInspection({ ctx, input: q }));
    const { table, file } = await statistics.selfInspectionXlsx({ ctx, input: q });
    const name = `自查自纠统计表-${table.unit.name}-${q.from}-${q.to}.xlsx`;
    return c.body(new Uint8Array(file), 200, {
      'Content-Type': 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      'Content-Disposition': contentDisposition(name),
    });
  });

  docs.add({ method: 'get', path: '/api/v1/staff/exports/clues', summary: 'The clue ledger (线索台账): one row a clue I may see, streamed as CSV (UTF-8 with BOM, or GBK) or XLSX; recorded on the system audit chain', tag, auth: 'staff', query: clueExportQuery, responses: { 200: 'The file, streamed', 400: 'Invalid period' } });
  app.get('/exports/clues', (c) => {
    const q = readQuery(c, clueExportQuery);
    const { body, contentType, filename } = statistics.exportClues({ ctx: c.get('ctx')!, input: q });
    return new Response(Readable.toWeb(body) as ReadableStream, {
      status: 200,
      headers: { 'Content-Type': contentType, 'Content-Disposition': contentDisposition(filename), 'Cache-Control': 'no-store', 'X-Content-Type-Options': 'nosniff' },
    });
  });

  return app;
}
