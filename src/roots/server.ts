import { createHash, timingSafeEqual } from 'node:crypto';
import { type Context, Hono } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { secureHeaders } from 'hono/secure-headers';
import { bodyLimit } from '../app/body-limit.ts';
import { routePath } from 'hono/route';
import { staffClueRoutes } from '../modules/clues/clues.routes.ts';
import type { AppEnv } from '../modules/staff/http-env.ts';
import type { Principal, StaffContext } from '../modules/staff/access.ts';
import { staffRoutes } from '../modules/staff/staff.routes.ts';
import { totpEnrolmentNeeded } from '../modules/staff/staff.errors.ts';
import { staffMessageRoutes } from '../modules/messages/messages.routes.ts';
import { recordingRoutes } from '../modules/intake-voice/recording.routes.ts';
import { smsRoutes } from '../modules/intake-voice/sms.routes.ts';
import { twilioWebhookGuards } from '../modules/intake-voice/voice.signature.ts';
import { webPageRoutes } from '../modules/intake-web/web.pages.routes.ts';
import { webApiRoutes } from '../modules/intake-web/web.api.routes.ts';
import { createLimiters } from '../modules/intake-web/web.limits.ts';
import { voiceRoutes } from '../modules/intake-voice/voice.routes.ts';
import { callbackRoutes } from '../modules/intake-voice/callbacks.routes.ts';
import { deadlineRoutes } from '../modules/deadlines/deadlines.routes.ts';
import { workflowRoutes } from '../modules/verification/workflow.routes.ts';
import { publicReferralRoutes, staffReferralRoutes } from '../modules/referrals/referrals.routes.ts';
import { quarantineRoutes } from '../modules/intake-email/email.routes.ts';
import { REGISTRY_IMPORT_PATH, registryRoutes } from '../modules/registry/registry.routes.ts';
import { auditRoutes } from '../modules/audit/audit.routes.ts';
import { statisticsRoutes } from '../modules/statistics/statistics.routes.ts';
import { ledgerRoutes } from '../modules/clues/ledger.routes.ts';
import { consoleRoutes } from '../modules/staff-console/console.routes.ts';
import type { Dependencies } from './dependencies.ts';
import { AppError, createErrorFactory, databaseBusy, isAppError } from '../app/errors.ts';
import { ApiDocs } from '../app/openapi.ts';
import { type Em, isDatabaseUnavailable, isPoolTimeout, sql } from '../app/db.ts';
import { MAX_REQUEST_BYTES } from '../modules/attachments/uploads.ts';

const bodyTooLarge = createErrorFactory({
  code: 'request.too_large',
  message: '请求体过大 / The request body is too large.',
  statusCode: 413,
});

/** Staff JSON bodies (clue registration, policies, messages). */
export const STAFF_BODY_MAX = 1024 * 1024;
/** Citizen forms without files, referral officers' answers, Twilio webhooks. */
export const PUBLIC_BODY_MAX = 256 * 1024;
/** The routes that take files, bounded by the upload limits (attachments/uploads.ts). */
const UPLOAD_PATHS = [/^\/report$/, /^\/follow-up\/messages$/, /^\/api\/v1\/reports$/, /^\/api\/v1\/reports\/[^/]+\/messages$/, /^\/api\/v1\/staff\/clues$/, /^\/staff\/clues\/new$/];

/** A request from this machine; one made in process (`app.request`, tests and commands) has no socket and is local too. */
function isLoopback(c: Context): boolean {
  let address: string | undefined;
  try {
    address = getConnInfo(c).remote.address;
  } catch {
    return true;
  }
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

const ENROLMENT_PATHS = new Set(['/api/v1/staff/me', '/api/v1/staff/me/totp', '/api/v1/staff/me/totp/confirm', '/api/v1/staff/logout', '/api/v1/staff/logout-everywhere', '/api/v1/staff/me/password']);

/** Builds the HTTP app from its dependencies; tests call it with their own. */
export function createServer(deps: Dependencies) {
  const { logger, metrics } = deps;
  const app = new Hono<AppEnv>();
  const docs = new ApiDocs();

  // Headers on every response (README "Account security and limits"): no inline script or style
  // anywhere (the pages load /assets/site.<hash>.js and their stylesheets), no framing, no sniffing,
  // no Referer.
  const https = deps.config.PUBLIC_BASE_URL.startsWith('https:');
  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
      xContentTypeOptions: 'nosniff',
      referrerPolicy: 'no-referrer',
      xFrameOptions: 'DENY',
      strictTransportSecurity: https ? 'max-age=31536000; includeSubDomains' : false,
    }),
  );

  app.use(async (c, next) => {
    const started = performance.now();
    const slowMs = deps.config.SLOW_REQUEST_LOG_MS;
    // routePath(c) names the handler running now: where a request hangs. Never the raw path (codes).
    const slow = setTimeout(() => logger.warn({ method: c.req.method, route: routePath(c) || 'unmatched', ms: slowMs }, 'request still running after SLOW_REQUEST_LOG_MS'), slowMs);
    slow.unref();
    try {
      await next();
    } finally {
      clearTimeout(slow);
    }
    const route = routePath(c) || 'unmatched';
    const seconds = (performance.now() - started) / 1000;
    if (seconds * 1000 >= slowMs) logger.warn({ method: c.req.method, route, status: c.res.status, ms: Math.round(seconds * 1000) }, 'slow request');
    // Citizen and Twilio POSTs are counted together and by status class: a per-route count would
    // tell a watcher of /metrics that a report (web, SMS, recording) was made just now.
    const pooled = c.req.method !== 'GET' && c.req.method !== 'HEAD' && !c.req.path.startsWith('/api/v1/staff/');
    const metricRoute = pooled ? 'public_post' : route;
    metrics.httpRequests.inc({ method: c.req.method, route: metricRoute, status: pooled ? `${Math.floor(c.res.status / 100)}xx` : String(c.res.status) });
    metrics.httpDuration.observe({ method: c.req.method, route: metricRoute }, seconds);
    // Path and status only: query strings and bodies may carry a tracking code or a reporter's words.
    logger.debug({ method: c.req.method, route, status: c.res.status, ms: Math.round(seconds * 1000) }, 'http');
  });

  // Every body is bounded before anything reads it (body-limit.ts): a declared Content-Length over
  // the limit is refused unread, a chunked body is cut off when it passes it. The upload routes
  // (reports and follow-up messages with files) and the registry CSV import keep their own limits.
  const limited = (maxSize: number) =>
    bodyLimit({
      maxSize,
      onError: () => {
        throw bodyTooLarge({ maxBytes: maxSize });
      },
    });
  const staffBodyLimit = limited(STAFF_BODY_MAX);
  const publicBodyLimit = limited(PUBLIC_BODY_MAX);
  const uploadBodyLimit = limited(MAX_REQUEST_BYTES);
  app.use(async (c, next) => {
    const path = c.req.path;
    if (path === REGISTRY_IMPORT_PATH) return next();
    if (UPLOAD_PATHS.some((re) => re.test(path))) return uploadBodyLimit(c, next);
    return path.startsWith('/api/v1/staff/') ? staffBodyLimit(c, next) : publicBodyLimit(c, next);
  });

  app.onError((raw, c) => {
    // Pool exhaustion, or a database that refuses connections or went away, is the service's state,
    // not a bug of the request: a coded 503 with Retry-After, nothing internal.
    const err = isDatabaseUnavailable(raw) ? databaseBusy() : raw;
    if (err !== raw) {
      if (isPoolTimeout(raw)) {
        // A wait for the connection its own transaction holds (PGlite) is a bug: the stack says where.
        const own = /the connection that transaction holds/.test(raw.message);
        logger.warn({ route: routePath(c), reason: raw.message, ...(own ? { where: raw.stack } : {}) }, 'no database connection within DATABASE_ACQUIRE_TIMEOUT_MS');
      } else {
        logger.warn({ route: routePath(c), code: (raw as { code?: unknown }).code ?? raw.name }, 'database unavailable: answered 503');
      }
      c.header('Retry-After', '5');
      // A citizen's browser on a page gets a page saying so, not JSON.
      if (!c.req.path.startsWith('/api/') && /text\/html/.test(c.req.header('accept') ?? '')) {
        return c.html(
          `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>系统繁忙 / Service busy</title></head>` +
            `<body><main><h1>系统繁忙，请稍后重试</h1><p lang="en">The service is busy; please try again in a few seconds.</p></main></body></html>`,
          503,
        );
      }
    }
    if (isAppError(err)) {
      const body: { error: { code: string; message: string; details?: unknown } } = {
        error: { code: err.code, message: err.message },
      };
      if (err.details !== undefined) body.error.details = err.details;
      return c.json(body, err.statusCode as 400);
    }
    logger.error({ err: { type: (err as Error).name, message: (err as Error).message, stack: (err as Error).stack }, route: routePath(c) }, 'unhandled error');
    return c.json({ error: { code: 'internal', message: '服务器内部错误 / Internal server error.' } }, 500);
  });

  app.notFound((c) => c.json({ error: { code: 'not_found', message: '未找到 / Not found.' } }, 404));

  docs.add({ method: 'get', path: '/healthz', summary: 'Database and Redis reachability; whether ledger sealing keeps up', tag: 'system', responses: { 200: 'Both answer', 503: 'One does not' } });
  app.get('/healthz', async (c) => {
    const [tail, redis] = await Promise.all([deps.ledgerWatch.state().catch(() => null), deps.queues.ping()]);
    const database = tail !== null;
    const ok = database && redis;
    const warnings: string[] = [];
    const missing = deps.calendar.missingYears();
    // A year without a calendar file still works (Monday–Friday), but an admin should add one.
    if (missing.length) warnings.push(`工作日历缺少 ${missing.join(', ')} 年，按周一至周五计算 / no working-day calendar for ${missing.join(', ')}: Monday–Friday assumed`);
    // Reports are still taken while sealing lags (so not a 503), but the unsealed tail is open to rewriting: say so.
    if (tail?.overdue) warnings.push(`台账封存停滞：最早未封存记录写于 ${tail.oldestUnsealedAt!.toISOString()} / ledger sealing is overdue: the oldest unsealed event is from ${tail.oldestUnsealedAt!.toISOString()}`);
    return c.json(
      {
        status: ok ? 'ok' : 'unavailable',
        checks: {
          database: database ? 'ok' : 'down',
          redis: redis ? 'ok' : 'down',
          ...(tail ? { ledger: tail.overdue ? 'checkpoint_overdue' : 'ok' } : {}),
        },
        ...(warnings.length ? { warnings } : {}),
      },
      ok ? 200 : 503,
    );
  });

  // /metrics: with METRICS_TOKEN, only for `Authorization: Bearer <METRICS_TOKEN>`; without it,
  // only for a scraper on this machine (loopback, not forwarded by a proxy). Anyone else: 404.
  const metricsToken = deps.config.METRICS_TOKEN ? createHash('sha256').update(deps.config.METRICS_TOKEN).digest() : null;
  const mayScrape = (c: Context) => {
    if (metricsToken) {
      const given = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1] ?? '';
      return timingSafeEqual(createHash('sha256').update(given).digest(), metricsToken);
    }
    if (c.req.header('x-forwarded-for') !== undefined || c.req.header('forwarded') !== undefined) return false;
    return isLoopback(c);
  };
  app.get('/metrics', async (c) => {
    if (!mayScrape(c)) return c.json({ error: { code: 'not_found', message: '未找到 / Not found.' } }, 404);
    const em = deps.orm.em.fork();
    try {
      const [pending] = await sql<{ n: number }>(em, 'select count(*)::int as n from outbox_message where dispatched_at is null');
      metrics.outboxPending.set(pending?.n ?? 0);
      const [cp] = await sql<{ age: number | null }>(em, 'select extract(epoch from (now() - max(sealed_at)))::float8 as age from ledger_checkpoint');
      if (cp?.age != null) metrics.ledgerCheckpointAge.set(cp.age);
      await deps.hotline.callbacks.sampleMetrics();
    } catch {
      // The scrape still answers with process metrics when the database is down.
    }
    return c.text(await metrics.registry.metrics(), 200, { 'content-type': metrics.registry.contentType });
  });

  app.get('/openapi.json', (c) => c.json(docs.document(deps.config.PUBLIC_BASE_URL)));

  /**
   * A staff request's use-case context. Its EntityManager fork is made when a use case first asks
   * for it: most staff requests (a registration among them) never do, and a fork per request was
   * ~0.04 ms of main thread (bench/README "principal cache").
   */
  const staffContext = (principal: Principal): StaffContext => {
    let em: Em | undefined;
    return {
      actor: `staff:${principal.id}`,
      principal,
      get em() {
        // From the global EntityManager, as the fork in the middleware was, even when first asked
        // for inside another EntityManager's transaction callback.
        return (em ??= deps.orm.em.fork({ disableContextResolution: true }));
      },
      clock: deps.clock,
      logger,
    };
  };

  app.use('/api/v1/staff/*', async (c, next) => {
    if (c.req.path === '/api/v1/staff/login') return next();
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const principal = await deps.staff.authenticate(token);
    // With STAFF_2FA required, an account without a second factor can only enrol (or sign out).
    if (deps.staff.totpRequired && !principal.secondFactor && !ENROLMENT_PATHS.has(c.req.path)) throw totpEnrolmentNeeded();
    c.set('principal', principal);
    c.set('token', token);
    c.set('ctx', staffContext(principal));
    await next();
  });
  app.route('/api/v1/staff', staffRoutes(deps.staff, docs, deps.loginGuard, deps.config.TRUST_PROXY));
  app.route('/api/v1/staff/clues', staffClueRoutes(deps.clues, docs, metrics));
  app.route('/api/v1/staff/clues', staffMessageRoutes(deps.messages, docs));
  app.route('/api/v1/staff', deadlineRoutes(deps.deadlines, docs));
  app.route('/api/v1/staff', workflowRoutes(deps.workflow, docs));
  app.route('/api/v1/staff', staffReferralRoutes(deps.referrals, docs));
  app.route('/api/v1/staff', quarantineRoutes(deps.email, docs));
  app.route('/', publicReferralRoutes(deps.referrals, (token) => deps.staff.authenticate(token)));
  app.route('/api/v1/staff', registryRoutes(deps.registry, docs));
  app.route('/api/v1/staff', auditRoutes(deps.audit, docs));
  app.route('/api/v1/staff', statisticsRoutes(deps.statistics, docs));
  app.route('/api/v1/staff', ledgerRoutes(deps.ledgerWitness, docs));
  // The citizen's form pages and JSON API count against one set of abuse limits.
  const web = { config: deps.config, clock: deps.clock, reports: deps.reports, staff: deps.staff, csrf: deps.csrf, metrics, contact: deps.contact, sessions: deps.followUpSessions, limits: createLimiters(deps.config, deps.clock, deps.throttle) };
  app.route('/', webPageRoutes(web));
  app.route('/', webApiRoutes(web, docs));
  // The staff console's pages (issue 17): the same use cases as the JSON API, signed in by cookie.
  app.route('/staff', consoleRoutes({
    context: staffContext,
    config: deps.config, clock: deps.clock, csrf: deps.csrf, metrics, staff: deps.staff, clues: deps.clues, workflow: deps.workflow,
    messages: deps.messages, deadlines: deps.deadlines, callbacks: deps.hotline.callbacks, email: deps.email, storage: deps.storage,
    loginGuard: deps.loginGuard, referrals: deps.referrals, registry: deps.registry,
  }));
  app.route('/api/v1/staff', callbackRoutes(deps.hotline.callbacks, deps.clock, docs));
  // Twilio's webhooks: the body limit and the signature check first, then the IVR steps with the call
  // status callback, the recording callback, SMS (src/modules/intake-voice/).
  app.use('/twilio/*', ...twilioWebhookGuards(deps.config, logger));
  app.route('/', voiceRoutes(deps.hotline, logger, docs));
  app.route('/', recordingRoutes(deps.hotline.calls, docs));
  app.route('/', smsRoutes(deps.hotline.sms, docs, { spool: deps.smsSpool, clock: deps.clock }));

  return app;
}

export { AppError };
