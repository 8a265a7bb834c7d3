/**
 * The near-relative registry's SQL: writing registrations (one multi-row INSERT per chunk), the
 * listing with its scope and keyset cursor, the reads the import and the matcher need, and the
 * registry's own audit rows. Every function runs on the `em` it is given (the caller's transaction).
 */
import { randomUUID } from 'node:crypto';
import { type Em, sqlBound } from '../../app/db.ts';
import { type Programme, type RegistrantRole, RegistryAudit, type Relation } from './registry.entity.ts';
import type { UnitRef } from './registry.import.ts';

const INSERT_CHUNK = 500;

/** A registration as stored: the ID number only sealed (`idBox`) and hashed (`idHash`). */
export interface StoredRegistration {
  id: string;
  registrantName: string;
  registrantNameKey: string;
  registrantStaffId: string | null;
  registrantUnitId: string;
  registrantRole: RegistrantRole;
  relativeName: string;
  relativeNameKey: string;
  relation: Relation;
  idBox: Buffer;
  idHash: string;
  programme: Programme;
  since: string;
  householdAddress: string | null;
}

/** A registration as listed (joined with its registrant's unit). */
export interface RegistrationRow {
  id: string;
  registrantName: string;
  registrantStaffId: string | null;
  registrantUnitId: string;
  registrantUnitName: string;
  registrantRole: RegistrantRole;
  relativeName: string;
  relation: Relation;
  idBox: Buffer;
  programme: Programme;
  since: string;
  householdAddress: string | null;
  createdAt: Date;
  createdBy: string;
}

/** One multi-row INSERT per chunk, with bound parameters, inside the caller's transaction. */
export async function insertRegistrations(em: Em, rows: StoredRegistration[], createdBy: string, now: Date) {
  for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
    const params: unknown[] = [];
    const v = (value: unknown, cast = '') => {
      params.push(value);
      return `$${params.length}${cast}`;
    };
    const values = rows.slice(start, start + INSERT_CHUNK).map(
      (r) =>
        `(${v(r.id)}, ${v(r.registrantName)}, ${v(r.registrantNameKey)}, ${v(r.registrantStaffId, '::uuid')}, ${v(r.registrantUnitId)}, ${v(r.registrantRole)},
          ${v(r.relativeName)}, ${v(r.relativeNameKey)}, ${v(r.relation)}, ${v(r.idBox)}, ${v(r.idHash)}, ${v(r.programme)}, ${v(r.since, '::date')},
          ${v(r.householdAddress)}, ${v(now)}, ${v(createdBy)})`,
    );
    await sqlBound(
      em,
      `insert into near_relative (id, registrant_name, registrant_name_key, registrant_staff_id, registrant_unit_id, registrant_role,
         relative_name, relative_name_key, relation, id_box, id_hash, programme, since, household_address, created_at, created_by)
       values ${values.join(', ')}`,
      params,
    );
  }
}

/** Who may see which registrations: everything, a unit subtree (by its path), or one registrant's own. */
export type RegistrationScope = { kind: 'all' } | { kind: 'subtree'; unitPath: string } | { kind: 'own'; staffId: string };

export interface RegistrationFilter {
  scope: RegistrationScope;
  /** Registrations of this unit's subtree. */
  unitId?: string;
  programme?: Programme;
  /** Keyset: rows strictly older than this (created_at desc, id desc). */
  cursor?: { createdAt: Date; id: string };
}

interface ListedRow {
  id: string;
  registrant_name: string;
  registrant_staff_id: string | null;
  registrant_unit_id: string;
  registrant_unit_name: string;
  registrant_role: RegistrantRole;
  relative_name: string;
  relation: Relation;
  id_box: Buffer;
  programme: Programme;
  since: string;
  household_address: string | null;
  created_at: Date;
  created_by: string;
}

async function selectRegistrations(em: Em, where: string, params: unknown[], limit: number): Promise<RegistrationRow[]> {
  const rows = await sqlBound<ListedRow>(
    em,
    `select n.id, n.registrant_name, n.registrant_staff_id, n.registrant_unit_id, u.name as registrant_unit_name, n.registrant_role,
       n.relative_name, n.relation, n.id_box, n.programme, to_char(n.since, 'YYYY-MM-DD') as since, n.household_address, n.created_at, n.created_by
     from near_relative n join unit u on u.id = n.registrant_unit_id
     where ${where} order by n.created_at desc, n.id desc limit ${Number(limit)}`,
    params,
  );
  return rows.map((r) => ({
    id: r.id,
    registrantName: r.registrant_name,
    registrantStaffId: r.registrant_staff_id,
    registrantUnitId: r.registrant_unit_id,
    registrantUnitName: r.registrant_unit_name,
    registrantRole: r.registrant_role,
    relativeName: r.relative_name,
    relation: r.relation,
    idBox: Buffer.from(r.id_box),
    programme: r.programme,
    since: r.since,
    householdAddress: r.household_address,
    createdAt: new Date(r.created_at),
    createdBy: r.created_by,
  }));
}

/** A page of registrations, newest first: at most `limit` rows of the filter. */
export async function listRegistrations(em: Em, filter: RegistrationFilter, limit: number): Promise<RegistrationRow[]> {
  const where: string[] = [];
  const params: unknown[] = [];
  const bind = (value: unknown) => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.scope.kind === 'subtree') where.push(`u.path like ${bind(`${filter.scope.unitPath}%`)}`);
  else if (filter.scope.kind === 'own') where.push(`n.registrant_staff_id = ${bind(filter.scope.staffId)}`);
  if (filter.unitId) where.push(`u.path like (select path from unit where id = ${bind(filter.unitId)}::uuid) || '%'`);
  if (filter.programme) where.push(`n.programme = ${bind(filter.programme)}`);
  if (filter.cursor) where.push(`(n.created_at, n.id) < (${bind(filter.cursor.createdAt)}::timestamptz, ${bind(filter.cursor.id)}::uuid)`);
  return selectRegistrations(em, where.length ? where.join(' and ') : 'true', params, limit);
}

/** The registrations with these ids (newest first). */
export function registrationsByIds(em: Em, ids: string[]): Promise<RegistrationRow[]> {
  return selectRegistrations(em, 'n.id = any($1::uuid[])', [ids], ids.length);
}

/** The name keys of these registrations (relative's and registrant's), by id. */
export async function nameKeysOf(em: Em, ids: string[]): Promise<Map<string, { relativeNameKey: string; registrantNameKey: string }>> {
  const rows = await sqlBound<{ id: string; relative_name_key: string; registrant_name_key: string }>(
    em,
    'select id, relative_name_key, registrant_name_key from near_relative where id = any($1::uuid[])',
    [ids],
  );
  return new Map(rows.map((r) => [r.id, { relativeNameKey: r.relative_name_key, registrantNameKey: r.registrant_name_key }]));
}

/** An active staff account with its unit's path (a registrant). */
export async function findActiveStaff(em: Em, staffId: string) {
  const [s] = await sqlBound<{ id: string; display_name: string; unit_id: string; role: string; path: string }>(
    em,
    'select s.id, s.display_name, s.unit_id, s.role, u.path from staff s join unit u on u.id = s.unit_id where s.id = $1 and s.active',
    [staffId],
  );
  return s && { id: s.id, displayName: s.display_name, unitId: s.unit_id, role: s.role, path: s.path };
}

export async function findUnit(em: Em, id: string): Promise<UnitRef | undefined> {
  const [u] = await sqlBound<UnitRef>(em, 'select id, code, name, path from unit where id = $1', [id]);
  return u;
}

export function allUnits(em: Em): Promise<UnitRef[]> {
  return sqlBound<UnitRef>(em, 'select id, code, name, path from unit', []);
}

/** Active staff accounts an import may link registrants to: by username, or of one of the units. */
export async function staffForImport(em: Em, usernames: string[], unitIds: string[]) {
  const rows = await sqlBound<{ id: string; username: string; display_name: string; unit_id: string }>(
    em,
    'select id, username, display_name, unit_id from staff where active and (username = any($1::text[]) or unit_id = any($2::uuid[]))',
    [usernames, unitIds],
  );
  return rows.map((s) => ({ id: s.id, username: s.username, displayName: s.display_name, unitId: s.unit_id }));
}

/** `idHash|registrantUnitId|registrantNameKey` of the registrations already holding one of these ID hashes. */
export async function existingRegistrationKeys(em: Em, idHashes: string[]): Promise<Set<string>> {
  if (idHashes.length === 0) return new Set();
  const rows = await sqlBound<{ id_hash: string; registrant_unit_id: string; registrant_name_key: string }>(
    em,
    'select id_hash, registrant_unit_id, registrant_name_key from near_relative where id_hash = any($1::text[])',
    [idHashes],
  );
  return new Set(rows.map((e) => `${e.id_hash}|${e.registrant_unit_id}|${e.registrant_name_key}`));
}

/** Registrations naming one of these relatives, or (officials) one of these registrants, with the registrant unit's path. */
export async function matchCandidates(em: Em, relativeKeys: string[], registrantKeys: string[]) {
  const rows = await sqlBound<{ id: string; relative_name_key: string; registrant_name_key: string; id_hash: string; path: string }>(
    em,
    `select n.id, n.relative_name_key, n.registrant_name_key, n.id_hash, u.path from near_relative n join unit u on u.id = n.registrant_unit_id
     where n.relative_name_key = any($1::text[]) or n.registrant_name_key = any($2::text[]) order by n.id`,
    [relativeKeys, registrantKeys],
  );
  return rows.map((r) => ({ id: r.id, relativeNameKey: r.relative_name_key, registrantNameKey: r.registrant_name_key, idHash: r.id_hash, unitPath: r.path }));
}

/** Registry ids already recorded on a clue's ledger (events of type `matchEvent`). */
export async function recordedMatchIds(em: Em, clueId: string, matchEvent: string): Promise<Set<string>> {
  const rows = await sqlBound<{ ids: string[] | null }>(
    em,
    `select data->'registryIds' as ids from ledger_event where clue_id = $1 and type = $2`,
    [clueId, matchEvent],
  );
  return new Set(rows.flatMap((r) => r.ids ?? []));
}

/**
 * True when the staff member registered a relative with one of these name keys. Rows imported
 * without an account link count when the registrant's name and unit are the staff member's.
 */
export async function hasRegisteredRelative(em: Em, staffId: string, relativeKeys: string[], nameKeyOf: (name: string) => string): Promise<boolean> {
  const [staff] = await sqlBound<{ display_name: string; unit_id: string }>(em, 'select display_name, unit_id from staff where id = $1', [staffId]);
  if (!staff) return false;
  const rows = await sqlBound(
    em,
    `select 1 from near_relative where relative_name_key = any($1::text[])
       and (registrant_staff_id = $2 or (registrant_staff_id is null and registrant_unit_id = $3 and registrant_name_key = $4)) limit 1`,
    [relativeKeys, staffId, staff.unit_id, nameKeyOf(staff.display_name)],
  );
  return rows.length > 0;
}

/** One row of `registry_audit` (persisted with the caller's next flush or commit). */
export function recordRegistryAudit(
  em: Em,
  row: { staffId: string; action: 'ids_revealed' | 'imported' | 'matches_viewed'; clueId?: string | null; registryIds: string[]; rowCount: number; purpose?: string | null; at: Date },
) {
  em.create(RegistryAudit, {
    id: randomUUID(),
    staff: row.staffId,
    action: row.action,
    clueId: row.clueId ?? null,
    registryIds: row.registryIds,
    rowCount: row.rowCount,
    purpose: row.purpose ?? null,
    createdAt: row.at,
  });
}
