import { type Em, sql } from '../../app/db.ts';
import { problemTypes } from '../clues/clue.entity.ts';
import type { Principal } from '../staff/access.ts';
import { Unit } from '../staff/unit.entity.ts';
import { statisticsUnitNotFound } from './statistics.errors.ts';
import { ensureRollup, periodFigures } from './rollup.ts';
import { type AnnexFigures, annexColumns, emptyFigures, problemTypeColumns } from './statistics.definitions.ts';

export interface SelfInspectionRow {
  /** The street or town; null for the district's own line (clues at the district, or with no unit yet). */
  unitId: string | null;
  unitName: string;
  figures: AnnexFigures;
}

export interface SelfInspectionTable {
  unit: { id: string; name: string; kind: string };
  period: { from: string; to: string };
  columns: typeof annexColumns;
  rows: SelfInspectionRow[];
  total: AnnexFigures;
  /** Conclusions in the period that recorded no split by problem type (counted in no type column). */
  untyped: { clues: number; peopleRemoved: number; fundsRecoveredYuan: number };
}

const DISTRICT_SELF = '区本级 / district level';
const money = (n: number) => Math.round(n * 100) / 100;

/**
 * The self-inspection table (Putuo 2024 annex) for a unit and a period of local dates (both
 * inclusive). A district gets one line per street or town below it, its own line and the total; a
 * street or town gets its own line. Definitions: statistics.definitions.ts.
 */
export async function selfInspectionTable(
  em: Em,
  principal: Principal,
  input: { unitId?: string; from: string; to: string; fromAt: Date; toAt: Date; yesterday: string; todayAt: Date; timeZone: string; startOfDate: (date: string) => Date; now: Date },
): Promise<SelfInspectionTable> {
  const unit = await em.findOne(Unit, { id: input.unitId ?? principal.unitId });
  if (!unit || (principal.role !== 'admin' && !unit.path.startsWith(principal.unitPath))) throw statisticsUnitNotFound();
  const perChild = unit.kind === 'district';
  const children = perChild ? await em.find(Unit, { parent: unit.id }, { orderBy: { code: 'asc' } }) : [];
  const isRoot = !unit.parent;
  // The line a unit path belongs to: the child's id (segment n + 2 of "/root/…/child/…/"), or '' for
  // the unit itself; a single-line table keys everything to ''.
  const depth = unit.path.split('/').filter(Boolean).length;
  const keyOf = perChild ? `coalesce(split_part(u.path, '/', ${depth + 2}), '')` : `''`;
  const scope = (col: string) => (isRoot ? `(u.path like ? or ${col} is null)` : 'u.path like ?');
  const prefix = `${unit.path}%`;

  // Settled days (before today) from the roll-up, today and later from the rows (rollup.ts).
  const rolledTo = input.to < input.yesterday ? input.to : input.yesterday;
  const liveFromAt = input.fromAt > input.todayAt ? input.fromAt : input.todayAt;
  const read = (db: Em) =>
    periodFigures(db, { keyOf, scope, scopeParams: [prefix], rolledFrom: input.from, rolledTo, liveFromAt, liveToAt: input.toAt < liveFromAt ? liveFromAt : input.toAt });
  const figures =
    input.from <= rolledTo
      ? await em.transactional(async (tx) => {
          await ensureRollup(tx, { from: input.from, to: rolledTo, timeZone: input.timeZone, startOfDate: input.startOfDate, now: input.now });
          return read(tx);
        })
      : await read(em);

  const registrations = await sql<{ k: string; n: number }>(
    em,
    `select ${keyOf} as k, count(*)::int as n
       from near_relative r join unit u on u.id = r.registrant_unit_id
      where u.path like ? and r.created_at < ?
      group by 1`,
    [prefix, input.toAt],
  );

  const lines = new Map<string, SelfInspectionRow>();
  if (perChild) {
    for (const child of children) lines.set(child.id, { unitId: child.id, unitName: child.name, figures: emptyFigures() });
    lines.set('', { unitId: null, unitName: DISTRICT_SELF, figures: emptyFigures() });
  } else {
    lines.set('', { unitId: unit.id, unitName: unit.name, figures: emptyFigures() });
  }
  // A unit below a child is keyed to the child; anything else (a unit moved since) to the district line.
  const line = (k: string | null) => (lines.get(k ?? '') ?? lines.get(''))!.figures;

  const untyped = { clues: 0, peopleRemoved: 0, fundsRecoveredYuan: 0 };
  for (const r of figures) {
    const f = line(r.k);
    f.civilAffairsClues += Number(r.civil_clues);
    f.civilAffairsDisposed += Number(r.civil_disposed);
    f.petitions += Number(r.petitions);
    f.petitionsDisposed += Number(r.petitions_disposed);
    for (const t of problemTypes) {
      f[problemTypeColumns[t].people] += Number(r[`${t}_people`]);
      f[problemTypeColumns[t].funds] = money(f[problemTypeColumns[t].funds] + Number(r[`${t}_funds`]));
    }
    f.enrolledAfterSingleFix += Number(r.single_fix);
    f.cardCustodyCases += Number(r.custody);
    untyped.clues += Number(r.untyped_clues);
    untyped.peopleRemoved += Number(r.untyped_people);
    untyped.fundsRecoveredYuan = money(untyped.fundsRecoveredYuan + Number(r.untyped_funds));
  }
  for (const r of registrations) line(r.k).nearRelativeRegistrations += r.n;

  const rows = [...lines.values()];
  const total = emptyFigures();
  for (const r of rows) for (const c of annexColumns) total[c.key] = money(total[c.key] + r.figures[c.key]);
  return { unit: { id: unit.id, name: unit.name, kind: unit.kind }, period: { from: input.from, to: input.to }, columns: annexColumns, rows, total, untyped };
}
