import { Hono } from 'hono';
import { isAppError } from '../../app/errors.ts';
import type { AppEnv } from '../staff/http-env.ts';
import { consoleAssetResponse } from './console.assets.ts';
import { ct } from './console.i18n.ts';
import { bilingual, type ConsoleDeps, consoleKit } from './console.kit.ts';
import { errorPage, type Shell } from './layout.pages.ts';
import { callbackRoutes } from './callbacks.routes.ts';
import { clueRoutes } from './clue.routes.ts';
import { noticeRoutes } from './notices.routes.ts';
import { quarantineRoutes } from './quarantine.routes.ts';
import { queueRoutes } from './queue.routes.ts';
import { registerRoutes } from './register.routes.ts';
import { accountRoutes, signInRoutes } from './session.routes.ts';

export type { ConsoleDeps } from './console.kit.ts';

/**
 * The staff console (issue 17): server-rendered pages under /staff over the same use cases as the
 * JSON API, so the same visibility rule and the same audit. Every action is a plain form POST
 * (CSRF-checked, then a 303 back to the page); htmx and console.js only improve it.
 */
export function consoleRoutes(deps: ConsoleDeps) {
  const app = new Hono<AppEnv>();
  const kit = consoleKit(deps);
  const { localeOf, noStore, shell } = kit;

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

  // Sign-in comes before the session check it installs; every area after it needs a signed-in staff member.
  // The order is the routes' order: /clues/new is matched before /clues/:id.
  signInRoutes(app, kit);
  queueRoutes(app, kit);
  registerRoutes(app, kit);
  clueRoutes(app, kit);
  callbackRoutes(app, kit);
  quarantineRoutes(app, kit);
  accountRoutes(app, kit);
  noticeRoutes(app, kit);

  return app;
}
