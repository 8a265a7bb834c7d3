/**
 * Builds a data set into a fresh database: the project's own migrations, then the generated
 * history streamed in with COPY, then the schema's indexes and constraints put back and the
 * statistics gathered. Indexes and foreign keys are dropped during the load and recreated from
 * the catalog's own definitions afterwards (a sorted index build and one validation pass are far
 * cheaper than 10⁷ random index inserts and FK probes); whatever a migration adds is covered
 * without naming it here.
 */
import pg from 'pg';
import { type DbConfig, migrate } from '../../src/app/db.ts';
import { createOrm } from '../../src/roots/orm.ts';
import { DERIVED_CLUE_CONCLUSION } from '../../migrations/Migration20261204400000_statistics.ts';
import { createLogger } from '../../src/app/logger.ts';
import { cpuBetween, pgBackendCpu } from '../lib/pg-cpu.ts';
import { type CopyStream, openCopy } from './copy.ts';
import { ALL_EXCLUSIONS_SQL } from '../../src/modules/visibility/visibility.ts';
import { generate, type GenerateStats } from './generate.ts';
import { leftEmpty, type TableKey, tableKeys, tables } from './tables.ts';
import { createWorld } from './world.ts';

export interface BuildResult {
  database: string;
  clues: number;
  seed: number;
  seconds: { migrate: number; generate: number; indexes: number; analyze: number; total: number };
  bytes: number;
  tables: { table: string; rows: number; bytes: number }[];
  statuses: Record<string, number>;
  checkpoints: number;
}

const log = (msg: string) => process.stderr.write(`[bench:data] ${msg}\n`);

export function adminUrlFor(url: string): string {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
}

export function databaseName(url: string): string {
  const name = decodeURIComponent(new URL(url).pathname.replace(/^\//, ''));
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`database name must be lower-case letters, digits and _ (got ${JSON.stringify(name)})`);
  return name;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * Every NOT NULL column without a default must be written by the generator, and every column it
 * writes must exist: a migration that changes either stops the build with the place to fix.
 */
async function checkSchema(c: pg.Client) {
  const { rows } = await c.query<{ table_name: string; column_name: string; is_nullable: string; column_default: string | null; is_identity: string }>(
    `select table_name, column_name, is_nullable, column_default, is_identity from information_schema.columns where table_schema = 'public'`,
  );
  const problems: string[] = [];
  const known = new Set<string>([...leftEmpty]);
  for (const key of tableKeys) {
    const spec = tables[key];
    known.add(spec.name);
    const cols = rows.filter((r) => r.table_name === spec.name);
    if (cols.length === 0) problems.push(`table ${spec.name} (tables.ts "${key}") is not in the schema`);
    for (const c of spec.columns) if (!cols.some((r) => r.column_name === c)) problems.push(`column ${spec.name}.${c} (tables.ts "${key}") is not in the schema`);
    for (const r of cols) {
      const required = r.is_nullable === 'NO' && r.column_default === null && r.is_identity === 'NO';
      if (required && !(spec.columns as readonly string[]).includes(r.column_name)) problems.push(`column ${spec.name}.${r.column_name} is NOT NULL without a default: add it to "${key}" in bench/data/tables.ts`);
    }
  }
  if (problems.length) throw new Error(`the generator does not match the migrated schema:\n  ${problems.join('\n  ')}`);
  const unknown = [...new Set(rows.map((r) => r.table_name))].filter((t) => !known.has(t));
  if (unknown.length) log(`tables the generator does not fill (left empty): ${unknown.join(', ')} — add them in bench/data/tables.ts if they grow with data`);
}

interface SavedDdl {
  drop: string[];
  /** Primary keys and unique constraints, then plain indexes: in parallel. */
  indexes: string[];
  /** Foreign keys, after every index exists. */
  foreignKeys: string[];
}

/** The definitions of every index and key constraint of the public schema, as the catalog prints them. */
async function saveDdl(c: pg.Client): Promise<SavedDdl> {
  const cons = await c.query<{ conname: string; rel: string; contype: string; def: string }>(
    `select conname, conrelid::regclass::text as rel, contype, pg_get_constraintdef(oid) as def from pg_constraint
     where connamespace = 'public'::regnamespace and contype in ('p', 'u', 'f') order by contype = 'f' desc, conname`,
  );
  const idx = await c.query<{ name: string; def: string }>(
    `select i.indexrelid::regclass::text as name, pg_get_indexdef(i.indexrelid) as def from pg_index i
     join pg_class t on t.oid = i.indrelid where t.relnamespace = 'public'::regnamespace
       and not exists (select 1 from pg_constraint k where k.conindid = i.indexrelid and k.contype in ('p', 'u', 'x'))`,
  );
  const q = (name: string) => `"${name.replace(/"/g, '""')}"`;
  return {
    drop: [
      ...cons.rows.map((k) => `alter table ${k.rel} drop constraint ${q(k.conname)}`),
      ...idx.rows.map((i) => `drop index ${i.name}`),
    ],
    indexes: [
      ...cons.rows.filter((k) => k.contype !== 'f').map((k) => `alter table ${k.rel} add constraint ${q(k.conname)} ${k.def}`),
      ...idx.rows.map((i) => i.def),
    ],
    foreignKeys: cons.rows.filter((k) => k.contype === 'f').map((k) => `alter table ${k.rel} add constraint ${q(k.conname)} ${k.def}`),
  };
}

/** Runs statements on `workers` connections at once (two cores: index builds overlap). */
async function runParallel(url: string, statements: string[], workers: number) {
  const queue = [...statements];
  await Promise.all(
    Array.from({ length: workers }, () =>
      withClient(url, async (c) => {
        await c.query(`set maintenance_work_mem = '512MB'`);
        for (let s = queue.shift(); s; s = queue.shift()) await c.query(s);
      }),
    ),
  );
}

/**
 * The data set's ledger events carry made-up transaction ids (one per daily checkpoint), below
 * every real one, so a checkpoint the app seals later starts after them. A young cluster may not
 * have used that many ids yet: burn some (each `pg_current_xact_id()` outside a transaction takes one).
 */
async function reserveTxids(c: pg.Client, needed: number) {
  for (;;) {
    const { rows } = await c.query<{ x: string }>('select pg_current_xact_id()::text as x');
    if (Number(rows[0]!.x) > needed) return;
  }
}

/** Builds the data set into `url`, which must not exist yet. */
export async function buildDataset(url: string, opts: { clues: number; seed: number }): Promise<BuildResult> {
  const name = databaseName(url);
  const t0 = performance.now();
  const secs = (since: number) => Math.round((performance.now() - since) / 100) / 10;
  await withClient(adminUrlFor(url), async (c) => {
    const exists = await c.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount) throw new Error(`database ${name} already exists: the data set goes into a fresh one (drop it or name another)`);
    await c.query(`create database ${name}`);
  });

  // The project's own migrations, as `npm run migrate` runs them.
  const logger = createLogger('warn');
  const orm = await createOrm({ DATABASE_URL: url, DATABASE_POOL_MAX: 2, DATABASE_ACQUIRE_TIMEOUT_MS: 10_000, DATA_DIR: '.' } as DbConfig, logger);
  try {
    await migrate(orm, logger);
  } finally {
    await orm.close(true);
  }
  const migrateSecs = secs(t0);

  const TXID_BASE = 3;
  const ddl = await withClient(url, async (c) => {
    await checkSchema(c);
    const saved = await saveDdl(c);
    for (const s of saved.drop) await c.query(s);
    await reserveTxids(c, TXID_BASE + 4 * 365 + 10);
    return saved;
  });

  const tg = performance.now();
  const world = await createWorld(opts.seed);
  const streams = new Map<TableKey, CopyStream>();
  for (const key of tableKeys) streams.set(key, await openCopy(url, tables[key].name, tables[key].columns, { freeze: true }));
  let stats: GenerateStats;
  let postgresCpuMs: number;
  try {
    stats = await generate(world, opts.clues, { write: (table, line) => streams.get(table)!.write(line) }, {
      txidBase: TXID_BASE,
      onProgress: (n) => log(`${n.toLocaleString('en')} / ${opts.clues.toLocaleString('en')} clues, ${secs(tg)} s`),
    });
    postgresCpuMs = cpuBetween(new Map(), await pgBackendCpu(name));
    for (const s of streams.values()) await s.end();
  } catch (err) {
    for (const s of streams.values()) await s.abort();
    throw err;
  }
  const generateSecs = secs(tg);
  const nodeCpu = process.cpuUsage();
  log(`generated and copied in ${generateSecs} s (CPU: this process ${Math.round((nodeCpu.user + nodeCpu.system) / 1e6)} s, PostgreSQL ${Math.round(postgresCpuMs / 1000)} s); rebuilding ${ddl.indexes.length} indexes and ${ddl.foreignKeys.length} foreign keys`);

  const ti = performance.now();
  await runParallel(url, ddl.indexes, 2);
  await runParallel(url, ddl.foreignKeys, 2);
  // Every clue's excluded set (visibility module), set-based, once the indexes exist.
  await withClient(url, (c) => c.query(ALL_EXCLUSIONS_SQL));
  // Read models the app keeps beside the events, derived from them as the migrations that
  // introduced them did.
  await withClient(url, (c) => c.query(DERIVED_CLUE_CONCLUSION));
  const indexSecs = secs(ti);

  const ta = performance.now();
  const sizes = await withClient(url, async (c) => {
    // Sequences behind serial ids continue after the rows written with explicit ids.
    const serials = await c.query<{ tbl: string; col: string }>(
      `select table_name as tbl, column_name as col from information_schema.columns where table_schema = 'public' and column_default like 'nextval(%'`,
    );
    for (const s of serials.rows) {
      await c.query(`select setval(pg_get_serial_sequence('${s.tbl}', '${s.col}'), greatest(1, (select coalesce(max(${s.col}), 0) from ${s.tbl})), (select count(*) > 0 from ${s.tbl}))`);
    }
    await c.query('analyze');
    const { rows } = await c.query<{ table: string; rows: string; bytes: string }>(
      `select c.relname as table, c.reltuples::bigint::text as rows, pg_total_relation_size(c.oid)::text as bytes from pg_class c
       where c.relnamespace = 'public'::regnamespace and c.relkind = 'r' order by pg_total_relation_size(c.oid) desc`,
    );
    const db = await c.query<{ bytes: string }>('select pg_database_size(current_database())::text as bytes');
    return { tables: rows.map((r) => ({ table: r.table, rows: Math.max(0, Number(r.rows)), bytes: Number(r.bytes) })), bytes: Number(db.rows[0]!.bytes) };
  });
  const analyzeSecs = secs(ta);
  return {
    database: name,
    clues: opts.clues,
    seed: opts.seed,
    seconds: { migrate: migrateSecs, generate: generateSecs, indexes: indexSecs, analyze: analyzeSecs, total: secs(t0) },
    bytes: sizes.bytes,
    tables: sizes.tables,
    statuses: stats.statuses,
    checkpoints: stats.checkpoints,
  };
}

export async function dropDatabase(url: string) {
  const name = databaseName(url);
  await withClient(adminUrlFor(url), (c) => c.query(`drop database if exists ${name} with (force)`));
}
