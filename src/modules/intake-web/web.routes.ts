import { Hono } from 'hono';
import type { Context } from 'hono';
import { bodyLimit } from '../../app/body-limit.ts';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import type { Csrf } from '../../app/csrf.ts';
import { isAppError, validationFailed } from '../../app/errors.ts';
import { issuesOf, readJson, refuseControls } from '../../app/http.ts';
import { cleanForm } from '../../app/text.ts';
import type { Metrics } from '../../app/metrics.ts';
import type { ApiDocs } from '../../app/openapi.ts';
import { enforce, RateLimiter, rateLimited } from '../../app/rate-limit.ts';
import type { AppEnv } from '../staff/http-env.ts';
import type { Throttle } from '../../app/throttle.ts';
import type { Locale } from '../../app/templates.ts';
import { reportNotFound } from '../clues/clues.errors.ts';
import type { StaffUseCases } from '../staff/staff.usecases.ts';
import type { UploadedFile } from '../attachments/uploads.ts';
import { MAX_REQUEST_BYTES } from '../attachments/uploads.ts';
import type { ReportUseCases } from './reports.usecases.ts';
import { messageBody, reportBody } from './web.schemas.ts';
import { label, pickLanguage, t } from './web.i18n.ts';
import { fieldMessages, formErrors, formValues, reportInputFrom, str } from './web.form.ts';
import {
  type FieldError,
  followUpLoginPage,
  homePage,
  reportPage,
  reportStatusPage,
  submittedPage,
  type UnitOption,
} from './web.pages.ts';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Clue } from '../clues/clue.entity.ts';
import { formatTrackingCode } from '../clues/tracking-code.ts';
import type { ContactUseCases } from '../contact/contact.usecases.ts';
import type { FollowUpSessions } from './follow-up.session.ts';
import { assetResponse } from './web.assets.ts';

export interface WebDeps {
  config: Config;
  clock: Clock;
  reports: ReportUseCases;
  staff: StaffUseCases;
  csrf: Csrf;
  metrics: Metrics;
  contact: ContactUseCases;
  sessions: FollowUpSessions;
  throttle?: Throttle;
}

/** Abuse limits, from configuration (defaults and the arithmetic behind them: README). */
export function createLimiters(config: Config, clock: Clock, throttle?: Throttle) {
  const hour = 3600_000;
  const tenMinutes = 600_000;
  const shared = (name: string) => (throttle ? { name, throttle } : undefined);
  return {
    submit: new RateLimiter({ max: config.RATE_SUBMIT_PER_CLIENT_HOUR, windowMs: hour }, { max: config.RATE_SUBMIT_GLOBAL_MINUTE * 60, windowMs: hour }, clock, shared('submit')),
    submitBurst: new RateLimiter({ max: config.RATE_SUBMIT_PER_CLIENT_HOUR, windowMs: 60_000 }, { max: config.RATE_SUBMIT_GLOBAL_MINUTE, windowMs: 60_000 }, clock, shared('submit-burst')),
    followUp: new RateLimiter(
      { max: config.RATE_FOLLOWUP_PER_CLIENT_10MIN, windowMs: tenMinutes },
      { max: config.RATE_FOLLOWUP_GLOBAL_10MIN, windowMs: tenMinutes },
      clock,
      shared('follow-up'),
    ),
  };
}

function localeOf(c: Context): Locale {
  return c.req.query('lang') === 'en' ? 'en' : 'zh-CN';
}

/** The files of a multipart field (an empty file input sends one nameless empty part: left out). */
export function fileList(value: unknown): File[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.filter((f): f is File => f instanceof File && f.size > 0);
}

export async function toUploaded(files: File[]): Promise<UploadedFile[]> {
  return Promise.all(files.map(async (f) => ({ name: f.name, bytes: new Uint8Array(await f.arrayBuffer()) })));
}

const SESSION_COOKIE = 'followup';

export function webRoutes(deps: WebDeps, docs: ApiDocs) {
  const app = new Hono<AppEnv>();
  const limits = createLimiters(deps.config, deps.clock, deps.throttle);
  const trust = deps.config.TRUST_PROXY;
  const big = bodyLimit({ maxSize: MAX_REQUEST_BYTES, onError: () => { throw validationFailed({ issues: [{ path: 'files', message: 'request too large' }] }, '请求体过大 / The request body is too large.'); } });

  const units = async (): Promise<UnitOption[]> =>
    (await deps.staff.listUnits()).map((u) => ({ id: u.id, name: u.name, nameEn: u.nameEn ?? null, kind: u.kind, parentId: u.parent ?? null }));

  const noStore = (c: Context) => {
    c.header('Cache-Control', 'no-store');
    c.header('X-Frame-Options', 'DENY');
  };

  // ---- the follow-up session (a browser-session cookie; follow-up.session.ts) ----
  const startSession = (c: Context, clue: Clue) =>
    setCookie(c, SESSION_COOKIE, deps.sessions.issue(clue), { httpOnly: true, sameSite: 'Strict', path: '/follow-up', secure: c.req.url.startsWith('https:') });
  const endSession = (c: Context) => deleteCookie(c, SESSION_COOKIE, { path: '/follow-up', secure: c.req.url.startsWith('https:') });
  async function sessionClue(c: Context): Promise<Clue | null> {
    const session = deps.sessions.read(getCookie(c, SESSION_COOKIE));
    const clue = session ? await deps.reports.resume(session.clueId, session.still) : null;
    if (clue) startSession(c, clue); // renewed: the timeout counts from the last page
    else if (getCookie(c, SESSION_COOKIE)) endSession(c);
    return clue;
  }

  const statusPage = async (c: Context, locale: Locale, clue: Clue, extra: { notice?: string; error?: FieldError; body?: string } = {}, status: 200 | 400 | 422 = 200) =>
    c.html(
      reportStatusPage(locale, { csrf: deps.csrf.issue(c), view: await deps.reports.viewOf(clue, locale), now: deps.clock.now(), contact: await deps.contact.current(), ...extra }),
      status,
    );
  const loginPage = async (c: Context, locale: Locale, extra: { error?: string; code?: string; notice?: string } = {}, status: 200 | 401 | 404 | 429 = 200) =>
    c.html(followUpLoginPage(locale, { csrf: deps.csrf.issue(c), contact: await deps.contact.current(), ...extra }), status);

  // ---- the stylesheet and script of the pages (no inline style or script: web.assets.ts) ----
  app.get('/assets/:file', (c) => {
    const found = assetResponse(c.req.param('file'));
    if (!found) return c.json({ error: { code: 'not_found', message: '未找到 / Not found.' } }, 404);
    if (c.req.header('if-none-match') === found.headers.etag) return c.body(null, 304, found.headers);
    return c.body(new Uint8Array(found.body), 200, found.headers);
  });

  // ---- pages (no JavaScript needed) ----
  app.get('/', async (c) => c.html(homePage(localeOf(c), await deps.contact.current())));

  app.get('/report', async (c) => {
    noStore(c);
    return c.html(reportPage(localeOf(c), { csrf: deps.csrf.issue(c), units: await units(), contact: await deps.contact.current() }));
  });

  app.post('/report', big, async (c) => {
    noStore(c);
    const locale = localeOf(c);
    const form = cleanForm(await c.req.parseBody({ all: true }));
    deps.csrf.verify(c, form._csrf);
    const values = formValues(form);
    const rerender = async (errors: FieldError[], status: 400 | 422 | 429) =>
      c.html(reportPage(locale, { csrf: deps.csrf.issue(c), units: await units(), contact: await deps.contact.current(), values, errors }), status);
    try {
      await enforce([limits.submitBurst, limits.submit], c, trust);
    } catch {
      return rerender([{ field: 'narrative', message: t(locale, 'tooMany') }], 429);
    }
    const { input, rows } = reportInputFrom(values, locale);
    const parsed = reportBody.safeParse({ ...input, attachments: [] });
    const errors = formErrors(locale, values, rows, parsed.success ? [] : issuesOf(parsed.error));
    if (!parsed.success || errors.length) return rerender(errors.length ? errors : [{ field: 'narrative', message: label(locale, fieldMessages.narrative!) }], 400);
    try {
      const { attachments: _none, ...valid } = parsed.data;
      const result = await deps.reports.submit(valid, await toUploaded(fileList(form.files)), locale);
      deps.metrics.cluesRegistered.inc({ channel: 'web' });
      return c.html(
        submittedPage(locale, {
          trackingCodeDisplay: formatTrackingCode(result.trackingCode),
          secret: result.secret,
          deadlines: await deps.reports.promisesFor(result.clue.id),
          now: deps.clock.now(),
          contact: await deps.contact.current(),
        }),
        201,
      );
    } catch (err) {
      if (isAppError(err) && err.statusCode < 500) {
        const field = err.code.startsWith('attachment.') ? 'files' : err.code === 'clue.unknown_unit' ? 'unitId' : 'narrative';
        return rerender([{ field, message: pickLanguage(locale, err.message) }], 422);
      }
      throw err;
    }
  });

  app.get('/follow-up', async (c) => {
    noStore(c);
    const locale = localeOf(c);
    const clue = await sessionClue(c);
    return clue ? statusPage(c, locale, clue) : loginPage(c, locale);
  });

  app.post('/follow-up', async (c) => {
    noStore(c);
    const locale = localeOf(c);
    const form = cleanForm(await c.req.parseBody());
    deps.csrf.verify(c, form._csrf);
    const code = str(form.code) ?? '';
    const secret = str(form.secret) ?? '';
    try {
      await enforce(limits.followUp, c, trust);
      const clue = await deps.reports.open(code, secret);
      startSession(c, clue);
      return await statusPage(c, locale, clue);
    } catch (err) {
      if (isAppError(err) && (err.code === 'report.not_found' || err.code === 'request.rate_limited')) {
        const message = err.code === 'report.not_found' ? t(locale, 'wrongCode') : t(locale, 'tooMany');
        return loginPage(c, locale, { error: message, code }, err.statusCode as 404 | 429);
      }
      throw err;
    }
  });

  app.post('/follow-up/logout', async (c) => {
    noStore(c);
    const locale = localeOf(c);
    const form = cleanForm(await c.req.parseBody());
    deps.csrf.verify(c, form._csrf);
    endSession(c);
    return loginPage(c, locale, { notice: t(locale, 'signedOut') });
  });

  app.post('/follow-up/messages', big, async (c) => {
    noStore(c);
    const locale = localeOf(c);
    const form = cleanForm(await c.req.parseBody({ all: true }));
    deps.csrf.verify(c, form._csrf);
    const body = str(form.body)?.trim() ?? '';
    try {
      // The signed-in session; a form carrying the code and secret itself (older pages) also works.
      const code = str(form.code);
      const secret = str(form.secret);
      let clue: Clue | null;
      if (code && secret) {
        await enforce(limits.followUp, c, trust);
        clue = await deps.reports.open(code, secret);
        startSession(c, clue);
      } else {
        clue = await sessionClue(c);
      }
      // Signed out, or the session ran out: sign in again (what was typed cannot be kept without it).
      if (!clue) return await loginPage(c, locale, { error: t(locale, 'sessionEnded') }, 401);
      if (!body) return await statusPage(c, locale, clue, { error: { field: 'body', message: t(locale, 'emptyMessage') } }, 400);
      try {
        await deps.reports.replyTo(clue, body.slice(0, 20_000), await toUploaded(fileList(form.files)), locale);
      } catch (err) {
        if (isAppError(err) && err.code.startsWith('attachment.')) {
          return await statusPage(c, locale, clue, { error: { field: 'files', message: pickLanguage(locale, err.message) }, body }, 422);
        }
        throw err;
      }
      return await statusPage(c, locale, clue, { notice: t(locale, 'sent') });
    } catch (err) {
      if (isAppError(err) && (err.code === 'report.not_found' || err.code === 'request.rate_limited')) {
        const message = err.code === 'report.not_found' ? t(locale, 'wrongCode') : t(locale, 'tooMany');
        return loginPage(c, locale, { error: message }, err.statusCode as 404 | 429);
      }
      throw err;
    }
  });

  // ---- JSON API for apps ----
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

export { rateLimited };
