/**
 * Streaming rows into PostgreSQL with COPY (pg-copy-streams): one COPY per table, each on its own
 * connection, all open at once while the generator runs, so the database ingests while Node
 * generates. Writes wait for the stream to drain, so memory stays bounded whatever the size.
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

/**
 * An open `COPY table (columns) FROM STDIN` on its own connection, in its own transaction. Lines are
 * buffered into ~256 KiB chunks (one write per chunk, not per row); `write` resolves at once unless
 * the stream is full, then when it has drained.
 */
export async function openCopy(url: string, table: string, columns: readonly string[], opts: { freeze?: boolean } = {}) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('begin');
  // FREEZE writes the rows already frozen and visible to all (no VACUUM pass over them later); it
  // needs the table emptied in this very transaction.
  // (The table's own triggers are off for the truncate: the ledger's refuses truncation, rightly.)
  if (opts.freeze) await client.query(`alter table ${table} disable trigger user; truncate ${table}; alter table ${table} enable trigger user`);
  const stream = client.query(copyFrom(`copy ${table} (${columns.join(', ')}) from stdin${opts.freeze ? ' with (freeze)' : ''}`));
  let failed: Error | null = null;
  stream.on('error', (err: Error) => (failed = err));
  let chunk = '';
  let rows = 0;
  const CHUNK = 256 * 1024;

  async function flush() {
    if (!chunk) return;
    const ok = stream.write(chunk);
    chunk = '';
    if (!ok) await Promise.race([once(stream, 'drain'), once(stream, 'error')]);
    if (failed) throw failed;
  }

  return {
    table,
    get rows() {
      return rows;
    },
    /** Queue one encoded line (see encodeRow). */
    async write(line: string) {
      chunk += line;
      rows++;
      if (chunk.length >= CHUNK) await flush();
    },
    async end() {
      try {
        await flush();
        stream.end();
        await Promise.race([once(stream, 'finish'), once(stream, 'error')]);
        if (failed) throw failed;
        await client.query('commit');
      } finally {
        await client.end();
      }
    },
    async abort() {
      stream.destroy();
      await client.end().catch(() => undefined);
    },
  };
}

export type CopyStream = Awaited<ReturnType<typeof openCopy>>;
