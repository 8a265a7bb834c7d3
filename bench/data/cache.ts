/**
 * Built data sets are kept as PostgreSQL template databases, so a benchmark run clones one
 * (`CREATE DATABASE … TEMPLATE … STRATEGY FILE_COPY`, a file copy) instead of generating it again.
 * The template's name carries its key: the generator's version, a hash of this folder's sources (but
 * the command line and this file, which do not shape the data) and a hash of the migrations, with
 * the size and the seed. Change any and the name changes, so the
 * next run builds a new template (and drops the stale ones of the same size and seed).
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import pg from 'pg';
import { adminUrlFor, buildDataset, type BuildResult } from './build.ts';
import { GENERATOR_VERSION, parseClues } from './shape.ts';

const log = (msg: string) => process.stderr.write(`[bench:data] ${msg}\n`);

/** sha256 over the files of a folder (sorted by name), so any edit to one changes it. */
function hashFolder(url: URL, filter: (name: string) => boolean): string {
  const h = createHash('sha256');
  for (const name of readdirSync(url).filter(filter).sort()) h.update(`${name}\n`).update(readFileSync(new URL(name, url))).update('\n');
  return h.digest('hex');
}

export function cacheKey(clues: number, seed: number): string {
  const generator = hashFolder(new URL('./', import.meta.url), (n) => n.endsWith('.ts') && n !== 'cli.ts' && n !== 'cache.ts');
  const migrations = hashFolder(new URL('../../migrations/', import.meta.url), (n) => n.endsWith('.ts'));
  return createHash('sha256').update(`v${GENERATOR_VERSION}\n${generator}\n${migrations}\n${clues}\n${seed}`).digest('hex').slice(0, 12);
}

const prefix = (clues: number, seed: number) => `bench_tpl_${clues}_s${seed}_`;
export const templateName = (clues: number, seed: number) => `${prefix(clues, seed)}${cacheKey(clues, seed)}`;

async function admin<T>(adminUrl: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/**
 * The template for (clues, seed), built first if there is none for the current key. Two runs asking
 * at once wait for each other (an advisory lock), so it is built once.
 */
export async function ensureTemplate(adminUrl: string, opts: { clues: number; seed: number }): Promise<{ name: string; built: BuildResult | null }> {
  const name = templateName(opts.clues, opts.seed);
  const lock = new pg.Client({ connectionString: adminUrl });
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock(hashtext($1))', [prefix(opts.clues, opts.seed)]);
    const found = await lock.query('select 1 from pg_database where datname = $1', [name]);
    if (found.rowCount) return { name, built: null };
    if (process.env.BENCH_DATA_REUSE === '1') {
      // A set takes minutes (10⁵) to an hour (10⁶) to build: with BENCH_DATA_REUSE=1 the newest
      // template of this size and seed is used although its key is stale, and the app migrates
      // each clone forward when it starts. Figures from such a run say so in their notes.
      const older = await lock.query<{ datname: string }>(`select datname from pg_database where datname like $1 || '%' and datistemplate order by oid desc limit 1`, [prefix(opts.clues, opts.seed)]);
      if (older.rows[0]) {
        log(`BENCH_DATA_REUSE=1: using the stale template ${older.rows[0].datname} (current key ${name}); the app migrates the clone forward`);
        return { name: older.rows[0].datname, built: null };
      }
    }
    const stale = await lock.query<{ datname: string }>(`select datname from pg_database where datname like $1 || '%'`, [prefix(opts.clues, opts.seed)]);
    for (const { datname } of stale.rows) {
      log(`dropping the stale template ${datname} (generator or migrations changed)`);
      await lock.query(`alter database ${datname} is_template false`);
      await lock.query(`drop database ${datname} with (force)`);
    }
    const building = `bench_build_${cacheKey(opts.clues, opts.seed)}_${process.pid}`;
    log(`building the ${opts.clues.toLocaleString('en')}-clue data set (seed ${opts.seed}) into the template ${name}`);
    const url = new URL(adminUrl);
    url.pathname = `/${building}`;
    try {
      const built = await buildDataset(url.toString(), opts);
      // Published under its final name only once complete: a half-built set never looks cached.
      await lock.query(`alter database ${building} rename to ${name}`);
      await lock.query(`alter database ${name} with is_template true allow_connections false`);
      return { name, built };
    } catch (err) {
      await lock.query(`drop database if exists ${building} with (force)`).catch(() => undefined);
      throw err;
    }
  } finally {
    await lock.query('select pg_advisory_unlock(hashtext($1))', [prefix(opts.clues, opts.seed)]).catch(() => undefined);
    await lock.end();
  }
}

/** A fresh database `target` with the cached data set (built first if needed); seconds the clone took. */
export async function cloneDataset(adminUrl: string, target: string, opts: { clues: number; seed: number }) {
  const { name, built } = await ensureTemplate(adminUrl, opts);
  const t = performance.now();
  await admin(adminUrl, (c) => c.query(`create database ${target} template ${name} strategy file_copy`));
  return { template: name, built, cloneSeconds: Math.round((performance.now() - t) / 100) / 10 };
}

export { adminUrlFor };

/** The data-scale benchmarks' sizes: BENCH_DATA_CLUES, default both presets. */
export const sizesFromEnv = (): number[] => (process.env.BENCH_DATA_CLUES ?? '1e5,1e6').split(',').map((s) => parseClues(s.trim()));

/** A size as its preset name where it is one (`1e5`, `2e6`), for notes and figure names. */
export const sizeLabel = (clues: number) => (clues >= 1e6 && clues % 1e6 === 0 ? `${clues / 1e6}e6` : clues >= 1e5 && clues % 1e5 === 0 ? `${clues / 1e5}e5` : String(clues));
