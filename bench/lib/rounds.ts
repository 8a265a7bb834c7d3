/**
 * Baseline and app, measured in alternating rounds. On this kind of machine one run of a phase can
 * differ from the next by a third (CPU steal, a PostgreSQL checkpoint or autovacuum falling into
 * one window), so a single pair of windows can flatter or wrong either side. Each phase starts
 * after a CHECKPOINT (both pay the full-page writes that follow one), the rounds alternate, and
 * the figures come from the round with the median ratio; every round is kept in the notes.
 */
import pg from 'pg';
import type { LoadResult } from './load.ts';
import { PG_ADMIN_URL } from './setup.ts';

export async function checkpoint(): Promise<void> {
  const c = new pg.Client({ connectionString: PG_ADMIN_URL });
  await c.connect();
  try {
    await c.query('checkpoint');
  } finally {
    await c.end();
  }
}

export interface Round<T> {
  baseline: LoadResult;
  app: LoadResult;
  ratio: number;
  extra: T;
}

/** Runs `rounds` × (baseline, app); `afterApp` is called after each app window (e.g. to drain the outbox). */
export async function alternate<T>(
  rounds: number,
  phases: { baseline: () => Promise<LoadResult>; app: () => Promise<LoadResult>; afterApp?: () => Promise<T> },
): Promise<{ median: Round<T>; all: Round<T>[] }> {
  const all: Round<T>[] = [];
  for (let i = 0; i < rounds; i++) {
    await checkpoint();
    const baseline = await phases.baseline();
    await checkpoint();
    const app = await phases.app();
    const extra = (await phases.afterApp?.()) as T;
    all.push({ baseline, app, ratio: baseline.requestsPerSecond > 0 ? app.requestsPerSecond / baseline.requestsPerSecond : 0, extra });
  }
  const sorted = [...all].sort((a, b) => a.ratio - b.ratio);
  return { median: sorted[Math.floor((sorted.length - 1) / 2)]!, all };
}

/** CPU per request, main thread + PostgreSQL (ms): steadier than throughput on a shared machine. */
function cpuPerRequest(r: LoadResult): string {
  return `${r.mainThreadCpuMsPerRequest} + ${r.postgresCpuMsPerRequest}`;
}

/** One line per round for the notes. */
export function roundSummary(r: Round<unknown>) {
  return {
    baseline: { rps: r.baseline.requestsPerSecond, p99: r.baseline.latencyMs.p99, cpuMs: cpuPerRequest(r.baseline) },
    app: { rps: r.app.requestsPerSecond, p99: r.app.latencyMs.p99, cpuMs: cpuPerRequest(r.app) },
    ratio: Math.round(r.ratio * 1000) / 1000,
  };
}
