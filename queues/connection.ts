import { type Job, type Processor, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { Logger } from '../src/app/logger.ts';
import { type QueueName, queueNames } from './names.ts';

export interface RedisSettings {
  url: string;
  /** Queue key prefix, hash-tagged so one queue's keys share a Redis Cluster slot. */
  prefix: string;
}

const keepJobs = {
  // Completed jobs stay long enough that a replayed outbox row with the same jobId is a no-op.
  removeOnComplete: { age: 7 * 24 * 3600 },
  removeOnFail: { age: 30 * 24 * 3600 },
  attempts: 8,
  backoff: { type: 'exponential' as const, delay: 1000 },
};

/** A producer connection fails fast while Redis is down (no offline queue), so callers never hang. */
export function createProducerConnection(url: string): Redis {
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}

export class Queues {
  readonly connection: Redis;
  readonly #queues = new Map<QueueName, Queue>();
  readonly #settings: RedisSettings;
  readonly #logger: Logger;

  constructor(settings: RedisSettings, logger: Logger) {
    this.#settings = settings;
    this.connection = createProducerConnection(settings.url);
    this.connection.on('error', (err) => logger.debug({ err: err.message }, 'redis producer connection error'));
    this.#logger = logger;
  }

  /**
   * Queues are created on first use while Redis is connected: a BullMQ Queue whose first
   * initialisation failed stays broken, so none is made while Redis is down.
   */
  get(name: QueueName): Queue {
    const existing = this.#queues.get(name);
    if (existing) return existing;
    if (!queueNames.includes(name)) throw new Error(`unknown queue ${name}`);
    if (this.connection.status !== 'ready') throw new Error(`Redis is not connected (${this.connection.status})`);
    const q = new Queue(name, {
      connection: this.connection,
      prefix: `{${this.#settings.prefix}}`,
      defaultJobOptions: keepJobs,
    });
    q.on('error', (err) => this.#logger.debug({ queue: name, err: err.message }, 'queue error'));
    this.#queues.set(name, q);
    return q;
  }

  get prefix(): string {
    return `{${this.#settings.prefix}}`;
  }

  /** Resolves true once the producer connection is up, false after `timeoutMs`. */
  async waitUntilReady(timeoutMs: number): Promise<boolean> {
    if (this.connection.status === 'ready') return true;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.connection.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.connection.on('ready', onReady);
    });
  }

  async ping(timeoutMs = 1000): Promise<boolean> {
    if (this.connection.status !== 'ready') return false;
    try {
      const answer = await Promise.race([
        this.connection.ping(),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs)),
      ]);
      return answer === 'PONG';
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.#queues.values()].map((q) => q.close()));
    this.connection.disconnect();
  }
}

/** Workers block on Redis, so their connection retries forever (`maxRetriesPerRequest: null`). */
export function createWorker(
  settings: RedisSettings,
  name: QueueName,
  processor: Processor,
  logger: Logger,
  concurrency = 4,
  lockMs = 30_000,
): Worker {
  const worker = new Worker(name, processor, {
    // Options, not an instance: the worker owns (and closes) its connections.
    connection: { url: settings.url, maxRetriesPerRequest: null, retryStrategy: (t: number) => Math.min(t * 500, 5000) },
    prefix: `{${settings.prefix}}`,
    concurrency,
    // A worker that died (SIGKILL, power) holds its jobs' locks until they expire: then another takes them up.
    lockDuration: lockMs,
    stalledInterval: lockMs,
    autorun: true,
  });
  worker.on('error', (err) => logger.warn({ queue: name, err: err.message }, 'worker error'));
  worker.on('failed', (job: Job | undefined, err: Error) =>
    logger.warn({ queue: name, job: job?.name, jobId: job?.id, attempt: job?.attemptsMade, err: err.message }, 'job failed'),
  );
  return worker;
}
