import { randomBytes } from 'node:crypto';
import { serve } from '@hono/node-server';
import { ConfigError, loadConfig } from './app/config.ts';
import { createOrm, migrate } from './app/db.ts';
import { createDependencies } from './app/dependencies.ts';
import { createLogger } from './app/logger.ts';
import { createServer } from './app/server.ts';
import { startWorkers } from './app/worker.ts';
import { type LedgerCommand, ledgerCommands, runLedgerCommand } from './modules/clues/ledger.cli.ts';
import { startSmtpIntake } from './modules/intake-email/email.smtp.ts';

const roles = ['serve', 'work', 'all', 'migrate', 'seed', ...ledgerCommands] as const;
type Role = (typeof roles)[number];

async function main(role: Role) {
  const config = loadConfig();
  const logger = createLogger(config.LOG_LEVEL);

  if (role === 'migrate') {
    const orm = await createOrm(config, logger);
    const applied = await migrate(orm, logger);
    console.log(applied.length ? `已执行迁移 / applied: ${applied.join(', ')}` : '数据库已是最新 / database is up to date');
    await orm.close();
    return;
  }
  if ((ledgerCommands as readonly string[]).includes(role)) {
    process.exitCode = await runLedgerCommand(role as LedgerCommand, process.argv.slice(3), config, logger);
    return;
  }

  const deps = await createDependencies(config, { logger });
  if (role === 'seed' || ((role === 'serve' || role === 'all') && config.NODE_ENV !== 'production')) {
    const password = config.ADMIN_PASSWORD ?? randomBytes(9).toString('base64url');
    const seeded = await deps.staff.seedAdmin({ username: config.ADMIN_USERNAME, password });
    if (seeded.created) {
      console.log(`\n首个管理员已创建 / first admin created: ${seeded.username} / ${config.ADMIN_PASSWORD ? '(ADMIN_PASSWORD)' : password}\n`);
    } else if (role === 'seed') {
      console.log(`管理员已存在 / an admin already exists: ${seeded.username}`);
    }
    if (role === 'seed') return deps.close();
  }

  if (!(await deps.queues.waitUntilReady(3000))) {
    logger.error(
      { redis: config.REDIS_URL.replace(/\/\/[^@]*@/, '//***@') },
      'Redis 无法连接 / cannot reach Redis. Reports are still accepted and kept in the outbox; ' +
        'start Redis (e.g. `redis-server --daemonize yes` or `docker run -p 6379:6379 redis:7`) and jobs will follow.',
    );
  }

  const stops: (() => Promise<void>)[] = [];
  if (role === 'work' || role === 'all') stops.push(await startWorkers(deps));
  if (role === 'serve' || role === 'all') {
    deps.relay.start();
    deps.ledgerWatch.start();
    const app = createServer(deps);
    const server = serve({ fetch: app.fetch, port: config.PORT, hostname: config.HOST });
    await new Promise<void>((resolve) => server.once('listening', resolve));
    logger.info({ port: config.PORT, database: config.DATABASE_URL ? 'postgresql' : 'pglite' }, 'HTTP server listening');
    if (config.SMTP_ENABLED) {
      const smtp = await startSmtpIntake({
        port: config.SMTP_PORT,
        host: config.HOST,
        acceptRecipients: config.REPORT_ADDRESSES,
        maxBytes: config.EMAIL_MAX_BYTES,
        logger,
        onMessage: async (raw, meta) => {
          await deps.email.receive(raw, meta);
        },
      });
      logger.info({ port: smtp.port }, 'SMTP intake listening');
      stops.unshift(() => smtp.close());
    }
    stops.unshift(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Drain: idle keep-alive sockets close now, busy ones when their response is done.
          (server as unknown as { closeIdleConnections?: () => void }).closeIdleConnections?.();
        }),
    );
  }

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    for (const stop of stops) await stop().catch((err) => logger.warn({ err: (err as Error).message }, 'stop failed'));
    await deps.close();
    logger.info('stopped');
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
  if (err instanceof ConfigError) console.error(err.message);
  else console.error('启动失败 / failed to start:', err);
  process.exit(1);
});
