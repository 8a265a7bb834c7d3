import type { UseCaseContext } from '../../app/usecase.ts';
import type { Context, Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { Clock } from '../../app/clock.ts';
import type { Config } from '../../app/config.ts';
import type { Csrf } from '../../app/csrf.ts';
import type { Metrics } from '../../app/metrics.ts';
import type { AppEnv } from '../staff/http-env.ts';
import type { Locale } from '../../app/templates.ts';
import type { AttachmentStorage } from '../attachments/attachments.storage.ts';
import type { ClueUseCases } from '../clues/clues.usecases.ts';
import type { DeadlineUseCases } from '../deadlines/deadlines.usecases.ts';
import type { EmailUseCases } from '../intake-email/email.usecases.ts';
import type { CallbackUseCases } from '../intake-voice/callbacks.usecases.ts';
import type { MessageUseCases } from '../messages/messages.usecases.ts';
import type { Principal } from '../staff/access.ts';
import type { StaffUseCases } from '../staff/staff.usecases.ts';
import type { LoginGuard } from '../staff/login.guard.ts';
import type { ReferralUseCases } from '../referrals/referrals.usecases.ts';
import type { RegistryUseCases } from '../registry/registry.usecases.ts';
import type { WorkflowUseCases } from '../verification/workflow.usecases.ts';
import { NOTICE_BADGE_CAP, type Shell, type UnitOption } from './layout.pages.ts';


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
export const ENROLMENT_PAGES = new Set(['/staff/account', '/staff/account/totp', '/staff/account/totp/confirm', '/staff/logout']);

/** The staff session cookie: the same kind of token as the API's bearer token, never readable by script. */
export const SESSION = 'staff_session';
export const LANG = 'staff_lang';
export const SEEN = 'staff_notices_seen';
export const PAGE_SIZE = 25;
export { UUID } from '../../app/ids.ts';
export const DAY = /^\d{4}-\d{2}-\d{2}$/;

export const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : Array.isArray(v) && typeof v[0] === 'string' ? v[0] : undefined);
export const list = (v: unknown): string[] => (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter((x): x is string => typeof x === 'string');
export const oneOf = <T extends string>(values: readonly T[], v: string | undefined): T | undefined => (v && (values as readonly string[]).includes(v) ? (v as T) : undefined);
export const bilingual = (locale: Locale, message: string) => {
  const [zh, en] = message.split(' / ');
  return locale === 'en' ? (en ?? zh ?? message) : (zh ?? message);
};

/** The console's sub-application: each area's file adds its routes to it (console.routes.ts, in order). */
export type ConsoleApp = Hono<AppEnv>;

/**
 * What every area's routes share, made once per console: the request's locale, principal and use-case
 * context, the page frame (Shell, with the notices badge), and the unit list (cached for 30 s).
 */
export function consoleKit(deps: ConsoleDeps) {
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
    const items = await deps.deadlines.notices({ ctx: deps.context(p), input: { limit: NOTICE_BADGE_CAP + 1, since: Number.isNaN(seen) ? undefined : new Date(seen + 1) } });
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

  return { deps, secure, localeOf, noStore, principalOf, ctxOf, shell, units };
}
export type ConsoleKit = ReturnType<typeof consoleKit>;
