import type { UseCaseCall, UseCaseContext } from '../../app/usecase.ts';
import type { StaffRole } from './staff.entity.ts';

/** The signed-in staff member, as every staff use case sees them. */
export interface Principal {
  id: string;
  username: string;
  role: StaffRole;
  unitId: string;
  /** Materialised path of the principal's unit: they see clues of this unit and below. */
  unitPath: string;
  /** True when the principal's unit is a root (district): they also see clues with no unit yet. */
  unitIsRoot: boolean;
  /** Discipline officers: the body whose referred clues they see. */
  disciplineBodyId?: string | null;
  /** The account has confirmed a second factor (TOTP). */
  secondFactor?: boolean;
}

/** A staff use case's context (`verb({ ctx, input })`, src/app/usecase.ts): built per request by the roots (src/roots/server.ts). */
export type StaffContext = UseCaseContext<Principal>;
/** A staff use case's argument. */
export type StaffCall<I> = UseCaseCall<Principal, I>;
/**
 * The argument of a check that a principal may see a clue (`clues.assertVisible`): only the context's
 * principal and `em` are read, so a use case inside a transaction passes `{ ...ctx, em: tx }` or `{ principal, em: tx }`.
 */
export interface ClueVisibilityCall {
  ctx: Pick<StaffContext, 'principal' | 'em'>;
  input: { clueId: string };
}

/** Roles that see every clue regardless of unit (DESIGN.md invariant 5: "except roles granted more"). */
const seesAllUnits: ReadonlySet<StaffRole> = new Set(['admin']);
/** Roles that may open the sealed reporter record (each view is a ledger event). */
const mayRevealReporter: ReadonlySet<StaffRole> = new Set(['operator', 'supervisor']);
/** Roles that register clues taken by phone, letter or visit and change a clue's status. */
const mayHandleClues: ReadonlySet<StaffRole> = new Set(['operator', 'supervisor', 'admin', 'caseworker']);
const mayRegisterClues: ReadonlySet<StaffRole> = new Set(['operator', 'supervisor', 'admin']);

export const can = {
  seeAllUnits: (p: Principal) => seesAllUnits.has(p.role),
  revealReporter: (p: Principal) => mayRevealReporter.has(p.role),
  handleClues: (p: Principal) => mayHandleClues.has(p.role),
  registerClues: (p: Principal) => mayRegisterClues.has(p.role),
  manageStaff: (p: Principal) => p.role === 'admin',
};

/**
 * The unit rule alone: SQL condition (on alias `c`) limiting clues to those the principal's units
 * reach. Discipline officers see none through the unit tree: only the clues referred to their body.
 * Callers use `visibleClues` (src/modules/visibility), which adds the clue's excluded set.
 */
export function clueVisibility(p: Principal): { where: string; params: unknown[] } {
  if (can.seeAllUnits(p)) return { where: 'true', params: [] };
  if (p.role === 'discipline_officer') {
    return p.disciplineBodyId ? { where: 'c.id in (select clue_id from referral where body_id = ?)', params: [p.disciplineBodyId] } : { where: 'false', params: [] };
  }
  // The unit a clue concerns, or the unit it was assigned to (转办), within the principal's subtree.
  const unitCond = '(c.unit_id in (select id from unit where path like ?) or c.assigned_unit_id in (select id from unit where path like ?))';
  const params = [`${p.unitPath}%`, `${p.unitPath}%`];
  if (p.unitIsRoot) return { where: `(${unitCond} or c.unit_id is null)`, params };
  return { where: unitCond, params };
}
