import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type EntityClass, type EntityManager, type EntitySchema, MikroORM } from '@mikro-orm/core';
import { Migrator } from '@mikro-orm/migrations';
import { PostgreSqlDriver } from '@mikro-orm/postgresql';
import type { SqlEntityManager } from '@mikro-orm/sql';
import { CompiledQuery } from 'kysely';
import { migrationsList } from '../../migrations/index.ts';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';
import { CONNECTION_WAIT_TIMEOUT, lockedPgliteDriver } from './pglite.ts';

export type Orm = MikroORM;
export type Em = EntityManager;
/** The entity classes MikroORM maps (src/roots/entities.ts), in MikroORM's own default type (the one `Orm` has). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type EntityList = (string | EntityClass<Partial<any>> | EntitySchema<any, never>)[];

export type DbConfig = Pick<Config, 'DATABASE_URL' | 'DATABASE_POOL_MAX' | 'DATABASE_ACQUIRE_TIMEOUT_MS' | 'DATA_DIR'>;

/**
 * PostgreSQL when DATABASE_URL is set, else embedded PGlite under DATA_DIR/pglite: same dialect, same migrations.
 * The entity list comes from the roots (`createOrm` in src/roots/orm.ts): infrastructure names no feature.
 */
export async function openOrm(config: DbConfig, logger: Logger, entities: EntityList): Promise<Orm> {
  const common = {
    entities,
    extensions: [Migrator],
    migrations: { migrationsList, snapshot: false, silent: true, transactional: true, allOrNothing: true },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    ignoreUndefinedInQuery: true,
    debug: false,
    logger: (msg: string) => logger.debug({ orm: msg }, 'orm'),
  };
  if (config.DATABASE_URL) {
    return MikroORM.init({
      ...common,
      driver: PostgreSqlDriver,
      clientUrl: config.DATABASE_URL,
      pool: { min: 0, max: config.DATABASE_POOL_MAX },
      // Merged into the `pg` Pool's options: waiting for a free client (or a new connection) fails
      // after this long with pg-pool's "timeout exceeded when trying to connect" (see isPoolTimeout).
      // No parallel query: over the open-deadline index PostgreSQL planned a 100-row view as a Gather
      // Merge, whose worker start-up made it 13 ms instead of 4 (bench/README "staff-reads"), and the
      // export's pages were 3× slower in parallel. Requests here read a page of rows, many at once, on
      // few cores: a worker per request takes a core from another request.
      driverOptions: { connectionTimeoutMillis: config.DATABASE_ACQUIRE_TIMEOUT_MS, options: '-c max_parallel_workers_per_gather=0' },
    });
  }
  const dir = resolve(join(config.DATA_DIR, 'pglite'));
  mkdirSync(dir, { recursive: true });
  // One connection behind a lock that gives up after DATABASE_ACQUIRE_TIMEOUT_MS, as the pool does (src/app/pglite.ts).
  return MikroORM.init({ ...common, driver: lockedPgliteDriver(config.DATABASE_ACQUIRE_TIMEOUT_MS), dbName: dir });
}

/**
 * No connection within DATABASE_ACQUIRE_TIMEOUT_MS (pg-pool's own messages, for a waiter and for a
 * new connection; PGlite's ConnectionWaitTimeout): the database is saturated or unreachable, not the
 * request wrong. The one place that decides which database errors are the service's state (coded 503).
 */
export function isPoolTimeout(err: unknown): boolean {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if ((e as { code?: unknown }).code === CONNECTION_WAIT_TIMEOUT) return true;
    if (/^timeout exceeded when trying to connect$|^Connection terminated due to connection timeout$/.test(e.message)) return true;
  }
  return false;
}

/** Node socket errors and PostgreSQL SQLSTATEs that mean "no database now", not "this request is wrong". */
const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE',
  // connection_exception (08xxx), admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections
  '08000', '08003', '08006', '08001', '08004', '57P01', '57P02', '57P03', '53300',
]);
const UNAVAILABLE_MESSAGE = /^Connection terminated|^Client has encountered a connection error|^terminating connection due to|^the database system is (starting up|shutting down|in recovery)|^Client was closed and is not queryable|^connect ECONNREFUSED/;

/**
 * The database is unreachable or went away (connection refused, backend terminated, server shutting
 * down) or no connection came within DATABASE_ACQUIRE_TIMEOUT_MS: the service's state, answered with
 * the coded 503 `service.busy`, never a 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (isPoolTimeout(err)) return true;
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
    if (UNAVAILABLE_MESSAGE.test(e.message)) return true;
    // AggregateError (every address of a host refused): look at the first.
    const first = (e as { errors?: unknown[] }).errors?.[0];
    if (first instanceof Error && isDatabaseUnavailable(first)) return true;
  }
  return false;
}

export async function migrate(orm: Orm, logger: Logger): Promise<string[]> {
  const migrator = orm.migrator as Migrator;
  const done = await migrator.up();
  const names = done.map((m) => m.name);
  if (names.length > 0) logger.info({ migrations: names }, 'migrations applied');
  return names;
}

/**
 * Raw SQL with bound parameters ($1, $2, …) sent as such: nothing is escaped into the text, so it
 * is both safe and cheap for large values. Runs inside the EntityManager's transaction, if any.
 */
export async function sqlBound<T = Record<string, unknown>>(em: Em, text: string, params: unknown[]): Promise<T[]> {
  const kysely = (em as unknown as SqlEntityManager).getKysely();
  return (await kysely.executeQuery<T>(CompiledQuery.raw(text, params))).rows;
}

/**
 * A multi-row `VALUES` list for `sqlBound`: each row's values are appended to `params` and written
 * as `$n` placeholders, with the column's cast (e.g. `::uuid`) where one is given and `literals`
 * (SQL written as is, the same for every row) after them. A row of the wrong width throws.
 */
export function valuesList(params: unknown[], rows: unknown[][], casts: (string | undefined)[], literals: string[] = []): string {
  return rows
    .map((row) => {
      if (row.length !== casts.length) throw new Error(`VALUES row of ${row.length} values for ${casts.length} columns`);
      const cells = row.map((value, i) => {
        params.push(value);
        return `$${params.length}${casts[i] ?? ''}`;
      });
      return `(${[...cells, ...literals].join(', ')})`;
    })
    .join(', ');
}

/** Raw SQL inside the given EntityManager's transaction (if any). */
export function sql<T = Record<string, unknown>>(em: Em, query: string, params: unknown[] = []): Promise<T[]> {
  // Both drivers' entity managers are SQL ones; the core type just does not say so.
  return (em as unknown as SqlEntityManager).execute(query, params) as Promise<T[]>;
}
