import { sql } from '../../app/db.ts';
import { forbidden } from '../../app/errors.ts';
import type { StaffCall } from '../staff/access.ts';

/**
 * Reading the audit chains (writing is `appendAuditEvent` in the transaction of each change). The
 * system chain records administration: who created or changed an account, a unit, the policy, an
 * export. Admins only.
 */
export function createAuditUseCases() {
  async function listEvents({ ctx, input: query }: StaffCall<{ chain: string; afterSeq?: number; limit: number }>) {
    if (ctx.principal.role !== 'admin') throw forbidden();
    const rows = await sql<{ seq: number; type: string; actor: string; at: Date; data: Record<string, unknown>; hash: string }>(
      ctx.em,
      'select seq, type, actor, at, data, hash from ledger_event where audit_id = ? and seq > ? order by seq limit ?',
      [query.chain, query.afterSeq ?? 0, query.limit + 1],
    );
    const items = rows.slice(0, query.limit);
    return { items, nextAfterSeq: rows.length > query.limit ? items.at(-1)!.seq : null };
  }

  return { listEvents };
}

export type AuditUseCases = ReturnType<typeof createAuditUseCases>;
