import { Hono } from 'hono';
import type { Context } from 'hono';
import { isAppError } from '../../app/errors.ts';
import { issuesOf } from '../../app/http.ts';
import { cleanForm } from '../../app/text.ts';
import { enforce } from '../../app/rate-limit.ts';
import type { AppEnv } from '../staff/http-env.ts';
import type { Locale } from '../../app/templates.ts';
import { reportBody } from './web.schemas.ts';
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
import { assetResponse } from './web.assets.ts';
import { fileList, toUploaded } from './web.files.ts';
import { uploadLimit, type WebDeps } from './web.deps.ts';

function localeOf(c: Context): Locale {
  return c.req.query('lang') === 'en' ? 'en' : 'zh-CN';
}

const SESSION_COOKIE = 'followup';

/** The citizen's form pages (no JavaScript needed): report, follow-up sign-in, status and replies, and their assets. */
export function webPageRoutes(deps: WebDeps) {
  const app = new Hono<AppEnv>();
  const { limits } = deps;
  const trust = deps.config.TRUST_PROXY;
  const big = uploadLimit();

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

  return app;
}
