import { Hono } from 'hono';
import type { Context } from 'hono';
import { validationFailed } from '../../app/errors.ts';
import { issuesOf, readJson, refuseControls } from '../../app/http.ts';
import { cleanForm } from '../../app/text.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import { enforce } from '../../app/rate-limit.ts';
import type { AppEnv } from '../staff/http-env.ts';
import { reportNotFound } from '../clues/clues.errors.ts';
import { messageBody, reportBody } from './web.schemas.ts';
import { str } from './web.form.ts';
import { fileList, toUploaded } from './web.files.ts';
import { uploadLimit, type WebDeps } from './web.deps.ts';

/** The reporter's JSON API for apps: submit, view (with the secret), reply. */
export function webApiRoutes(deps: Pick<WebDeps, 'config' | 'reports' | 'metrics' | 'limits'>, docs: ApiDocs) {
  const app = new Hono<AppEnv>();
  const { limits } = deps;
  const trust = deps.config.TRUST_PROXY;
  const big = uploadLimit();

  const tag = 'reports';
  docs.add({ method: 'post', path: '/api/v1/reports', summary: 'Submit a report (JSON with base64 files, or multipart: field `report` + `files`)', tag, body: reportBody, responses: { 201: '{ trackingCode, secret, status }; the secret is shown only here', 400: 'Invalid input', 413: 'Too large', 422: 'Unknown unit or a file refused', 429: 'Rate limited' } });
  app.post('/api/v1/reports', big, async (c) => {
    await enforce([limits.submitBurst, limits.submit], c, trust);
    const { input, files } = await readReport(c);
    const result = await deps.reports.submit(input, files);
    deps.metrics.cluesRegistered.inc({ channel: 'web' });
    return c.json({ trackingCode: result.trackingCode, secret: result.secret, status: result.status }, 201);
  });

  docs.add({ method: 'get', path: '/api/v1/reports/:trackingCode', summary: 'A report’s status, dates, history and messages (needs the secret)', tag, auth: 'reporter-secret', responses: { 200: 'The report', 404: 'Wrong code or secret (indistinguishable)', 429: 'Rate limited' } });
  app.get('/api/v1/reports/:trackingCode', async (c) => {
    await enforce(limits.followUp, c, trust);
    c.header('Cache-Control', 'no-store');
    const secret = c.req.header('x-report-secret');
    if (!secret) throw reportNotFound();
    return c.json(await deps.reports.view(c.req.param('trackingCode'), secret));
  });

  docs.add({ method: 'post', path: '/api/v1/reports/:trackingCode/messages', summary: 'The reporter answers or adds information', tag, auth: 'reporter-secret', body: messageBody, responses: { 201: 'Posted', 404: 'Wrong code or secret', 422: 'A file refused' } });
  app.post('/api/v1/reports/:trackingCode/messages', big, async (c) => {
    await enforce(limits.followUp, c, trust);
    const secret = c.req.header('x-report-secret');
    if (!secret) throw reportNotFound();
    const body = await readJson(c, messageBody);
    const files = body.attachments.map((a) => ({ name: a.filename, bytes: a.contentBase64 }));
    await deps.reports.reply(c.req.param('trackingCode'), secret, body.body, files);
    return c.json({ status: 'posted' }, 201);
  });

  return app;
}

async function readReport(c: Context) {
  const type = c.req.header('content-type') ?? '';
  if (type.startsWith('multipart/form-data')) {
    const form = cleanForm(await c.req.parseBody({ all: true }));
    const raw = str(form.report);
    let json: unknown;
    try {
      json = JSON.parse(raw ?? '');
    } catch {
      throw validationFailed({ issues: [{ path: 'report', message: 'field `report` must hold the report as JSON' }] });
    }
    refuseControls(json);
    const parsed = reportBody.safeParse(json);
    if (!parsed.success) throw validationFailed({ issues: issuesOf(parsed.error) });
    const { attachments: _ignored, ...input } = parsed.data;
    return { input, files: await toUploaded(fileList(form.files)) };
  }
  const { attachments, ...input } = await readJson(c, reportBody);
  return { input, files: attachments.map((a) => ({ name: a.filename, bytes: a.contentBase64 })) };
}
