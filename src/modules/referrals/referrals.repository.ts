/**
 * The referral module's reads as columns: a clue's referrals, the discipline bodies, and the unit
 * paths the authority rule compares (the clue page asks for them on every request; as entities, with
 * every unit of the tree, they cost more main thread than their queries). Every function runs on the
 * `em` it is given.
 */
import { type Em, sql } from '../../app/db.ts';
import type { DisciplineBody, Referral } from './referral.entity.ts';
import { UUID } from '../../app/ids.ts';

const date = (v: Date | string) => (v instanceof Date ? v : new Date(v));
const dateOrNull = (v: Date | string | null) => (v === null ? null : date(v));
export type ReferralRow = Pick<Referral, 'id' | 'clue' | 'body' | 'status' | 'includesReporter' | 'disposition' | 'result' | 'createdAt' | 'linkExpiresAt' | 'linkRevokedAt'>;

/** A clue's referrals, oldest first. */
export async function referralsOfClue(em: Em, clueId: string): Promise<ReferralRow[]> {
  const rows = await sql<{
    id: string;
    clue_id: string;
    body_id: string;
    status: Referral['status'];
    includes_reporter: boolean;
    disposition: string | null;
    result: string | null;
    created_at: Date | string;
    link_expires_at: Date | string;
    link_revoked_at: Date | string | null;
  }>(
    em,
    `select id, clue_id, body_id, status, includes_reporter, disposition, result, created_at, link_expires_at, link_revoked_at
       from referral where clue_id = ? order by created_at asc`,
    [clueId],
  );
  return rows.map((r) => ({
    id: r.id,
    clue: r.clue_id,
    body: r.body_id,
    status: r.status,
    includesReporter: r.includes_reporter,
    disposition: r.disposition,
    result: r.result,
    createdAt: date(r.created_at),
    linkExpiresAt: date(r.link_expires_at),
    linkRevokedAt: dateOrNull(r.link_revoked_at),
  }));
}

/** Every discipline body with its authority, in the table's order (the proposal's tie-break, as the entity read had it). */
export async function bodiesWithAuthority(em: Em): Promise<Pick<DisciplineBody, 'id' | 'name' | 'authority'>[]> {
  return sql<Pick<DisciplineBody, 'id' | 'name' | 'authority'>>(em, 'select id, name, authority from discipline_body');
}

/** The paths of these units (ids that are not ids, or of no unit, are simply absent). */
export async function unitPaths(em: Em, unitIds: Iterable<string>): Promise<Map<string, string>> {
  const ids = [...new Set([...unitIds].filter((id) => UUID.test(id)))];
  if (!ids.length) return new Map();
  const rows = await sql<{ id: string; path: string }>(em, 'select id, path from unit where id in (?)', [ids]);
  return new Map(rows.map((r) => [r.id, r.path]));
}

/** The discipline bodies as the staff API lists them, by name. */
export async function listBodyRows(em: Em): Promise<Pick<DisciplineBody, 'id' | 'name' | 'nameEn' | 'kind' | 'email' | 'authority' | 'createdAt'>[]> {
  const rows = await sql<{ id: string; name: string; name_en: string | null; kind: DisciplineBody['kind']; email: string; authority: DisciplineBody['authority']; created_at: Date | string }>(
    em,
    'select id, name, name_en, kind, email, authority, created_at from discipline_body order by name asc',
  );
  return rows.map((r) => ({ id: r.id, name: r.name, nameEn: r.name_en, kind: r.kind, email: r.email, authority: r.authority, createdAt: date(r.created_at) }));
}
