import { Hono } from 'hono';
import type { Context } from 'hono';
import { bodyLimit } from '../../app/body-limit.ts';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import type { Csrf } from '../../app/csrf.ts';
import { isAppError, validationFailed } from '../../app/errors.ts';
import { issuesOf, readJson } from '../../app/http.ts';
import type { Metrics } from '../../app/metrics.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import { enforce, RateLimiter, rateLimited } from '../../app/rate-limit.ts';
import type { AppEnv } from '../../app/server.ts';
import type { Locale } from '../../app/templates.ts';
import { reportNotFound } from '../clues/clues.errors.ts';
import type { StaffUseCases } from '../staff/staff.usecases.ts';
import type { UploadedFile } from '../attachments/uploads.ts';
import { MAX_REQUEST_BYTES } from '../attachments/uploads.ts';
import type { ReportUseCases } from './reports.usecases.ts';
import { messageBody, reportBody } from './web.schemas.ts';
import { t } from './web.i18n.ts';
import {
  followUpLoginPage,
  homePage,
  type ReportFormValues,
  reportPage,
  reportStatusPage,
  submittedPage,
  type UnitOption,
} from './web.pages.ts';

export interface WebDeps {
  config: Config;
  clock: Clock;
  reports: ReportUseCases;
  staff: StaffUseCases;
  csrf: Csrf;
  metrics: Metrics;
}

/** Abuse limits, from configuration (defaults and the arithmetic behind them: README). */
export function createLimiters(config: Config, clock: Clock) {
  const hour = 3600_000;
  const tenMinutes = 600_000;
  return {
    submit: new RateLimiter({ max: config.RATE_SUBMIT_PER_CLIENT_HOUR, windowMs: hour }, { max: config.RATE_SUBMIT_GLOBAL_MINUTE * 60, windowMs: hour }, clock),
    submitBurst: new RateLimiter({ max: config.RATE_SUBMIT_PER_CLIENT_HOUR, windowMs: 60_000 }, { max: config.RATE_SUBMIT_GLOBAL_MINUTE, windowMs: 60_000 }, clock),
    followUp: new RateLimiter(
      { max: config.RATE_FOLLOWUP_PER_CLIENT_10MIN, windowMs: tenMinutes },
      { max: config.RATE_FOLLOWUP_GLOBAL_10MIN, windowMs: tenMinutes },
      clock,
    ),
  };
}

function localeOf(c: Context): Locale {
  return c.req.query('lang') === 'en' ? 'en' : 'zh-CN';
}

function fileList(value: unknown): File[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.filter((f): f is File => f instanceof File && f.size > 0);
}

async function toUploaded(files: File[]): Promise<UploadedFile[]> {
  return Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Reads the no-JavaScript form into the same shape the JSON API takes. */
function formValues(form: Record<string, unknown>): ReportFormValues {
  const cats = form.categories;
  const accused = [0, 1, 2].map((i) => ({
    name: str(form[`accused[${i}][name]`])?.trim(),
    role: str(form[`accused[${i}][role]`]),
    unitId: str(form[`accused[${i}][unitId]`]) || undefined,
  }));
  return {
    narrative: str(form.narrative),
    occurredWhen: str(form.occurredWhen),
    unitId: str(form.unitId) || undefined,
    categories: (Array.isArray(cats) ? cats : cats === undefined ? [] : [cats]).filter((x): x is string => typeof x === 'string'),
    accused,
    identity: form.identity === 'named' ? 'named' : 'anonymous',
    name: str(form.name),
    phone: str(form.phone),
    email: str(form.email),
    consentToShare: form.consentToShare === 'yes',
  };
}

function reportInputFrom(v: ReportFormValues) {
  return {
    narrative: v.narrative ?? '',
    occurredWhen: v.occurredWhen?.trim() || null,
    unitId: v.unitId ?? null,
    categories: v.categories ?? [],
    accused: (v.accused ?? []).filter((a) => a.name).map((a) => ({ name: a.name, role: a.role, unitId: a.unitId ?? null })),
    reporter:
      v.identity === 'named'
        ? {
            name: v.name?.trim() ?? '',
            phone: v.phone?.trim() || undefined,
            email: v.email?.trim() || undefined,
            consentToShare: v.consentToShare ?? false,
          }
        : null,
  };
}

const fieldOf = (path: string) =>
  path.startsWith('reporter') ? 'reporter' : path.startsWith('accused') ? 'accused' : path.startsWith('attachments') ? 'files' : path || 'narrative';

const fieldMessages: Record<string, { zh: string; en: string }> = {
  narrative: { zh: '请写下发生了什么，至少一句话。', en: 'Say what happened, at least one sentence.' },
  reporter: { zh: '实名举报请填写姓名，并至少留下手机号码或电子邮箱之一（格式要正确）。', en: 'For a named report give your name and a valid phone number or email address.' },
  accused: { zh: '被举报人信息有误，请检查。', en: 'Please check the details of the persons reported.' },
  unitId: { zh: '所选单位不存在，请重新选择。', en: 'The chosen unit does not exist; choose again.' },
  files: { zh: '附件有误。', en: 'There is a problem with the files.' },
};

export function webRoutes(deps: WebDeps, docs: ApiDocs) {
  const app = new Hono<AppEnv>();
  const limits = createLimiters(deps.config, deps.clock);
  const trust = deps.config.TRUST_PROXY;
  const big = bodyLimit({ maxSize: MAX_REQUEST_BYTES, onError: () => { throw validationFailed({ issues: [{ path: 'files', message: 'request too large' }] }, '请求体过大 / The request body is too large.'); } });

  const units = async (): Promise<UnitOption[]> =>
    (await deps.staff.listUnits()).map((u) => ({ id: u.id, name: u.name, nameEn: u.nameEn ?? null, kind: u.kind, parentId: u.parent ?? null }));

  const noStore = (c: Context) => {
    c.header('Cache-Control', 'no-store');
    c.header('X-Frame-Options', 'DENY');
  };

  // ---- pages (no JavaScript needed) ----
  app.get('/', (c) => c.html(homePage(localeOf(c))));

  app.get('/report', async (c) => {
    noStore(c);
    return c.html(reportPage(localeOf(c), { csrf: deps.csrf.issue(c), units: await units() }));
  });

  app.post('/report', big, async (c) => {
    noStore(c);
    const locale = localeOf(c);
    const form = await c.req.parseBody({ all: true });
    deps.csrf.verify(c, form._csrf);
    const values = formValues(form);
    const rerender = async (errors: { field: string; message: string }[], status: 400 | 422 | 429) =>
      c.html(reportPage(locale, { csrf: deps.csrf.issue(c), units: await units(), values, errors }), status);
    try {
      enforce(limits.submitBurst, c, trust);
      enforce(limits.submit, c, trust);
    } catch {
      return rerender([{ field: 'narrative', message: t(locale, 'tooMany') }], 429);
    }
    const parsed = reportBody.safeParse({ ...reportInputFrom(values), attachments: [] });
    if (!parsed.success) {
      const fields = [...new Set(issuesOf(parsed.error).map((i) => fieldOf(i.path)))];
      return rerender(fields.map((f) => ({ field: f, message: (locale === 'en' ? fieldMessages[f]?.en : fieldMessages[f]?.zh) ?? f })), 400);
    }
    try {
      const { attachments: _none, ...input } = parsed.data;
      const result = await deps.reports.submit(input, await toUploaded(fileList(form.files)), locale);
      deps.metrics.cluesRegistered.inc({ channel: 'web' });
      return c.html(submittedPage(locale, { trackingCodeDisplay: result.clue.trackingCode.replace(/(\d{4})(?=\d)/g, '$1 '), secret: result.secret }), 201);
    } catch (err) {
      if (isAppError(err) && err.statusCode < 500) {
        const field = err.code.startsWith('attachment.') ? 'files' : err.code === 'clue.unknown_unit' ? 'unitId' : 'narrative';
        return rerender([{ field, message: err.message }], 422);
      }
      throw err;
    }
  });

  app.get('/follow-up', (c) => {
    noStore(c);
    return c.html(followUpLoginPage(localeOf(c), { csrf: deps.csrf.issue(c) }));
  });

  app.post('/follow-up', async (c) => {
    noStore(c);
    const locale = localeOf(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const code = str(form.code) ?? '';
    const secret = str(form.secret) ?? '';
    try {
      enforce(limits.followUp, c, trust);
      const view = await deps.reports.view(code, secret);
      return c.html(reportStatusPage(locale, { csrf: deps.csrf.issue(c), secret, view }));
    } catch (err) {
      if (isAppError(err) && (err.code === 'report.not_found' || err.code === 'request.rate_limited')) {
        const message = err.code === 'report.not_found' ? t(locale, 'wrongCode') : t(locale, 'tooMany');
        return c.html(followUpLoginPage(locale, { csrf: deps.csrf.issue(c), error: message, code }), err.statusCode as 404 | 429);
      }
      throw err;
    }
  });

  app.post('/follow-up/messages', big, async (c) => {
    noStore(c);
    const locale = localeOf(c);
    const form = await c.req.parseBody({ all: true });
    deps.csrf.verify(c, form._csrf);
    const code = str(form.code) ?? '';
    const secret = str(form.secret) ?? '';
    const body = str(form.body)?.trim() ?? '';
    try {
      enforce(limits.followUp, c, trust);
      const view0 = await deps.reports.view(code, secret);
      if (!body) return c.html(reportStatusPage(locale, { csrf: deps.csrf.issue(c), secret, view: view0, error: t(locale, 'yourMessage') }), 400);
      await deps.reports.reply(code, secret, body.slice(0, 20_000), await toUploaded(fileList(form.files)), locale);
      const view = await deps.reports.view(code, secret);
      return c.html(reportStatusPage(locale, { csrf: deps.csrf.issue(c), secret, view, notice: t(locale, 'sent') }));
    } catch (err) {
      if (isAppError(err) && (err.code === 'report.not_found' || err.code === 'request.rate_limited')) {
        const message = err.code === 'report.not_found' ? t(locale, 'wrongCode') : t(locale, 'tooMany');
        return c.html(followUpLoginPage(locale, { csrf: deps.csrf.issue(c), error: message }), err.statusCode as 404 | 429);
      }
      if (isAppError(err) && err.code.startsWith('attachment.')) {
        const view = await deps.reports.view(code, secret);
        return c.html(reportStatusPage(locale, { csrf: deps.csrf.issue(c), secret, view, error: err.message }), 422);
      }
      throw err;
    }
  });

  // ---- JSON API for apps ----
  const tag = 'reports';
  docs.add({ method: 'post', path: '/api/v1/reports', summary: 'Submit a report (JSON with base64 files, or multipart: field `report` + `files`)', tag, body: reportBody, responses: { 201: '{ trackingCode, secret, status }; the secret is shown only here', 400: 'Invalid input', 413: 'Too large', 422: 'Unknown unit or a file refused', 429: 'Rate limited' } });
  app.post('/api/v1/reports', big, async (c) => {
    enforce(limits.submitBurst, c, trust);
    enforce(limits.submit, c, trust);
    const { input, files } = await readReport(c);
    const result = await deps.reports.submit(input, files);
    deps.metrics.cluesRegistered.inc({ channel: 'web' });
    return c.json({ trackingCode: result.trackingCode, secret: result.secret, status: result.status }, 201);
  });

  docs.add({ method: 'get', path: '/api/v1/reports/:trackingCode', summary: 'A report’s status, dates, history and messages (needs the secret)', tag, auth: 'reporter-secret', responses: { 200: 'The report', 404: 'Wrong code or secret (indistinguishable)', 429: 'Rate limited' } });
  app.get('/api/v1/reports/:trackingCode', async (c) => {
    enforce(limits.followUp, c, trust);
    c.header('Cache-Control', 'no-store');
    const secret = c.req.header('x-report-secret');
    if (!secret) throw reportNotFound();
    return c.json(await deps.reports.view(c.req.param('trackingCode'), secret));
  });

  docs.add({ method: 'post', path: '/api/v1/reports/:trackingCode/messages', summary: 'The reporter answers or adds information', tag, auth: 'reporter-secret', body: messageBody, responses: { 201: 'Posted', 404: 'Wrong code or secret', 422: 'A file refused' } });
  app.post('/api/v1/reports/:trackingCode/messages', big, async (c) => {
    enforce(limits.followUp, c, trust);
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
    const form = await c.req.parseBody({ all: true });
    const raw = str(form.report);
    let json: unknown;
    try {
      json = JSON.parse(raw ?? '');
    } catch {
      throw validationFailed({ issues: [{ path: 'report', message: 'field `report` must hold the report as JSON' }] });
    }
    const parsed = reportBody.safeParse(json);
    if (!parsed.success) throw validationFailed({ issues: issuesOf(parsed.error) });
    const { attachments: _ignored, ...input } = parsed.data;
    return { input, files: await toUploaded(fileList(form.files)) };
  }
  const { attachments, ...input } = await readJson(c, reportBody);
  return { input, files: attachments.map((a) => ({ name: a.filename, bytes: a.contentBase64 })) };
}

export { rateLimited };
