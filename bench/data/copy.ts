/**
 * Streaming rows into PostgreSQL with COPY (pg-copy-streams): one connection and one transaction per
 * table, all open at once while the generator runs, so the database ingests while Node generates.
 * Writes wait for the stream to drain, so memory stays bounded whatever the size.
 *
 * A table's rows go in as a series of `COPY … FROM STDIN` statements in that one transaction: a COPY
 * is ended once its table has had nothing to send for a second, and the next chunk opens another.
 * A backend inside COPY FROM STDIN that waits for data does not absorb a ProcSignalBarrier, and
 * every DROP DATABASE of the cluster waits for all backends to absorb one (PostgreSQL 15+): one COPY
 * per table kept open for the whole build — the unit or staff tables, written in the first second
 * and then idle for an hour at 10⁶ — held every DROP DATABASE of the cluster for that hour. Between
 * statements the backend is idle in its transaction and absorbs it at once. The one transaction
 * keeps what it gives: `FREEZE` (the table was emptied in it) and, at `wal_level = minimal`, no WAL.
 */
import { once } from 'node:events';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

/** A value as a table spec gives it; encoded for COPY's text format below. */
export type CopyValue = string | number | boolean | Date | Buffer | readonly string[] | null | undefined;

// COPY text format (https://www.postgresql.org/docs/current/sql-copy.html, "Text Format"): tab
// between columns, \N for NULL, and backslash, newline, carriage return and tab escaped. No library
// encodes this format for pg-copy-streams; it is these few lines.
const special = /[\\\n\r\t]/;
const specials = /[\\\n\r\t]/g;
const escapes: Record<string, string> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };
const escapeText = (s: string) => (special.test(s) ? s.replace(specials, (c) => escapes[c]!) : s);

export function encodeValue(v: CopyValue): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'string') return escapeText(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '\\N';
  if (typeof v === 'boolean') return v ? 't' : 'f';
  if (v instanceof Date) return v.toISOString();
  // bytea in hex form; its leading backslash doubled for the text format.
  if (Buffer.isBuffer(v)) return `\\\\x${v.toString('hex')}`;
  // text[] of identifier-like values (category codes, flags): no quoting needed.
  return `{${(v as readonly string[]).join(',')}}`;
}

export function encodeRow(values: readonly CopyValue[]): string {
  let line = '';
  for (let i = 0; i < values.length; i++) line += (i ? '\t' : '') + encodeValue(values[i]);
  return `${line}\n`;
}

/** A table's COPY is ended when it has had nothing to send for this long (see the top). */
const IDLE_MS = 1000;

/**
 * An open load of `table (columns)` on its own connection, in its own transaction, as COPY
 * statements (see the top). Lines are buffered into ~256 KiB chunks (one write per chunk, not per
 * row); `write` resolves at once unless the stream is full, then when it has drained.
 */
export async function openCopy(url: string, table: string, columns: readonly string[], opts: { freeze?: boolean } = {}) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('begin');
  // FREEZE writes the rows already frozen and visible to all (no VACUUM pass over them later); it
  // needs the table emptied in this very transaction.
  // (The table's own triggers are off for the truncate: the ledger's refuses truncation, rightly.)
  if (opts.freeze) await client.query(`alter table ${table} disable trigger user; truncate ${table}; alter table ${table} enable trigger user`);
  const statement = `copy ${table} (${columns.join(', ')}) from stdin${opts.freeze ? ' with (freeze)' : ''}`;
  let stream: ReturnType<typeof copyFrom> | null = null;
  let failed: Error | null = null;
  let chunk = '';
  let rows = 0;
  let lastSent = 0;
  const CHUNK = 256 * 1024;

  // Sending a chunk and ending an idle COPY never overlap: each waits for the one before.
  let busy: Promise<void> = Promise.resolve();
  const serial = (fn: () => Promise<void>): Promise<void> => {
    const run = busy.then(fn);
    busy = run.catch(() => undefined);
    return run;
  };

  async function flush() {
    if (!chunk) return;
    if (!stream) {
      stream = client.query(copyFrom(statement));
      stream.on('error', (err: Error) => (failed ??= err));
    }
    const s = stream;
    const ok = s.write(chunk);
    chunk = '';
    lastSent = Date.now();
    if (!ok) await Promise.race([once(s, 'drain'), once(s, 'error')]);
    if (failed) throw failed;
  }

  async function endCopy() {
    if (!stream) return;
    const s = stream;
    stream = null;
    s.end();
    await Promise.race([once(s, 'finish'), once(s, 'error')]);
    if (failed) throw failed;
  }

  const idle = setInterval(() => {
    if (stream && Date.now() - lastSent >= IDLE_MS) serial(endCopy).catch((err: Error) => (failed ??= err));
  }, IDLE_MS);
  idle.unref();

  return {
    table,
    get rows() {
      return rows;
    },
    /** Queue one encoded line (see encodeRow). */
    async write(line: string) {
      chunk += line;
      rows++;
      if (chunk.length >= CHUNK) await serial(flush);
    },
    async end() {
      clearInterval(idle);
      try {
        await serial(async () => {
          await flush();
          await endCopy();
        });
        if (failed) throw failed;
        await client.query('commit');
      } finally {
        await client.end();
      }
    },
    async abort() {
      clearInterval(idle);
      stream?.destroy();
      await client.end().catch(() => undefined);
    },
  };
}

export type CopyStream = Awaited<ReturnType<typeof openCopy>>;
