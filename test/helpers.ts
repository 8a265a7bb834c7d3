import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer as createNetServer } from 'node:net';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import pg from 'pg';
import { inject } from 'vitest';
import { TestClock } from '../src/app/clock.ts';
import { loadConfig } from '../src/app/config.ts';
import { type Orm } from '../src/app/db.ts';
import { createOrm } from '../src/roots/orm.ts';
import { embeddedDatabase } from '../src/app/pglite.ts';
import { servePgliteSocket, socketDir } from '../src/app/pglite-socket.ts';
import { createDependencies, type Dependencies } from '../src/roots/dependencies.ts';
import { createLogger } from '../src/app/logger.ts';
import { createServer } from '../src/roots/server.ts';
import { describeProblem, verifyLedger } from '../src/modules/clues/ledger.verify.ts';
import type { StaffRole } from '../src/modules/staff/staff.entity.ts';
import type { UnitKind } from '../src/modules/staff/unit.entity.ts';

export const PG_ADMIN_URL = process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Which database the suite runs on: `TEST_DATABASE=pglite` runs every test file on its own embedded
 * PGlite (in the test's process, as `npm start` runs it), else on PostgreSQL (a database per file).
 */
export const TEST_DATABASE: 'postgresql' | 'pglite' = process.env.TEST_DATABASE === 'pglite' ? 'pglite' : 'postgresql';
export const onPglite = TEST_DATABASE === 'pglite';
/** A migrated PGlite folder made once per run (test/global-setup.ts); each file starts from a copy. */
const pgliteTemplate = () => (onPglite ? inject('pgliteTemplate') : undefined);

/** Rows of one statement over a `pg` connection of its own, as another program would send it. */
function queryOver(url: string) {
  return async function query<T extends pg.QueryResultRow = Record<string, unknown>>(text: string, params: unknown[] = []) {
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    try {
      return (await c.query<T>(text, params)).rows;
    } finally {
      await c.end();
    }
  };
}

export type TestDatabase = Awaited<ReturnType<typeof createTestDatabase>>;

/**
 * A fresh database for one test file; `drop()` removes it. On PGlite it lives in `dataDir/pglite`,
 * opened in this process (`orm`, for the app to use) and served over a Unix socket (`url`), so
 * `query`, a second ORM and the command line reach it as they reach PostgreSQL. `migrated`: start
 * from the migrated schema (PGlite only; the app migrates on start in any case).
 */
export async function createTestDatabase(opts: { dataDir?: string; acquireTimeoutMs?: number; migrated?: boolean } = {}) {
  if (onPglite) return createPgliteTestDatabase(opts.dataDir ?? mkdtempSync(join(tmpdir(), 'dibao-test-')), opts.acquireTimeoutMs ?? 10_000, !!opts.migrated);
  return createPostgresDatabase();
}

/** A fresh, empty PostgreSQL database, on either leg (e.g. the target of a move from PGlite). */
export async function createPostgresDatabase() {
  const name = `t_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
  return {
    url,
    orm: undefined as Orm | undefined,
    query: queryOver(url),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}

async function createPgliteTestDatabase(dataDir: string, acquireTimeoutMs: number, migrated: boolean) {
  const folder = join(dataDir, 'pglite');
  // An app migrates its database anyway: start it from the migrated template; else an empty database, as on PostgreSQL.
  const template = migrated ? pgliteTemplate() : undefined;
  if (template && !existsSync(folder)) cpSync(template, folder, { recursive: true });
  const orm = await createOrm(
    { DATABASE_URL: undefined, DATA_DIR: dataDir, DATABASE_POOL_MAX: 1, DATABASE_ACQUIRE_TIMEOUT_MS: acquireTimeoutMs },
    createLogger('silent'),
  );
  const embedded = (await embeddedDatabase(orm))!;
  const socket = await servePgliteSocket(embedded.pglite, embedded.lock, socketDir(dataDir));
  return {
    url: socket.url,
    orm: orm as Orm | undefined,
    query: queryOver(socket.url),
    async drop() {
      await socket.close();
      if (await orm.isConnected().catch(() => false)) await orm.close(true);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs one statement with ledger_event's append-only trigger off, as someone with database access could. */
export async function tamperWithLedger(db: { query: (text: string, params?: unknown[]) => Promise<unknown[]> }, text: string, params: unknown[] = []) {
  await db.query('alter table ledger_event disable trigger ledger_event_append_only');
  try {
    return await db.query(text, params);
  } finally {
    await db.query('alter table ledger_event enable trigger ledger_event_append_only');
  }
}

/**
 * `npm run verify-ledger` as an operator runs it, against the given database: its exit code and output.
 * Without `dataDir` it sees no keys file (an empty folder), so signatures are not checked unless `env`
 * gives LEDGER_VERIFY_KEYS; with the test app's `config.DATA_DIR` it checks them with the app's key.
 */
export function verifyLedgerCli(
  databaseUrl: string,
  opts: { dataDir?: string; args?: string[]; env?: Record<string, string> } = {},
): Promise<{ code: number; out: string }> {
  return promisify(execFile)(process.execPath, ['src/main.ts', 'verify-ledger', ...(opts.args ?? [])], {
    env: {
      ...process.env,
      DATABASE_URL: databaseUrl,
      LOG_LEVEL: 'silent',
      MIGRATE_ON_START: 'false',
      DATA_DIR: opts.dataDir ?? mkdtempSync(join(tmpdir(), 'dibao-verify-')),
      ...opts.env,
    },
  }).then(
    (r) => ({ code: 0, out: r.stdout }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: `${e.stdout}${e.stderr}` }),
  );
}

/** Every log line the app writes, as parsed JSON and raw text, for assertions about what leaks. */
export function captureLogs() {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      // TEST_LOG=1 also prints the app's log lines, to see why a test failed.
      if (process.env.TEST_LOG) process.stderr.write(chunk);
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      cb();
    },
  });
  return { lines, stream, text: () => lines.join('\n') };
}

export type TestEnv = Awaited<ReturnType<typeof createTestApp>>;

export async function createTestApp(env: Record<string, string> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'dibao-test-'));
  const acquireTimeoutMs = env.DATABASE_ACQUIRE_TIMEOUT_MS ? Number(env.DATABASE_ACQUIRE_TIMEOUT_MS) : undefined;
  // A test that runs the migrations itself (MIGRATE_ON_START=false) starts from an empty schema.
  const db = await createTestDatabase({ dataDir, acquireTimeoutMs, migrated: env.MIGRATE_ON_START !== 'false' });
  const logs = captureLogs();
  const config = loadConfig({
    NODE_ENV: 'test',
    // On PGlite the app uses the database in this process, as `npm start` does.
    DATABASE_URL: db.orm ? undefined : db.url,
    DATABASE_POOL_MAX: '5',
    REDIS_URL,
    QUEUE_PREFIX: `test-${randomUUID()}`,
    DATA_DIR: dataDir,
    REPORTER_KEY: randomBytes(32).toString('base64'),
    SECRET_HMAC_KEY: randomBytes(32).toString('base64'),
    LOG_LEVEL: 'debug',
    OUTBOX_POLL_MS: '100000',
    ...env,
  });
  const clock = new TestClock(new Date());
  const deps: Dependencies = await createDependencies(config, {
    clock,
    logger: createLogger(config.LOG_LEVEL, logs.stream),
    orm: db.orm,
  });
  const app = createServer(deps);

  async function call(method: string, path: string, opts: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
    const headers: Record<string, string> = { ...opts.headers };
    if (opts.token) headers.authorization = `Bearer ${opts.token}`;
    let body: string | undefined;
    if (opts.body !== undefined) {
      headers['content-type'] ??= 'application/json';
      body = typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
    }
    const res = await app.request(path, { method, headers, body });
    const text = await res.text();
    let json: any = null;
    try {
      json = JSON.parse(text);
    } catch {}
    return { status: res.status, json, text };
  }

  async function unit(code: string, kind: UnitKind, parentId: string | null, name = code) {
    return deps.staff.seedUnit({ code, name, kind, parentId });
  }

  async function staffMember(username: string, role: StaffRole, unitId: string) {
    const password = `pw-${randomUUID()}`;
    await deps.staff.seedStaff({ username, displayName: username, password, role, unitId });
    const { token } = await deps.staff.login({ username, password });
    return { token, username };
  }

  // Every test file's database must still verify when it is done (rows, chains, checkpoints and
  // signatures): a change that skips its ledger event fails the file that made it. Tests that
  // damage the ledger on purpose say so with `ledgerDamageExpected()`.
  let damageExpected = false;
  async function close() {
    const report = damageExpected ? null : await verifyLedger(deps.orm, { publicKeys: deps.keys.ledger.publicKeys }).catch(() => null);
    await deps.close();
    await db.drop();
    if (report && !report.ok) throw new Error(`the test's ledger does not verify: ${report.problems.slice(0, 3).map(describeProblem).join('; ')}`);
  }

  return { config, deps, app, db, logs, clock, call, unit, staffMember, close, ledgerDamageExpected: () => void (damageExpected = true) };
}

/** Units: a district with two streets, each with one residents' committee. */
/** A JSON request to an app built in the test (not over a socket), with a bearer token if given. */
export async function appRequest(app: TestEnv['app'], method: string, path: string, opts: { token?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await app.request(path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

export async function seedTree(t: TestEnv) {
  const district = await t.unit('d', 'district', null, '普陀区');
  const streetA = await t.unit('a', 'street', district.id, '长风街道');
  const streetB = await t.unit('b', 'street', district.id, '曹杨街道');
  const committeeA = await t.unit('a1', 'residents_committee', streetA.id, '长风一村居委会');
  const committeeB = await t.unit('b1', 'residents_committee', streetB.id, '曹杨一村居委会');
  return { district, streetA, streetB, committeeA, committeeB };
}

/** Polls `probe` until `ok` holds (or the time is up) and returns the last value: for work done by jobs. */
export async function until<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v) || Date.now() > end) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const srv = createNetServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as { port: number };
  await new Promise((r) => srv.close(r));
  return port;
}
