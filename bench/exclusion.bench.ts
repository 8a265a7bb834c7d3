/**
 * The cost of the excluded set (issue 11) on the staff clue list: the list query as it was (the
 * unit rule, `clueVisibility`) against the same query with the exclusion condition
 * (`visibleClues`: `not exists (select 1 from clue_exclusion …)`), measured in the same run, in
 * alternating rounds, on a database of its own (dropped afterwards).
 *
 * Data (BENCH_EXCLUSION_CLUES, default 100 000 clues, written with `generate_series`, not the
 * shared 10⁵/10⁶ set): a district → 10 streets → 10 committees each; every clue concerns a
 * committee and accuses one person: in one clue of five an official of its street (else a
 * beneficiary, who excludes no unit); one in three also accuses a cadre of its committee, and one in
 * fifty names a staff account (a name match). The shares are independent of the street and the
 * committee. The excluded set is written by the module's own set-based recompute.
 *
 * Worst case, not measured here: when (nearly) every clue of a principal's subtree excludes them, the
 * first page reads the whole subtree to find none (a first run with every clue accusing its street's
 * official: 10 000 clues of a street, ~100 ms for that street's staff).
 *
 * Principals: the district operator (sees every clue, excluded from few), a street-1 caseworker
 * (excluded from a fifth of its street's clues, and by name from one in fifty) and an operator of
 * a street-2 committee. Queries: the first page (limit 50, newest first) and the first page of one
 * status. Each is run BENCH_EXCLUSION_QUERIES times per round, BENCH_ROUNDS rounds; figures are the
 * median round's median and p95 in ms, and the ratio with / without.
 *
 * Target: the staff-reads one, p95 < 100 ms, for the first page with the condition; the ratio
 * with / without is the figure to watch (derived, not a target).
 */
import pg from 'pg';
import { migrate } from '../src/app/db.ts';
import { createOrm } from '../src/roots/orm.ts';
import { createLogger } from '../src/app/logger.ts';
import type { Principal } from '../src/modules/staff/access.ts';
import { clueVisibility } from '../src/modules/staff/access.ts';
import { ALL_EXCLUSIONS_SQL, visibleClues } from '../src/modules/visibility/visibility.ts';
import { percentile } from './lib/load.ts';
import { type Benchmark, createBenchDatabase } from './lib/setup.ts';

const CLUES = Number(process.env.BENCH_EXCLUSION_CLUES ?? 100_000);
const QUERIES = Number(process.env.BENCH_EXCLUSION_QUERIES ?? 100);
/** The staff-reads target (bench/README.md); the ratio is reported, not a target. */
const MAX_P95_MS = 100;

const progress = (msg: string) => console.error(`  … ${new Date().toISOString().slice(11, 19)} ${msg}`);

/** `?` placeholders (as the app writes them) to `$n` for node-postgres; arrays become `$n::uuid[]` lists. */
function toPg(text: string, params: unknown[]): { text: string; values: unknown[] } {
  const values: unknown[] = [];
  let i = 0;
  const out = text.replace(/\?/g, () => {
    const v = params[i++];
    if (Array.isArray(v)) {
      return v.map((x) => {
        values.push(x);
        return `$${values.length}`;
      }).join(', ');
    }
    values.push(v);
    return `$${values.length}`;
  });
  return { text: out, values };
}

async function seed(pool: pg.Pool) {
  await pool.query(`insert into unit (id, code, name, kind, parent_id, path, created_at)
    values ('00000000-0000-4000-8000-000000000000', 'd', '区', 'district', null, '/00000000-0000-4000-8000-000000000000/', now())`);
  await pool.query(`insert into unit (id, code, name, kind, parent_id, path, created_at)
    select ('00000000-0000-4000-8000-0000000000' || lpad(s::text, 2, '0'))::uuid, 's' || s, '街道' || s, 'street', '00000000-0000-4000-8000-000000000000',
           '/00000000-0000-4000-8000-000000000000/00000000-0000-4000-8000-0000000000' || lpad(s::text, 2, '0') || '/', now()
    from generate_series(1, 10) s`);
  await pool.query(`insert into unit (id, code, name, kind, parent_id, path, created_at)
    select ('00000000-0000-4000-8000-0000000' || lpad(s::text, 2, '0') || lpad(k::text, 3, '0'))::uuid, 's' || s || 'c' || k, '居委会' || s || '-' || k,
           'residents_committee', ('00000000-0000-4000-8000-0000000000' || lpad(s::text, 2, '0'))::uuid,
           '/00000000-0000-4000-8000-000000000000/00000000-0000-4000-8000-0000000000' || lpad(s::text, 2, '0') || '/00000000-0000-4000-8000-0000000' || lpad(s::text, 2, '0') || lpad(k::text, 3, '0') || '/', now()
    from generate_series(1, 10) s, generate_series(1, 10) k`);
  const staff = [
    ['district-op', 'operator', '00000000-0000-4000-8000-000000000000'],
    ['street1-cw', 'caseworker', '00000000-0000-4000-8000-000000000001'],
    ['committee21-op', 'operator', '00000000-0000-4000-8000-000000002001'],
  ];
  for (const [username, role, unit] of staff) {
    await pool.query(`insert into staff (id, username, display_name, password_hash, role, unit_id, active, created_at) values (gen_random_uuid(), $1, $1, 'x', $2, $3, true, now())`, [username, role, unit]);
  }
    await pool.query(
    `insert into clue (id, tracking_code, channel, received_at, categories, narrative, unit_id, status, priority, named, secret_kind, secret_hash,
       failed_attempts, head_seq, head_hash, flags, locale, notify_progress, created_at, updated_at)
     select md5('clue' || i)::uuid, lpad(i::text, 12, '0'), 'web', now() - (i || ' minutes')::interval, '{}', '举报内容', 
            ('00000000-0000-4000-8000-0000000' || lpad((1 + i % 10)::text, 2, '0') || lpad((1 + (i / 10) % 10)::text, 3, '0'))::uuid,
            (array['registered', 'accepted', 'verifying', 'concluded'])[1 + i % 4], 'normal', false, 'web', repeat('0', 64), 0, 0, repeat('0', 64), '{}', 'zh-CN', false, now(), now()
     from generate_series(1, $1::int) i`,
    [CLUES],
  );
  await pool.query(
    `insert into accused (id, clue_id, name, name_key, role, unit_id, position)
     select md5('a' || i)::uuid, md5('clue' || i)::uuid, case when (i / 7) % 50 = 0 then 'street1-cw' else '某人' || i end, case when (i / 7) % 50 = 0 then 'street1-cw' else '某人' || i end,
            case when (i / 100) % 5 = 0 then 'official' else 'beneficiary' end,
            case when (i / 100) % 5 = 0 then ('00000000-0000-4000-8000-0000000000' || lpad((1 + i % 10)::text, 2, '0'))::uuid end, null
     from generate_series(1, $1::int) i`,
    [CLUES],
  );
  await pool.query(
    `insert into accused (id, clue_id, name, name_key, role, unit_id, position)
     select md5('b' || i)::uuid, md5('clue' || i)::uuid, '主任' || i, '主任' || i, 'cadre',
            ('00000000-0000-4000-8000-0000000' || lpad((1 + i % 10)::text, 2, '0') || lpad((1 + (i / 10) % 10)::text, 3, '0'))::uuid, null
     from generate_series(1, $1::int) i where (i / 1000) % 3 = 0`,
    [CLUES],
  );
  await pool.query(ALL_EXCLUSIONS_SQL);
  await pool.query('analyze');
  const [{ n }] = (await pool.query<{ n: string }>('select count(*)::text as n from clue_exclusion')).rows as [{ n: string }];
  return Number(n);
}

async function principals(pool: pg.Pool): Promise<Record<string, Principal>> {
  const { rows } = await pool.query<{ id: string; username: string; role: Principal['role']; unit_id: string; path: string; parent_id: string | null }>(
    'select s.id, s.username, s.role, s.unit_id, u.path, u.parent_id from staff s join unit u on u.id = s.unit_id',
  );
  return Object.fromEntries(rows.map((r) => [r.username, { id: r.id, username: r.username, role: r.role, unitId: r.unit_id, unitPath: r.path, unitIsRoot: r.parent_id === null }]));
}

export const exclusionBenchmark: Benchmark = {
  name: 'exclusion',
  description: `the staff clue list with and without the excluded-set condition, same run, ${CLUES.toLocaleString('en')} clues`,
  async run({ settings, signal }) {
    const db = await createBenchDatabase();
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    const results = {};
    const derived: Record<string, number> = {};
    const targets: { name: string; ok: boolean; detail: string }[] = [];
    try {
      const orm = await createOrm({ DATABASE_URL: db.url, DATA_DIR: '/tmp', DATABASE_POOL_MAX: 2, DATABASE_ACQUIRE_TIMEOUT_MS: 30_000 } as never, createLogger('silent'));
      await migrate(orm, createLogger('silent'));
      await orm.close(true);
      progress(`seeding ${CLUES} clues`);
      const members = await seed(pool);
      derived['excluded-set members'] = members;
      const who = await principals(pool);
      const queries = [
        { name: 'first page', extra: '' },
        { name: 'status page', extra: ` and c.status = 'verifying'` },
      ];
      const time = async (text: string, values: unknown[]) => {
        const t0 = performance.now();
        await pool.query(text, values);
        return performance.now() - t0;
      };
      for (const [username, p] of Object.entries(who)) {
        for (const q of queries) {
          const variants = {
            today: clueVisibility(p),
            excluded: visibleClues(p),
          };
          const rounds: Record<string, { median: number; p95: number }[]> = { today: [], excluded: [] };
          for (let round = 0; round < settings.rounds; round++) {
            for (const [label, vis] of Object.entries(variants)) {
              signal.throwIfAborted();
              const { text, values } = toPg(`select c.id from clue c where ${vis.where}${q.extra} order by c.received_at desc, c.id desc limit 51`, vis.params);
              for (let i = 0; i < 10; i++) await time(text, values); // warm-up
              const ms: number[] = [];
              for (let i = 0; i < QUERIES; i++) ms.push(await time(text, values));
              ms.sort((a, b) => a - b);
              rounds[label]!.push({ median: percentile(ms, 50), p95: percentile(ms, 95) });
            }
          }
          const mid = (xs: { median: number; p95: number }[]) => [...xs].sort((a, b) => a.median - b.median)[Math.floor(xs.length / 2)]!;
          const a = mid(rounds.today!);
          const b = mid(rounds.excluded!);
          const key = `${username} ${q.name}`;
          derived[`${key} today median ms`] = +a.median.toFixed(3);
          derived[`${key} today p95 ms`] = +a.p95.toFixed(3);
          derived[`${key} excluded median ms`] = +b.median.toFixed(3);
          derived[`${key} excluded p95 ms`] = +b.p95.toFixed(3);
          derived[`${key} ratio (median)`] = +(b.median / a.median).toFixed(2);
          if (q.name === 'first page') {
            targets.push({
              name: `${key}: with the excluded set, p95 < ${MAX_P95_MS} ms`,
              ok: b.p95 < MAX_P95_MS,
              detail: `median ${a.median.toFixed(2)} → ${b.median.toFixed(2)} ms (×${(b.median / a.median).toFixed(2)}), p95 ${b.p95.toFixed(2)} ms`,
            });
          }
        }
      }
    } finally {
      await pool.end();
      await db.drop();
    }
    return { results, derived, targets, notes: { clues: CLUES, queriesPerRound: QUERIES, rounds: settings.rounds } };
  },
};
