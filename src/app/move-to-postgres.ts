import { copyFileSync, cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Orm, sql } from './db.ts';

/**
 * Moves every row of the embedded database (PGlite) into an empty PostgreSQL database.
 *
 * - The schema is made by our own migrations on the target, not dumped: PGlite's PostgreSQL
 *   (18) is newer than many servers, and a dump of a newer major version need not load into an
 *   older one. Rows then go over as JSON (`json_agg` out, `json_populate_recordset` in), which
 *   every version since 9.4 reads the same way.
 * - One transaction on the target: the foreign keys are dropped, every table copied, the keys
 *   put back (so they are checked over all rows); on any error nothing is left half-copied.
 * - Ledger checkpoints seal ranges of transaction ids, and a new database counts its own from
 *   where it stands. Events and checkpoints keep their ids (the seals hash them), and if the
 *   target's counter is behind the last id copied, transaction ids are used up on the target
 *   until it is past: new events then get higher ids and the next checkpoint seals them.
 * - Not in the database: attachments and quarantined mail are files under DATA_DIR/attachments,
 *   and keys.json (development keys) seals reporters and keys secrets. Both stay in DATA_DIR, or
 *   are copied to `toDataDir`; without the keys no sealed reporter opens again.
 */
export interface MoveReport {
  tables: Record<string, number>;
  sourceVersion: string;
  targetVersion: string;
  /** Transaction ids used up on the target so that new events sort after the copied ones. */
  xidsAdvanced: number;
  attachments: { referenced: number; missing: number };
}

const BATCH = 2000;

export async function moveToPostgres(opts: { source: Orm; target: Orm; dataDir: string; toDataDir?: string; onProgress?: (line: string) => void }): Promise<MoveReport> {
  const src = opts.source.em.fork();
  const dst = opts.target.em.fork();
  const say = opts.onProgress ?? (() => {});
  // Rows the migrations themselves insert (a fresh chain head), by table: they do not make a target "not empty".
  const seededByMigrations: Record<string, string> = { audit_chain: 'head_seq = 0' };
  const version = async (em: typeof src) => (await sql<{ v: string }>(em, "select current_setting('server_version') as v"))[0]!.v;
  const [sourceVersion, targetVersion] = [await version(src), await version(dst)];
  const [num] = await sql<{ n: number }>(dst, "select current_setting('server_version_num')::int as n");
  if (num!.n < 130000) throw new Error(`PostgreSQL ${targetVersion} is too old: 13 or newer is needed (xid8, pg_current_xact_id)`);

  const tables = (
    await sql<{ t: string }>(dst, "select table_name as t from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' and table_name <> 'mikro_orm_migrations' order by 1")
  )
    .map((r) => r.t)
    // The self-inspection roll-up's watermark is a transaction id of the source: not copied, so the
    // target's first table read drops the copied days and fills them again (statistics/rollup.ts).
    .filter((t) => t !== 'annex_rollup');
  for (const t of tables) {
    const [row] = await sql<{ any: boolean }>(dst, `select exists (select 1 from "${t}" ${seededByMigrations[t] ? `where not (${seededByMigrations[t]})` : ''}) as any`);
    if (row!.any) throw new Error(`the target database is not empty (table ${t} has rows): move into a new, empty database`);
  }

  const report: MoveReport = { tables: {}, sourceVersion, targetVersion, xidsAdvanced: 0, attachments: { referenced: 0, missing: 0 } };
  await dst.transactional(async (tx) => {
    const fks = await sql<{ t: string; name: string; def: string }>(
      tx,
      `select cl.relname as t, c.conname as name, pg_get_constraintdef(c.oid) as def from pg_constraint c
         join pg_class cl on cl.oid = c.conrelid join pg_namespace n on n.oid = cl.relnamespace
        where c.contype = 'f' and n.nspname = 'public'`,
    );
    for (const fk of fks) await sql(tx, `alter table "${fk.t}" drop constraint "${fk.name}"`);
    // What the migrations put in the new database is replaced by the source's own rows.
    for (const t of Object.keys(seededByMigrations)) await sql(tx, `delete from "${t}"`);
    for (const t of tables) {
      let copied = 0;
      for (;;) {
        // ctid order is stable here: nothing else writes to the source (its folder lock is ours).
        const [page] = await sql<{ rows: string; n: number }>(src, `select coalesce(json_agg(t), '[]')::text as rows, count(*)::int as n from (select * from "${t}" order by ctid limit ${BATCH} offset ${copied}) t`);
        if (!page || page.n === 0) break;
        await sql(tx, `insert into "${t}" select * from json_populate_recordset(null::"${t}", ?::json)`, [page.rows]);
        copied += page.n;
        if (page.n < BATCH) break;
      }
      report.tables[t] = copied;
      if (copied) say(`  ${t}: ${copied}`);
    }
    for (const fk of fks) await sql(tx, `alter table "${fk.t}" add constraint "${fk.name}" ${fk.def}`);
    // Serial ids go on from the highest copied one.
    const serials = await sql<{ t: string; c: string; s: string }>(
      tx,
      `select table_name as t, column_name as c, pg_get_serial_sequence(format('%I', table_name), column_name) as s from information_schema.columns
        where table_schema = 'public' and column_default like 'nextval(%' and table_name <> 'mikro_orm_migrations'`,
    );
    for (const { t, c, s } of serials) await sql(tx, `select setval(?, coalesce((select max("${c}") from "${t}"), 0) + 1, false)`, [s]);
  });

  // New events must get transaction ids above every copied one, or no checkpoint would seal them.
  const [last] = await sql<{ x: string | null }>(src, 'select greatest((select max(txid) from ledger_event), (select max(to_xid) from ledger_checkpoint))::text as x');
  const [now] = await sql<{ x: string }>(dst, 'select pg_current_xact_id()::text as x');
  const gap = last?.x ? Number(BigInt(last.x) - BigInt(now!.x)) + 1 : 0;
  if (gap > 0) {
    say(`  advancing the target's transaction ids by ${gap} (past the copied ledger's)`);
    // One committed transaction per id, in the server (a DO block may COMMIT): a few seconds per 100 000.
    await sql(dst, `do $$ begin for i in 1..${gap} loop perform pg_current_xact_id(); commit; end loop; end $$`);
    report.xidsAdvanced = gap;
  }

  const to = opts.toDataDir;
  if (to && to !== opts.dataDir) {
    mkdirSync(to, { recursive: true });
    if (existsSync(join(opts.dataDir, 'attachments'))) cpSync(join(opts.dataDir, 'attachments'), join(to, 'attachments'), { recursive: true, force: false, errorOnExist: false });
    if (existsSync(join(opts.dataDir, 'keys.json'))) copyFileSync(join(opts.dataDir, 'keys.json'), join(to, 'keys.json'));
  }
  const files = await sql<{ k: string }>(dst, 'select storage_key as k from attachment union select storage_key from quarantined_mail');
  report.attachments.referenced = files.length;
  report.attachments.missing = files.filter((f) => !existsSync(join(to ?? opts.dataDir, 'attachments', f.k))).length;
  return report;
}
