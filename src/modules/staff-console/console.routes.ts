import type { UseCaseContext } from '../../app/usecase.ts';
import { Hono } from 'hono';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import type { Csrf } from '../../app/csrf.ts';
import { type AppError, forbidden, isAppError } from '../../app/errors.ts';
import { contentDisposition, idParam } from '../../app/http.ts';
import type { Metrics } from '../../app/metrics.ts';
import type { AppEnv } from '../staff/http-env.ts';
import type { Locale } from '../../app/templates.ts';
import type { AttachmentStorage } from '../attachments/attachments.storage.ts';
import { categories, type Category, type Channel, channels } from '../clues/clue.entity.ts';
import { clueNotFound } from '../clues/clues.errors.ts';
import { clueCursor } from '../clues/clues.routes.ts';
import { fileList, toUploaded } from '../intake-web/web.files.ts';
import { registerClueBody } from '../clues/clues.schemas.ts';
import type { ClueUseCases } from '../clues/clues.usecases.ts';
import { type ClueAction, clueActions, type ClueStatus, clueStatuses, type DeclineReason, declineReasons, type Finding, findings, openStatuses } from '../clues/status-machine.ts';
import { formatTrackingCode, normalizeTrackingCode } from '../clues/tracking-code.ts';
import type { DeadlineUseCases } from '../deadlines/deadlines.usecases.ts';
import type { EmailUseCases } from '../intake-email/email.usecases.ts';
import type { CallbackUseCases } from '../intake-voice/callbacks.usecases.ts';
import { callbackResults } from '../intake-voice/voice.entity.ts';
import type { MessageUseCases } from '../messages/messages.usecases.ts';
import { can, type Principal } from '../staff/access.ts';
import type { StaffUseCases } from '../staff/staff.usecases.ts';
import type { LoginGuard } from '../staff/login.guard.ts';
import { clientAddress } from '../../app/rate-limit.ts';
import type { ReferralUseCases } from '../referrals/referrals.usecases.ts';
import { NEAR_RELATIVE_FLAG, type RegistryUseCases } from '../registry/registry.usecases.ts';
import { taskTypes } from '../verification/task.entity.ts';
import type { WorkflowUseCases } from '../verification/workflow.usecases.ts';
import { consoleAssetResponse } from './console.assets.ts';
import QRCode from 'qrcode';
import { actionLabels, type ConsoleKey, ct, pick } from './console.i18n.ts';
import {
  type ClueSummary,
  callbacksPage,
  accountPage,
  type CluePageCtx,
  cluePage,
  type DeadlineView,
  enrolPage,
  type Errors,
  errorPage,
  loginPage,
  mailPage,
  noticesPage,
  quarantinePage,
  type QueueFilter,
  queuePage,
  receiptPage,
  recoveryCodesPage,
  registerChannels,
  registerPage,
  type RegisterValues,
  revealedPage,
  type RegistryMatches,
  type Shell,
  type UnitOption,
} from './console.pages.ts';

export interface ConsoleDeps {
  config: Config;
  clock: Clock;
  csrf: Csrf;
  metrics: Metrics;
  staff: StaffUseCases;
  clues: ClueUseCases;
  workflow: WorkflowUseCases;
  messages: MessageUseCases;
  deadlines: DeadlineUseCases;
  callbacks: CallbackUseCases;
  email: EmailUseCases;
  storage: AttachmentStorage;
  referrals: ReferralUseCases;
  registry: RegistryUseCases;
  /** The web form's file checks (type by content, metadata stripped, names sealed) for scans of a letter. */
  /** The API sign-in's slow-down (per account and address), so the form is no easier to guess through. */
  loginGuard: LoginGuard;
  /** The use cases' context for a signed-in principal (src/app/usecase.ts), as the API builds it. */
  context: (principal: Principal) => UseCaseContext<Principal>;
}

/** What an account without a required second factor may still open. */
const ENROLMENT_PAGES = new Set(['/staff/account', '/staff/account/totp', '/staff/account/totp/confirm', '/staff/logout']);

/** The staff session cookie: the same kind of token as the API's bearer token, never readable by script. */
const SESSION = 'staff_session';
const LANG = 'staff_lang';
const SEEN = 'staff_notices_seen';
const PAGE_SIZE = 25;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY = /^\d{4}-\d{2}-\d{2}$/;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined);
const list = (v: unknown): string[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');
const oneOf = <T extends string>(values: readonly T[], v: string | undefined): T | undefined => (v && (values as readonly string[]).includes(v) ? (v as T) : undefined);
const bilingual = (locale: Locale, message: string) => {
  const [zh, en] = message.split(' / ');
  return locale === 'en' ? (en ?? zh ?? message) : (zh ?? message);
};

/**
 * The staff console (issue 17): server-rendered pages under /staff over the same use cases as the
 * JSON API, so the same visibility rule and the same audit. Every action is a plain form POST
 * (CSRF-checked, then a 303 back to the page); htmx and console.js only improve it.
 */
export function consoleRoutes(deps: ConsoleDeps) {
  const app = new Hono<AppEnv>();
  const secure = deps.config.PUBLIC_BASE_URL.startsWith('https:');

  const localeOf = (c: Context): Locale => {
    const q = c.req.query('lang');
    if (q === 'en' || q === 'zh-CN') {
      setCookie(c, LANG, q, { path: '/staff', sameSite: 'Lax', secure, httpOnly: true, maxAge: 365 * 86400 });
      return q;
    }
    return getCookie(c, LANG) === 'en' ? 'en' : 'zh-CN';
  };
  const noStore = (c: Context) => {
    c.header('Cache-Control', 'no-store');
    c.header('X-Frame-Options', 'DENY');
  };
  const principalOf = (c: Context<AppEnv>) => c.get('principal')!;
  /** A use case's context for this request's principal (a fork of its own per call, as the API's routes each have one). */
  const ctxOf = (c: Context<AppEnv>) => deps.context(principalOf(c));

  async function newNoticeCount(c: Context<AppEnv>, p: Principal) {
    const seen = Date.parse(getCookie(c, SEEN) ?? '');
    // Only the notices newer than the newest seen are read: the badge is on every page.
    const items = await deps.deadlines.notices({ ctx: deps.context(p), input: { limit: 50, since: Number.isNaN(seen) ? undefined : new Date(seen + 1) } });
    return items.length;
  }

  async function shell(c: Context<AppEnv>, path: string): Promise<Shell> {
    const p = c.get('principal');
    const query = new URLSearchParams(Object.entries(c.req.query()).filter(([k]) => k !== 'lang') as [string, string][]).toString();
    return {
      locale: localeOf(c),
      csrf: deps.csrf.issue(c),
      path,
      query: query || undefined,
      user: p ? { username: p.username, role: p.role } : undefined,
      newNotices: p ? await newNoticeCount(c, p) : 0,
    };
  }

  let unitCache: { at: number; units: UnitOption[] } | null = null;
  async function units(): Promise<UnitOption[]> {
    const now = deps.clock.now().getTime();
    if (unitCache && unitCache.at > now - 30_000) return unitCache.units;
    const rows = await deps.staff.listUnits();
    const list = rows.map((u) => ({ id: u.id, name: u.name, nameEn: u.nameEn ?? null, kind: u.kind, parentId: u.parent ?? null, depth: Math.max(0, u.path.split('/').filter(Boolean).length - 1) }));
    unitCache = { at: now, units: list };
    return list;
  }

  // ---- assets (no inline script or style anywhere) ----
  app.get('/assets/:file', (c) => {
    const found = consoleAssetResponse(c.req.param('file'));
    if (!found) return c.text('Not found', 404);
    if (c.req.header('if-none-match') === found.headers.etag) return c.body(null, 304, found.headers);
    return c.body(new Uint8Array(found.body), 200, found.headers);
  });

  // ---- errors as pages ----
  app.onError(async (err, c) => {
    if (!isAppError(err)) throw err;
    const s = await shell(c, c.req.path).catch(() => ({ locale: localeOf(c), csrf: deps.csrf.issue(c), path: c.req.path }) as Shell);
    noStore(c);
    if (err.statusCode === 404) return c.html(errorPage(s, ct(s.locale, 'notFoundTitle'), ct(s.locale, 'notFoundText')), 404);
    if (err.statusCode === 403) return c.html(errorPage(s, ct(s.locale, 'forbiddenTitle'), bilingual(s.locale, err.message)), 403);
    return c.html(errorPage(s, ct(s.locale, 'errorPageTitle'), bilingual(s.locale, err.message)), err.statusCode as 400);
  });

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

  // ---- the triage queue ----
  async function clocksFor(ids: string[]) {
    const rows = (await deps.deadlines.forClues(ids)) as DeadlineView[];
    const clocks = new Map<string, DeadlineView>();
    for (const d of rows) if (!d.closedAt && d.state !== 'met' && !clocks.has(d.clueId)) clocks.set(d.clueId, d);
    return clocks;
  }

  const dayStart = (day: string) => new Date(`${day}T00:00:00+08:00`); // the desk's day (Asia/Shanghai, no DST)

  /** The due-first panel: the clues of the soonest-due open deadlines (overdue first), at most this many. */
  const DUE_FIRST = 8;
  /**
   * The filter's count is exact up to this many, then shown as "100+": an exact count reads every
   * clue it counts. Measured on the 10⁶ set for a street caseworker's open clues: 101 rows 7–8 ms,
   * 201 13–16 ms, 1 001 115–380 ms, because a street sees 1/12 of the clues and each is checked
   * against the unit rule and the excluded set (bench/README "console").
   */
  const COUNT_CAP = 100;

  async function renderQueue(c: Context<AppEnv>, extra: { code?: string; errors?: Errors } = {}, status: 200 | 400 | 404 = 200) {
    const q = c.req.query();
    const filter: QueueFilter = {
      channel: oneOf(channels, q.channel),
      // No status chosen: the clues still being handled; `all` for every status.
      status: q.status === 'all' ? 'all' : oneOf(clueStatuses, q.status),
      category: oneOf(categories, q.category),
      unitId: q.unitId && UUID.test(q.unitId) ? q.unitId : undefined,
      from: q.from && DAY.test(q.from) ? q.from : undefined,
      to: q.to && DAY.test(q.to) ? q.to : undefined,
      code: extra.code,
    };
    const common = {
      channel: filter.channel as Channel | undefined,
      status: filter.status && filter.status !== 'all' ? (filter.status as ClueStatus) : undefined,
      statuses: filter.status ? undefined : openStatuses,
      category: filter.category as Category | undefined,
      unitId: filter.unitId,
      receivedFrom: filter.from ? dayStart(filter.from) : undefined,
      receivedTo: filter.to ? new Date(dayStart(filter.to).getTime() + 86_400_000) : undefined,
    };
    const [page, total] = await Promise.all([
      deps.clues.listClues({ ctx: ctxOf(c), input: { ...common, limit: PAGE_SIZE, cursor: clueCursor(q.cursor || undefined) } }),
      deps.clues.countClues({ ctx: ctxOf(c), input: { ...common, cap: COUNT_CAP } }),
    ]);
    // On the first page, overdue and nearly-due clues come first, in the order their deadlines fall due
    // (the deadline list walks its open-deadline index in due order; the clue filters then apply).
    let dueFirst: ClueSummary[] = [];
    if (!q.cursor) {
      // Twice the panel's rows: enough when a clue has two open deadlines; each more row walked costs a
      // street ~12 deadline lookups (it sees 1/12 of the clues), 28 ms for 16 rows on the 10⁶ set.
      const soonest = await deps.deadlines.list({ ctx: ctxOf(c), input: { view: 'open', withinHours: 0, limit: DUE_FIRST * 2 } });
      const order = [...new Set(soonest.filter((d) => !d.paused).map((d) => d.clueId))];
      if (order.length) {
        const found = await deps.clues.listClues({ ctx: ctxOf(c), input: { ...common, ids: order, limit: order.length } });
        const byId = new Map(found.items.map((i) => [i.id, i]));
        dueFirst = order.map((id) => byId.get(id)).filter((i): i is ClueSummary => !!i).slice(0, DUE_FIRST);
      }
    }
    const s = await shell(c, '/staff');
    return c.html(
      queuePage(s, {
        items: page.items,
        total,
        dueFirst,
        nextCursor: page.nextCursor,
        filter,
        units: await units(),
        clocks: await clocksFor([...new Set([...dueFirst, ...page.items].map((i) => i.id))]),
        now: deps.clock.now(),
        errors: extra.errors,
        paged: !!q.cursor,
      }),
      status,
    );
  }

  app.get('/', (c) => renderQueue(c));

  app.get('/find', async (c) => {
    const raw = c.req.query('code') ?? '';
    const locale = localeOf(c);
    if (!normalizeTrackingCode(raw)) return renderQueue(c, { code: raw, errors: { code: ct(locale, 'codeInvalid') } }, 400);
    try {
      const clue = await deps.clues.findByTrackingCode({ ctx: ctxOf(c), input: { code: raw } });
      return c.redirect(`/staff/clues/${clue.id}`, 302);
    } catch (err) {
      if (isAppError(err) && err.code === 'clue.not_found') return renderQueue(c, { code: raw, errors: { code: ct(locale, 'codeNotFound') } }, 404);
      throw err;
    }
  });

  // ---- register a letter, visit or call ----
  app.get('/clues/new', async (c) => {
    noStore(c);
    deps.clues.assertMayRegister({ ctx: ctxOf(c), input: {} });
    return c.html(registerPage(await shell(c, '/staff/clues/new'), { units: await units() }));
  });

  app.post('/clues/new', async (c) => {
    noStore(c);
    const form = await c.req.parseBody({ all: true });
    deps.csrf.verify(c, form._csrf);
    const s = await shell(c, '/staff/clues/new');
    const locale = s.locale;
    const v: RegisterValues = {
      channel: oneOf(registerChannels, str(form.channel)) ?? 'letter',
      identity: str(form.identity) === 'named' ? 'named' : 'anonymous',
      name: str(form.name)?.trim(),
      phone: str(form.phone)?.trim(),
      email: str(form.email)?.trim(),
      address: str(form.address)?.trim(),
      unitId: str(form.unitId) || undefined,
      categories: list(form.categories).filter((k) => (categories as readonly string[]).includes(k)),
      narrative: str(form.narrative) ?? '',
      occurredWhen: str(form.occurredWhen)?.trim(),
      accused: [0, 1, 2].map((i) => ({ name: str(form[`accused[${i}][name]`])?.trim(), role: str(form[`accused[${i}][role]`]), unitId: str(form[`accused[${i}][unitId]`]) || undefined })),
      followUp: str(form.followUp) === 'phone' ? 'phone' : 'web',
    };
    const named = v.identity === 'named';
    const files = await toUploaded(fileList(form.files));
    const parsed = registerClueBody.safeParse({
      channel: v.channel,
      categories: v.categories,
      narrative: v.narrative,
      occurredWhen: v.occurredWhen || null,
      unitId: v.unitId ?? null,
      accused: v.accused!.filter((a) => a.name).map((a) => ({ name: a.name, role: a.role ?? 'unknown', unitId: a.unitId ?? null })),
      reporter: named ? { name: v.name ?? '', ...(v.phone ? { phone: v.phone } : {}), ...(v.email ? { email: v.email } : {}), ...(v.address ? { address: v.address } : {}) } : null,
      locale,
      followUp: v.followUp,
    });
    const errors: Errors = {};
    if (!parsed.success) {
      for (const issue of parsed.error.issues) {
        const [head, second] = issue.path;
        const field =
          head === 'narrative' ? 'narrative'
          : head === 'unitId' ? 'unitId'
          : head === 'reporter' ? (second === 'name' ? 'name' : second === 'email' ? 'email' : second === 'phone' ? 'phone' : second === 'address' ? 'address' : 'phone')
          : head === 'accused' ? `accused-${String(second)}-name`
          : 'narrative';
        if (errors[field]) continue;
        errors[field] =
          field === 'narrative' ? ct(locale, 'narrativeRequired')
          : field === 'phone' && second === undefined ? ct(locale, 'namedHint')
          : field === 'name' ? ct(locale, 'nameRequired')
          : issue.message;
      }
      // A browser cannot be given its files back: say so beside the file field rather than lose them silently.
      if (files.length) errors.files = ct(locale, 'filesNotKept');
      return c.html(registerPage(s, { units: await units(), values: v, errors }), 400);
    }
    try {
      const result = await deps.clues.registerByStaff({ ctx: ctxOf(c), input: { ...parsed.data, receivedAt: undefined, files } });
      deps.metrics.cluesRegistered.inc({ channel: result.clue.channel });
      return c.html(
        receiptPage(s, { clueId: result.clue.id, code: formatTrackingCode(result.trackingCode), secret: result.secret, channel: result.clue.channel, receivedAt: result.clue.receivedAt, files: files.length }),
        201,
      );
    } catch (err) {
      if (isAppError(err) && (err.code === 'clue.unknown_unit' || err.code.startsWith('attachment.'))) {
        const field = err.code === 'clue.unknown_unit' ? 'unitId' : 'files';
        return c.html(registerPage(s, { units: await units(), values: v, errors: { [field]: bilingual(locale, err.message), ...(field === 'unitId' && files.length ? { files: ct(locale, 'filesNotKept') } : {}) } }), 422);
      }
      throw err;
    }
  });

  // ---- the clue page ----
  const clueIdOf = (c: Context) => idParam(c.req.param('id') ?? '', clueNotFound);

  const supervisorRoles = new Set(['supervisor', 'admin']);
  const doneLabels: Record<string, ConsoleKey> = { sent: 'send', assigned: 'assign', task: 'createTask', supervised: 'supervision', referred: 'referralSent', linked: 'linkReason' };

  async function renderClue(c: Context<AppEnv>, id: string, extra: Partial<CluePageCtx> = {}, status: 200 | 400 | 403 | 404 | 409 | 422 = 200) {
    const principal = principalOf(c);
    const clue = await deps.clues.getClue({ ctx: ctxOf(c), input: { clueId: id } });
    const referable = clue.allowedActions.includes('refer');
    const [deadlines, tasks, messages, unitList, referrals, proposal, mergedInto, supervisors] = await Promise.all([
      deps.deadlines.forClues([id]) as Promise<DeadlineView[]>,
      deps.workflow.listTasks({ ctx: ctxOf(c), input: { clueId: id } }),
      deps.messages.listMessages(id),
      units(),
      deps.referrals.listForClue({ ctx: ctxOf(c), input: { clueId: id } }),
      // Only while the status allows a referral, and only for a clue about an official, caseworker or cadre.
      referable ? deps.referrals.proposal({ ctx: ctxOf(c), input: { clueId: id } }).catch((err) => (isAppError(err) && err.code === 'referral.not_referable' ? null : Promise.reject(err))) : null,
      clue.mergedInto ? deps.clues.getClue({ ctx: ctxOf(c), input: { clueId: clue.mergedInto } }).then((t) => formatTrackingCode(t.trackingCode), () => null) : null,
      deps.workflow.supervisorChoices({ ctx: ctxOf(c), input: { clueId: id } }),
    ]);
    const bodies = referrals.length || proposal ? await deps.referrals.listBodies({ ctx: ctxOf(c), input: {} }) : [];
    const supervisorId = clue.events.filter((e) => e.type === 'clue.supervised').map((e) => e.data?.supervisorId).at(-1);
    const s = await shell(c, `/staff/clues/${id}`);
    const done = c.req.query('done');
    const doneText = done ? (oneOf(clueActions, done) ? pick(s.locale, actionLabels[done as ClueAction]) : doneLabels[done] ? ct(s.locale, doneLabels[done]) : '') : '';
    const notice = extra.notice ?? (done ? `${ct(s.locale, 'done')}${doneText}` : undefined);
    noStore(c);
    return c.html(
      cluePage(s, {
        clue,
        deadlines,
        tasks,
        messages,
        units: unitList,
        now: deps.clock.now(),
        canReveal: can.revealReporter(principal),
        canHandle: can.handleClues(principal),
        canRegister: can.registerClues(principal),
        me: principal.id,
        supervision: {
          by: supervisorId ? (supervisorId === principal.id ? 'me' : 'other') : null,
          byName: supervisors.find((x) => x.id === supervisorId)?.name ?? null,
          canSupervise: supervisorRoles.has(principal.role),
          choices: supervisors,
        },
        referral: {
          items: referrals,
          bodies: bodies.map((b) => ({ id: b.id, name: b.name, nameEn: b.nameEn })),
          proposal: proposal ? { bodyId: proposal.bodyId, bodyName: proposal.bodyName } : null,
          open: referable && !!proposal,
          canRefer: supervisorRoles.has(principal.role),
        },
        registry: { flagged: clue.flags.includes(NEAR_RELATIVE_FLAG), canOpen: supervisorRoles.has(principal.role) },
        mergedIntoCode: mergedInto,
        ...extra,
        notice,
      }),
      status,
    );
  }

  app.get('/clues/:id', (c) => renderClue(c, clueIdOf(c)));

  const formError = (locale: Locale, err: AppError) => bilingual(locale, err.message);

  app.post('/clues/:id/status', async (c) => {
    const id = clueIdOf(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const locale = localeOf(c);
    const action = oneOf(clueActions, str(form.action));
    const reason = str(form.reason)?.trim() || undefined;
    const reasonCode = oneOf(Object.keys(declineReasons) as DeclineReason[], str(form.reasonCode));
    const finding = oneOf(findings, str(form.finding)) as Finding | undefined;
    const values = { action: action ?? '', reason: reason ?? '', reasonCode: reasonCode ?? '', finding: finding ?? '' };
    if (!action) return renderClue(c, id, { errors: { actions: ct(locale, 'errorPageTitle') } }, 400);
    if ((action === 'decline' || action === 'review' || action === 're_review') && (!reason || reason.length < 2)) {
      return renderClue(c, id, { errors: { [`${action}-reason`]: ct(locale, 'reasonRequired') }, values }, 400);
    }
    if (action === 'decline' && !reasonCode) return renderClue(c, id, { errors: { 'decline-reasonCode': ct(locale, 'reasonCode') }, values }, 400);
    if (action === 'conclude' && !finding) return renderClue(c, id, { errors: { 'conclude-finding': ct(locale, 'finding') }, values }, 400);
    try {
      await deps.clues.changeStatus({ ctx: ctxOf(c), input: { clueId: id, action, reason, reasonCode: action === 'decline' ? reasonCode : undefined, finding: action === 'conclude' ? finding : undefined } });
    } catch (err) {
      if (isAppError(err) && err.statusCode < 500 && err.statusCode !== 404) {
        const field = action === 'decline' ? 'decline-reason' : action === 'conclude' ? 'conclude-finding' : `form-${action}`;
        return renderClue(c, id, { errors: { [field]: formError(locale, err) }, values }, err.statusCode as 409);
      }
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=${action}`, 303);
  });

  app.post('/clues/:id/assign', async (c) => {
    const id = clueIdOf(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const locale = localeOf(c);
    const unitId = str(form.unitId) ?? '';
    if (!UUID.test(unitId)) return renderClue(c, id, { errors: { 'assign-unit': ct(locale, 'assignTo') } }, 400);
    try {
      await deps.workflow.assign({ ctx: ctxOf(c), input: { clueId: id, unitId } });
    } catch (err) {
      if (isAppError(err) && err.statusCode < 500 && err.statusCode !== 404) {
        const d = (err.details ?? {}) as { suggestedUnitId?: string | null; suggestedUnitName?: string | null; message?: string };
        const message = d.message ? `${formError(locale, err)} ${bilingual(locale, d.message)}` : formError(locale, err);
        return renderClue(c, id, { errors: { 'assign-unit': message }, values: { unitId }, recusal: d.suggestedUnitId ? { unitId: d.suggestedUnitId, unitName: d.suggestedUnitName ?? null } : null }, err.statusCode as 409);
      }
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=assigned`, 303);
  });

  app.post('/clues/:id/tasks', async (c) => {
    const id = clueIdOf(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const locale = localeOf(c);
    const type = oneOf(taskTypes, str(form.type));
    const assigneeUnitId = str(form.assigneeUnitId) ?? '';
    const values = { type: type ?? '', assigneeUnitId };
    if (!type || !UUID.test(assigneeUnitId)) return renderClue(c, id, { errors: { 'task-unit': ct(locale, 'taskUnit') }, values }, 400);
    try {
      await deps.workflow.createTask({ ctx: ctxOf(c), input: { clueId: id, type, assigneeUnitId } });
    } catch (err) {
      if (isAppError(err) && err.statusCode < 500 && err.statusCode !== 404) {
        const d = (err.details ?? {}) as { message?: string };
        return renderClue(c, id, { errors: { 'task-unit': d.message ? bilingual(locale, d.message) : formError(locale, err) }, values }, err.statusCode as 409);
      }
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=task`, 303);
  });

  /**
   * The clue's own forms below check first that the principal may see the clue (as the page does),
   * so that one they may not see answers exactly as a missing clue, whatever the form holds.
   */
  const clueForm = async (c: Context<AppEnv>) => {
    const id = clueIdOf(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    await deps.clues.assertVisible(principalOf(c), id);
    return { id, form, locale: localeOf(c) };
  };
  const expected = (err: unknown): err is AppError => isAppError(err) && err.statusCode < 500 && err.code !== 'clue.not_found';

  // 合并: into the clue a tracking code names (as read out), if the principal may see it.
  app.post('/clues/:id/merge', async (c) => {
    const { id, form, locale } = await clueForm(c);
    const target = str(form.target)?.trim() ?? '';
    const reason = str(form.reason)?.trim() || undefined;
    const values = { target, mergeReason: reason ?? '' };
    const fail = (message: string, status: 400 | 404 | 409 | 422) => renderClue(c, id, { errors: { 'merge-target': message }, values }, status);
    if (!normalizeTrackingCode(target)) return fail(ct(locale, 'codeInvalid'), 400);
    let targetId: string;
    try {
      targetId = (await deps.clues.findByTrackingCode({ ctx: ctxOf(c), input: { code: target } })).id;
    } catch (err) {
      if (isAppError(err) && err.code === 'clue.not_found') return fail(ct(locale, 'codeNotFound'), 404);
      throw err;
    }
    if (targetId === id) return fail(ct(locale, 'mergeSelf'), 422);
    try {
      await deps.clues.changeStatus({ ctx: ctxOf(c), input: { clueId: id, action: 'merge', mergedInto: targetId, reason: reason && reason.length >= 2 ? reason.slice(0, 2000) : undefined } });
    } catch (err) {
      if (isAppError(err) && err.code === 'clue.not_found') return fail(ct(locale, 'codeNotFound'), 404);
      if (expected(err)) return fail(formError(locale, err), err.statusCode as 409);
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=merge`, 303);
  });

  // 督办: the signed-in supervisor (or admin) attaches themself; the recusal rule may refuse them.
  app.post('/clues/:id/supervise', async (c) => {
    const { id, form, locale } = await clueForm(c);
    try {
      // Two buttons in one form: 由我督办 (no name sent) or 指定督办 (other=1 with the chosen supervisor).
      const chosen = str(form.other) === '1' ? str(form.otherSupervisorId) : undefined;
      await deps.workflow.supervise({ ctx: ctxOf(c), input: { clueId: id, supervisorId: chosen && UUID.test(chosen) ? chosen : undefined } });
    } catch (err) {
      if (expected(err)) return renderClue(c, id, { errors: { supervise: formError(locale, err) } }, err.statusCode as 403);
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=supervised`, 303);
  });

  // 移送: to the body chosen (the proposed one by default); outside its authority only with a supervisor's reason.
  app.post('/clues/:id/referral', async (c) => {
    const { id, form, locale } = await clueForm(c);
    const bodyId = str(form.bodyId) ?? '';
    const overrideReason = str(form.overrideReason)?.trim() ?? '';
    const values = { bodyId, overrideReason };
    if (bodyId && !UUID.test(bodyId)) return renderClue(c, id, { errors: { 'refer-body': ct(locale, 'referralBody') }, values }, 400);
    if (overrideReason && overrideReason.length < 5) return renderClue(c, id, { errors: { 'refer-override': ct(locale, 'referralOverrideShort') }, values }, 400);
    try {
      await deps.referrals.refer({ ctx: ctxOf(c), input: { clueId: id, bodyId: bodyId || undefined, override: overrideReason ? { reason: overrideReason.slice(0, 1000) } : undefined } });
    } catch (err) {
      if (expected(err)) {
        const field = err.code === 'referral.body_lacks_authority' || err.code === 'referral.override_needs_supervisor' ? 'refer-override' : 'refer-body';
        return renderClue(c, id, { errors: { [field]: formError(locale, err) }, values }, err.statusCode as 422);
      }
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=referred`, 303);
  });

  // Near-relative matches: each opening is recorded (registry_audit), so it is a form, never a plain GET.
  const openMatches = async (c: Context<AppEnv>, id: string): Promise<RegistryMatches> => {
    const found = await deps.registry.getMatchDetails({ ctx: ctxOf(c), input: { clueId: id } });
    return {
      withheld: found.withheld,
      items: found.items.map((m) => ({
        id: m.id,
        registrantName: m.registrantName,
        registrantStaffId: m.registrantStaffId,
        registrantUnitName: m.registrantUnitName,
        relativeName: m.relativeName,
        relation: m.relation,
        idNumberMasked: m.idNumberMasked,
        accused: m.accused.map((a) => ({ id: a.id, name: a.name, matchedAs: a.matchedAs })),
      })),
    };
  };
  const withMatches = (flagged: boolean, matches: RegistryMatches) => ({ registry: { flagged, canOpen: true, matches } });

  app.post('/clues/:id/registry-matches', async (c) => {
    const { id, locale } = await clueForm(c);
    noStore(c);
    try {
      return await renderClue(c, id, withMatches(true, await openMatches(c, id)));
    } catch (err) {
      if (expected(err)) return renderClue(c, id, { errors: { 'registry-open': formError(locale, err) } }, err.statusCode as 403);
      throw err;
    }
  });

  // A match's registrant is, or is not, the person reported: the API's link, with its reason on the ledger.
  app.post('/clues/:id/accused/:accusedId/links', async (c) => {
    const { id, form, locale } = await clueForm(c);
    const accusedId = idParam(c.req.param('accusedId'), clueNotFound);
    const staffId = str(form.staffId) ?? '';
    const kind = str(form.kind) === 'not_same_person' ? 'not_same_person' : str(form.kind) === 'same_person' ? 'same_person' : undefined;
    const reason = str(form.reason)?.trim() ?? '';
    const field = /^link-[0-9a-f]{8}-[0-9a-f]{8}$/.test(str(form.field) ?? '') ? str(form.field)! : 'registry-open';
    const again = async (message: string, status: 400 | 403 | 404 | 409) => {
      const matches = await openMatches(c, id).catch(() => ({ items: [], withheld: 0 }));
      return renderClue(c, id, { ...withMatches(true, matches), errors: { [field]: message }, values: { field, reason } }, status);
    };
    if (!UUID.test(staffId) || !kind) return again(ct(locale, 'errorPageTitle'), 400);
    if (reason.length < 2) return again(ct(locale, 'reasonRequired'), 400);
    try {
      await deps.clues.linkAccused({ ctx: ctxOf(c), input: { clueId: id, accusedId, staffId, kind, reason: reason.slice(0, 500) } });
    } catch (err) {
      if (expected(err)) return again(formError(locale, err), err.statusCode as 404);
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=linked`, 303);
  });

  app.post('/clues/:id/messages', async (c) => {
    const id = clueIdOf(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const body = str(form.body)?.trim() ?? '';
    try {
      await deps.messages.postStaffMessage({ ctx: ctxOf(c), input: { clueId: id, body: body.slice(0, 20_000) } });
    } catch (err) {
      // The use case checked the role and the clue first: an empty reply is the only refusal shown on the page.
      if (isAppError(err) && err.code === 'request.invalid') return renderClue(c, id, { errors: { 'reply-body': ct(localeOf(c), 'emptyMessage') } }, 400);
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=sent#thread`, 303);
  });

  app.post('/clues/:id/reveal', async (c) => {
    noStore(c);
    const id = clueIdOf(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const locale = localeOf(c);
    const purpose = str(form.purpose)?.trim() ?? '';
    if (purpose.length < 2) return renderClue(c, id, { errors: { purpose: ct(locale, 'purposeRequired') } }, 400);
    try {
      const identity = await deps.clues.revealReporter({ ctx: ctxOf(c), input: { clueId: id, purpose: purpose.slice(0, 500) } });
      const clue = await deps.clues.getClue({ ctx: ctxOf(c), input: { clueId: id } });
      return c.html(revealedPage(await shell(c, `/staff/clues/${id}`), { clueId: id, code: formatTrackingCode(clue.trackingCode), identity }));
    } catch (err) {
      if (isAppError(err) && err.statusCode < 500 && err.code !== 'clue.not_found') {
        return renderClue(c, id, { errors: { purpose: formError(locale, err) } }, err.statusCode as 403);
      }
      throw err;
    }
  });

  app.get('/clues/:id/attachments/:attachmentId', async (c) => {
    const id = clueIdOf(c);
    const attachmentId = idParam(c.req.param('attachmentId'), clueNotFound);
    const a = await deps.clues.attachmentOf({ ctx: ctxOf(c), input: { clueId: id, attachmentId } });
    const bytes = await deps.storage.get(a.storageKey);
    const inline = c.req.query('inline') === '1' && /^(image\/(jpeg|png|gif|webp)|audio\/[a-z0-9.+-]+)$/i.test(a.contentType);
    return c.body(new Uint8Array(bytes), 200, {
      'content-type': a.contentType || 'application/octet-stream',
      'content-length': String(bytes.length),
      'content-disposition': contentDisposition(a.filename, inline ? 'inline' : 'attachment'),
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; media-src 'self'; img-src 'self'; sandbox",
    });
  });

  // ---- call-backs ----
  async function renderCallbacks(c: Context<AppEnv>, extra: { numbers?: Map<string, string>; notice?: string; errors?: Errors } = {}, status: 200 | 404 | 409 = 200) {
    const principal = principalOf(c);
    const [open, done] = await Promise.all([
      deps.callbacks.list({ ctx: ctxOf(c), input: { state: 'open', limit: 200 } }),
      deps.callbacks.list({ ctx: ctxOf(c), input: { state: 'done', limit: 500 } }),
    ]);
    const recent = done.sort((a, b) => (b.doneAt?.getTime() ?? 0) - (a.doneAt?.getTime() ?? 0)).slice(0, 10);
    noStore(c);
    return c.html(callbacksPage(await shell(c, '/staff/callbacks'), { open, done: recent, canSeeNumber: can.revealReporter(principal), ...extra }), status);
  }
  const callbackId = (c: Context) => idParam(c.req.param('id') ?? '', clueNotFound);

  app.get('/callbacks', (c) => {
    const locale = localeOf(c);
    return renderCallbacks(c, c.req.query('done') ? { notice: `${ct(locale, 'done')}${ct(locale, 'markDone')}` } : {});
  });

  app.post('/callbacks/:id/number', async (c) => {
    const id = callbackId(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const { number } = await deps.callbacks.number({ ctx: ctxOf(c), input: { id } });
    return renderCallbacks(c, { numbers: new Map([[id, number]]) });
  });

  app.post('/callbacks/:id/done', async (c) => {
    const id = callbackId(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const result = oneOf(callbackResults, str(form.result)) ?? 'reached';
    const note = str(form.note)?.trim().slice(0, 500) || undefined;
    try {
      await deps.callbacks.complete({ ctx: ctxOf(c), input: { id, result, note } });
    } catch (err) {
      if (isAppError(err) && (err.statusCode === 409 || err.statusCode === 404)) return renderCallbacks(c, { errors: { [`result-${id}`]: bilingual(localeOf(c), err.message) } }, err.statusCode as 409);
      throw err;
    }
    return c.redirect('/staff/callbacks?done=1', 303);
  });

  // ---- quarantined mail ----
  app.get('/quarantine', async (c) => {
    const items = await deps.email.listQuarantine({ ctx: ctxOf(c), input: {} });
    const s = await shell(c, '/staff/quarantine');
    return c.html(quarantinePage(s, { items, notice: c.req.query('done') ? `${ct(s.locale, 'done')}${ct(s.locale, 'discard')}` : undefined }));
  });

  async function renderMail(c: Context<AppEnv>, id: string, extra: { errors?: Errors; values?: Record<string, string> } = {}, status: 200 | 400 | 409 = 200) {
    noStore(c);
    const view = await deps.email.viewQuarantine({ ctx: ctxOf(c), input: { id } });
    return c.html(mailPage(await shell(c, '/staff/quarantine'), { id, reason: view.reason, status: view.status, receivedAt: view.receivedAt, mail: view.mail, ...extra }), status);
  }
  const mailId = (c: Context) => idParam(c.req.param('id') ?? '', clueNotFound);

  app.post('/quarantine/:id/open', async (c) => {
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    return renderMail(c, mailId(c));
  });

  app.post('/quarantine/:id/release', async (c) => {
    const id = mailId(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const narrative = str(form.narrative)?.trim() ?? '';
    const locale = localeOf(c);
    if (narrative.length < 5) return renderMail(c, id, { errors: { 'release-narrative': ct(locale, 'releaseHint') }, values: { narrative } }, 400);
    try {
      const { clueId } = await deps.email.release({ ctx: ctxOf(c), input: { id, narrative: narrative.slice(0, 20_000) } });
      return c.redirect(`/staff/clues/${clueId}`, 303);
    } catch (err) {
      if (isAppError(err) && err.statusCode === 409) return renderMail(c, id, { errors: { 'release-narrative': bilingual(locale, err.message) } }, 409);
      throw err;
    }
  });

  app.post('/quarantine/:id/discard', async (c) => {
    const id = mailId(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const reason = str(form.reason)?.trim() ?? '';
    const locale = localeOf(c);
    if (reason.length < 2) return renderMail(c, id, { errors: { 'discard-reason': ct(locale, 'reasonRequired') }, values: { reason } }, 400);
    try {
      await deps.email.discard({ ctx: ctxOf(c), input: { id, reason: reason.slice(0, 1000) } });
    } catch (err) {
      if (isAppError(err) && err.statusCode === 409) return renderMail(c, id, { errors: { 'discard-reason': bilingual(locale, err.message) } }, 409);
      throw err;
    }
    return c.redirect('/staff/quarantine?done=1', 303);
  });

  // ---- notices ----
  // ---- account: two-factor enrolment (the same use cases as POST /api/v1/staff/me/totp…) ----
  app.get('/account', async (c) => {
    const p = principalOf(c);
    return c.html(accountPage(await shell(c, '/staff/account'), { twoFactorOn: !!p.secondFactor, required: deps.staff.totpRequired }));
  });

  app.post('/account/totp', async (c) => {
    noStore(c);
    deps.csrf.verify(c, (await c.req.parseBody())._csrf);
    const { secret, otpauthUrl } = await deps.staff.startTotp(principalOf(c));
    const qrSvg = await QRCode.toString(otpauthUrl, { type: 'svg', margin: 1, errorCorrectionLevel: 'M' });
    return c.html(enrolPage(await shell(c, '/staff/account'), { qrSvg, secret }));
  });

  app.post('/account/totp/confirm', async (c) => {
    noStore(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const s = await shell(c, '/staff/account');
    try {
      const { recoveryCodes } = await deps.staff.confirmTotp(principalOf(c), (str(form.code) ?? '').replace(/\s/g, ''));
      return c.html(recoveryCodesPage(s, { codes: recoveryCodes }));
    } catch (err) {
      if (!isAppError(err) || err.statusCode >= 500) throw err;
      const p = principalOf(c);
      const error = err.code === 'auth.totp_invalid' ? ct(s.locale, 'enrolWrong') : bilingual(s.locale, err.message);
      return c.html(accountPage(s, { twoFactorOn: !!p.secondFactor || err.code === 'auth.totp_enabled', required: deps.staff.totpRequired, error }), err.statusCode as 401 | 409);
    }
  });

  app.get('/notices', async (c) => {
    const seenRaw = Date.parse(getCookie(c, SEEN) ?? '');
    const items = await deps.deadlines.notices({ ctx: ctxOf(c), input: { limit: 100 } });
    // Seen up to the newest shown: the badge counts only what arrives after it.
    const newest = Math.max(Number.isNaN(seenRaw) ? 0 : seenRaw, ...items.map((n) => n.createdAt.getTime()));
    if (newest > 0) setCookie(c, SEEN, new Date(newest).toISOString(), { path: '/staff', httpOnly: true, sameSite: 'Lax', secure, maxAge: 365 * 86400 });
    const s = await shell(c, '/staff/notices');
    s.newNotices = 0;
    return c.html(noticesPage(s, { items, seenBefore: Number.isNaN(seenRaw) ? null : new Date(seenRaw) }));
  });

  return app;
}
