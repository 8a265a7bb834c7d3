/**
 * The staff read endpoints on the shared data set (bench/data): the clue list with each filter and
 * at depth, a clue's detail, notices, the deadline views, call-backs and the hotline figures, for a
 * district operator and a street caseworker, at 1 and 8 connections, on the 10⁵ and the 10⁶ set
 * (BENCH_DATA_CLUES). Each endpoint is measured in BENCH_ROUNDS rounds; its figures are from its
 * median round (by p95). The clue detail — a handful of indexed lookups by id, flat in the data's
 * size — is the reference of the same run: a figure is also given as a multiple of its p95.
 *
 * Target: p95 < 100 ms at 8 connections on every endpoint, for both personas, at every size.
 * The app runs with its clock at the data set's anchor, so "due soon" and "the last 7 days" mean
 * the same in every run. BENCH_CLONE_SQL names a SQL file run on the clone first (a schema variant
 * to compare with, such as the indexes before a change; the app then does not migrate).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { TestClock } from '../src/app/clock.ts';
import { sql } from '../src/app/db.ts';
import { preflight } from './lib/checks.ts';
import { type LoadResult, type LoadSpec, runLoad } from './lib/load.ts';
import { checkpoint } from './lib/rounds.ts';
import { type Benchmark, PG_ADMIN_URL, startFullApp } from './lib/setup.ts';
import { cloneDataset, sizeLabel as label, sizesFromEnv } from './data/cache.ts';
import { ANCHOR, BENCH_PASSWORD } from './data/shape.ts';
import type { Principal } from '../src/modules/staff/access.ts';
import { visibleClues } from '../src/modules/visibility/visibility.ts';
import { datasetKeys } from './data/world.ts';

const MAX_P95_MS = 100;
const CONNECTIONS = [1, 8];
const SEED = 1;
const DAY = 86_400_000;

interface Endpoint {
  name: string;
  /** One path, or several visited in turn (a different clue per read). */
  paths: string[];
}

const cursor = (at: Date) => Buffer.from(`${at.toISOString()}|ffffffff-ffff-4fff-bfff-ffffffffffff`).toString('base64url');

async function login(url: string, username: string): Promise<string> {
  const res = await fetch(`${url}/api/v1/staff/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password: BENCH_PASSWORD }) });
  const body = (await res.json()) as { token?: string };
  if (res.status !== 200 || !body.token) throw new Error(`login ${username}: ${res.status} ${JSON.stringify(body).slice(0, 300)}`);
  return body.token;
}

/** What each persona reads: the same list views, detail of clues it may see, and its own extras. */
async function endpointsFor(app: Awaited<ReturnType<typeof startFullApp>>, persona: 'operator' | 'caseworker', principal: Principal): Promise<Endpoint[]> {
  const em = app.deps.orm.em.fork();
  const [street] = await sql<{ id: string; path: string }>(em, `select id, path from unit where code = 'street1'`);
  const [committee] = await sql<{ id: string }>(em, `select id from unit where code = 'street1-c01'`);
  const subtree = persona === 'operator' ? '/%' : `${street!.path}%`;
  // Clues it may see, spread over the whole history (every 97th of its units' clues, newest first),
  // outside the clues' excluded sets (the visibility rule: a clue naming someone of the persona's unit is not theirs to read).
  const vis = visibleClues(principal);
  const sample = await sql<{ id: string }>(
    em,
    `select id from (select c.id, row_number() over (order by c.received_at desc) as n from clue c join unit u on u.id = c.unit_id where u.path like ? and ${vis.where}) s where n % 97 = 1 limit 300`,
    [subtree, ...vis.params],
  );
  const year = new Date(ANCHOR.getTime() - 365 * DAY);
  const month = [new Date(ANCHOR.getTime() - 400 * DAY), new Date(ANCHOR.getTime() - 370 * DAY)];
  const list = '/api/v1/staff/clues';
  const depths = [0.25, 0.5, 0.75, 0.95].map((f) => `${list}?cursor=${cursor(new Date(ANCHOR.getTime() - f * 3 * 365 * DAY))}`);
  const endpoints: Endpoint[] = [
    { name: 'clues', paths: [list] },
    { name: 'clues status', paths: [`${list}?status=verifying`] },
    { name: 'clues channel', paths: [`${list}?channel=letter`] },
    { name: 'clues category', paths: [`${list}?category=favor_enrolment`] },
    { name: 'clues unit', paths: [`${list}?unitId=${persona === 'operator' ? street!.id : committee!.id}`] },
    { name: 'clues month', paths: [`${list}?receivedFrom=${month[0]!.toISOString()}&receivedTo=${month[1]!.toISOString()}`] },
    { name: 'clues deep page', paths: depths },
    { name: 'clues status+channel', paths: [`${list}?status=verifying&channel=phone`] },
    { name: 'detail', paths: sample.map((r) => `${list}/${r.id}`) },
    { name: 'notices', paths: ['/api/v1/staff/notices'] },
    { name: 'deadlines due_soon', paths: ['/api/v1/staff/deadlines?view=due_soon'] },
    { name: 'deadlines missed', paths: ['/api/v1/staff/deadlines?view=missed'] },
    { name: 'deadlines open', paths: ['/api/v1/staff/deadlines?view=open'] },
  ];
  if (persona === 'operator') {
    endpoints.push(
      { name: 'callbacks open', paths: ['/api/v1/staff/callbacks'] },
      { name: 'callbacks overdue', paths: ['/api/v1/staff/callbacks?overdue=true'] },
      { name: 'hotline 7 days', paths: ['/api/v1/staff/hotline-stats'] },
      { name: 'hotline year', paths: [`/api/v1/staff/hotline-stats?from=${year.toISOString()}&to=${ANCHOR.toISOString()}`] },
    );
  }
  // BENCH_ENDPOINTS (a regular expression on the names): only those, and the detail read, the reference.
  const only = process.env.BENCH_ENDPOINTS ? new RegExp(process.env.BENCH_ENDPOINTS) : null;
  return endpoints.filter((e) => !only || e.name === 'detail' || only.test(e.name));
}



export const staffReadsBenchmark: Benchmark = {
  name: 'staff-reads',
  description: 'staff read endpoints on the 10⁵/10⁶-clue data set: district operator and street caseworker, 1 and 8 connections, detail as the flat reference',
  scale: true,
  async run({ settings, signal }) {
    const results: Record<string, LoadResult> = {};
    const derived: Record<string, number> = {};
    const targets: { name: string; ok: boolean; detail: string }[] = [];
    const notes: Record<string, unknown> = { rounds: {} as Record<string, unknown> };
    for (const clues of sizesFromEnv()) {
      const name = `bench_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
      const clone = await cloneDataset(PG_ADMIN_URL, name, { clues, seed: SEED });
      notes[`dataset ${label(clues)}`] = { template: clone.template, cloneSeconds: clone.cloneSeconds, built: clone.built ? { seconds: clone.built.seconds, bytes: clone.built.bytes } : 'cached' };
      const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
      // A schema variant to compare with (e.g. the indexes as they were before a change): SQL run on
      // the clone before the app starts, which then does not migrate.
      const variant = process.env.BENCH_CLONE_SQL;
      if (variant) await runSql(url, readFileSync(variant, 'utf8'));
      const env = { ...datasetKeys(SEED), DATABASE_POOL_MAX: '20', ...(variant ? { MIGRATE_ON_START: 'false' } : {}) };
      const app = await startFullApp({ url }, env, { clock: new TestClock(ANCHOR) }).catch(async (err) => {
        await dropClone(name);
        throw err;
      });
      try {
        for (const persona of ['operator', 'caseworker'] as const) {
          const username = persona === 'operator' ? 'district.operator.1' : 'street1.caseworker.1';
          const token = await login(app.url, username);
          const endpoints = await endpointsFor(app, persona, await app.deps.staff.authenticate(token));
          const specs = endpoints.map((e) => {
            const spec: LoadSpec = {
              url: `${app.url}${e.paths[0]}`,
              method: 'GET',
              headers: { authorization: `Bearer ${token}` },
              expectStatus: 200,
              database: name,
              connections: 1,
              warmupSeconds: settings.warmupSeconds,
              seconds: settings.seconds,
              timeoutMs: 30_000,
              ...(e.paths.length > 1 ? { requestBuilder: { module: new URL('./lib/path-rotation.ts', import.meta.url).href, data: { paths: e.paths } } } : {}),
            };
            return { endpoint: e, spec };
          });
          for (const { spec } of specs) await preflight(spec);
          // Rounds: every endpoint at every connection count once per round, so a disturbance
          // (a checkpoint, another process) hits one round of each rather than every round of one.
          const runs = new Map<string, LoadResult[]>();
          for (let round = 0; round < settings.rounds; round++) {
            await checkpoint();
            for (const { endpoint, spec } of specs) {
              for (const connections of CONNECTIONS) {
                const key = `${label(clues)} ${persona} ${endpoint.name} ×${connections}`;
                const r = await runLoad({ ...spec, connections }, signal);
                runs.set(key, [...(runs.get(key) ?? []), r]);
              }
            }
          }
          for (const [key, rs] of runs) {
            const sorted = [...rs].sort((a, b) => a.latencyMs.p95 - b.latencyMs.p95);
            results[key] = sorted[Math.floor((sorted.length - 1) / 2)]!;
            (notes.rounds as Record<string, unknown>)[key] = rs.map((r) => ({ p50: r.latencyMs.p50, p95: r.latencyMs.p95, rps: r.requestsPerSecond }));
          }
          for (const connections of CONNECTIONS) {
            const reference = results[`${label(clues)} ${persona} detail ×${connections}`]!.latencyMs.p95;
            for (const { endpoint } of specs) {
              const key = `${label(clues)} ${persona} ${endpoint.name} ×${connections}`;
              const r = results[key]!;
              derived[`${key} p95 / detail p95`] = Math.round((r.latencyMs.p95 / reference) * 10) / 10;
              if (connections === 8) {
                targets.push({ name: `${key}: p95 < ${MAX_P95_MS} ms`, ok: r.latencyMs.p95 < MAX_P95_MS && r.errors === 0, detail: `p50 ${r.latencyMs.p50} ms, p95 ${r.latencyMs.p95} ms (detail ${reference} ms), ${r.requestsPerSecond} req/s, errors ${r.errors}` });
              }
            }
          }
        }
      } finally {
        await app.close();
        await dropClone(name);
      }
    }
    return { results, derived, targets, notes };
  },
};

async function runSql(url: string, text: string) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(text);
  } finally {
    await c.end();
  }
}

/**
 * Drops a clone, giving up after two minutes with the name to drop by hand: DROP DATABASE waits
 * until every backend of the cluster has absorbed a barrier, and a backend waiting inside a COPY
 * FROM STDIN (a data set loader before bench/data/copy.ts ended idle COPYs) holds it for as long.
 */
async function dropClone(name: string) {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query(`set statement_timeout = '120s'`);
    await c.query(`drop database if exists ${name} with (force)`);
  } catch (err) {
    process.stderr.write(`[staff-reads] could not drop the clone ${name} (${err instanceof Error ? err.message : String(err)}): drop it by hand (DROP DATABASE ${name})\n`);
  } finally {
    await c.end();
  }
}
