import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import type { Em, Orm } from '../../app/db.ts';
import { forbidden, isAppError } from '../../app/errors.ts';
import type { Keys } from '../../app/keys.ts';
import type { Logger } from '../../app/logger.ts';
import { seal, unseal } from '../../app/seal.ts';
import { Accused, Clue } from '../clues/clue.entity.ts';
import { type Actor, appendEvent } from '../clues/ledger.ts';
import type { ClueVisibilityCall, Principal, StaffCall } from '../staff/access.ts';
import { cluesNaming, recomputeExclusions } from '../visibility/visibility.ts';
import { CsvFatalError, type CsvEncoding, decodeCsv, parseCsv } from './csv.ts';
import { idNumberHash, idNumberProblem, idProblemReasons, maskIdNumber, normalizeIdNumber } from './id-number.ts';
import type { Programme, RegistrantRole, Relation } from './registry.entity.ts';
import {
  importConflict,
  importFailed,
  importRejected,
  importTooLarge,
  matchRecusal,
  registryDuplicate,
  registryInvalid,
  registryUnknownStaff,
  registryUnknownUnit,
} from './registry.errors.ts';
import { HeaderError, readHeader, type RowError, unitIndex, validateRecord, type ValidRow } from './registry.import.ts';
import {
  allUnits,
  existingRegistrationKeys,
  findActiveStaff,
  findUnit,
  hasRegisteredRelative,
  insertRegistrations,
  listRegistrations,
  matchCandidates,
  nameKeysOf,
  recordedMatchIds,
  recordRegistryAudit,
  type RegistrationRow,
  type RegistrationScope,
  registrationsByIds,
  staffForImport,
  type StoredRegistration,
} from './registry.repository.ts';
import { csvHeaders, fieldOfHeader, nameKey, parseDate } from './vocabulary.ts';

/** The clue flag set when a clue names someone on the registry. */
export const NEAR_RELATIVE_FLAG = 'near_relative_match';
/** The ledger event recording a match; its data holds registry row ids only. */
export const MATCH_EVENT = 'registry.matched';
export const MAX_IMPORT_BYTES = 5 * 1024 * 1024;
/** At most this many row errors are listed; the counts stay exact. */
export const MAX_LISTED_ERRORS = 1000;
/** Title rows (表名, 填报单位) tolerated above the header. */
const MAX_TITLE_ROWS = 5;
const looksLikeHeader = (r: { cells: string[] }) => r.cells.filter((c) => fieldOfHeader(c.trim())).length >= 3;

export interface RegistryDeps {
  orm: Orm;
  clock: Clock;
  keys: Keys;
  logger: Logger;
  /** `clue.not_found` unless the principal may see the clue (the clue module's own rule). */
  assertClueVisible: (call: ClueVisibilityCall) => Promise<void>;
  /** Day boundary for "not in the future" checks; defaults to Asia/Shanghai. */
  timeZone?: string;
}

export interface RegisterInput {
  registrantStaffId?: string | null;
  registrantName?: string | null;
  registrantUnitId?: string | null;
  registrantRole?: RegistrantRole | null;
  relativeName: string;
  relation: Relation;
  idNumber: string;
  programme: Programme;
  since: string;
  householdAddress?: string | null;
}

/** A person a clue names, as the matcher needs them. `idNumber` is used only when given. */
export interface AccusedForMatch {
  id?: string;
  name: string;
  role?: string;
  unitId?: string | null;
  idNumber?: string | null;
}

export type MatchKind = 'relative' | 'registrant';
export interface RegistryMatch {
  registryId: string;
  kind: MatchKind;
  /** Index into the accused list given to the matcher. */
  accusedIndex: number;
}

export interface ImportResult {
  dryRun: boolean;
  imported: number;
  /** Rows that passed every check (equal to `imported` unless this is a dry run). */
  valid: number;
  skipped: number;
  errors: RowError[];
  errorsTruncated: boolean;
  encoding: CsvEncoding;
  ignoredColumns: string[];
}

/** A staff account's registrant role when none is given. */
function defaultRegistrantRole(staffRole: string): RegistrantRole {
  if (staffRole === 'caseworker') return 'caseworker';
  if (staffRole === 'discipline_officer') return 'official';
  return 'civil_affairs_staff';
}

/** Roles that manage the registry of their unit subtree (admins: everywhere). */
const mayManage = (p: Principal) => p.role === 'admin' || p.role === 'supervisor';
/** Accused roles whose own registrations are relevant (an accused cadre with relatives on the rolls). */
const officialRoles: ReadonlySet<string> = new Set(['official', 'caseworker', 'cadre']);

/**
 * True when the staff member has registered a relative with one of these names: they must not be
 * given a task about a clue naming them (recusal). Rows imported without an account link count
 * when the registrant's name and unit are the staff member's.
 */
export async function isRegisteredRelativeOf(em: Em, staffId: string, names: string[]): Promise<boolean> {
  const keys = [...new Set(names.map(nameKey).filter(Boolean))];
  if (keys.length === 0) return false;
  return hasRegisteredRelative(em, staffId, keys, nameKey);
}

/** Registry rows a list of named persons matches (by name key; by ID hash too when an ID is given). */
async function findMatchesFor(em: Em, keys: Keys, accused: AccusedForMatch[]): Promise<RegistryMatch[]> {
  const people = accused.map((a) => {
    const id = a.idNumber ? normalizeIdNumber(a.idNumber) : '';
    return { key: nameKey(a.name), official: officialRoles.has(a.role ?? ''), unitId: a.unitId ?? null, hash: /^\d{17}[\dX]$/.test(id) ? idNumberHash(keys.secretHmacKey, id) : null };
  });
  const relativeKeys = [...new Set(people.map((p) => p.key).filter(Boolean))];
  const registrantKeys = [...new Set(people.filter((p) => p.official).map((p) => p.key).filter(Boolean))];
  if (relativeKeys.length === 0) return [];
  const rows = await matchCandidates(em, relativeKeys, registrantKeys);
  const matches: RegistryMatch[] = [];
  people.forEach((p, accusedIndex) => {
    if (!p.key) return;
    for (const r of rows) {
      if (r.relativeNameKey === p.key && (!p.hash || r.idHash === p.hash)) matches.push({ registryId: r.id, kind: 'relative', accusedIndex });
      if (p.official && r.registrantNameKey === p.key && (!p.unitId || r.unitPath.includes(`/${p.unitId}/`))) {
        matches.push({ registryId: r.id, kind: 'registrant', accusedIndex });
      }
    }
  });
  return matches;
}

/**
 * Matches a locked clue against the registry and records what is new: the `near_relative_match`
 * flag and one `registry.matched` event holding registry row ids only (no names, no ID numbers).
 * The caller holds the clue's row lock inside its transaction (as every ledger append does).
 * Idempotent: rows already recorded for the clue are not recorded again.
 */
export async function matchClue(
  tx: Em,
  keys: Keys,
  clue: Clue,
  accused: AccusedForMatch[],
  at: Date,
  actor: Actor = 'system:job:registry',
): Promise<{ matched: string[]; recorded: string[] }> {
  const matches = await findMatchesFor(tx, keys, accused);
  const matched = [...new Set(matches.map((m) => m.registryId))].sort();
  if (matched.length === 0) return { matched, recorded: [] };
  const already = await recordedMatchIds(tx, clue.id, MATCH_EVENT);
  const recorded = matched.filter((id) => !already.has(id));
  if (recorded.length === 0) return { matched, recorded };
  if (!clue.flags.includes(NEAR_RELATIVE_FLAG)) clue.flags = [...clue.flags, NEAR_RELATIVE_FLAG];
  appendEvent(tx, clue, { type: MATCH_EVENT, actor, data: { registryIds: recorded } }, at);
  return { matched, recorded };
}

export function createRegistryUseCases(deps: RegistryDeps) {
  const { orm, clock, keys, logger } = deps;
  const dayFormat = new Intl.DateTimeFormat('en-CA', { timeZone: deps.timeZone ?? 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit' });
  const today = () => dayFormat.format(clock.now());

  function sealRow(row: Omit<StoredRegistration, 'id' | 'idBox' | 'idHash'> & { idNumber: string }): StoredRegistration {
    const id = randomUUID();
    const { idNumber, ...rest } = row;
    return { ...rest, id, idBox: seal(keys.reporterKey, idNumber, id), idHash: idNumberHash(keys.secretHmacKey, idNumber) };
  }

  function subtreeOf(p: Principal) {
    return (unit: { path: string }) => p.role === 'admin' || unit.path.startsWith(p.unitPath);
  }

  /**
   * Registers one relative. Anyone registers for themselves; supervisors (their units) and admins
   * also for another staff member or for a committee cadre without an account (name + unit).
   */
  async function register({ ctx, input }: StaffCall<RegisterInput>) {
    const { principal, em } = ctx;
    const forSelf = (!input.registrantStaffId && !input.registrantName && !input.registrantUnitId) || input.registrantStaffId === principal.id;
    if (!forSelf && !mayManage(principal)) throw forbidden();
    const inUnits = subtreeOf(principal);
    let registrant: { name: string; unitId: string; staffId: string | null; role: RegistrantRole };
    if (forSelf || input.registrantStaffId) {
      const staffId = forSelf ? principal.id : input.registrantStaffId!;
      const s = await findActiveStaff(em, staffId);
      if (!s || (!forSelf && !inUnits(s))) throw registryUnknownStaff();
      registrant = { name: s.displayName, unitId: s.unitId, staffId: s.id, role: input.registrantRole ?? defaultRegistrantRole(s.role) };
    } else {
      if (!input.registrantName?.trim() || !input.registrantUnitId || !input.registrantRole) {
        throw registryInvalid({ issues: [{ path: 'registrant', message: '登记人姓名、单位和身份均须填写 / registrantName, registrantUnitId and registrantRole are required' }] });
      }
      const unit = await findUnit(em, input.registrantUnitId);
      if (!unit || !inUnits(unit)) throw registryUnknownUnit();
      registrant = { name: input.registrantName.trim(), unitId: unit.id, staffId: null, role: input.registrantRole };
    }
    const idNumber = normalizeIdNumber(input.idNumber);
    const problem = idNumberProblem(idNumber, new Date(`${today()}T23:59:59Z`));
    if (problem) throw registryInvalid({ issues: [{ path: 'idNumber', message: idProblemReasons[problem] }] });
    const since = parseDate(input.since);
    if (!since || since > today()) {
      throw registryInvalid({ issues: [{ path: 'since', message: '享受起始日期无效或晚于今天 / The start date is invalid or in the future' }] });
    }
    const row = sealRow({
      registrantName: registrant.name,
      registrantNameKey: nameKey(registrant.name),
      registrantStaffId: registrant.staffId,
      registrantUnitId: registrant.unitId,
      registrantRole: registrant.role,
      relativeName: input.relativeName.trim(),
      relativeNameKey: nameKey(input.relativeName),
      relation: input.relation,
      programme: input.programme,
      since,
      householdAddress: input.householdAddress?.trim() || null,
      idNumber,
    });
    try {
      await em.transactional(async (tx) => {
        await insertRegistrations(tx, [row], principal.id, ctx.clock.now());
        // The clues naming the relative or the registrant: their excluded sets change now.
        await recomputeExclusions(tx, await cluesNaming(tx, [row.relativeNameKey, row.registrantNameKey]));
      });
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === '23505') throw registryDuplicate();
      if (code === '23503') throw registryUnknownUnit();
      throw err;
    }
    ctx.logger.info({ registryId: row.id, staffId: principal.id, forSelf }, 'near relative registered');
    const [view] = await registrationsByIds(em, [row.id]);
    return present(view!, false);
  }

  /** The row as the API shows it: the ID number masked, or in full when revealed (and audited). */
  function present(r: RegistrationRow, reveal: boolean) {
    const { idBox, ...rest } = r;
    const idNumber = unseal(keys.reporterKey, idBox, r.id);
    const { programme, since, householdAddress, createdAt, createdBy, ...registrant } = rest;
    return { ...registrant, idNumberMasked: maskIdNumber(idNumber), ...(reveal ? { idNumber } : {}), programme, since, householdAddress, createdAt, createdBy };
  }

  /**
   * Supervisors see registrations of their unit subtree, admins all, everyone else their own.
   * `reveal` (supervisors and admins only) shows full ID numbers and is recorded in registry_audit.
   */
  async function list({
    ctx,
    input: q,
  }: StaffCall<{ unitId?: string; programme?: Programme; limit: number; cursor?: { createdAt: Date; id: string }; reveal?: boolean; purpose?: string }>) {
    const { principal, em } = ctx;
    if (q.reveal && !mayManage(principal)) throw forbidden();
    const scope: RegistrationScope =
      principal.role === 'admin' ? { kind: 'all' } : principal.role === 'supervisor' ? { kind: 'subtree', unitPath: principal.unitPath } : { kind: 'own', staffId: principal.id };
    const rows = await listRegistrations(em, { scope, unitId: q.unitId, programme: q.programme, cursor: q.cursor }, q.limit + 1);
    const page = rows.slice(0, q.limit);
    const items = page.map((r) => present(r, !!q.reveal));
    if (q.reveal && items.length) {
      recordRegistryAudit(em, { staffId: principal.id, action: 'ids_revealed', registryIds: items.map((i) => i.id), rowCount: items.length, purpose: q.purpose, at: ctx.clock.now() });
      await em.flush();
      ctx.logger.info({ staffId: principal.id, rows: items.length }, 'near-relative ID numbers revealed');
    }
    const last = page.at(-1);
    const nextCursor = rows.length > q.limit && last ? Buffer.from(`${last.createdAt.toISOString()}|${last.id}`).toString('base64url') : null;
    return { items, nextCursor };
  }

  /**
   * CSV import (the Dong'an annex columns). Every row is checked; good rows are imported and bad
   * rows reported by line. A fatal problem — not CSV, required columns missing, too large, or the
   * database failing part-way — imports nothing: the rows go in one transaction.
   */
  async function importCsv({ ctx, input: { bytes, ...opts } }: StaffCall<{ bytes: Uint8Array; dryRun?: boolean; charset?: string }>): Promise<ImportResult> {
    const { principal, em, logger } = ctx;
    if (!mayManage(principal)) throw forbidden();
    if (bytes.length > MAX_IMPORT_BYTES) throw importTooLarge({ imported: 0 });
    const dryRun = !!opts.dryRun;
    let parsed: { encoding: CsvEncoding; header: ReturnType<typeof readHeader>; records: ReturnType<typeof parseCsv> };
    try {
      const { text, encoding } = decodeCsv(bytes, opts.charset);
      const records = parseCsv(text);
      if (records.length === 0) throw new CsvFatalError('文件没有内容 / The file has no content');
      // Sheets saved from the annex forms often carry a title row or two above the header.
      const at = Math.max(0, records.slice(0, MAX_TITLE_ROWS + 1).findIndex(looksLikeHeader));
      parsed = { encoding, header: readHeader(records[at]!), records: records.slice(at + 1) };
    } catch (err) {
      if (err instanceof HeaderError) throw importRejected({ imported: 0, skipped: 0, errors: err.errors });
      if (err instanceof CsvFatalError) throw importRejected({ imported: 0, skipped: 0, errors: [{ line: err.line, column: null, reason: err.message }] });
      throw err;
    }
    const { header, records, encoding } = parsed;
    const units = await allUnits(em);
    const rowContext = { today: today(), ...unitIndex(units), mayUseUnit: subtreeOf(principal) };

    const errors: RowError[] = [];
    const valid: ValidRow[] = [];
    for (const rec of records) {
      const result = validateRecord(rec, header, rowContext);
      if ('errors' in result) errors.push(...result.errors);
      else valid.push(result.row);
    }

    // Link registrants to staff accounts: by the username column, else by a unique name in the unit.
    const usernames = [...new Set(valid.map((r) => r.registrantUsername).filter((u): u is string => !!u))];
    const unitIds = [...new Set(valid.map((r) => r.registrantUnitId))];
    const staffRows = valid.length ? await staffForImport(em, usernames, unitIds) : [];
    const byUsername = new Map(staffRows.map((s) => [s.username, s]));
    const byNameInUnit = new Map<string, string[]>();
    for (const s of staffRows) {
      const k = `${s.unitId}|${nameKey(s.displayName)}`;
      byNameInUnit.set(k, [...(byNameInUnit.get(k) ?? []), s.id]);
    }
    const usernameLabel = header.label.registrantUsername ?? csvHeaders.registrantUsername;
    const prepared: { row: ValidRow; stored: StoredRegistration }[] = [];
    const firstLineOf = new Map<string, number>();
    const idLabel = header.label.idNumber ?? csvHeaders.idNumber;
    for (const row of valid) {
      let staffId: string | null = null;
      if (row.registrantUsername) {
        const s = byUsername.get(row.registrantUsername);
        if (!s) {
          errors.push({ line: row.line, column: usernameLabel, reason: '登记人账号不存在或已停用 / No active staff account with this username' });
          continue;
        }
        if (s.unitId !== row.registrantUnitId) {
          errors.push({ line: row.line, column: usernameLabel, reason: '登记人账号不属于所填单位 / The staff account belongs to another unit' });
          continue;
        }
        staffId = s.id;
      } else {
        const candidates = byNameInUnit.get(`${row.registrantUnitId}|${row.registrantNameKey}`) ?? [];
        if (candidates.length === 1) staffId = candidates[0]!;
      }
      const stored = sealRow({ ...row, registrantStaffId: staffId });
      const dupKey = `${stored.idHash}|${row.registrantUnitId}|${row.registrantNameKey}`;
      const first = firstLineOf.get(dupKey);
      if (first !== undefined) {
        errors.push({ line: row.line, column: idLabel, reason: `与第${first}行重复：同一登记人重复登记同一亲属 / Duplicate of line ${first}: the same registrant registers the same relative again` });
        continue;
      }
      firstLineOf.set(dupKey, row.line);
      prepared.push({ row, stored });
    }

    const run = async (tx: Em) => {
      const taken = await existingRegistrationKeys(tx, [...new Set(prepared.map((p) => p.stored.idHash))]);
      const toInsert: StoredRegistration[] = [];
      for (const { row, stored } of prepared) {
        if (taken.has(`${stored.idHash}|${stored.registrantUnitId}|${stored.registrantNameKey}`)) {
          errors.push({ line: row.line, column: idLabel, reason: '重复：该登记人已登记过此亲属（系统中已有记录）/ Duplicate: this registrant has already registered this relative' });
        } else {
          toInsert.push(stored);
        }
      }
      if (!dryRun && toInsert.length) {
        const now = ctx.clock.now();
        await insertRegistrations(tx, toInsert, principal.id, now);
        // Bounded recompute: only the clues naming an imported relative or registrant.
        await recomputeExclusions(tx, await cluesNaming(tx, toInsert.flatMap((r) => [r.relativeNameKey, r.registrantNameKey])));
        recordRegistryAudit(tx, { staffId: principal.id, action: 'imported', registryIds: [], rowCount: toInsert.length, at: now });
      }
      return toInsert.length;
    };

    let count: number;
    try {
      count = dryRun ? await run(em) : await em.transactional(run);
    } catch (err) {
      if (isAppError(err)) throw err;
      // Only the SQLSTATE: driver messages and details can quote the values of the failing row.
      const sqlState = (err as { code?: string }).code ?? null;
      logger.error({ staffId: principal.id, sqlState, rows: prepared.length }, 'near-relative import failed; nothing imported');
      if (sqlState === '23505') throw importConflict({ imported: 0 });
      throw importFailed({ imported: 0 });
    }

    errors.sort((a, b) => a.line - b.line);
    const skipped = new Set(errors.map((e) => e.line)).size;
    logger.info({ staffId: principal.id, dryRun, imported: dryRun ? 0 : count, valid: count, skipped, encoding }, 'near-relative import');
    return {
      dryRun,
      imported: dryRun ? 0 : count,
      valid: count,
      skipped,
      errors: errors.slice(0, MAX_LISTED_ERRORS),
      errorsTruncated: errors.length > MAX_LISTED_ERRORS,
      encoding,
      ignoredColumns: header.ignored,
    };
  }

  /** Matches of a clue's accused against the registry (read only; nothing is recorded). */
  async function findMatches(clueId: string): Promise<RegistryMatch[]> {
    const em = orm.em.fork();
    const accused = await em.find(Accused, { clue: clueId }, { orderBy: { id: 'asc' } });
    return findMatchesFor(em, keys, accused.map((a) => ({ id: a.id, name: a.name, role: a.role, unitId: a.unit })));
  }

  /**
   * For clue registration's follow-up job (triage): locks the clue, matches its accused against
   * the registry, sets the flag and appends `registry.matched` in the same transaction.
   * Idempotent: a rerun records nothing new; a later run records only newly registered matches.
   */
  async function checkClue(clueId: string, actor: Actor = 'system:job:registry') {
    const result = await orm.em.fork().transactional(async (tx) => {
      const clue = await tx.findOne(Clue, { id: clueId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!clue) return { skipped: 'missing' as const };
      const accused = await tx.find(Accused, { clue: clueId }, { orderBy: { id: 'asc' } });
      return matchClue(tx, keys, clue, accused.map((a) => ({ id: a.id, name: a.name, role: a.role, unitId: a.unit })), clock.now(), actor);
    });
    if ('recorded' in result && result.recorded.length) logger.info({ clueId, matches: result.recorded.length }, 'clue matches the near-relative registry');
    return result;
  }

  /**
   * The details behind a clue's `near_relative_match` flag, for supervisors and admins who may see
   * the clue. Recusal: matches whose registrant is the viewer or of the viewer's unit are withheld
   * (all withheld → 403). Each view is recorded in registry_audit.
   */
  async function getMatchDetails({ ctx, input: { clueId } }: StaffCall<{ clueId: string }>) {
    const { principal, em } = ctx;
    if (!mayManage(principal)) throw forbidden();
    await deps.assertClueVisible({ ctx, input: { clueId } });
    const ids = [...(await recordedMatchIds(em, clueId, MATCH_EVENT))];
    if (ids.length === 0) return { items: [], withheld: 0 };
    const accused = await em.find(Accused, { clue: clueId }, { orderBy: { id: 'asc' } });
    const rows = await registrationsByIds(em, ids);
    const nameKeys = await nameKeysOf(em, ids);
    const visible = rows.filter((r) => r.registrantUnitId !== principal.unitId && r.registrantStaffId !== principal.id);
    const withheld = rows.length - visible.length;
    if (visible.length === 0 && withheld > 0) throw matchRecusal();
    const items = visible.map((r) => {
      const k = nameKeys.get(r.id)!;
      const named = accused.filter((a) => nameKey(a.name) === k.relativeNameKey || nameKey(a.name) === k.registrantNameKey);
      return {
        ...present(r, false),
        accused: named.map((a) => ({
          id: a.id,
          name: a.name,
          role: a.role,
          matchedAs: (nameKey(a.name) === k.relativeNameKey ? 'relative' : 'registrant') as MatchKind,
        })),
      };
    });
    recordRegistryAudit(em, { staffId: principal.id, action: 'matches_viewed', clueId, registryIds: items.map((i) => i.id), rowCount: items.length, at: ctx.clock.now() });
    await em.flush();
    ctx.logger.info({ staffId: principal.id, clueId, shown: items.length, withheld }, 'near-relative matches viewed');
    return { items, withheld };
  }

  return {
    register,
    list,
    importCsv,
    findMatches,
    checkClue,
    getMatchDetails,
    /** `matchClue` with this app's keys and clock, for callers holding a clue's lock in their transaction. */
    matchClue: (tx: Em, clue: Clue, accused: AccusedForMatch[], actor?: Actor) => matchClue(tx, keys, clue, accused, clock.now(), actor),
    /** Recusal check: has this staff member registered a relative with one of these names? */
    isRegisteredRelativeOf: (staffId: string, names: string[], em: Em = orm.em.fork()) => isRegisteredRelativeOf(em, staffId, names),
  };
}

export type RegistryUseCases = ReturnType<typeof createRegistryUseCases>;
