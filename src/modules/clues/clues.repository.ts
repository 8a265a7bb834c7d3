/**
 * The clue module's SQL outside registration (registration.repository.ts): the staff listing
 * (filters and keyset paging over the visibility rule), the conclusion figures, the intake-key and
 * tracking-code lookups, the accused links' rows, and the staff views' reads of a clue (its row, accused,
 * attachments, events: columns, not entities). Every function runs on the `em` it is given.
 */
import { type Em, sql } from '../../app/db.ts';
import type { Accused, AccusedRole, Attachment, Category, Channel, Clue, ClueOutcomeFigures } from './clue.entity.ts';
import type { LedgerEvent } from './ledger.entity.ts';
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
 * One statement for a list page: the ids of at most `walk` clues in the list's order (newest first)
 * that pass `visible` and the filter, and the summary columns of the first `limit` of them. The queue
 * walks past its page to count (up to the cap) or to see whether there is a next page; the columns
 * come from a lateral read by id that runs only for the page's rows. This was two statements, the
 * walk and the summaries by id (bench/README "console": planning and a round trip each).
 */
export async function listCluePage(
  em: Em,
  visible: { where: string; params: unknown[] },
  filter: ClueListFilter,
  walk: number,
  limit: number,
): Promise<{ ids: string[]; summaries: ClueSummary[] }> {
  const { where, params } = await filterWhere(em, visible, filter);
  const rows = await sql<SummaryRow & { walked: string; n: number | string }>(
    em,
    `select w.id as walked, w.n, s.* from (
       select c.id, row_number() over (order by c.received_at desc, c.id desc) as n
         from clue c where ${where} order by c.received_at desc, c.id desc limit ?
     ) w left join lateral (select ${SUMMARY_COLUMNS} from clue c where c.id = w.id and w.n <= ?) s on true
     order by w.n`,
    [...params, walk, limit],
  );
  return { ids: rows.map((r) => r.walked), summaries: rows.filter((r) => r.id).map(summaryOf) };
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

/**
 * An accused person's links and exclusion rows, before the accused is removed. The exclusion rows
 * are found by their clue (`clue_exclusion_clue_id_index`): the table has no index by accused, so
 * `accused_id` alone would scan all of it.
 */
export async function deleteAccusedRows(tx: Em, clueId: string, accusedId: string) {
  await sql(tx, 'delete from accused_link where accused_id = ?', [accusedId]);
  await sql(tx, 'delete from clue_exclusion where clue_id = ? and accused_id = ?', [clueId, accusedId]);
}

export async function staffExists(tx: Em, staffId: string): Promise<boolean> {
  return (await sql(tx, 'select id from staff where id = ?', [staffId])).length > 0;
}

/** Removes the link between an accused and a staff account; its kind, or undefined when there was none. */
export async function deleteAccusedLink(tx: Em, accusedId: string, staffId: string): Promise<string | undefined> {
  const removed = await sql<{ kind: string }>(tx, 'delete from accused_link where accused_id = ? and staff_id = ? returning kind', [accusedId, staffId]);
  return removed[0]?.kind;
}

// ---- staff reads (the clue view, the listing's summaries): the columns the views show, not entities ----
// Loading a clue, its accused, attachments and events as entities (hydration, identity map, change
// snapshots) was about a third of the console's main thread per request (issue 17); these reads
// take only what the views use, and map it to the entity's property names and JS types.

/** timestamptz comes back as text from both drivers (MikroORM's type parsers); the entity had a Date. */
const date = (v: Date | string) => (v instanceof Date ? v : new Date(v));

/** What `publicView` shows of a clue. */
export type ClueSummary = Pick<Clue, 'id' | 'trackingCode' | 'channel' | 'receivedAt' | 'categories' | 'unit' | 'status' | 'priority' | 'named' | 'finding' | 'mergedInto' | 'flags' | 'updatedAt'>;
/** What the staff clue view shows of a clue. */
export type ClueDetail = ClueSummary & Pick<Clue, 'narrative' | 'occurredWhen' | 'summary'>;

const SUMMARY_COLUMNS = 'c.id, c.tracking_code, c.channel, c.received_at, c.categories, c.unit_id, c.status, c.priority, c.named, c.finding, c.merged_into, c.flags, c.updated_at';

interface SummaryRow {
  id: string;
  tracking_code: string;
  channel: Channel;
  received_at: Date | string;
  categories: string[];
  unit_id: string | null;
  status: ClueStatus;
  priority: Clue['priority'];
  named: boolean;
  finding: string | null;
  merged_into: string | null;
  flags: string[];
  updated_at: Date | string;
}

const summaryOf = (r: SummaryRow): ClueSummary => ({
  id: r.id,
  trackingCode: r.tracking_code,
  channel: r.channel,
  receivedAt: date(r.received_at),
  categories: r.categories,
  unit: r.unit_id,
  status: r.status,
  priority: r.priority,
  named: r.named,
  finding: r.finding,
  mergedInto: r.merged_into,
  flags: r.flags,
  updatedAt: date(r.updated_at),
});

/** The clue `clueId` as the staff view shows it, if it passes `visible` (the visibility module's condition on alias `c`). */
export async function visibleClueDetail(em: Em, visible: { where: string; params: unknown[] }, clueId: string): Promise<ClueDetail | undefined> {
  const [row] = await sql<SummaryRow & { narrative: string; occurred_when: string | null; summary: string | null }>(
    em,
    `select ${SUMMARY_COLUMNS}, c.narrative, c.occurred_when, c.summary from clue c where c.id = ? and ${visible.where}`,
    [clueId, ...visible.params],
  );
  return row && { ...summaryOf(row), narrative: row.narrative, occurredWhen: row.occurred_when, summary: row.summary };
}

/** The summary of the clue `clueId`, if it passes `visible`. */
export async function visibleClueSummary(em: Em, visible: { where: string; params: unknown[] }, clueId: string): Promise<ClueSummary | undefined> {
  const [row] = await sql<SummaryRow>(em, `select ${SUMMARY_COLUMNS} from clue c where c.id = ? and ${visible.where}`, [clueId, ...visible.params]);
  return row && summaryOf(row);
}

/** The id of the clue with this (normalized) tracking code, if any. */
export async function clueIdOfTrackingCode(em: Em, trackingCode: string): Promise<string | undefined> {
  const [row] = await sql<{ id: string }>(em, 'select id from clue where tracking_code = ?', [trackingCode]);
  return row?.id;
}

/** A clue's accused as the views show them (the table's order, as the entity read had it). */
export async function accusedOfClue(em: Em, clueId: string): Promise<Pick<Accused, 'id' | 'name' | 'role' | 'unit' | 'position'>[]> {
  const rows = await sql<{ id: string; name: string; role: AccusedRole; unit_id: string | null; position: string | null }>(
    em,
    'select id, name, role, unit_id, position from accused where clue_id = ?',
    [clueId],
  );
  return rows.map((r) => ({ id: r.id, name: r.name, role: r.role, unit: r.unit_id, position: r.position }));
}

/** What a staff view shows of an attachment (no name: that is the reporter's text, sealed). */
export type AttachmentRow = Pick<Attachment, 'id' | 'message' | 'contentType' | 'size' | 'sha256' | 'source' | 'createdAt'>;

/**
 * A clue's attachments in the clue's order (created, then id): "附件 n" is the n-th. With `names`
 * also the sealed name (and the clear one of rows from before names were sealed), for the
 * reporter's own page.
 */
export async function attachmentsOfClue(em: Em, clueId: string, opts: { names?: boolean } = {}): Promise<(AttachmentRow & Partial<Pick<Attachment, 'filename' | 'filenameBox'>>)[]> {
  const rows = await sql<{ id: string; message_id: string | null; content_type: string; size: string | number; sha256: string; source: string; created_at: Date | string; filename?: string | null; filename_box?: Uint8Array | null }>(
    em,
    `select id, message_id, content_type, size, sha256, source, created_at${opts.names ? ', filename, filename_box' : ''} from attachment where clue_id = ? order by created_at asc, id asc`,
    [clueId],
  );
  return rows.map((r) => ({
    id: r.id,
    message: r.message_id,
    contentType: r.content_type,
    // bigint: text from the driver; the entity maps it to a number.
    size: Number(r.size),
    sha256: r.sha256,
    source: r.source,
    createdAt: date(r.created_at),
    ...(opts.names ? { filename: r.filename ?? null, filenameBox: r.filename_box ?? null } : {}),
  }));
}

/** A clue's ledger events, oldest first, as the staff view shows them. */
export async function eventsOfClue(em: Em, clueId: string): Promise<Pick<LedgerEvent, 'seq' | 'type' | 'actor' | 'at' | 'data' | 'hash'>[]> {
  const rows = await sql<{ seq: number; type: string; actor: string; at: Date | string; data: Record<string, unknown>; hash: string }>(
    em,
    'select seq, type, actor, at, data, hash from ledger_event where clue_id = ? order by seq asc',
    [clueId],
  );
  return rows.map((r) => ({ seq: r.seq, type: r.type, actor: r.actor, at: date(r.at), data: r.data, hash: r.hash }));
}
