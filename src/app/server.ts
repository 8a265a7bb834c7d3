import { Hono } from 'hono';
import { bodyLimit } from './body-limit.ts';
import { routePath } from 'hono/route';
import { staffClueRoutes } from '../modules/clues/clues.routes.ts';
import type { Principal } from '../modules/staff/access.ts';
import { staffRoutes } from '../modules/staff/staff.routes.ts';
import { staffMessageRoutes } from '../modules/messages/messages.routes.ts';
import { webRoutes } from '../modules/intake-web/web.routes.ts';
import { voiceRoutes } from '../modules/intake-voice/voice.routes.ts';
import { callbackRoutes } from '../modules/intake-voice/callbacks.routes.ts';
import { deadlineRoutes } from '../modules/deadlines/deadlines.routes.ts';
import { workflowRoutes } from '../modules/verification/workflow.routes.ts';
import { publicReferralRoutes, staffReferralRoutes } from '../modules/referrals/referrals.routes.ts';
import { quarantineRoutes } from '../modules/intake-email/email.routes.ts';
import { REGISTRY_IMPORT_PATH, registryRoutes } from '../modules/registry/registry.routes.ts';
import { auditRoutes } from '../modules/audit/audit.routes.ts';
import { ledgerRoutes } from '../modules/clues/ledger.routes.ts';
import { consoleRoutes } from '../modules/staff-console/console.routes.ts';
import type { Dependencies } from './dependencies.ts';
import { AppError, createErrorFactory, databaseBusy, isAppError } from './errors.ts';
import { ApiDocs } from './openapi.ts';
import { isPoolTimeout, sql } from './db.ts';

export type AppEnv = { Variables: { principal?: Principal; token?: string } };

const bodyTooLarge = createErrorFactory({
  code: 'request.too_large',
  message: '请求体过大 / The request body is too large.',
  statusCode: 413,
});

/** Builds the HTTP app from its dependencies; tests call it with their own. */
export function createServer(deps: Dependencies) {
  const { logger, metrics } = deps;
  const app = new Hono<AppEnv>();
  const docs = new ApiDocs();

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
    metrics.httpRequests.inc({ method: c.req.method, route, status: String(c.res.status) });
    metrics.httpDuration.observe({ method: c.req.method, route }, seconds);
    // Path and status only: query strings and bodies may carry a tracking code or a reporter's words.
    logger.debug({ method: c.req.method, route, status: c.res.status, ms: Math.round(seconds * 1000) }, 'http');
  });

  const staffBodyLimit = bodyLimit({
    maxSize: 1024 * 1024,
    onError: () => {
      throw bodyTooLarge();
    },
  });
  // The registry CSV import has its own 5 MB limit (registry.routes.ts).
  app.use('/api/v1/staff/*', (c, next) => (c.req.path === REGISTRY_IMPORT_PATH ? next() : staffBodyLimit(c, next)));

  app.onError((raw, c) => {
    // Pool exhaustion is the service's state, not a bug of the request: a coded 503, nothing internal.
    const err = isPoolTimeout(raw) ? databaseBusy() : raw;
    if (err !== raw) {
      // A wait for the connection its own transaction holds (PGlite) is a bug: the stack says where.
      const own = /the connection that transaction holds/.test(raw.message);
      logger.warn({ route: routePath(c), err: raw.message, ...(own ? { stack: raw.stack } : {}) }, 'no database connection within DATABASE_ACQUIRE_TIMEOUT_MS');
      c.header('Retry-After', '5');
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

  app.get('/metrics', async (c) => {
    const em = deps.orm.em.fork();
    try {
      const [pending] = await sql<{ n: number }>(em, 'select count(*)::int as n from outbox_message');
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

  app.use('/api/v1/staff/*', async (c, next) => {
    if (c.req.path === '/api/v1/staff/login') return next();
    const token = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    c.set('principal', await deps.staff.authenticate(token));
    c.set('token', token);
    await next();
  });
  app.route('/api/v1/staff', staffRoutes(deps.staff, docs));
  app.route('/api/v1/staff/clues', staffClueRoutes(deps.clues, docs, metrics));
  app.route('/api/v1/staff/clues', staffMessageRoutes(deps.clues, deps.messages, docs));
  app.route('/api/v1/staff', deadlineRoutes(deps.deadlines, deps.clues, docs));
  app.route('/api/v1/staff', workflowRoutes(deps.workflow, docs));
  app.route('/api/v1/staff', staffReferralRoutes(deps.referrals, docs));
  app.route('/api/v1/staff', quarantineRoutes(deps.email, docs));
  app.route('/', publicReferralRoutes(deps.referrals));
  app.route('/api/v1/staff', registryRoutes(deps.registry, docs));
  app.route('/api/v1/staff', auditRoutes(deps.audit, docs));
  app.route('/api/v1/staff', ledgerRoutes(deps.ledgerWitness, docs));
  app.route('/', webRoutes({ config: deps.config, clock: deps.clock, reports: deps.reports, staff: deps.staff, csrf: deps.csrf, metrics, contact: deps.contact, sessions: deps.followUpSessions }, docs));
  // The staff console's pages (issue 17): the same use cases as the JSON API, signed in by cookie.
  app.route('/staff', consoleRoutes({
    config: deps.config, clock: deps.clock, csrf: deps.csrf, metrics, staff: deps.staff, clues: deps.clues, workflow: deps.workflow,
    messages: deps.messages, deadlines: deps.deadlines, callbacks: deps.hotline.callbacks, email: deps.email, storage: deps.storage,
  }));
  app.route('/api/v1/staff', callbackRoutes(deps.hotline.callbacks, deps.clock, docs));
  app.route('/', voiceRoutes(deps.hotline, logger, docs));

  return app;
}

export { AppError };
