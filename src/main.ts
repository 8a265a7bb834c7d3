import { randomBytes } from 'node:crypto';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { serve } from '@hono/node-server';
import { resolve } from 'node:path';
import { type Config, ConfigError, loadConfig } from './app/config.ts';
import { migrate } from './app/db.ts';
import { createOrm } from './roots/orm.ts';
import { createDependencies, type Dependencies } from './roots/dependencies.ts';
import { claimDatabase, FolderInUse, serveEmbeddedSocket } from './app/embedded.ts';
import { createLogger, type Logger } from './app/logger.ts';
import { moveToPostgres } from './app/move-to-postgres.ts';
import { createServer } from './roots/server.ts';
import { startWorkers } from './roots/worker.ts';
import { verificationKeys } from './app/keys.ts';
import { type LedgerCommand, ledgerCommands, runLedgerCommand } from './roots/ledger.cli.ts';
import { describeProblem, verifyLedger } from './modules/clues/ledger.verify.ts';
import { startSmtpIntake } from './modules/intake-email/email.smtp.ts';

const roles = ['serve', 'work', 'all', 'migrate', 'seed', 'move-to-postgres', ...ledgerCommands] as const;
type Role = (typeof roles)[number];

/** The first admin (ADMIN_USERNAME, ADMIN_PASSWORD or a random password printed once), if there is none. */
async function seedFirstAdmin(deps: Dependencies, sayIfExists: boolean) {
  const password = deps.config.ADMIN_PASSWORD ?? randomBytes(9).toString('base64url');
  const seeded = await deps.staff.seedAdmin({ username: deps.config.ADMIN_USERNAME, password });
  if (seeded.created) {
    console.log(`\n首个管理员已创建 / first admin created: ${seeded.username} / ${deps.config.ADMIN_PASSWORD ? '(ADMIN_PASSWORD)' : password}\n`);
  } else if (sayIfExists) {
    console.log(`管理员已存在 / an admin already exists: ${seeded.username}`);
  }
}

/** `seed`: the first admin; with `--demo`, a small district at work (src/roots/demo.ts). */
async function seed(deps: Dependencies, demo: boolean) {
  await seedFirstAdmin(deps, true);
  if (demo) {
    const { seedDemo } = await import('./roots/demo.ts');
    console.log(await seedDemo(deps));
  }
}

/**
 * `move-to-postgres <postgres-url> [--data-dir DIR]`: the embedded database into an empty
 * PostgreSQL database (src/app/move-to-postgres.ts), then verify-ledger on the copy.
 */
async function moveCommand(config: Config, logger: Logger, release: () => Promise<void>) {
  const target = process.argv[3];
  const toDataDir = process.argv.includes('--data-dir') ? resolve(process.argv[process.argv.indexOf('--data-dir') + 1] ?? '') : undefined;
  if (config.DATABASE_URL || !target || !/^postgres(ql)?:\/\//.test(target)) {
    throw new ConfigError('用法 / usage: DATABASE_URL 不设置 / unset, node src/main.ts move-to-postgres postgres://user:pass@host:5432/dibao [--data-dir /new/data]');
  }
  const source = await createOrm(config, logger);
  await migrate(source, logger);
  const targetOrm = await createOrm({ ...config, DATABASE_URL: target }, logger);
  try {
    await migrate(targetOrm, logger);
    console.log(`迁移数据 / moving ${resolve(config.DATA_DIR, 'pglite')} → ${target.replace(/\/\/[^@]*@/, '//***@')}`);
    const report = await moveToPostgres({ source, target: targetOrm, dataDir: resolve(config.DATA_DIR), toDataDir, onProgress: (l) => console.log(l) });
    console.log(`PostgreSQL ${report.sourceVersion} (PGlite) → ${report.targetVersion}; rows: ${Object.values(report.tables).reduce((a, b) => a + b, 0)}`);
    const verified = await verifyLedger(targetOrm, { publicKeys: verificationKeys(config) });
    console.log(verified.ok ? '台账完整 / ledger verified on the copy' : `台账不符 / LEDGER DAMAGED on the copy: ${describeProblem(verified.problems[0]!)}`);
    const dir = toDataDir ?? resolve(config.DATA_DIR);
    if (report.attachments.missing) console.log(`缺少附件文件 / missing attachment files: ${report.attachments.missing} of ${report.attachments.referenced}`);
    console.log(
      `下一步 / next: DATABASE_URL=<that url> DATA_DIR=${dir} npm start\n` +
        `  ${dir} 保存附件与 keys.json，请保留；生产环境请把 keys.json 中的密钥设为 REPORTER_KEY、SECRET_HMAC_KEY 与 LEDGER_SIGNING_KEY / ` +
        `${dir} holds the attachments and keys.json: keep it; in production set REPORTER_KEY, SECRET_HMAC_KEY and LEDGER_SIGNING_KEY to the keys in keys.json`,
    );
    if (!verified.ok || report.attachments.missing) process.exitCode = 1;
  } finally {
    await targetOrm.close(true);
    await source.close(true);
    await release();
  }
}

/**
 * `npm start` with Redis down keeps serving (the outbox keeps every job) and starts the workers
 * once Redis answers; returns their stop function at once.
 */
function startWorkersWhenRedisIsBack(deps: Dependencies): () => Promise<void> {
  let stopWorkers: (() => Promise<void>) | undefined;
  let stopped = false;
  const wait = (async () => {
    while (!stopped && !(await deps.queues.waitUntilReady(5000)));
    if (stopped) return;
    stopWorkers = await startWorkers(deps);
    deps.logger.info('Redis 已恢复，工作进程已启动 / Redis is back: workers started');
  })().catch((err: Error) => deps.logger.error({ err: err.message }, 'workers could not start'));
  return async () => {
    stopped = true;
    await wait;
    await stopWorkers?.();
  };
}

/**
 * Graceful HTTP drain for SIGTERM: stop accepting; every request in flight or arriving on an open
 * keep-alive connection is answered with `Connection: close` (so that connection ends with it);
 * idle keep-alive connections are closed now. Resolves when the last connection is gone.
 */
function trackResponses(server: HttpServer, graceMs: number): () => Promise<void> {
  const open = new Set<ServerResponse>();
  let draining = false;
  server.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
    if (draining) res.shouldKeepAlive = false;
    open.add(res);
    res.once('close', () => open.delete(res));
  });
  return () =>
    new Promise<void>((resolve) => {
      draining = true;
      server.close(() => resolve());
      for (const res of open) {
        res.shouldKeepAlive = false;
        if (!res.headersSent) res.setHeader('Connection', 'close');
      }
      server.closeIdleConnections();
      // A client that holds its request open past the grace loses the connection, so the rest can stop.
      setTimeout(() => server.closeAllConnections(), graceMs).unref();
    });
}

async function main(role: Role) {
  const base = loadConfig();
  const logger = createLogger(base.LOG_LEVEL);
  // PGlite: one process per folder; a command talks to the running instance instead (src/app/embedded.ts).
  const claim = await claimDatabase(base, { mayJoin: role === 'migrate' || role === 'seed' || (ledgerCommands as readonly string[]).includes(role) });
  if (claim.note) console.error(claim.note);
  const config = claim.config;

  if (role === 'migrate') {
    const orm = await createOrm(config, logger);
    const applied = await migrate(orm, logger);
    console.log(applied.length ? `已执行迁移 / applied: ${applied.join(', ')}` : '数据库已是最新 / database is up to date');
    await orm.close();
    return claim.release();
  }
  if (role === 'move-to-postgres') return moveCommand(config, logger, claim.release);
  if ((ledgerCommands as readonly string[]).includes(role)) {
    process.exitCode = await runLedgerCommand(role as LedgerCommand, process.argv.slice(3), config, logger);
    await claim.release();
    return;
  }

  const deps = await createDependencies(config, { logger });
  if (role === 'seed') {
    await seed(deps, process.argv.includes('--demo'));
    await deps.close();
    return claim.release();
  }
  // Production makes no admin by itself: the first one is made with `node src/main.ts seed` (README).
  if ((role === 'serve' || role === 'all') && config.NODE_ENV !== 'production') await seedFirstAdmin(deps, false);
  const stopSocket = await serveEmbeddedSocket(deps.orm, config.DATA_DIR);

  const redisUp = await deps.queues.waitUntilReady(3000);
  if (!redisUp) {
    logger.error(
      { redis: config.REDIS_URL.replace(/\/\/[^@]*@/, '//***@') },
      'Redis 无法连接 / cannot reach Redis. Reports are still accepted and kept in the outbox; ' +
        'start Redis (e.g. `redis-server --daemonize yes` or `docker run -p 6379:6379 redis:7`) and jobs will follow.',
    );
  }

  /** HTTP and SMTP: stopped together first; then `stops` (the workers) in order. */
  const listeners: (() => Promise<void>)[] = [];
  const stops: (() => Promise<void>)[] = [];
  if (role === 'work' || role === 'all') stops.push(redisUp ? await startWorkers(deps) : startWorkersWhenRedisIsBack(deps));
  if (role === 'serve' || role === 'all') {
    deps.relay.start();
    deps.ledgerWatch.start();
    deps.smsSpool.start();
    const app = createServer(deps);
    const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    logger.info({ port: config.PORT, database: config.DATABASE_URL ? 'postgresql' : 'pglite' }, 'HTTP server listening');
    // Listeners get most of the grace; the workers' current jobs and closing the database the rest.
    const listenerGraceMs = Math.floor(config.SHUTDOWN_GRACE_MS * 0.6);
    const drain = trackResponses(server as unknown as HttpServer, listenerGraceMs);
    if (config.SMTP_ENABLED) {
      const smtp = await startSmtpIntake({
        port: config.SMTP_PORT,
        host: config.HOST,
        acceptRecipients: config.REPORT_ADDRESSES,
        maxBytes: config.EMAIL_MAX_BYTES,
        logger,
        logId: deps.email.logId,
        onMessage: async (raw, meta) => {
          await deps.email.receive(raw, meta);
        },
      });
      logger.info({ port: smtp.port }, 'SMTP intake listening');
      listeners.push(() => smtp.close(listenerGraceMs));
    }
    listeners.push(drain);
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      logger.error({ graceMs: config.SHUTDOWN_GRACE_MS }, 'shutdown did not finish within SHUTDOWN_GRACE_MS: exiting');
      process.exit(1);
    }, config.SHUTDOWN_GRACE_MS);
    force.unref();
    // HTTP and SMTP together (each answers what it has in hand, then closes), then the workers
    // after their current job, then the relay, the database and Redis.
    const quietly = (stop: () => Promise<void>) => stop().catch((err) => logger.warn({ err: (err as Error).message }, 'stop failed'));
    await Promise.all(listeners.map(quietly));
    for (const stop of stops) await quietly(stop);
    await stopSocket();
    await deps.close();
    await claim.release();
    logger.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
}

const role = (process.argv[2] ?? 'all') as Role;
if (!roles.includes(role)) {
  console.error(`usage: node src/main.ts <${roles.join('|')}>`);
  process.exit(2);
}
main(role).catch((err) => {
  if (err instanceof ConfigError || err instanceof FolderInUse) console.error(err.message);
  else console.error('启动失败 / failed to start:', err);
  process.exit(1);
});
