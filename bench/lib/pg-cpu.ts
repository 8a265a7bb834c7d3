/**
 * CPU time used by the PostgreSQL backends serving one database, read from /proc (Linux, server on
 * this machine). With the app's own CPU per request, it shows where a request's cost goes.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { PG_ADMIN_URL } from './setup.ts';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** utime + stime of each backend of `database`, in milliseconds, by pid. */
export async function pgBackendCpu(database: string): Promise<Map<number, number>> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('select pid from pg_stat_activity where datname = $1', [database]);
    const out = new Map<number, number>();
    for (const { pid } of rows) {
      try {
        // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        out.set(pid, ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND);
      } catch {
        // the backend ended between the query and the read
      }
    }
    return out;
  } finally {
    await client.end();
  }
}

/** CPU milliseconds the backends present at both samples used between them. */
export function cpuBetween(before: Map<number, number>, after: Map<number, number>): number {
  let ms = 0;
  for (const [pid, t] of after) {
    const t0 = before.get(pid);
    ms += t0 === undefined ? t : t - t0;
  }
  return ms;
}
