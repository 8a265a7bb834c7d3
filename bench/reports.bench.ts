/**
 * The bureau's reports on the shared data set (bench/data): the self-inspection table for the
 * district over the data set's last year, and the clue ledger export of every clue as CSV and as
 * XLSX, by a district supervisor, on the sizes of BENCH_DATA_CLUES (default 1e5,1e6).
 *
 * Targets (issue 18): the table < 1 s (median of BENCH_ROUNDS rounds, with the clue detail read in
 * the same rounds as the reference); CSV ≥ 20 000 rows/s and XLSX ≥ 5 000 rows/s; the process's
 * RSS < 300 MB throughout. The app runs as `serve` in a process of its own, so its RSS (VmRSS,
 * sampled every 50 ms from /proc) is the app's alone.
 */
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkpoint } from './lib/rounds.ts';
import { type Benchmark, PG_ADMIN_URL, REDIS_URL } from './lib/setup.ts';
import { cloneDataset, sizeLabel as label, sizesFromEnv } from './data/cache.ts';
import { ANCHOR, BENCH_PASSWORD } from './data/shape.ts';
import { datasetKeys } from './data/world.ts';
import pg from 'pg';

const SEED = 1;
const DAY = 86_400_000;
const TABLE_MAX_MS = 1000;
const CSV_MIN_ROWS_PER_S = 20_000;
const XLSX_MIN_ROWS_PER_S = 5_000;
const RSS_MAX_MB = 300;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;

async function timed(url: string, token: string): Promise<{ ms: number; status: number; bytes: number; lines: number }> {
  const t0 = performance.now();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  let bytes = 0;
  let lines = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    bytes += chunk.length;
    for (let i = 0; i < chunk.length; i++) if (chunk[i] === 0x0a) lines++;
  }
  return { ms: performance.now() - t0, status: res.status, bytes, lines };
}

const freePort = () =>
  new Promise<number>((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });

/** `serve` on the data set, as a process of its own. */
async function startServe(databaseUrl: string) {
  const [port, smtpPort] = [await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), 'dibao-bench-reports-'));
  // As `npm run serve` starts it: src/start.mjs, with the V8 flags it sets for the long-running roles.
  const child = spawn(process.execPath, ['src/start.mjs', 'serve'], {
    cwd: new URL('..', import.meta.url).pathname,
    env: {
      ...process.env,
      ...datasetKeys(SEED),
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl,
      DATABASE_POOL_MAX: '20',
      REDIS_URL,
      QUEUE_PREFIX: `bench-${randomBytes(6).toString('hex')}`,
      DATA_DIR: dataDir,
      PORT: String(port),
      HOST: '127.0.0.1',
      SMTP_PORT: String(smtpPort),
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`serve exited with ${child.exitCode}`);
    const up = await fetch(`${url}/healthz`).then(() => true, () => false);
    if (up) break;
    if (i > 600) throw new Error('serve did not start within 60 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    pid: child.pid!,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024;

/** The highest RSS of process `pid` seen while `work` runs, in MB. */
async function peakRss<T>(pid: number, work: () => Promise<T>): Promise<{ value: T; peakMb: number; beforeMb: number }> {
  const before = rssOf(pid);
  let peak = before;
  const timer = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 50);
  try {
    const value = await work();
    return { value, peakMb: Math.round(Math.max(peak, rssOf(pid)) / 2 ** 20), beforeMb: Math.round(before / 2 ** 20) };
  } finally {
    clearInterval(timer);
  }
}

async function query<T>(url: string, text: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(text)).rows as T[];
  } finally {
    await c.end();
  }
}

export const reportsBenchmark: Benchmark = {
  name: 'reports',
  description: 'the self-inspection table for a district-year and the clue ledger export (CSV, XLSX) on the 10⁵/10⁶-clue data set, clue detail as the reference',
  scale: true,
  async run({ settings, signal }) {
    const derived: Record<string, number> = {};
    const targets: { name: string; ok: boolean; detail: string }[] = [];
    const notes: Record<string, unknown> = {};
    for (const clues of sizesFromEnv()) {
      const name = `bench_${randomUUID().replace(/-/g, '').slice(0, 20)}`;
      const clone = await cloneDataset(PG_ADMIN_URL, name, { clues, seed: SEED });
      notes[`dataset ${label(clues)}`] = { template: clone.template, cloneSeconds: clone.cloneSeconds, built: clone.built ? { seconds: clone.built.seconds, bytes: clone.built.bytes } : 'cached' };
      const url = PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
      const app = await startServe(url);
      try {
        const login = await fetch(`${app.url}/api/v1/staff/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'district.supervisor.1', password: BENCH_PASSWORD }) });
        const { token } = (await login.json()) as { token: string };
        const [root] = await query<{ id: string }>(url, 'select id from unit where parent_id is null limit 1');
        const sample = await query<{ id: string }>(url, 'select id from clue order by received_at desc limit 20');
        const [{ n: total }] = (await query<{ n: number }>(url, 'select count(*)::int as n from clue')) as [{ n: number }];
        const day = (t: number) => new Date(t + 8 * 3600_000).toISOString().slice(0, 10);
        const from = day(ANCHOR.getTime() - 365 * DAY);
        const to = day(ANCHOR.getTime() - DAY);
        const tableUrl = `${app.url}/api/v1/staff/reports/self-inspection?unitId=${root!.id}&from=${from}&to=${to}`;
        const tableMs: number[] = [];
        const detailMs: number[] = [];
        for (let round = 0; round < settings.rounds; round++) {
          if (signal.aborted) throw signal.reason;
          await checkpoint();
          const t = await timed(tableUrl, token);
          if (t.status !== 200) throw new Error(`self-inspection table: ${t.status}`);
          tableMs.push(t.ms);
          const reads: number[] = [];
          for (const s of sample) reads.push((await timed(`${app.url}/api/v1/staff/clues/${s.id}`, token)).ms);
          detailMs.push(median(reads));
        }
        const tableMedian = Math.round(median(tableMs));
        const detailMedian = Math.round(median(detailMs) * 10) / 10;
        derived[`${label(clues)} table ms (median)`] = tableMedian;
        derived[`${label(clues)} detail ms (median, reference)`] = detailMedian;
        targets.push({ name: `${label(clues)} self-inspection table, district-year < ${TABLE_MAX_MS} ms`, ok: tableMedian < TABLE_MAX_MS, detail: `rounds ${tableMs.map(Math.round).join(' / ')} ms; detail ${detailMedian} ms` });

        for (const [format, minRate] of [
          ['csv', CSV_MIN_ROWS_PER_S],
          ['xlsx', XLSX_MIN_ROWS_PER_S],
        ] as const) {
          await checkpoint();
          const { value: r, peakMb, beforeMb } = await peakRss(app.pid, () => timed(`${app.url}/api/v1/staff/exports/clues?format=${format}`, token));
          if (r.status !== 200) throw new Error(`export ${format}: ${r.status}`);
          const rate = Math.round(total / (r.ms / 1000));
          derived[`${label(clues)} ${format} rows/s`] = rate;
          derived[`${label(clues)} ${format} peak RSS MB`] = peakMb;
          derived[`${label(clues)} ${format} RSS before MB`] = beforeMb;
          targets.push({ name: `${label(clues)} ${format} export ≥ ${minRate} rows/s, RSS < ${RSS_MAX_MB} MB`, ok: rate >= minRate && peakMb < RSS_MAX_MB, detail: `${total} rows in ${Math.round(r.ms)} ms, ${Math.round(r.bytes / 2 ** 20)} MiB, peak RSS ${peakMb} MB` });
        }
      } finally {
        await app.stop();
        const c = new pg.Client({ connectionString: PG_ADMIN_URL });
        await c.connect();
        await c.query(`drop database if exists ${name} with (force)`).finally(() => c.end());
      }
    }
    return { results: {}, derived, targets, notes };
  },
};
