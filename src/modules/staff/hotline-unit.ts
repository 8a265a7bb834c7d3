import { type Em, sql } from '../../app/db.ts';
import type { Principal } from './access.ts';

/**
 * The hotline unit (README "Who sees quarantine and call-back numbers"): the unit whose operators
 * answer the hotline and handle quarantined mail and call-back numbers. Configured by
 * `HOTLINE_UNIT_CODE`; unset, the root unit(s). Quarantined mail and call-back numbers may name a
 * reporter and belong to no clue's unit yet, so they stay with this unit: its operators and
 * supervisors, and admins — never a street's or a committee's staff, who may be the accused.
 */
export function createHotlineUnit(em: () => Em, code: string | undefined) {
  /** The hotline unit(s) as rows, id and path; with no code, every root unit. */
  async function units(): Promise<{ id: string; path: string }[]> {
    if (code) return sql<{ id: string; path: string }>(em(), 'select id, path from unit where code = ?', [code]);
    return sql<{ id: string; path: string }>(em(), 'select id, path from unit where parent_id is null order by path');
  }

  /** Admins, and the operators and supervisors of the hotline unit itself. */
  async function mayHandle(p: Principal): Promise<boolean> {
    if (p.role === 'admin') return true;
    if (p.role !== 'operator' && p.role !== 'supervisor') return false;
    if (!code) return p.unitIsRoot;
    return (await units()).some((u) => u.id === p.unitId);
  }

  return { units, mayHandle };
}

export type HotlineUnit = ReturnType<typeof createHotlineUnit>;
