/**
 * Load-generator loop, run in a worker thread by `runLoad` (load.ts). It lives on its own thread
 * so that generating requests does not steal the event loop of the server being measured, which
 * runs on the main thread of the same process.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import type { LoadSpec, WorkerReport } from './load.ts';

const spec = workerData as LoadSpec;
const url = new URL(spec.url);
const body = Buffer.from(spec.body ?? '');
const headers = { ...spec.headers, 'content-length': String(body.length) };

// With a unique slot, each request is sent as prefix + fresh token + suffix: the shared parts are
// never copied or mutated while another request may still be writing them.
const slot = spec.uniqueSlot;
const prefix = slot ? body.subarray(0, slot.offset) : body;
const suffix = slot ? body.subarray(slot.offset + slot.length) : Buffer.alloc(0);
const tokenDigits = slot ? (slot.length / 4) * 3 : 0;
// Up to 8 random digits tell this worker's tokens from another's (the counter keeps at least 8).
const workerTag = randomBytes(4).toString('hex').slice(0, Math.max(0, tokenDigits - 8));
let sent = 0;
function uniqueToken(): Buffer {
  const digits = workerTag + (sent++).toString(16).padStart(tokenDigits - workerTag.length, '0');
  return Buffer.from(Buffer.from(digits, 'latin1').toString('base64'), 'latin1');
}

/** `LoadSpec.requestBuilder`: a per-request body (and extra headers, and path) from a counter. */
type BuiltRequest = { body: string | Buffer; headers?: Record<string, string>; path?: string };
const build: ((n: number) => BuiltRequest) | null = spec.requestBuilder
  ? ((await import(spec.requestBuilder.module)) as { createRequestBuilder(data: unknown): (n: number) => BuiltRequest }).createRequestBuilder(spec.requestBuilder.data)
  : null;
let built = 0;

// One keep-alive socket per simulated connection: each loop below has at most one request in
// flight, so `connections` loops never need more than `connections` sockets, and reuse them.
const agent = new http.Agent({ keepAlive: true, maxSockets: spec.connections, maxFreeSockets: spec.connections });
const sockets = new Set<unknown>();

function request(): Promise<number> {
  const one = build?.(built++);
  const oneBody = one && Buffer.from(one.body);
  const oneHeaders = one ? { ...spec.headers, ...one.headers, 'content-length': String(oneBody!.length) } : headers;
  return new Promise((resolve, reject) => {
    const req = http.request(
      { agent, host: url.hostname, port: url.port, path: one?.path ?? url.pathname + url.search, method: spec.method, headers: oneHeaders, timeout: spec.timeoutMs },
      (res) => {
        res.on('error', reject);
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.resume(); // The body is not needed; draining it lets the socket be reused.
      },
    );
    req.on('socket', (s) => sockets.add(s));
    req.on('timeout', () => req.destroy(new Error(`no response within ${spec.timeoutMs} ms`)));
    req.on('error', reject);
    if (oneBody) {
      req.end(oneBody);
    } else if (slot) {
      req.write(prefix);
      req.write(uniqueToken());
      req.end(suffix);
    } else {
      req.end(body);
    }
  });
}

const started = performance.now();
const windowStart = started + spec.warmupSeconds * 1000;
const windowEnd = windowStart + spec.seconds * 1000;

let latencies = new Float64Array(1 << 16);
let count = 0;
const report: Omit<WorkerReport, 'latencies'> = { errors: 0, warmupErrors: 0, errorKinds: {}, sockets: 0, windowMs: spec.seconds * 1000 };

function record(start: number, end: number, error: string | null) {
  // Only requests that complete inside the measured window count; warm-up lets the JIT,
  // the connection pools and PostgreSQL's caches settle first.
  const inWindow = end >= windowStart && end <= windowEnd;
  if (error !== null) {
    if (inWindow) report.errors++;
    else if (end < windowStart) report.warmupErrors++;
    report.errorKinds[error] = (report.errorKinds[error] ?? 0) + 1;
    return;
  }
  if (!inWindow) return;
  if (count === latencies.length) {
    const bigger = new Float64Array(latencies.length * 2);
    bigger.set(latencies);
    latencies = bigger;
  }
  latencies[count++] = end - start;
}

async function connectionLoop() {
  // Bounded: no new request starts after the window closes.
  while (performance.now() < windowEnd) {
    const start = performance.now();
    let error: string | null = null;
    try {
      const status = await request();
      if (status !== spec.expectStatus) error = `HTTP ${status}`;
    } catch (err) {
      error = (err as Error).message;
    }
    record(start, performance.now(), error);
  }
}

// The main thread samples its own CPU time at these marks (LoadResult.mainThreadCpuMsPerRequest).
setTimeout(() => parentPort!.postMessage({ mark: 'window-start' }), Math.max(0, windowStart - performance.now()));
setTimeout(() => parentPort!.postMessage({ mark: 'window-end' }), Math.max(0, windowEnd - performance.now()));

await Promise.all(Array.from({ length: spec.connections }, connectionLoop));
agent.destroy();
report.sockets = sockets.size;
const result = latencies.slice(0, count);
parentPort!.postMessage({ ...report, latencies: result } satisfies WorkerReport, [result.buffer]);
