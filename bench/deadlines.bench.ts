/**
 * Deadlines at scale: 1 000 000 open deadline rows over the next year, with the real system clock.
 * Only the steps due within DEADLINE_HORIZON_HOURS (6) are meant to be held in Redis, so Redis
 * should weigh what the next hours hold, not what the year holds.
 *
 * Rows are written straight into `deadline` (one `insert … select … from generate_series` per
 * batch), all on a few real clues of a district → street → committee tree, each with the policy
 * snapshot `planStarts` gives a receipt notice (reminders at −3 and −1 days, due, then one
 * escalation a day), `fire_seq` 0 with `next_fire_at` its first reminder. They are written as
 * already synced (`sync_needed` false), as rows long in the table are.
 *
 * Phases, on a database of its own (dropped afterwards):
 *  1. 100 000 rows: NEAR rows spread over the horizon (as many as 1 000 000 rows spread evenly over
 *     a year put there: 1e6 × 6 h / 8 760 h ≈ 685), the rest spread from just past the horizon to a
 *     year out. `reconcile()` fills Redis; then the prefix's keys are deleted (a Redis flush) and
 *     `reconcile()` is timed again. Redis: keys under the prefix, their `MEMORY USAGE`, `used_memory`.
 *  2. + 900 000 rows past the horizon: 1 000 000 spread evenly over the year, the same rows in the
 *     horizon. Flush, timed `reconcile()`, the same measures: they should not move.
 *  3. DUE rows falling due 10–30 s from now (their `due` step: `deadline.missed`), then the workers
 *     (`startWorkers(deps)`: the scheduler's sync, the reconcile job, every queue). Lateness =
 *     the `deadline.missed` ledger event's `at` − the step's scheduled time.
 *
 * Targets: Redis independent of the total (1 000 000 vs 100 000) and bounded by the horizon;
 * reconcile after a flush < 60 s at 1 000 000; firing lateness p99 < 1 s.
 */
import pg from 'pg';
import { startWorkers } from '../src/roots/worker.ts';
import { jobIdFor, snapshotOf } from '../src/modules/deadlines/deadlines.engine.ts';
import { percentile } from './lib/load.ts';
import { deleteKeys, type KeyStats, keyStats } from './lib/redis-keys.ts';
import { type Benchmark, createBenchDatabase, startFullApp } from './lib/setup.ts';

const TOTAL = Number(process.env.BENCH_DEADLINES_TOTAL ?? 1_000_000);
const SMALL = Math.round(TOTAL / 10);
const HORIZON_HOURS = 6;
const YEAR_MS = 365 * 24 * 3600_000;
const HOUR_MS = 3600_000;
/** What TOTAL rows spread evenly over a year put within the horizon. */
const NEAR = Math.round((TOTAL * HORIZON_HOURS * HOUR_MS) / YEAR_MS);
const DUE = 300;
const CLUES = 8;
const MAX_RECONCILE_MS = 60_000;
const MAX_LATENESS_P99_MS = 1000;
/** Redis may differ this much between the two totals and still count as "the same". */
const SAME_REDIS_TOLERANCE = 0.1;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** A line on stderr per step: the run takes minutes. */
const progress = (msg: string) => console.error(`  … ${new Date().toISOString().slice(11, 19)} ${msg}`);

export const deadlinesBenchmark: Benchmark = {
  name: 'deadlines',
  description: `${TOTAL.toLocaleString('en')} open deadlines over a year: Redis held to the horizon, reconcile after a flush, firing lateness`,
  async run({ signal }) {
    // Its own database: a million rows should not weigh on the other benchmarks of the run.
    const db = await createBenchDatabase();
    let app: Awaited<ReturnType<typeof startFullApp>> | undefined;
    let stopWorkers: (() => Promise<void>) | undefined;
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    try {
      app = await startFullApp(db, { LOG_LEVEL: 'error', DEADLINE_HORIZON_HOURS: String(HORIZON_HOURS) });
      const { deps } = app;
      const prefix = `{${deps.config.QUEUE_PREFIX}}`;
      const district = await deps.staff.seedUnit({ code: 'bench-dl-district', name: '普陀区', kind: 'district' });
      const street = await deps.staff.seedUnit({ code: 'bench-dl-street', name: '长风街道', kind: 'street', parentId: district.id });
      const committee = await deps.staff.seedUnit({ code: 'bench-dl-committee', name: '长风一村居委会', kind: 'residents_committee', parentId: street.id });
      const clueIds: string[] = [];
      for (let i = 0; i < CLUES; i++) {
        const { clue } = await deps.clues.registerClue('system:bench', {
          channel: 'letter',
          categories: ['favor_enrolment'],
          narrative: `居委会干部优亲厚友，把亲戚纳入低保（基准测试线索 ${i + 1}）。`,
          unitId: committee.id,
          accused: [],
        });
        clueIds.push(clue.id);
      }
      const policy = await deps.deadlines.currentPolicy();
      const kind = policy.kinds.find((k) => k.kind === 'receipt_notice');
      if (!kind || kind.reminders.length !== 2) throw new Error('the policy has no receipt_notice kind with two reminders');
      const snapshot = snapshotOf(policy, kind);
      await deps.deadlineScheduler.sync(); // the clues' own deadlines, so that nothing is pending

      /**
       * `count` rows whose step `fireSeq` falls evenly between `fromMs` and `toMs` from now: for
       * fire_seq 0 that is the first reminder (due 3 days later), for 2 the due moment itself.
       * Whole milliseconds, as the app writes them (JavaScript dates): the scheduler's keyset cursor
       * and `fireStep`'s check compare JavaScript dates with the stored values.
       */
      const insert = async (count: number, fromMs: number, toMs: number, fireSeq: 0 | 2, syncNeeded: boolean) => {
        const t0 = performance.now();
        const now = new Date();
        const dueAfterStepMs = fireSeq === 0 ? 3 * 24 * HOUR_MS : 0;
        for (let done = 0; done < count; done += 250_000) {
          signal.throwIfAborted();
          const n = Math.min(250_000, count - done);
          await pool.query(
            `insert into deadline (id, clue_id, kind, unit_id, starts_at, due_at, original_due_at, policy, state, fire_seq, next_fire_at, sync_needed, created_at)
             select gen_random_uuid(), ($1::uuid[])[1 + (i % $2)], 'receipt_notice', $3::uuid, s.due - interval '15 days', s.due, s.due, $4::jsonb, 'open', $5, s.step, $6, $7
             from (select i, $7::timestamptz + o.ms * interval '1 millisecond' as step, $7::timestamptz + (o.ms + $10::bigint) * interval '1 millisecond' as due
                   from generate_series($11::int, $12::int) as i, lateral (select floor($8::float8 + i * $9::float8)::bigint as ms) as o) as s`,
            [clueIds, CLUES, committee.id, JSON.stringify(snapshot), fireSeq, syncNeeded, now, fromMs, (toMs - fromMs) / count, dueAfterStepMs, done, done + n - 1],
          );
        }
        await pool.query('analyze deadline');
        return Math.round(performance.now() - t0);
      };
      const count = async (text: string, params: unknown[] = []) => (await pool.query<{ n: number }>(text, params)).rows[0]?.n ?? 0;
      const inHorizon = () =>
        count(`select count(*)::int as n from deadline where closed_at is null and paused_at is null and next_fire_at <= now() + $1 * interval '1 hour'`, [HORIZON_HOURS]);
      const redis = async () => summarizeKeys(await keyStats(`${prefix}:*`));
      const reconcile = async () => {
        const t0 = performance.now();
        const r = await deps.deadlineScheduler.reconcile();
        return { ms: Math.round(performance.now() - t0), ...r };
      };
      const flush = () => deleteKeys(`${prefix}:*`);

      // 1. SMALL rows: the horizon as full as TOTAL rows make it, the rest beyond it.
      progress(`inserting ${SMALL.toLocaleString('en')} rows`);
      const nearFrom = 10 * 60_000;
      const nearTo = (HORIZON_HOURS - 0.5) * HOUR_MS;
      const farFrom = (HORIZON_HOURS + 0.5) * HOUR_MS;
      const insertSmallMs = (await insert(NEAR, nearFrom, nearTo, 0, false)) + (await insert(SMALL - NEAR, farFrom, YEAR_MS, 0, false));
      const redisBefore = await redis();
      progress('reconcile');
      const fillSmall = await reconcile();
      const redisFilledSmall = await redis();
      await flush();
      progress('flushed; reconcile');
      const reconcileSmall = await reconcile();
      const redisSmall = await redis();
      const horizonSmall = await inHorizon();

      // 2. TOTAL rows: the others all beyond the horizon, so only the total changes.
      progress(`inserting ${(TOTAL - SMALL).toLocaleString('en')} more rows`);
      const insertLargeMs = await insert(TOTAL - SMALL, farFrom, YEAR_MS, 0, false);
      const rows = await count('select count(*)::int as n from deadline where closed_at is null');
      const tableMB = Math.round((await count(`select (pg_total_relation_size('deadline') / 1048576)::int as n`)) * 10) / 10;
      await flush();
      progress('flushed; reconcile');
      const reconcileLarge = await reconcile();
      const redisLarge = await redis();
      const horizonLarge = await inHorizon();
      const reconcileSteady = await reconcile(); // nothing missing: what the periodic job costs
      const plan = await pool.query<{ 'QUERY PLAN': string }>(
        `explain (analyze, buffers, format text) select id, fire_seq, next_fire_at, closed_at, paused_at, scheduled_job, sync_version from deadline
         where closed_at is null and paused_at is null and next_fire_at <= now() + interval '6 hours' and (next_fire_at, id) > ('epoch'::timestamptz, '00000000-0000-0000-0000-000000000000'::uuid)
         order by next_fire_at, id limit 2000`,
      );

      // 3. DUE rows falling due 10–30 s from now, with the workers running.
      const dueFrom = Date.now() + 10_000;
      await insert(DUE, 10_000, 30_000, 2, true);
      progress(`${DUE} rows due 10–30 s from now; starting the workers`);
      const workersStarted = performance.now();
      stopWorkers = await startWorkers(deps);
      const workersStartMs = Math.round(performance.now() - workersStarted);
      const dueIds = (
        await pool.query<{ id: string }>(`select id from deadline where state = 'open' and due_at > $1 and due_at < $1 + interval '40 seconds' and fire_seq = 2`, [new Date(dueFrom - 1000)])
      ).rows.map((r) => r.id);
      if (dueIds.length !== DUE) throw new Error(`expected ${DUE} rows falling due, found ${dueIds.length}`);
      const fired = async () =>
        (
          await pool.query<{ id: string; lateness_ms: number }>(
            `select d.id, extract(epoch from (e.at - d.due_at)) * 1000 as lateness_ms
             from deadline d join ledger_event e on e.clue_id = d.clue_id and e.type = 'deadline.missed' and e.data->>'deadlineId' = d.id::text
             where d.id = any($1::uuid[])`,
            [dueIds],
          )
        ).rows;
      let firedRows = await fired();
      const waitUntil = dueFrom + 20_000 + 30_000;
      while (firedRows.length < DUE && Date.now() < waitUntil) {
        signal.throwIfAborted();
        await sleep(1000);
        firedRows = await fired();
      }
      const lateness = firedRows.map((r) => Number(r.lateness_ms));
      // What became of any that did not fire: the row, and its job in Redis.
      const firedIds = new Set(firedRows.map((r) => r.id));
      const unfiredRows = (
        await pool.query<{ id: string; fire_seq: number; next_fire_at: Date; due_at: Date; scheduled_job: string | null; sync_needed: boolean; state: string }>(
          'select id, fire_seq, next_fire_at, due_at, scheduled_job, sync_needed, state from deadline where id = any($1::uuid[])',
          [dueIds.filter((id) => !firedIds.has(id))],
        )
      ).rows;
      const deadlinesQueue = deps.queues.get('deadlines');
      const unfired = await Promise.all(
        unfiredRows.slice(0, 20).map(async (r) => {
          const jobId = jobIdFor({ id: r.id, fireSeq: r.fire_seq, nextFireAt: r.next_fire_at });
          const job = await deadlinesQueue.getJob(jobId);
          return { ...r, jobId, jobState: job ? await job.getState() : null, job: job ? { timestamp: job.timestamp, delay: job.delay, processedOn: job.processedOn, finishedOn: job.finishedOn, failedReason: job.failedReason, returnvalue: job.returnvalue } : null };
        }),
      );
      progress(`${lateness.length} fired`);
      const redisAfterFiring = await redis();
      const sorted = Float64Array.from(lateness).sort();
      const round = (x: number) => Math.round(x * 10) / 10;
      const late = { fired: sorted.length, p50: round(percentile(sorted, 50)), p90: round(percentile(sorted, 90)), p99: round(percentile(sorted, 99)), max: round(sorted.at(-1) ?? Number.NaN), min: round(sorted[0] ?? Number.NaN) };

      const dl = (r: Summary) => r.deadlines;
      const sameJobs = dl(redisLarge).jobs === dl(redisSmall).jobs;
      const bytesRatio = dl(redisLarge).bytes / Math.max(1, dl(redisSmall).bytes);
      return {
        results: {},
        derived: {
          rows,
          inHorizon: horizonLarge,
          deadlineJobs: dl(redisLarge).jobs,
          deadlineRedisBytes: dl(redisLarge).bytes,
          reconcileAfterFlushMs: reconcileLarge.ms,
          latenessP99Ms: late.p99,
        },
        targets: [
          {
            name: `Redis independent of the total: ${TOTAL.toLocaleString('en')} rows hold what ${SMALL.toLocaleString('en')} do (±${SAME_REDIS_TOLERANCE * 100}%)`,
            ok: sameJobs && Math.abs(bytesRatio - 1) <= SAME_REDIS_TOLERANCE,
            detail:
              `deadline jobs ${dl(redisSmall).jobs} → ${dl(redisLarge).jobs}, deadlines queue ${kb(dl(redisSmall).bytes)} → ${kb(dl(redisLarge).bytes)} (×${bytesRatio.toFixed(3)}), ` +
              `all keys of the prefix ${redisSmall.keys} → ${redisLarge.keys} (${kb(redisSmall.bytes)} → ${kb(redisLarge.bytes)})`,
          },
          {
            name: 'Redis bounded by the horizon: one delayed job per row due within it',
            ok: dl(redisLarge).jobs === horizonLarge && dl(redisSmall).jobs === horizonSmall,
            detail: `${dl(redisLarge).jobs} jobs for ${horizonLarge} rows in the next ${HORIZON_HOURS} h of ${rows.toLocaleString('en')} (${(dl(redisLarge).bytes / Math.max(1, dl(redisLarge).jobs)).toFixed(0)} B a job, queue keys included)`,
          },
          {
            name: `reconcile after a Redis flush < ${MAX_RECONCILE_MS / 1000} s at ${TOTAL.toLocaleString('en')} rows`,
            ok: reconcileLarge.ms < MAX_RECONCILE_MS && reconcileLarge.readded === horizonLarge,
            detail: `${reconcileLarge.ms} ms, ${reconcileLarge.readded} jobs re-added of ${reconcileLarge.inHorizon} rows in the horizon (at ${SMALL.toLocaleString('en')}: ${reconcileSmall.ms} ms)`,
          },
          {
            name: `firing lateness p99 < ${MAX_LATENESS_P99_MS} ms (${DUE} steps due 10–30 s into the run)`,
            ok: late.fired === DUE && late.p99 < MAX_LATENESS_P99_MS,
            detail: `${late.fired}/${DUE} fired; lateness p50 ${late.p50} ms, p90 ${late.p90} ms, p99 ${late.p99} ms, max ${late.max} ms`,
          },
        ],
        notes: {
          insertMs: { small: insertSmallMs, large: insertLargeMs },
          deadlineTableMB: tableMB,
          reconcile: { fillSmall, afterFlushSmall: reconcileSmall, afterFlushLarge: reconcileLarge, steadyLarge: reconcileSteady },
          // Key kinds in detail only where they say something: after the flush at the total, and after firing.
          redis: {
            beforeReconcile: brief(redisBefore),
            filledSmall: brief(redisFilledSmall),
            afterFlushSmall: brief(redisSmall),
            afterFlushLarge: redisLarge,
            afterFiring: redisAfterFiring,
          },
          horizon: { small: horizonSmall, large: horizonLarge },
          lateness: late,
          unfiredCount: unfiredRows.length,
          unfired,
          workersStartMs,
          reconcileQueryPlan: plan.rows.map((r) => r['QUERY PLAN'].trim()).filter((l) => /^(->\s+)?(Index|Seq|Bitmap)|Execution Time/.test(l)),
        },
      };
    } finally {
      await stopWorkers?.().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await app?.close().catch(() => undefined);
      await db.drop();
    }
  },
};

type Summary = ReturnType<typeof summarizeKeys>;

/** Everything under the prefix, and the deadlines queue apart (its job hashes are the delayed steps). */
function summarizeKeys(s: KeyStats) {
  const deadlines = Object.entries(s.byType).filter(([k]) => k.startsWith('deadlines:'));
  return {
    keys: s.keys,
    bytes: s.bytes,
    usedMemory: s.usedMemory,
    deadlines: {
      jobs: s.byType['deadlines:job']?.keys ?? 0,
      keys: deadlines.reduce((a, [, v]) => a + v.keys, 0),
      bytes: deadlines.reduce((a, [, v]) => a + v.bytes, 0),
    },
    byType: s.byType,
  };
}

const brief = ({ byType: _, ...rest }: Summary) => rest;
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
