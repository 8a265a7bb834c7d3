import { Hono } from 'hono';
import { bodyLimit } from '../../app/body-limit.ts';
import { decodeCursor, idParam, readJson, readQuery } from '../../app/http.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import type { AppEnv } from '../staff/http-env.ts';
import { importTooLarge, importUnsupportedType } from './registry.errors.ts';
import { importQuery, listQuery, registerBody } from './registry.schemas.ts';
import { MAX_IMPORT_BYTES, type RegistryUseCases } from './registry.usecases.ts';
import { csvFields, csvHeaders, requiredCsvFields } from './vocabulary.ts';

/** The path the server's 1 MB staff body limit leaves to this module's own 5 MB limit. */
export const REGISTRY_IMPORT_PATH = '/api/v1/staff/registry/import';

/** What browsers and clients send for a .csv file (Windows says application/vnd.ms-excel). */
const csvTypes = new Set(['text/csv', 'application/csv', 'text/plain', 'application/vnd.ms-excel', 'text/comma-separated-values', 'text/x-csv']);

function registryCursor(raw: string | undefined) {
  const cursor = decodeCursor(raw);
  return cursor && { createdAt: cursor.at, id: cursor.id };
}

/** Mounted at /api/v1/staff: the registry itself and the match details of a clue. */
export function registryRoutes(registry: RegistryUseCases, docs: ApiDocs) {
  const app = new Hono<AppEnv>();
  const tag = 'registry';

  docs.add({ method: 'post', path: '/api/v1/staff/registry', summary: 'Register a near relative on assistance (近亲属备案): for myself, or (supervisor/admin) for a staff member or cadre of my units', tag, auth: 'staff', body: registerBody, responses: { 201: 'Registered; the ID number is shown masked', 403: 'Only supervisors and admins register for others', 409: 'Already registered by this registrant', 422: 'Invalid ID number or date, unknown unit or staff' } });
  app.post('/registry', async (c) => {
    const row = await registry.register({ ctx: c.get('ctx')!, input: await readJson(c, registerBody) });
    return c.json(row, 201);
  });

  docs.add({ method: 'get', path: '/api/v1/staff/registry', summary: 'List registrations (supervisors: their unit subtree; admins: all; others: their own), ID numbers masked unless reveal=true (supervisor/admin, audited)', tag, auth: 'staff', query: listQuery, responses: { 200: 'A page of registrations and the next cursor', 403: 'reveal is for supervisors and admins' } });
  app.get('/registry', async (c) => {
    const q = readQuery(c, listQuery);
    return c.json(await registry.list({ ctx: c.get('ctx')!, input: { ...q, cursor: registryCursor(q.cursor) } }));
  });

  docs.add({ method: 'get', path: '/api/v1/staff/registry/template.csv', summary: 'An empty import file with the Chinese headers (UTF-8 with BOM, opens in Excel)', tag, auth: 'staff', responses: { 200: 'text/csv' } });
  app.get('/registry/template.csv', (c) =>
    c.body(`\uFEFF${csvFields.map((f) => csvHeaders[f]).join(',')}\r\n`, 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="near-relative-registry.csv"`,
    }),
  );

  docs.add({
    method: 'post',
    path: REGISTRY_IMPORT_PATH,
    summary: `Import a CSV file (text/csv, at most 5 MB; UTF-8 with or without BOM, or GBK from Excel). Required columns: ${requiredCsvFields.map((f) => csvHeaders[f]).join(', ')}; optional: 家庭住址, 登记人账号. Good rows are imported, bad rows listed by line; a fatal problem imports nothing. dryRun=true writes nothing.`,
    tag,
    auth: 'staff',
    query: importQuery,
    responses: { 200: '{ imported, skipped, errors: [{ line, column, reason }] }', 403: 'Supervisors and admins only', 409: 'A duplicate appeared meanwhile; nothing imported', 413: 'Larger than 5 MB; nothing imported', 415: 'Not text/csv', 422: 'Not CSV or required columns missing; nothing imported' },
  });
  app.post(
    '/registry/import',
    bodyLimit({
      maxSize: MAX_IMPORT_BYTES,
      onError: () => {
        throw importTooLarge({ imported: 0 });
      },
    }),
    async (c) => {
      const [mime = '', ...params] = (c.req.header('content-type') ?? '').split(';').map((s) => s.trim());
      if (!csvTypes.has(mime.toLowerCase())) throw importUnsupportedType();
      const charset = params.map((p) => /^charset="?([^"]+)"?$/i.exec(p)?.[1]).find(Boolean);
      const { dryRun } = readQuery(c, importQuery);
      const bytes = new Uint8Array(await c.req.arrayBuffer());
      return c.json(await registry.importCsv({ ctx: c.get('ctx')!, input: { bytes, dryRun, charset } }));
    },
  );

  docs.add({ method: 'get', path: '/api/v1/staff/clues/:id/registry-matches', summary: 'Why a clue carries the near_relative_match flag (supervisors and admins of its units; matches involving the viewer’s own unit are withheld; audited)', tag, auth: 'staff', responses: { 200: '{ items, withheld }', 403: 'Role may not, or every match involves my unit (recusal)', 404: 'No such clue in my units' } });
  app.get('/clues/:id/registry-matches', async (c) => {
    return c.json(await registry.getMatchDetails({ ctx: c.get('ctx')!, input: { clueId: idParam(c.req.param('id')) } }));
  });

  return app;
}
