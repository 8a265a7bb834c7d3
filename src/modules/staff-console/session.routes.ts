import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { type AppError, forbidden, isAppError } from '../../app/errors.ts';
import type { AppEnv } from '../staff/http-env.ts';
import type { Principal } from '../staff/access.ts';
import { clientAddress } from '../../app/rate-limit.ts';
import { ct } from './console.i18n.ts';
import { accountPage, enrolPage, loginPage, recoveryCodesPage } from './session.pages.ts';
import type { Errors, Shell } from './layout.pages.ts';
import QRCode from 'qrcode';
import { type ConsoleKit, type ConsoleApp, str, bilingual, SESSION, ENROLMENT_PAGES } from './console.kit.ts';

/** Sign-in (password, then the authenticator code), the session check every other page passes, and sign-out. */
export function signInRoutes(app: ConsoleApp, kit: ConsoleKit) {
  const { deps, secure, localeOf, noStore } = kit;
  // ---- sign-in ----
  const signInShell = async (c: Context<AppEnv>) => ({ locale: localeOf(c), csrf: deps.csrf.issue(c), path: '/staff/login' }) as Shell;
  const safeNext = (next: string | undefined) => (next && /^\/staff(\/|$|\?)/.test(next) && !next.startsWith('//') ? next : '/staff');

  app.get('/login', async (c) => {
    noStore(c);
    const token = getCookie(c, SESSION);
    if (token) {
      const ok = await deps.staff.authenticate(token).then(() => true, () => false);
      if (ok) return c.redirect('/staff', 302);
    }
    return c.html(loginPage(await signInShell(c), { next: c.req.query('next') }));
  });

  app.post('/login', async (c) => {
    noStore(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const s = await signInShell(c);
    const username = str(form.username)?.trim() ?? '';
    const password = str(form.password) ?? '';
    const totp = str(form.totp)?.replace(/\s/g, '') ?? '';
    const next = str(form.next);
    const errors: Errors = {};
    if (!username) errors.username = ct(s.locale, 'fillUsername');
    if (!password) errors.password = ct(s.locale, 'fillPassword');
    if (Object.keys(errors).length) return c.html(loginPage(s, { errors, username, next }), 400);
    try {
      await deps.loginGuard.before(username, clientAddress(c, deps.config.TRUST_PROXY)).catch((err: AppError) => {
        const wait = (err.details as { retryAfterSeconds?: number } | undefined)?.retryAfterSeconds;
        if (wait) c.header('Retry-After', String(wait));
        throw err;
      });
      const { token } = await deps.staff.login({ username, password, ...(totp ? { totp } : {}) });
      await deps.loginGuard.succeeded(username);
      // A browser-session cookie: the session's own expiry (SESSION_TTL_HOURS) is kept by the server.
      setCookie(c, SESSION, token, { httpOnly: true, secure, sameSite: 'Lax', path: '/staff' });
      return c.redirect(safeNext(next), 303);
    } catch (err) {
      if (!isAppError(err) || err.statusCode >= 500) throw err;
      if (err.code === 'auth.totp_required') errors.totp = ct(s.locale, 'totpRequired');
      else if (err.code.startsWith('auth.totp')) errors.totp = ct(s.locale, 'totpWrong');
      else if (err.code === 'auth.invalid_credentials') errors.password = ct(s.locale, 'wrongCredentials');
      else errors.username = bilingual(s.locale, err.message);
      return c.html(loginPage(s, { errors, username, next }), err.statusCode as 401 | 429);
    }
  });

  // ---- everything else needs a signed-in staff member ----
  app.use('*', async (c, next) => {
    const token = getCookie(c, SESSION);
    let principal: Principal | null = null;
    if (token) principal = await deps.staff.authenticate(token).catch(() => null);
    if (!principal) {
      if (token) deleteCookie(c, SESSION, { path: '/staff', secure });
      const target = c.req.method === 'GET' ? `/staff/login?next=${encodeURIComponent(c.req.path + (new URL(c.req.url).search || ''))}` : '/staff/login';
      return c.redirect(c.req.path === '/staff' || c.req.path === '/staff/' ? '/staff/login' : target, c.req.method === 'GET' ? 302 : 303);
    }
    // Where two-factor sign-in is required, an account without it may only enrol or sign out (as
    // on the API): a page it asks for sends it to the enrolment.
    if (deps.staff.totpRequired && !principal.secondFactor && !ENROLMENT_PAGES.has(c.req.path)) {
      if (c.req.method === 'GET') return c.redirect('/staff/account', 302);
      throw forbidden(undefined, '请先启用双重验证（身份验证器）后再使用 / Set up two-factor sign-in (an authenticator app) before anything else.');
    }
    c.set('principal', principal);
    c.set('token', token);
    await next();
    // Every signed-in page shows clues or callers: never kept in a cache.
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
  });

  app.post('/logout', async (c) => {
    noStore(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    await deps.staff.logout(c.get('token')!);
    deleteCookie(c, SESSION, { path: '/staff', secure });
    c.set('principal', undefined);
    return c.html(loginPage(await signInShell(c), { notice: ct(localeOf(c), 'signedOut') }));
  });
}

/** Account and security: two-factor enrolment (the same use cases as POST /api/v1/staff/me/totp…). */
export function accountRoutes(app: ConsoleApp, kit: ConsoleKit) {
  const { deps, noStore, principalOf, ctxOf, shell } = kit;
  // ---- account: two-factor enrolment (the same use cases as POST /api/v1/staff/me/totp…) ----
  app.get('/account', async (c) => {
    const p = principalOf(c);
    return c.html(accountPage(await shell(c, '/staff/account'), { twoFactorOn: !!p.secondFactor, required: deps.staff.totpRequired }));
  });

  app.post('/account/totp', async (c) => {
    noStore(c);
    deps.csrf.verify(c, (await c.req.parseBody())._csrf);
    const { secret, otpauthUrl } = await deps.staff.startTotp({ ctx: ctxOf(c), input: {} });
    const qrSvg = await QRCode.toString(otpauthUrl, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    return c.html(enrolPage(await shell(c, '/staff/account'), { qrSvg, secret }));
  });

  app.post('/account/totp/confirm', async (c) => {
    noStore(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const s = await shell(c, '/staff/account');
    try {
      const { recoveryCodes } = await deps.staff.confirmTotp({ ctx: ctxOf(c), input: { code: (str(form.code) ?? '').replace(/\s/g, '') } });
      return c.html(recoveryCodesPage(s, { codes: recoveryCodes }));
    } catch (err) {
      if (!isAppError(err) || err.statusCode >= 500) throw err;
      const p = principalOf(c);
      const error = err.code === 'auth.totp_invalid' ? ct(s.locale, 'enrolWrong') : bilingual(s.locale, err.message);
      return c.html(accountPage(s, { twoFactorOn: !!p.secondFactor || err.code === 'auth.totp_enabled', required: deps.staff.totpRequired, error }), err.statusCode as 401 | 409);
    }
  });
}
