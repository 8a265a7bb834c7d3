/** What benchmarks stand on: a throw-away database, servers on loopback ports, and the real app. */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve } from '@hono/node-server';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { Clock } from '../../src/app/clock.ts';
import { loadConfig } from '../../src/app/config.ts';
import { createDependencies } from '../../src/roots/dependencies.ts';
import { createLogger } from '../../src/app/logger.ts';
import { createServer } from '../../src/roots/server.ts';
import type { LoadResult } from './load.ts';

export const PG_ADMIN_URL = process.env.BENCH_PG_ADMIN_URL ?? process.env.TEST_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Run parameters, overridable from the environment. */
export interface BenchSettings {
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** Alternating baseline/app rounds where a benchmark compares the two (lib/rounds.ts). */
  rounds: number;
}

function positiveNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${JSON.stringify(raw)}`);
  return n;
}

export function settingsFromEnv(): BenchSettings {
  return {
    connections: Math.round(positiveNumber('BENCH_CONNECTIONS', 32)),
    warmupSeconds: positiveNumber('BENCH_WARMUP_SECONDS', 2),
    seconds: positiveNumber('BENCH_SECONDS', 10),
    rounds: Math.round(positiveNumber('BENCH_ROUNDS', 3)),
  };
}

export type BenchDatabase = Awaited<ReturnType<typeof createBenchDatabase>>;

/** A fresh PostgreSQL database for one run (as test/helpers.ts does for a test file); `drop()` removes it. */
export async function createBenchDatabase() {
  const name = `bench_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  return {
    name,
    url: PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      try {
        // `with (force)`: a pool that failed to close must not keep the database alive.
        await c.query(`drop database if exists ${name} with (force)`);
      } finally {
        await c.end();
      }
    },
  };
}

type Fetch = (req: Request) => Response | Promise<Response>;

/** Serves a fetch handler on an ephemeral loopback port; `close()` also drops kept-alive sockets. */
export async function listen(fetch: Fetch) {
  const server = serve({ fetch, port: 0, hostname: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
      }),
  };
}

/**
 * The real app, built like test/helpers.ts builds it, with production-sized pools and quiet logs.
 * `env` adds or overrides configuration keys (e.g. the citizen endpoints' rate limits, or a data
 * set's keys); the data folder, queue prefix and database always stay the run's own. `opts.clock`
 * pins the app's clock (a data set's anchor).
 */
export async function startFullApp(db: Pick<BenchDatabase, 'url'>, env: Record<string, string> = {}, opts: { clock?: Clock } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'dibao-bench-'));
  const queuePrefix = `bench-${randomUUID()}`;
  const cleanUp = async () => {
    await deleteRedisKeys(`{${queuePrefix}}:*`);
    rmSync(dataDir, { recursive: true, force: true });
  };
  let deps: Awaited<ReturnType<typeof createDependencies>> | undefined;
  try {
    const config = loadConfig({
      NODE_ENV: 'test',
      // The production default, and the same size as the baseline's pool, so the comparison is fair.
      DATABASE_POOL_MAX: '20',
      REDIS_URL,
      REPORTER_KEY: randomBytes(32).toString('base64'),
      SECRET_HMAC_KEY: randomBytes(32).toString('base64'),
      // Per-request info lines would measure the terminal, not the app.
      LOG_LEVEL: 'warn',
      ...env,
      // Always the run's own, whatever `env` says: they are what the cleanup removes.
      DATABASE_URL: db.url,
      QUEUE_PREFIX: queuePrefix,
      DATA_DIR: dataDir,
    });
    deps = await createDependencies(config, { logger: createLogger(config.LOG_LEVEL), clock: opts.clock });
    const server = await listen(createServer(deps).fetch);
    const started = deps;
    return {
      deps: started,
      url: server.url,
      /** The run's own DATA_DIR (a temporary folder, removed by `close`). */
      dataDir,
      async close() {
        try {
          await server.close();
          await started.close();
        } finally {
          await cleanUp();
        }
      },
    };
  } catch (err) {
    // Half-started: release what exists, then report the original failure.
    await deps?.close().catch(() => undefined);
    await cleanUp().catch(() => undefined);
    throw err;
  }
}

/** Removes the queues a run left behind (no worker drains them during a benchmark). */
async function deleteRedisKeys(pattern: string) {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      if (keys.length) await redis.unlink(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** A benchmark `bench/run.ts` can run: it gets the run's database and settings and measures. */
export interface Benchmark {
  name: string;
  description: string;
  /**
   * Works on the shared data set (bench/data) rather than the run's fresh database: runs only when
   * named (`npm run bench -- staff-reads`), since its first run builds the set.
   */
  scale?: boolean;
  /** `signal` aborts on Ctrl-C: pass it to `runLoad` and clean up in `finally`. */
  run(ctx: { db: BenchDatabase; settings: BenchSettings; signal: AbortSignal }): Promise<BenchOutcome>;
}

export interface BenchOutcome {
  /** One load result per measured endpoint, by label (e.g. `baseline`, `full`). */
  results: Record<string, LoadResult>;
  /** Derived figures, e.g. throughput ratios. */
  derived: Record<string, number>;
  targets: { name: string; ok: boolean; detail: string }[];
  /** Anything else worth keeping with the numbers. */
  notes?: Record<string, unknown>;
}
