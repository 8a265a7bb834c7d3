import { Worker } from 'node:worker_threads';
import { cpuBetween, pgBackendCpu } from './pg-cpu.ts';

/** One closed-loop load run: `connections` clients, each sending its next request when the last one answers. */
export interface LoadSpec {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /**
   * Makes every request body distinct (so that, e.g., content-addressed uploads are really written
   * rather than found already stored): per request, the `length` bytes of `body` at byte `offset`
   * are replaced by the base64 of a fresh token of `length * 3 / 4` ASCII hex digits. Put the slot
   * inside a base64 string at a 4-character boundary and it decodes to those digits.
   */
  uniqueSlot?: { offset: number; length: number };
  /**
   * Builds every request's body (and extra headers, and optionally its path and query) from a
   * counter instead of sending `body`, for requests that must differ in ways a byte slot cannot
   * express (e.g. a fresh id covered by a signature header, or a different clue per read).
   * `module` is the file URL of a module exporting `createRequestBuilder(data) => (n) => { body,
   * headers?, path? }`; it runs in the worker thread, and `n` counts the run's requests from 0
   * (warm-up included).
   */
  requestBuilder?: { module: string; data?: unknown };
  /** Any other status counts as an error. */
  expectStatus: number;
  /** The PostgreSQL database the server uses: its backends' CPU in the window is reported too. */
  database?: string;
  connections: number;
  warmupSeconds: number;
  seconds: number;
  timeoutMs: number;
}

/** What the worker thread (load-worker.ts) sends back. */
export interface WorkerReport {
  /** Milliseconds, one per successful request completed in the measured window. */
  latencies: Float64Array;
  errors: number;
  warmupErrors: number;
  /** Every error seen (warm-up and window), by kind, e.g. `HTTP 500` or a socket error. */
  errorKinds: Record<string, number>;
  /** Distinct sockets used: should equal `connections` when keep-alive works. */
  sockets: number;
  windowMs: number;
}

export interface LoadResult {
  connections: number;
  seconds: number;
  /** Successful requests completed in the window; errors do not count, so fast failures cannot inflate it. */
  requests: number;
  requestsPerSecond: number;
  latencyMs: { mean: number; p50: number; p90: number; p95: number; p99: number; max: number };
  errors: number;
  warmupErrors: number;
  errorKinds: Record<string, number>;
  sockets: number;
  /**
   * CPU time of the process's main thread (where the measured server runs) in the window, per
   * successful request. Unlike throughput it hardly depends on what else the machine is doing.
   */
  mainThreadCpuMsPerRequest: number;
  /** CPU time of the PostgreSQL backends of `LoadSpec.database` in the window, per successful request. */
  postgresCpuMsPerRequest: number;
}

/** Nearest-rank percentile of an ascending-sorted sample (p in 0..100); NaN when empty. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(
  report: WorkerReport,
  spec: Pick<LoadSpec, 'connections' | 'seconds'>,
  cpu: { mainThreadMs: number; postgresMs: number } = { mainThreadMs: Number.NaN, postgresMs: Number.NaN },
): LoadResult {
  const sorted = Float64Array.from(report.latencies).sort();
  const round = (x: number) => Math.round(x * 100) / 100;
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    connections: spec.connections,
    seconds: spec.seconds,
    requests: sorted.length,
    requestsPerSecond: round(sorted.length / (report.windowMs / 1000)),
    latencyMs: {
      mean: round(sorted.length ? sum / sorted.length : Number.NaN),
      p50: round(percentile(sorted, 50)),
      p90: round(percentile(sorted, 90)),
      p95: round(percentile(sorted, 95)),
      p99: round(percentile(sorted, 99)),
      max: round(sorted.at(-1) ?? Number.NaN),
    },
    errors: report.errors,
    warmupErrors: report.warmupErrors,
    errorKinds: report.errorKinds,
    sockets: report.sockets,
    mainThreadCpuMsPerRequest: Math.round((1000 * cpu.mainThreadMs) / sorted.length) / 1000,
    postgresCpuMsPerRequest: Math.round((1000 * cpu.postgresMs) / sorted.length) / 1000,
  };
}

/**
 * Runs the load in a worker thread (so it does not share the server's event loop) and summarizes
 * it. Aborting `signal` (Ctrl-C) stops the worker at once, so callers unwind through their cleanup.
 */
export function runLoad(spec: LoadSpec, signal?: AbortSignal): Promise<LoadResult> {
  const host = new URL(spec.url).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) throw new Error(`refusing to load a non-loopback address: ${host}`);
  if (spec.uniqueSlot) {
    const { offset, length } = spec.uniqueSlot;
    const size = Buffer.byteLength(spec.body ?? '');
    if (length <= 0 || length % 4 !== 0 || offset < 0 || offset + length > size) {
      throw new Error(`uniqueSlot ${offset}+${length} must be a multiple of 4 bytes inside the ${size}-byte body`);
    }
  }
  if (spec.requestBuilder && spec.uniqueSlot) throw new Error('uniqueSlot and requestBuilder cannot be combined');
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./load-worker.ts', import.meta.url), { workerData: spec });
    const onAbort = () => void worker.terminate();
    signal?.addEventListener('abort', onAbort, { once: true });
    let report: WorkerReport | undefined;
    let cpuAtStart: NodeJS.CpuUsage | undefined;
    let mainThreadMs = Number.NaN;
    const pgSamples: Promise<Map<number, number>>[] = [];
    worker.on('message', (m: WorkerReport | { mark: 'window-start' | 'window-end' }) => {
      if ('mark' in m) {
        if (spec.database) pgSamples.push(pgBackendCpu(spec.database).catch(() => new Map()));
        if (m.mark === 'window-start') cpuAtStart = process.threadCpuUsage();
        else if (cpuAtStart) {
          const used = process.threadCpuUsage(cpuAtStart);
          mainThreadMs = (used.user + used.system) / 1000;
        }
        return;
      }
      report = m;
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(signal.reason);
      else if (report) {
        const done = report;
        void Promise.all(pgSamples).then(([before, after]) => {
          const postgresMs = before && after ? cpuBetween(before, after) : Number.NaN;
          resolve(summarize(done, spec, { mainThreadMs, postgresMs }));
        });
      }
      else reject(new Error(`load worker exited with code ${code} before reporting`));
    });
  });
}

export function formatResult(label: string, r: LoadResult): string {
  const kinds = Object.entries(r.errorKinds)
    .map(([k, n]) => `${k} ×${n}`)
    .join(', ');
  return (
    `${label.padEnd(10)} ${r.requestsPerSecond.toFixed(1).padStart(8)} req/s   ` +
    `p50 ${r.latencyMs.p50.toFixed(2).padStart(7)} ms   p95 ${r.latencyMs.p95.toFixed(2).padStart(7)} ms   p99 ${r.latencyMs.p99.toFixed(2).padStart(7)} ms   ` +
    `errors ${r.errors}${kinds ? ` (${kinds})` : ''}   [${r.requests} ok in ${r.seconds} s, ${r.connections} conn, ${r.sockets} sockets; ` +
    `CPU/req: main thread ${r.mainThreadCpuMsPerRequest.toFixed(3)} ms, PostgreSQL ${r.postgresCpuMsPerRequest.toFixed(3)} ms]`
  );
}
