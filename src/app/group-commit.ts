/**
 * Group commit: concurrent callers' writes are sent to the database together, as one statement,
 * instead of one round trip, one parse and one commit each.
 *
 * Batches form by themselves: while `maxInFlight` batches are being written, new items wait, and
 * everything that waited goes out in the next batch (up to `maxBatch`). An item alone on an idle
 * system is sent at once, so batching adds no delay; under load a batch costs about what one item
 * did. `submit` resolves only after the item's batch has committed.
 *
 * A batch is all or nothing (one statement). If it fails, each of its items is retried alone, so
 * every caller gets its own outcome: one bad item (an unknown unit, a duplicate key) never fails
 * the others; it only delays them by that retry.
 */
export interface GroupCommitOptions<T> {
  /** Writes the items atomically (one statement or one transaction). */
  write: (items: T[]) => Promise<void>;
  maxBatch: number;
  maxInFlight: number;
}

interface Waiting<T> {
  item: T;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export interface GroupCommit<T> {
  submit(item: T): Promise<void>;
  /** Counters since start, for logs and benchmarks. */
  stats(): { batches: number; items: number; largestBatch: number; retriedAlone: number; writeMs: number };
}

export function createGroupCommit<T>(opts: GroupCommitOptions<T>): GroupCommit<T> {
  const queue: Waiting<T>[] = [];
  let inFlight = 0;
  const counters = { batches: 0, items: 0, largestBatch: 0, retriedAlone: 0, writeMs: 0 };

  async function writeBatch(batch: Waiting<T>[]): Promise<void> {
    counters.batches++;
    counters.items += batch.length;
    counters.largestBatch = Math.max(counters.largestBatch, batch.length);
    const started = performance.now();
    try {
      await opts.write(batch.map((w) => w.item));
      counters.writeMs += performance.now() - started;
      for (const w of batch) w.resolve();
      return;
    } catch (err) {
      counters.writeMs += performance.now() - started;
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
    }
    // One after the other, within this batch's place in flight: a failing group never takes more
    // connections than it had.
    counters.retriedAlone += batch.length;
    for (const w of batch) {
      await opts.write([w.item]).then(
        () => w.resolve(),
        (err: unknown) => w.reject(err),
      );
    }
  }

  function pump(): void {
    while (inFlight < opts.maxInFlight && queue.length > 0) {
      const batch = queue.splice(0, opts.maxBatch);
      inFlight++;
      void writeBatch(batch).finally(() => {
        inFlight--;
        pump();
      });
    }
  }

  return {
    submit(item: T): Promise<void> {
      return new Promise<void>((resolve, reject) => {
        queue.push({ item, resolve, reject });
        pump();
      });
    },
    stats: () => ({ ...counters }),
  };
}
