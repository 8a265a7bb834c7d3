import type { Context } from 'hono';
import { isAppError } from '../../app/errors.ts';
import { idParam } from '../../app/http.ts';
import type { AppEnv } from '../staff/http-env.ts';
import { clueNotFound } from '../clues/clues.errors.ts';
import { callbackResults } from '../intake-voice/voice.entity.ts';
import { can } from '../staff/access.ts';
import { ct } from './console.i18n.ts';
import { callbacksPage } from './callbacks.pages.ts';
import type { Errors } from './layout.pages.ts';
import { type ConsoleKit, type ConsoleApp, str, oneOf, bilingual } from './console.kit.ts';

/** The call-back list: the number shown on request, a call-back marked done. */
export function callbackRoutes(app: ConsoleApp, kit: ConsoleKit) {
  const { deps, localeOf, noStore, principalOf, ctxOf, shell } = kit;
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
}
