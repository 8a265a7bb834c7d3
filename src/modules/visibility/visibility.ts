/**
 * Who may see a clue, in one place (README "Who sees what"). A clue is visible to a principal when
 * the unit rule lets them (staff/access.ts `clueVisibility`: their unit's subtree, the district
 * root also unplaced clues, admins all, discipline officers what was referred to their body) AND
 * they are not in the clue's **excluded set** (`clue_exclusion`):
 *
 * (a) for each accused whose role is official, caseworker, cadre — or `unknown` with a unit given
 *     (someone the reporter places in a unit may well work there) — that unit and every unit below
 *     it; a beneficiary or "other" accused excludes no unit. Admins and discipline officers stand
 *     outside the unit tree and are not excluded by (a): a clue whose accused sits at the district
 *     root goes to them;
 * (b) every staff account (admins too) that is an accused person: matched by name within the
 *     clue's district (the root above the accused's unit, else above the clue's unit, else
 *     everywhere) until an operator marks the match wrong with a reason, linked by an operator, or
 *     the registrant of near-relative rows under an accused official's name;
 * (c) every staff account that registered an accused as their near relative.
 *
 * An excluded principal gets what a clue that does not exist gets (`clue.not_found`, or absence in
 * lists). Handing the clue into the set (assignment, task, task assignee) is refused with
 * `clue.recusal` (403) and the nearest permitted unit above offered.
 *
 * Depends on the clue, accused, unit and staff entities (and the near-relative table) only, so that
 * clues, deadlines, notices, tasks, registry and referrals can all call it.
 */
import { createHash } from 'node:crypto';
import { type Em, sql, sqlBound } from '../../app/db.ts';
import { createErrorFactory } from '../../app/errors.ts';
import { clueVisibility, type Principal } from '../staff/access.ts';
import { UUID, uuidText } from '../../app/ids.ts';
import type { ExclusionReason } from './exclusion.entity.ts';

export const recusalRequired = createErrorFactory({
  code: 'clue.recusal',
  message: '须回避：不能交由被举报人、其所在单位及下级单位或其近亲属办理 / Recusal: the persons reported, their units (and the units below) and their registered relatives may not handle the clue.',
  statusCode: 403,
});

/** Roles whose unit the accused belongs to: their unit and the units below are excluded. */
export const UNIT_EXCLUDING_ROLES = ['official', 'caseworker', 'cadre', 'unknown'] as const;
/** Accused roles matched against registrants of the near-relative registry (they are staff). */
const REGISTRANT_ROLES = ['official', 'caseworker', 'cadre', 'unknown'] as const;

const unitRuleApplies = (p: Principal) => p.role !== 'admin' && p.role !== 'discipline_officer';

/** The ids on a unit path "/<root>/<child>/…/<self>/": the unit and everything above it. */
export const unitsOnPath = (path: string) => path.split('/').filter(Boolean);

/** SQL condition (on a clue alias) that the principal is not in the clue's excluded set. */
export function notExcluded(p: Principal, alias = 'c'): { where: string; params: unknown[] } {
  const conds: string[] = [];
  const params: unknown[] = [];
  if (UUID.test(p.id)) {
    conds.push('x.staff_id = ?');
    params.push(p.id);
  }
  const units = unitRuleApplies(p) ? unitsOnPath(p.unitPath) : [];
  if (units.length) {
    conds.push('x.unit_id in (?)');
    params.push(units);
  }
  if (!conds.length) return { where: 'true', params: [] };
  return { where: `not exists (select 1 from clue_exclusion x where x.clue_id = ${alias}.id and (${conds.join(' or ')}))`, params };
}

/** The full rule as one SQL condition on alias `c` (`clue c`): every list and count of clues uses it. */
export function visibleClues(p: Principal): { where: string; params: unknown[] } {
  const unit = clueVisibility(p);
  const excl = notExcluded(p);
  if (excl.where === 'true') return unit;
  return { where: `(${unit.where}) and ${excl.where}`, params: [...unit.params, ...excl.params] };
}

/**
 * For a deadline walk (alias `d`): the unit rule on the deadline's own copies of its clue's unit and
 * assigned unit (`deadline.unit_id`, `deadline.assigned_unit_id`, which the deadline indexes carry),
 * so that a street's walk drops other units' deadlines in the index, before fetching any clue. Only
 * a prefilter: the clue itself is still checked by `visibleClues`, so a stale copy could hide a
 * deadline, never show one. `true` where the unit rule does not narrow (admins, discipline officers,
 * a district's staff).
 */
export function deadlineUnitPrefilter(p: Principal): { where: string; params: unknown[] } {
  if (!unitRuleApplies(p) || p.unitIsRoot) return { where: 'true', params: [] };
  const subtree = 'select id from unit where path like ?';
  return { where: `(d.unit_id in (${subtree}) or d.assigned_unit_id in (${subtree}))`, params: [`${p.unitPath}%`, `${p.unitPath}%`] };
}

/** May the principal see this clue? One statement; inside a transaction pass its `em`. */
export async function canSeeClue(em: Em, p: Principal, clueId: string): Promise<boolean> {
  if (!UUID.test(clueId)) return false;
  const vis = visibleClues(p);
  const rows = await sql(em, `select 1 from clue c where c.id = ? and ${vis.where}`, [clueId, ...vis.params]);
  return rows.length > 0;
}

/** Of these clue ids, those the principal may see (for references from one clue to others: repeats, merges). */
export async function visibleClueIds(em: Em, p: Principal, clueIds: string[]): Promise<Set<string>> {
  const ids = [...new Set(clueIds.filter((id) => UUID.test(id)))];
  if (!ids.length) return new Set();
  const vis = visibleClues(p);
  const rows = await sql<{ id: string }>(em, `select c.id from clue c where c.id in (?) and ${vis.where}`, [ids, ...vis.params]);
  return new Set(rows.map((r) => r.id));
}

/** Is this staff account in the clue's excluded set by person (b, c)? */
export async function isStaffExcluded(em: Em, clueId: string, staffId: string): Promise<string | null> {
  const [row] = await sql<{ reason: string }>(em, 'select reason from clue_exclusion where clue_id = ? and staff_id = ? limit 1', [clueId, staffId]);
  return row?.reason ?? null;
}

/**
 * Refuses handing the clue to a unit in its excluded set (the unit or one above it is an accused's
 * unit), offering the nearest unit above that is outside it. None left (the accused sits at the
 * district root): the clue stays with the admins and is proposed for referral to the discipline body.
 */
/** The units in the clue's excluded set (an accused's unit: it and every unit below it are excluded). */
async function excludedUnits(em: Em, clueId: string): Promise<Set<string>> {
  return new Set(
    (await sql<{ unit_id: string }>(em, 'select distinct unit_id from clue_exclusion where clue_id = ? and unit_id is not null', [clueId])).map((r) => r.unit_id),
  );
}

/** Where on the unit's path (root first) the first excluded unit is, or -1: the unit may handle the clue. */
const firstExcludedOnPath = (chain: string[], excluded: Set<string>) => chain.findIndex((id) => excluded.has(id));

export async function assertUnitMayHandle(em: Em, clueId: string, unitId: string) {
  const excluded = await excludedUnits(em, clueId);
  if (!excluded.size) return;
  const [unit] = await sql<{ path: string }>(em, 'select path from unit where id = ?', [unitId]);
  if (!unit) return;
  const chain = unitsOnPath(unit.path); // root first, the unit last
  const firstExcluded = firstExcludedOnPath(chain, excluded);
  if (firstExcluded < 0) return;
  const suggestedUnitId = firstExcluded > 0 ? chain[firstExcluded - 1]! : null;
  const [suggested] = suggestedUnitId ? await sql<{ name: string }>(em, 'select name from unit where id = ?', [suggestedUnitId]) : [];
  throw recusalRequired(
    {
      reason: 'accused_unit',
      suggestedUnitId,
      suggestedUnitName: suggested?.name ?? null,
      ...(suggestedUnitId ? {} : { handledBy: 'admin', referralProposed: true }),
    },
    suggestedUnitId
      ? '被举报人属于该单位或其上级单位 / A person reported belongs to this unit or a unit above it.'
      : '被举报人位于区级，线索由管理员办理并建议移送纪检监察机关 / A person reported sits at the district level: the clue stays with the admins and is proposed for referral to the discipline body.',
  );
}

/** Refuses giving a task (or special supervision) to a staff account in the clue's excluded set, by person or by unit. */
export async function assertStaffMayHandle(em: Em, clueId: string, staffId: string) {
  const [staff] = await sql<{ id: string; role: string; unit_id: string }>(em, 'select id, role, unit_id from staff where id = ?', [staffId]);
  if (!staff) throw recusalRequired({ reason: 'unknown_staff' });
  if (staff.role !== 'admin' && staff.role !== 'discipline_officer') await assertUnitMayHandle(em, clueId, staff.unit_id);
  const reason = await isStaffExcluded(em, clueId, staffId);
  if (!reason) return;
  throw recusalRequired(
    { reason: reason === 'registered_relative' ? 'registered_relative' : 'accused_person' },
    reason === 'registered_relative'
      ? '被举报人是该工作人员备案的近亲属 / A person reported is a registered relative of this staff member.'
      : '该工作人员即被举报人 / This staff member is a person reported.',
  );
}

/**
 * Of these staff accounts, the ones `assertStaffMayHandle` lets handle the clue — the same tests
 * (the account exists; outside the admins and discipline officers, no unit on its unit's path is
 * excluded; it is not in the excluded set by person) — in three statements for any number of
 * accounts instead of up to four each (a chooser of names asks for every candidate).
 */
export async function staffWhoMayHandle(em: Em, clueId: string, staffIds: string[]): Promise<Set<string>> {
  const ids = [...new Set(staffIds.filter((id) => UUID.test(id)))];
  if (!ids.length) return new Set();
  const [staff, excluded, byPerson] = await Promise.all([
    sql<{ id: string; role: string; path: string | null }>(em, 'select s.id, s.role, u.path from staff s left join unit u on u.id = s.unit_id where s.id in (?)', [ids]),
    excludedUnits(em, clueId),
    sql<{ staff_id: string }>(em, 'select distinct staff_id from clue_exclusion where clue_id = ? and staff_id in (?)', [clueId, ids]),
  ]);
  const personExcluded = new Set(byPerson.map((r) => r.staff_id));
  const may = new Set<string>();
  for (const s of staff) {
    const unitRule = s.role !== 'admin' && s.role !== 'discipline_officer' && excluded.size > 0 && s.path !== null;
    if (unitRule && firstExcludedOnPath(unitsOnPath(s.path!), excluded) >= 0) continue;
    if (personExcluded.has(s.id)) continue;
    may.add(s.id);
  }
  return may;
}

/** A person's name key in SQL, as `nameKey` (app/text.ts) computes it in JavaScript. */
export const sqlNameKey = (expr: string) => `lower(regexp_replace(normalize(${expr}, NFKC), '[[:space:]·•・‧.]', '', 'g'))`;

const list = (xs: readonly string[]) => xs.map((x) => `'${x}'`).join(', ');

/**
 * `insert … select` writing the excluded set of the accused in the CTE `acc`, a relation with columns
 * (accused_id uuid, clue_id uuid, role text, unit_id uuid, name_key text, clue_unit_id uuid): the
 * `accused` table for a recompute, a VALUES list for a registration (whose accused rows are written
 * by the same statement and not yet visible to it).
 */
export function exclusionInsert(opts: { fresh?: boolean } = {}): string {
  return `insert into clue_exclusion (id, clue_id, accused_id, unit_id, staff_id, reason)
  ${exclusionSelect(opts)} on conflict (id) do nothing`;
}

/**
 * A member's id: a hash of what it is (clue, accused, reason, unit or staff account), so that two
 * writes of the same member collide and a recompute writes the ids a registration wrote.
 */
const memberIdSql = `md5(e.clue_id::text || e.accused_id::text || e.reason || coalesce(e.unit_id, e.staff_id)::text)::uuid`;

/** `memberIdSql` in JavaScript, for the unit members a registration writes as plain rows. */
export function exclusionMemberId(clueId: string, accusedId: string, reason: ExclusionReason, memberId: string): string {
  return uuidText(createHash('md5').update(`${clueId.toLowerCase()}${accusedId.toLowerCase()}${reason}${memberId.toLowerCase()}`).digest());
}

/** The rows of the excluded set (id, clue_id, accused_id, unit_id, staff_id, reason) from the relation `acc`. */
function exclusionSelect(opts: { fresh?: boolean }): string {
  // A registration's accused are new: no operator has linked them to an account yet, so the link
  // branch and the "marked not the same person" tests can only come up empty — left out, which
  // saves planning and running them in every registration. Its unit members need no table at all
  // (the accused's own unit): the registration writes them as plain rows (`freshUnitMembers`),
  // and this select gives the members found by name only.
  const notMarkedWrong = (staff: string) =>
    opts.fresh ? '' : `and not exists (select 1 from accused_link l where l.accused_id = acc.accused_id and l.staff_id = ${staff} and l.kind = 'not_same_person')`;
  const linked = opts.fresh
    ? ''
    : `union all
    select acc.clue_id, acc.accused_id, null::uuid, l.staff_id, 'accused_linked'
      from acc join accused_link l on l.accused_id = acc.accused_id and l.kind = 'same_person'`;
  const unitBranch = opts.fresh
    ? ''
    : `select acc.clue_id, acc.accused_id, acc.unit_id, null::uuid as staff_id, 'accused_unit' as reason
      from acc where acc.unit_id is not null and acc.role in (${list(UNIT_EXCLUDING_ROLES)})
    union all
    `;
  return `select ${memberIdSql},
         e.clue_id, e.accused_id, e.unit_id, e.staff_id, e.reason from (
    ${unitBranch}select acc.clue_id, acc.accused_id, null::uuid as unit_id, s.id as staff_id, 'accused_name' as reason
      from acc cross join lateral (
        select coalesce((select split_part(u.path, '/', 2) from unit u where u.id = acc.unit_id),
                        (select split_part(u.path, '/', 2) from unit u where u.id = acc.clue_unit_id)) as district) d
      join staff s on ${sqlNameKey('s.display_name')} = acc.name_key
      join unit su on su.id = s.unit_id
      where acc.name_key <> '' and (d.district is null or su.path like '/' || d.district || '/%')
        ${notMarkedWrong('s.id')}
    ${linked}
    union all
    select acc.clue_id, acc.accused_id, null::uuid, n.registrant_staff_id, 'accused_registrant'
      from acc join near_relative n on n.registrant_name_key = acc.name_key and n.registrant_staff_id is not null
      join unit nu on nu.id = n.registrant_unit_id
      where acc.name_key <> '' and acc.role in (${list(REGISTRANT_ROLES)})
        and (acc.unit_id is null or nu.path like '%/' || acc.unit_id || '/%')
        ${notMarkedWrong('n.registrant_staff_id')}
    union all
    select acc.clue_id, acc.accused_id, null::uuid, s.id, 'registered_relative'
      from acc join near_relative n on n.relative_name_key = acc.name_key
      join staff s on s.id = n.registrant_staff_id
        or (n.registrant_staff_id is null and s.unit_id = n.registrant_unit_id and ${sqlNameKey('s.display_name')} = n.registrant_name_key)
      where acc.name_key <> ''
  ) e`;
}

/**
 * The members of a registration's excluded set found by name (staff accounts named as accused, the
 * registrants of near-relative rows under an accused's name, the staff who registered an accused
 * as their relative), as a function of the accused it names (ids, clue ids, roles, unit ids, name
 * keys, the clues' unit ids: parallel arrays). The registration statement inserts what it returns,
 * beside the unit members it writes itself (`freshUnitMembers`). In a PL/pgSQL function its query
 * is planned once per connection and the plan kept (generic plan forced: the arrays make every
 * call look alike), where inline in the registration statement — whose text changes with the size
 * of each group — it was planned again every time (bench/README "register").
 *
 * It first asks whether any staff account or near-relative row has one of the name keys at all
 * (three index probes): most reports name nobody on staff or in the registry, and then the three
 * joined branches are not run, which was most of a registration's cost of its excluded set
 * (bench/README "Intake: the excluded set's name members behind a gate"). The gate only skips
 * branches that would find nothing: each one joins a staff name key or a registry name key to the
 * accused's.
 *
 * STABLE: it reads with the calling statement's snapshot, as the inline version did. The
 * migration `Migration20261208000000_exclusion_name_gate` creates it with this very text (a test
 * holds the two together: a change of the rule needs a new migration).
 */
export const FRESH_EXCLUSIONS_FUNCTION = `create or replace function clue_exclusions_named(
    p_accused_id uuid[], p_clue_id uuid[], p_role text[], p_unit_id uuid[], p_name_key text[], p_clue_unit_id uuid[])
  returns table (x_id uuid, x_clue_id uuid, x_accused_id uuid, x_unit_id uuid, x_staff_id uuid, x_reason text)
  language plpgsql stable set plan_cache_mode = force_generic_plan as $fn$
begin
  if not (exists (select 1 from staff s where ${sqlNameKey('s.display_name')} = any(p_name_key))
      or exists (select 1 from near_relative n where n.relative_name_key = any(p_name_key))
      or exists (select 1 from near_relative n where n.registrant_name_key = any(p_name_key))) then
    return;
  end if;
  return query with acc as (
    select * from unnest(p_accused_id, p_clue_id, p_role, p_unit_id, p_name_key, p_clue_unit_id)
      as acc (accused_id, clue_id, role, unit_id, name_key, clue_unit_id))
  ${exclusionSelect({ fresh: true })};
end
$fn$`;

/** The registration statement's insert of the members found by name; `$n` placeholders of the six arrays. */
export function freshExclusionsInsert(placeholders: string[]): string {
  const [accused, clue, role, unit, nameKey, clueUnit] = placeholders;
  return `insert into clue_exclusion (id, clue_id, accused_id, unit_id, staff_id, reason)
  select * from clue_exclusions_named(${accused}::uuid[], ${clue}::uuid[], ${role}::text[], ${unit}::uuid[], ${nameKey}::text[], ${clueUnit}::uuid[])
  on conflict (id) do nothing`;
}

/**
 * A registration's unit members (rule (a)): for each accused of a unit-excluding role with a unit,
 * that unit, as rows (id, clue_id, accused_id, unit_id) with the id the recompute gives them.
 */
export function freshUnitMembers(accused: { id: string; clueId: string; role: string; unitId: string | null }[]): [string, string, string, string][] {
  return accused
    .filter((a): a is typeof a & { unitId: string } => a.unitId !== null && (UNIT_EXCLUDING_ROLES as readonly string[]).includes(a.role))
    .map((a) => [exclusionMemberId(a.clueId, a.id, 'accused_unit', a.unitId), a.clueId, a.id, a.unitId]);
}

/** The `acc` relation over the accused table for the clues in `$1` (uuid[]). */
const accusedOfClues = `with acc as (select a.id as accused_id, a.clue_id, a.role, a.unit_id, a.name_key, c.unit_id as clue_unit_id
  from accused a join clue c on c.id = a.clue_id where a.clue_id = any($1::uuid[])) `;

/**
 * Rewrites the excluded set of these clues from their accused, the staff accounts, the links and
 * the registry, in the caller's transaction. For one clue the caller holds its lock; concurrent
 * recomputes of the same clue write the same ids (a member's id is a hash of what it is), never miss one.
 */
export async function recomputeExclusions(em: Em, clueIds: string[]) {
  const ids = [...new Set(clueIds)];
  if (!ids.length) return;
  await sqlBound(em, 'delete from clue_exclusion where clue_id = any($1::uuid[])', [ids]);
  await sqlBound(em, accusedOfClues + exclusionInsert(), [ids]);
}

/** The clues naming someone with one of these name keys: what a registry change or a staff (re)name re-evaluates. */
export async function cluesNaming(em: Em, nameKeys: string[]): Promise<string[]> {
  const keys = [...new Set(nameKeys.filter(Boolean))];
  if (!keys.length) return [];
  const rows = await sqlBound<{ clue_id: string }>(em, 'select distinct clue_id from accused where name_key = any($1::text[])', [keys]);
  return rows.map((r) => r.clue_id);
}

/**
 * A staff account was created, renamed or moved: re-evaluates the clues naming it (by its name
 * now, and by its old name if given) and those it is already excluded from. Bounded by the
 * accused-name index.
 */
export async function recomputeForStaff(em: Em, staffId: string, oldDisplayName?: string) {
  const [row] = await sqlBound<{ key: string; old: string | null }>(
    em,
    `select ${sqlNameKey('display_name')} as key, ${sqlNameKey('$2::text')} as old from staff where id = $1`,
    [staffId, oldDisplayName ?? null],
  );
  if (!row) return;
  const already = await sqlBound<{ clue_id: string }>(em, 'select distinct clue_id from clue_exclusion where staff_id = $1', [staffId]);
  await recomputeExclusions(em, [...(await cluesNaming(em, [row.key, row.old ?? ''])), ...already.map((r) => r.clue_id)]);
}

/** Every clue's excluded set as one statement (data-set builds; a recompute after a unit move). */
export const ALL_EXCLUSIONS_SQL = `with acc as (select a.id as accused_id, a.clue_id, a.role, a.unit_id, a.name_key, c.unit_id as clue_unit_id
  from accused a join clue c on c.id = a.clue_id) ${exclusionInsert()}`;

/** Rewrites every clue's excluded set: set-based, two statements. */
export async function recomputeAllExclusions(em: Em) {
  await sqlBound(em, 'delete from clue_exclusion', []);
  await sqlBound(em, ALL_EXCLUSIONS_SQL, []);
}
