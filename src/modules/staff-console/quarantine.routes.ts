import type { Context } from 'hono';
import { isAppError } from '../../app/errors.ts';
import { idParam } from '../../app/http.ts';
import type { AppEnv } from '../staff/http-env.ts';
import { clueNotFound } from '../clues/clues.errors.ts';
import { ct } from './console.i18n.ts';
import type { Errors } from './layout.pages.ts';
import { mailPage, quarantinePage } from './quarantine.pages.ts';
import { type ConsoleKit, type ConsoleApp, str, bilingual } from './console.kit.ts';

/** Quarantined mail: the list, opening one (recorded), releasing it as a clue or discarding it. */
export function quarantineRoutes(app: ConsoleApp, kit: ConsoleKit) {
  const { deps, localeOf, noStore, ctxOf, shell } = kit;
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
}
