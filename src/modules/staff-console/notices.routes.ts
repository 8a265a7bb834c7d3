import { getCookie, setCookie } from 'hono/cookie';
import { noticesPage } from './notices.pages.ts';
import { type ConsoleKit, type ConsoleApp, SEEN } from './console.kit.ts';

/** The notices page: deadlines, supervision and call-back notices, with the badge's seen mark. */
export function noticeRoutes(app: ConsoleApp, kit: ConsoleKit) {
  const { deps, secure, ctxOf, shell } = kit;
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
}
