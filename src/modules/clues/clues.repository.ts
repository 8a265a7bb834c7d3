/**
 * The clue module's SQL outside registration (registration.repository.ts): the staff listing
 * (filters and keyset paging over the visibility rule), the conclusion figures, the intake-key and
 * tracking-code lookups, and the accused links' rows. Every function runs on the `em` it is given.
 */
import { type Em, sql } from '../../app/db.ts';
import type { Category, Channel, ClueOutcomeFigures } from './clue.entity.ts';
import type { ClueAction, ClueStatus } from './status-machine.ts';

export interface ClueListFilter {
  status?: ClueStatus;
  /** Any of these statuses (the console's default: the clues still being handled). */
  statuses?: readonly ClueStatus[];
  /** Only these clues (the console's due-first panel, from the deadline list). */
  ids?: readonly string[];
  channel?: Channel;
  category?: Category;
  /** Clues of this unit's subtree. */
  unitId?: string;
  receivedFrom?: Date;
  receivedTo?: Date;
  /** Keyset: clues strictly older than this (received_at desc, id desc). */
  cursor?: { receivedAt: Date; id: string };
}

/** The filter as SQL on alias `c` behind `visible` (a condition from the visibility module); the list and its count share it. */
async function filterWhere(em: Em, visible: { where: string; params: unknown[] }, filter: ClueListFilter) {
  const where = [visible.where];
  const params: unknown[] = [...visible.params];
  const add = (cond: string, ...values: unknown[]) => {
    where.push(cond);
    params.push(...values);
  };
  if (filter.status) add('c.status = ?', filter.status);
  if (filter.statuses) add(filter.statuses.length ? 'c.status in (?)' : 'false', ...(filter.statuses.length ? [filter.statuses] : []));
  if (filter.ids) add(filter.ids.length ? 'c.id in (?)' : 'false', ...(filter.ids.length ? [filter.ids] : []));
  if (filter.channel) add('c.channel = ?', filter.channel);
  if (filter.category) add('? = any(c.categories)', filter.category);
  if (filter.unitId) {
    // The subtree's unit ids as constants: with them PostgreSQL estimates how many clues the filter
    // keeps and reads the list in its order; with the subquery it fetched and sorted every clue of
    // the subtree (bench/README "staff-reads").
    const units = await sql<{ id: string }>(em, 'select id from unit where path like (select path from unit where id = ?) || ?', [filter.unitId, '%']);
    if (units.length) add('c.unit_id in (?)', units.map((u) => u.id));
    else add('false');
  }
  if (filter.receivedFrom) add('c.received_at >= ?', filter.receivedFrom);
  if (filter.receivedTo) add('c.received_at < ?', filter.receivedTo);
  if (filter.cursor) add('(c.received_at, c.id) < (?, ?)', filter.cursor.receivedAt, filter.cursor.id);
  return { where: where.join(' and '), params };
}

/**
 * Ids of at most `limit` clues, newest first, that pass `visible` (a condition on alias `c`, from the
 * visibility module) and the filter.
 */
export async function listClueIds(em: Em, visible: { where: string; params: unknown[] }, filter: ClueListFilter, limit: number): Promise<string[]> {
  const { where, params } = await filterWhere(em, visible, filter);
  const rows = await sql<{ id: string }>(em, `select c.id from clue c where ${where} order by c.received_at desc, c.id desc limit ?`, [...params, limit]);
  return rows.map((r) => r.id);
}

/** How many clues pass, reading at most `cap` + 1 of them (an exact count of years of clues would read them all). */
export async function countClueRows(em: Em, visible: { where: string; params: unknown[] }, filter: ClueListFilter, cap: number): Promise<number> {
  const { where, params } = await filterWhere(em, visible, filter);
  const [row] = await sql<{ n: number }>(em, `select count(*)::int as n from (select 1 from clue c where ${where} limit ?) t`, [...params, cap + 1]);
  return row?.n ?? 0;
}

/**
 * `clue_conclusion` follows the ledger: a conclusion replaces the clue's row (a clue concluded,
 * reopened and concluded again counts once, at its latest conclusion); a review or re-review
 * removes it until the clue is concluded again.
 */
export async function keepConclusion(tx: Em, clueId: string, action: ClueAction, outcome: ClueOutcomeFigures | null, now: Date) {
  if (action === 'conclude') {
    await sql(
      tx,
      `insert into clue_conclusion (clue_id, concluded_at, outcome) values (?, ?, ?)
         on conflict (clue_id) do update set concluded_at = excluded.concluded_at, outcome = excluded.outcome`,
      [clueId, now, outcome ? JSON.stringify(outcome) : null],
    );
  } else if (action === 'review' || action === 're_review') {
    await sql(tx, 'delete from clue_conclusion where clue_id = ?', [clueId]);
  }
}

/** The clue an intake key (Message-ID, RecordingSid) was registered as, if any. */
export async function clueIdOfIntakeKey(em: Em, intakeKey: string): Promise<string | undefined> {
  const [first] = await sql<{ clue_id: string }>(em, 'select clue_id from intake_key where key = ?', [intakeKey]);
  return first?.clue_id;
}

/** The id and secret hash of the clue a (normalized) tracking code names: one small lookup, whatever the code. */
export async function secretOfTrackingCode(em: Em, trackingCode: string) {
  const [row] = await sql<{ id: string; tracking_code: string; secret_hash: string }>(em, 'select id, tracking_code, secret_hash from clue where tracking_code = ?', [trackingCode]);
  return row && { id: row.id, trackingCode: row.tracking_code, secretHash: row.secret_hash };
}

export async function resetFailedAttempts(em: Em, clueId: string) {
  await sql(em, 'update clue set failed_attempts = 0 where id = ?', [clueId]);
}

/** An accused person's links and exclusion rows, before the accused is removed. */
export async function deleteAccusedRows(tx: Em, accusedId: string) {
  await sql(tx, 'delete from accused_link where accused_id = ?', [accusedId]);
  await sql(tx, 'delete from clue_exclusion where accused_id = ?', [accusedId]);
}

export async function staffExists(tx: Em, staffId: string): Promise<boolean> {
  return (await sql(tx, 'select id from staff where id = ?', [staffId])).length > 0;
}

/** Removes the link between an accused and a staff account; its kind, or undefined when there was none. */
export async function deleteAccusedLink(tx: Em, accusedId: string, staffId: string): Promise<string | undefined> {
  const removed = await sql<{ kind: string }>(tx, 'delete from accused_link where accused_id = ? and staff_id = ? returning kind', [accusedId, staffId]);
  return removed[0]?.kind;
}
