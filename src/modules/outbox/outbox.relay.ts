import type { Orm } from '../../app/db.ts';
import { sql } from '../../app/db.ts';
import type { Logger } from '../../app/logger.ts';
import type { Queues } from '../../../queues/connection.ts';
import type { QueueName } from '../../../queues/names.ts';

interface PendingRow {
  id: string | number;
  queue: string;
  job_name: string;
  job_id: string;
  payload: Record<string, unknown>;
  delay_ms: number;
}

/**
 * Moves committed outbox rows to BullMQ. Rows are added with their deterministic `jobId`, which
 * BullMQ treats as a no-op if the job already exists, so several relays (one per replica) and a
 * crash between "added" and "marked" never produce a second job. While Redis is down rows stay
 * pending and the next pass (poll or kick) picks them up.
 */
export class OutboxRelay {
  #running: Promise<number> | null = null;
  #again = false;
  #timer: NodeJS.Timeout | null = null;
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
    this.#timer = null;
    await this.#running?.catch(() => 0);
  }

  /** Ask for a pass soon; passes never overlap in one process. */
  kick(): void {
    if (this.#running) {
      this.#again = true;
      return;
    }
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
        'select id, queue, job_name, job_id, payload, delay_ms from outbox_message where dispatched_at is null order by id limit ?',
        [batch],
      );
      if (rows.length === 0) return moved;
      const done: (string | number)[] = [];
      let failure: Error | null = null;
      for (const row of rows) {
        try {
          await this.#queues
            .get(row.queue as QueueName)
            .add(row.job_name, row.payload, { jobId: row.job_id, delay: row.delay_ms || undefined });
          done.push(row.id);
        } catch (err) {
          failure = err as Error;
          break;
        }
      }
      if (done.length > 0) {
        await sql(em, 'update outbox_message set dispatched_at = now() where id in (?)', [done]);
        moved += done.length;
      }
      if (failure) {
        const failed = rows[done.length]!;
        await sql(em, 'update outbox_message set attempts = attempts + 1, last_error = ? where id = ?', [
          failure.message.slice(0, 500),
          failed.id,
        ]);
        this.#logger.warn({ pending: rows.length - done.length, err: failure.message }, 'outbox relay: Redis unavailable, will retry');
        return moved;
      }
      if (rows.length < batch) return moved;
    }
  }
}
