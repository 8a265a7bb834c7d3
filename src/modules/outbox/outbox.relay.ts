import type { Orm } from '../../app/db.ts';
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
 * Moves committed outbox rows to BullMQ and deletes them. Rows are added with their deterministic `jobId`, which
 * BullMQ treats as a no-op if the job already exists, so several relays (one per replica) and a
 * crash between "added" and "deleted" never produce a second job. While Redis is down rows stay
 * pending and the next pass (poll or kick) picks them up.
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
      const rows = await sql<PendingRow>(
        em,
        'select id, queue, job_name, job_id, payload, delay_ms from outbox_message order by id limit ?',
        [batch],
      );
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
        // Deleted, not marked: cheaper for the database, and a crash before this line only means
        // the next pass adds the same job ids again, which BullMQ ignores.
        await sql(em, 'delete from outbox_message where id in (?)', [done]);
        moved += done.length;
      }
      if (failure) {
        await sql(em, 'update outbox_message set attempts = attempts + 1, last_error = ? where id = ?', [
          failure.error.message.slice(0, 500),
          failure.row.id,
        ]);
        this.#logger.warn({ pending: rows.length - done.length, err: failure.error.message }, 'outbox relay: Redis unavailable, will retry');
        return moved;
      }
      if (rows.length < batch) return moved;
    }
  }
}
