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
import { label, pickLanguage, t } from './web.i18n.ts';
import {
  type FieldError,
  followUpLoginPage,
  homePage,
  type ReportFormValues,
  reportPage,
  reportStatusPage,
  submittedPage,
  type UnitOption,
} from './web.pages.ts';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Clue } from '../clues/clue.entity.ts';
import { categories } from '../clues/clue.entity.ts';
import { reporterEmail, reporterPhone } from '../clues/clues.schemas.ts';
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

/**
 * Reads the no-JavaScript form into the same shape the JSON API takes. For an anonymous report
 * the contact fields are dropped here, whatever was typed (the page script does not even send
 * them): they are neither stored nor shown again.
 */
function formValues(form: Record<string, unknown>): ReportFormValues {
  const cats = form.categories;
  const accused = [0, 1, 2].map((i) => ({
    name: str(form[`accused[${i}][name]`])?.trim(),
    role: str(form[`accused[${i}][role]`]),
    unitId: str(form[`accused[${i}][unitId]`]) || undefined,
  }));
  const named = form.identity === 'named';
  return {
    narrative: str(form.narrative),
    occurredWhen: str(form.occurredWhen),
    unitId: str(form.unitId) || undefined,
    categories: (Array.isArray(cats) ? cats : cats === undefined ? [] : [cats]).filter((x): x is string => typeof x === 'string'),
    accused,
    identity: named ? 'named' : 'anonymous',
    ...(named
      ? { name: str(form.name), phone: str(form.phone), email: str(form.email), consentToShare: form.consentToShare === 'yes', notifyProgress: form.notifyProgress === 'yes' }
      : {}),
  };
}

/** The form's values as the JSON API's input, and for each accused of it the form row it came from. */
function reportInputFrom(v: ReportFormValues, locale: Locale) {
  const rows = (v.accused ?? []).map((a, row) => ({ a, row })).filter(({ a }) => a.name);
  return {
    rows: rows.map(({ row }) => row),
    input: {
      narrative: v.narrative ?? '',
      occurredWhen: v.occurredWhen?.trim() || null,
      unitId: v.unitId ?? null,
      categories: v.categories ?? [],
      accused: rows.map(({ a }) => ({ name: a.name, role: a.role || 'unknown', unitId: a.unitId ?? null })),
      reporter:
        v.identity === 'named'
          ? {
              name: v.name?.trim() ?? '',
              phone: v.phone?.trim() || undefined,
              email: v.email?.trim() || undefined,
              consentToShare: v.consentToShare ?? false,
              notifyProgress: v.notifyProgress ?? false,
            }
          : null,
      locale,
    },
  };
}

/** What to say for each kind of mistake, by the element the error summary links to. */
const fieldMessages: Record<string, { zh: string; en: string }> = {
  narrative: { zh: '请写下发生了什么，至少一句话。', en: 'Say what happened, at least one sentence.' },
  occurredWhen: { zh: '时间请写得简短一些（不超过 200 字）。', en: 'Keep the time short (at most 200 characters).' },
  unitId: { zh: '所选单位不存在，请重新选择。', en: 'The chosen unit does not exist; choose again.' },
  category: { zh: '问题类别有误，请重新选择。', en: 'Choose the kinds of problem again.' },
  'accused-name': { zh: '被举报人的姓名太长了（不超过 200 字）。', en: 'The name of the person reported is too long (at most 200 characters).' },
  'accused-role': { zh: '请重新选择被举报人的身份。', en: 'Choose the role of the person reported again.' },
  'accused-unit': { zh: '请重新选择被举报人所在单位。', en: 'Choose the unit of the person reported again.' },
  name: { zh: '请填写您的姓名（实名举报需要）。', en: 'Give your name (a named report needs it).' },
  contact: { zh: '实名举报请至少留下手机号码或电子邮箱之一。', en: 'For a named report give a phone number or an email address.' },
  phone: { zh: '手机号码的格式不对，请只填数字，例如 13800001111。', en: 'The phone number is not valid; use digits only, for example 13800001111.' },
  email: { zh: '电子邮箱的格式不对，例如 name@example.com。', en: 'The email address is not valid, for example name@example.com.' },
  files: { zh: '附件有误。', en: 'There is a problem with the files.' },
};

/** Form order, so the summary lists mistakes as the page shows the fields. */
const fieldOrder = ['narrative', 'occurredWhen', 'unitId', 'category', 'accused', 'files', 'name', 'phone', 'email'];

/**
 * Every mistake of a submitted form, each pointing at the field to fix (its id), in form order.
 * The contact fields are checked here, all at once, so a reporter is not sent back twice.
 */
function formErrors(locale: Locale, v: ReportFormValues, rows: number[], issues: { path: string }[]): FieldError[] {
  const say = (key: string) => label(locale, fieldMessages[key]!);
  const found = new Map<string, string>();
  const add = (field: string, key: string) => {
    if (!found.has(field)) found.set(field, say(key));
  };
  if (v.identity === 'named') {
    const phone = v.phone?.trim();
    const email = v.email?.trim();
    if (!v.name?.trim()) add('name', 'name');
    if (!phone && !email) add('phone', 'contact');
    if (phone && !reporterPhone.safeParse(phone).success) add('phone', 'phone');
    if (email && !reporterEmail.safeParse(email).success) add('email', 'email');
  }
  for (const { path } of issues) {
    const [head, index, prop] = path.split('.');
    if (head === 'reporter') continue;
    if (head === 'accused') {
      const row = rows[Number(index)] ?? 0;
      const part = prop === 'role' ? 'role' : prop === 'unitId' ? 'unit' : 'name';
      add(`accused-${row}-${part}`, `accused-${part}`);
    } else if (head === 'categories') add(`category-${categories[0]}`, 'category');
    else if (head === 'attachments') add('files', 'files');
    else if (head === 'occurredWhen' || head === 'unitId') add(head, head);
    else add('narrative', 'narrative');
  }
  const rank = (field: string) => fieldOrder.indexOf(field.startsWith('accused') ? 'accused' : field.startsWith('category') ? 'category' : field);
  return [...found].map(([field, message]) => ({ field, message })).sort((a, b) => rank(a.field) - rank(b.field));
}

const SESSION_COOKIE = 'followup';

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
    const form = await c.req.parseBody({ all: true });
    deps.csrf.verify(c, form._csrf);
    const values = formValues(form);
    const rerender = async (errors: FieldError[], status: 400 | 422 | 429) =>
      c.html(reportPage(locale, { csrf: deps.csrf.issue(c), units: await units(), contact: await deps.contact.current(), values, errors }), status);
    try {
      enforce(limits.submitBurst, c, trust);
      enforce(limits.submit, c, trust);
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
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const code = str(form.code) ?? '';
    const secret = str(form.secret) ?? '';
    try {
      enforce(limits.followUp, c, trust);
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
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    endSession(c);
    return loginPage(c, locale, { notice: t(locale, 'signedOut') });
  });

  app.post('/follow-up/messages', big, async (c) => {
    noStore(c);
    const locale = localeOf(c);
    const form = await c.req.parseBody({ all: true });
    deps.csrf.verify(c, form._csrf);
    const body = str(form.body)?.trim() ?? '';
    try {
      // The signed-in session; a form carrying the code and secret itself (older pages) also works.
      const code = str(form.code);
      const secret = str(form.secret);
      let clue: Clue | null;
      if (code && secret) {
        enforce(limits.followUp, c, trust);
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
