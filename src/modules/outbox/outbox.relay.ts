import type { Em, Orm } from '../../app/db.ts';
import { sql } from '../../app/db.ts';
import type { Logger } from '../../app/logger.ts';
import type { Queues } from '../../../queues/connection.ts';
import type { QueueName } from '../../../queues/names.ts';

const KICK_DELAY_MS = 10;

interface PendingRow {
  id: string | number;
  queue: string;
  job_name: string;
  job_id: string;
  payload: Record<string, unknown>;
  delay_ms: number;
}

/**
 * Moves committed outbox rows to BullMQ and marks them dispatched. Rows are added with their
 * deterministic `jobId`, which BullMQ treats as a no-op if the job already exists, so several relays
 * (one per replica) and a crash between "added" and "marked" never produce a second job. While
 * Redis is down rows stay pending and the next pass (poll or kick) picks them up.
 *
 * A row is deleted only by the worker, once the job's effect is committed (`completeIntent`), so
 * Redis never holds the only copy of a job: `reconcile` re-adds the dispatched rows whose job Redis
 * no longer has (restarted empty, keys deleted). A job that failed for good marks its row
 * `failed_at` (`markFailed`); the reconciler leaves those alone.
 */
export class OutboxRelay {
  #running: Promise<number> | null = null;
  #again = false;
  #timer: NodeJS.Timeout | null = null;
  #soon: NodeJS.Timeout | null = null;
  readonly #orm: Orm;
  readonly #queues: Queues;
  readonly #logger: Logger;
  readonly #pollMs: number;

  constructor(orm: Orm, queues: Queues, logger: Logger, pollMs: number) {
    this.#orm = orm;
    this.#queues = queues;
    this.#logger = logger;
    this.#pollMs = pollMs;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => this.kick(), this.#pollMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    if (this.#soon) clearTimeout(this.#soon);
    this.#timer = null;
    this.#soon = null;
    await this.#running?.catch(() => 0);
  }

  /**
   * Ask for a pass soon. Kicks within a few milliseconds are coalesced into one pass, so under load
   * a pass moves many rows at the cost of one; passes never overlap in one process.
   */
  kick(): void {
    if (this.#running || this.#soon) {
      if (this.#running) this.#again = true;
      return;
    }
    this.#soon = setTimeout(() => {
      this.#soon = null;
      this.#run();
    }, KICK_DELAY_MS);
    this.#soon.unref();
  }

  #run(): void {
    this.#running = this.dispatchPending()
      .catch((err) => {
        this.#logger.warn({ err: (err as Error).message }, 'outbox relay pass failed');
        return 0;
      })
      .finally(() => {
        this.#running = null;
        if (this.#again) {
          this.#again = false;
          this.kick();
        }
      });
  }

  /** One pass: returns how many rows were handed to Redis. Stops at the first Redis failure. */
  async dispatchPending(batch = 500): Promise<number> {
    const em = this.#orm.em.fork();
    let moved = 0;
    for (;;) {
      // `outbox_pending` (migration outbox_pending_function): the rows not yet dispatched, in id
      // order, by a plain scan of the pending index, which skips the entries of rows marked since.
      const rows = await sql<PendingRow>(em, 'select id, queue, job_name, job_id, payload, delay_ms from outbox_pending(?)', [batch]);
      if (rows.length === 0) return moved;
      // One addBulk per queue: a pass costs a few round trips however many rows it moves.
      const done: (string | number)[] = [];
      let failure: { error: Error; row: PendingRow } | null = null;
      const byQueue = Map.groupBy(rows, (r) => r.queue);
      for (const [queue, group] of byQueue) {
        try {
          await this.#queues.get(queue as QueueName).addBulk(
            group.map((r) => ({ name: r.job_name, data: r.payload, opts: { jobId: r.job_id, delay: r.delay_ms || undefined } })),
          );
          done.push(...group.map((r) => r.id));
        } catch (err) {
          failure = { error: err as Error, row: group[0]! };
          break;
        }
      }
      if (done.length > 0) {
        // Marked, not deleted: the worker deletes the row with the job's effect. A crash before this
        // line only means the next pass adds the same job ids again, which BullMQ ignores.
        await sql(em, 'update outbox_message set dispatched_at = now() where id in (?)', [done]);
        moved += done.length;
      }
      if (failure) {
        // A code, not the client's message (which may name the host and its settings).
        await sql(em, 'update outbox_message set attempts = attempts + 1, last_error = ? where id = ?', ['redis unavailable', failure.row.id]);
        this.#logger.warn({ pending: rows.length - done.length, err: failure.error.message }, 'outbox relay: Redis unavailable, will retry');
        return moved;
      }
      if (rows.length < batch) return moved;
    }
  }

  /**
   * Puts back in Redis every dispatched, not failed, row whose job Redis no longer holds: after a
   * restart without persistence, a flush, or deleted keys. A job hash without its name (the keys
   * were deleted while its id waited in a list, and BullMQ touched it since) is removed first. Jobs
   * that still exist (waiting, delayed, active, completed) are left as they are. Returns how many
   * jobs were put back; throws while Redis is down.
   */
  async reconcile(batch = 500): Promise<number> {
    const em = this.#orm.em.fork();
    let restored = 0;
    let after = 0;
    for (;;) {
      const rows = await sql<PendingRow & { created_at: Date }>(
        em,
        `select id, queue, job_name, job_id, payload, delay_ms, created_at from outbox_message
         where dispatched_at is not null and failed_at is null and id > ? order by id limit ?`,
        [after, batch],
      );
      if (rows.length === 0) break;
      after = Number(rows.at(-1)!.id);
      for (const [queueName, group] of Map.groupBy(rows, (r) => r.queue)) {
        const queue = this.#queues.get(queueName as QueueName);
        const pipeline = this.#queues.connection.pipeline();
        for (const r of group) pipeline.hget(queue.toKey(r.job_id), 'name');
        const names = (await pipeline.exec()) ?? [];
        const missing = group.filter((_, i) => names[i]?.[1] == null);
        if (missing.length === 0) continue;
        const now = Date.now();
        for (const r of missing) {
          // A husk (hash without its job): remove it so the add below is not taken for a duplicate.
          await queue.remove(r.job_id).catch(() => 0);
        }
        await queue.addBulk(
          missing.map((r) => {
            const delay = Math.max(0, new Date(r.created_at).getTime() + (r.delay_ms || 0) - now);
            return { name: r.job_name, data: r.payload, opts: { jobId: r.job_id, delay: delay || undefined } };
          }),
        );
        restored += missing.length;
      }
      if (rows.length < batch) break;
    }
    if (restored > 0) this.#logger.warn({ restored }, 'outbox reconcile: jobs missing from Redis put back from their rows');
    return restored;
  }
}

/**
 * The job's effect is committed: its intent is done. Called inside the transaction that commits the
 * effect where the use case has one; the worker calls it again after the job (a no-op then).
 */
export async function completeIntent(em: Em, jobId: string): Promise<void> {
  await sql(em, 'delete from outbox_message where job_id = ?', [jobId]);
}

/** The job failed for good (its last attempt, or an unrecoverable error): the row stays, marked, with a code. */
export async function markIntentFailed(em: Em, jobId: string, reason: string): Promise<void> {
  await sql(em, 'update outbox_message set failed_at = now(), last_error = ? where job_id = ? and failed_at is null', [reason.slice(0, 200), jobId]);
}
