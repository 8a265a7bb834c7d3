import type { Clock } from '../../app/clock.ts';
import { type Orm, sql } from '../../app/db.ts';
import type { Logger } from '../../app/logger.ts';
import type { Queues } from '../../../queues/connection.ts';
import { jobIdFor } from './deadlines.engine.ts';

interface Row {
  id: string;
  fire_seq: number;
  next_fire_at: Date | null;
  closed_at: Date | null;
  paused_at: Date | null;
  scheduled_job: string | null;
  sync_version: number;
}

/** The driver may hand timestamps back as text; the arithmetic below wants instants. */
function normalize<R extends Row>(rows: R[]): R[] {
  for (const r of rows) {
    if (r.next_fire_at && !(r.next_fire_at instanceof Date)) r.next_fire_at = new Date(r.next_fire_at);
  }
  return rows;
}

/**
 * Keeps BullMQ in line with the deadline rows (the rows are the truth). Only steps due within the
 * horizon are held in Redis as delayed jobs, so Redis memory follows the next few hours' work, not
 * the total. `sync` handles rows changed since (flagged `sync_needed`); `reconcile` re-adds every
 * job the horizon should hold, which after a Redis flush or restart puts each back exactly once
 * (deterministic job ids; a stale or repeated job is a no-op in `fireStep`).
 */
export function createDeadlineScheduler(deps: { orm: Orm; queues: Queues; clock: Clock; logger: Logger; horizonMs: number; syncMs: number }) {
  const { orm, queues, clock, logger } = deps;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;
  let again = false;

  const payload = (r: Pick<Row, 'id' | 'fire_seq' | 'next_fire_at'>) => ({
    name: 'deadline.fire',
    data: { deadlineId: r.id, seq: r.fire_seq, at: r.next_fire_at!.toISOString() },
    opts: { jobId: jobIdFor({ id: r.id, fireSeq: r.fire_seq, nextFireAt: r.next_fire_at }), delay: Math.max(0, r.next_fire_at!.getTime() - clock.now().getTime()) },
  });

  const inHorizon = (r: Row) => !r.closed_at && !r.paused_at && r.next_fire_at && r.next_fire_at.getTime() <= clock.now().getTime() + deps.horizonMs;

  /**
   * Records which job each row has in Redis, in one statement. A row changed since it was read
   * (its sync_version moved on) is left alone: the next pass sees the change.
   */
  async function setScheduledJobs(em: ReturnType<Orm['em']['fork']>, rows: { id: string; job: string | null; version: number }[], synced: boolean) {
    await sql(
      em,
      `update deadline d set scheduled_job = v.job${synced ? ', sync_needed = false' : ''}
       from jsonb_to_recordset(?::jsonb) as v(id uuid, job text, version int)
       where d.id = v.id and d.sync_version = v.version`,
      [JSON.stringify(rows)],
    );
  }

  /** One pass over changed rows. Returns how many were brought in line; stops at a Redis failure. */
  async function sync(batch = 500): Promise<number> {
    const em = orm.em.fork();
    let done = 0;
    for (;;) {
      const rows = normalize(
        await sql<Row>(
          em,
          `select id, fire_seq, next_fire_at, closed_at, paused_at, scheduled_job, sync_version from deadline where sync_needed order by id limit ?`,
          [batch],
        ),
      );
      if (rows.length === 0) return done;
      const queue = queues.get('deadlines');
      const adds = rows.filter(inHorizon).map(payload);
      const desired = new Map(adds.map((a) => [a.data.deadlineId, a.opts.jobId]));
      for (const r of rows) {
        if (r.scheduled_job && r.scheduled_job !== desired.get(r.id)) await queue.remove(r.scheduled_job).catch(() => 0);
      }
      if (adds.length) await queue.addBulk(adds);
      await setScheduledJobs(
        em,
        rows.map((r) => ({ id: r.id, job: desired.get(r.id) ?? null, version: r.sync_version })),
        true,
      );
      done += rows.length;
      if (rows.length < batch) return done;
    }
  }

  /** Every job the horizon should hold is (re-)added; returns how many rows were looked at. */
  async function reconcile(pageSize = 2000): Promise<{ inHorizon: number; readded: number }> {
    const em = orm.em.fork();
    const queue = queues.get('deadlines');
    const until = new Date(clock.now().getTime() + deps.horizonMs);
    const overdueBefore = clock.now().getTime() - 60_000;
    // The keyset cursor keeps PostgreSQL's own text of the last timestamp: a JavaScript Date would
    // cut microseconds off a row not written by the app, and that row would come back for ever.
    let afterAt = '-infinity';
    let afterId = '00000000-0000-0000-0000-000000000000';
    let seen = 0;
    let readded = 0;
    for (;;) {
      const rows = normalize(
        await sql<Row & { cursor_at: string }>(
          em,
          `select id, fire_seq, next_fire_at, next_fire_at::text as cursor_at, closed_at, paused_at, scheduled_job, sync_version from deadline
           where closed_at is null and paused_at is null and next_fire_at <= ? and (next_fire_at, id) > (?::timestamptz, ?)
           order by next_fire_at, id limit ?`,
          [until, afterAt, afterId, pageSize],
        ),
      );
      if (rows.length === 0) break;
      afterAt = rows.at(-1)!.cursor_at;
      afterId = rows.at(-1)!.id;
      seen += rows.length;
      const jobs = rows.map(payload);
      // A step long overdue whose job finished or failed without the row moving on is re-run.
      for (const j of jobs) {
        if (new Date(j.data.at).getTime() < overdueBefore) {
          const state = await queue.getJobState(j.opts.jobId);
          if (state === 'completed' || state === 'failed') await queue.remove(j.opts.jobId);
        }
      }
      const before = await queue.getJobCounts('delayed', 'wait', 'waiting', 'prioritized');
      await queue.addBulk(jobs);
      const afterCounts = await queue.getJobCounts('delayed', 'wait', 'waiting', 'prioritized');
      readded += Object.values(afterCounts).reduce((a, b) => a + b, 0) - Object.values(before).reduce((a, b) => a + b, 0);
      const stale = rows.flatMap((r, i) => (r.scheduled_job !== jobs[i]!.opts.jobId ? [{ id: r.id, job: jobs[i]!.opts.jobId, version: r.sync_version }] : []));
      if (stale.length) await setScheduledJobs(em, stale, false);
    }
    if (readded > 0) logger.warn({ readded, inHorizon: seen }, 'deadline reconcile re-added missing jobs');
    return { inHorizon: seen, readded: Math.max(0, readded) };
  }

  function kick(): void {
    if (running) {
      again = true;
      return;
    }
    running = sync()
      .catch((err) => logger.warn({ err: (err as Error).message }, 'deadline sync failed; will retry'))
      .finally(() => {
        running = null;
        if (again) {
          again = false;
          kick();
        }
      });
  }

  return {
    sync,
    reconcile,
    kick,
    start() {
      timer ??= setInterval(kick, deps.syncMs);
      timer.unref();
    },
    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}

export type DeadlineScheduler = ReturnType<typeof createDeadlineScheduler>;
