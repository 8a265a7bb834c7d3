import { createHash } from 'node:crypto';
import { Migration } from '@mikro-orm/migrations';

const GENESIS = '0'.repeat(64);

/**
 * Quarantined mail gets its own hash chain on the ledger: `ledger_event.quarantine_id` (exactly one of
 * it and `clue_id` is set), `quarantined_mail.head_seq/head_hash`, and `ledger_checkpoint.quarantines`
 * (quarantined mail id → [first seq, last seq] sealed, as `clues` is for clues).
 *
 * Mail already in quarantine gets its chain written now, marked `backfilled`: `quarantine.held`, then
 * `quarantine.released` or `quarantine.discarded` if it was resolved, by `system:migration` at the time
 * of the migration (when it happened is in the data). The hashing below is a frozen copy of
 * src/modules/clues/ledger.ts (a shipped migration must not change with the code), and
 * test/quarantine-ledger.test.ts checks that verify-ledger accepts what it writes.
 */
export class Migration20261202000000_quarantine_ledger extends Migration {
  override name = 'Migration20261202000000_quarantine_ledger';

  override async up(): Promise<void> {
    // Statements run in order here (not queued), because the backfill below needs them first.
    for (const statement of [
      `alter table "quarantined_mail" add "head_seq" int not null default 0, add "head_hash" varchar(64) not null default '${GENESIS}'`,
      `alter table "quarantined_mail" alter column "head_seq" drop default, alter column "head_hash" drop default`,
      `alter table "ledger_event" add "quarantine_id" uuid null`,
      `alter table "ledger_event" alter column "clue_id" drop not null`,
      `alter table "ledger_event" add constraint "ledger_event_quarantine_id_foreign" foreign key ("quarantine_id") references "quarantined_mail" ("id") on delete no action`,
      `alter table "ledger_event" add constraint "ledger_event_quarantine_id_seq_unique" unique ("quarantine_id", "seq")`,
      `alter table "ledger_event" add constraint "ledger_event_one_chain_check" check (num_nonnulls(clue_id, quarantine_id) = 1)`,
      `alter table "ledger_checkpoint" add "quarantines" jsonb not null default '{}'`,
      `alter table "ledger_checkpoint" alter column "quarantines" drop default`,
    ]) {
      await this.execute(statement);
    }
    await this.backfill();
  }

  private async backfill(): Promise<void> {
    const rows = (await this.execute(
      `select id, message_id, reason, size, status, resolved_by, resolved_at, resolution, clue_id, received_at
       from quarantined_mail order by received_at, id`,
    )) as {
      id: string;
      message_id: string;
      reason: string;
      size: number | string;
      status: 'held' | 'released' | 'discarded';
      resolved_by: string | null;
      resolved_at: Date | string | null;
      resolution: string | null;
      clue_id: string | null;
      received_at: Date | string;
    }[];
    const at = new Date();
    const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());
    for (const q of rows) {
      const events: { type: string; data: Record<string, unknown> }[] = [
        {
          type: 'quarantine.held',
          data: {
            reason: q.reason,
            size: Number(q.size),
            mail: createHash('sha256').update(q.message_id).digest('hex').slice(0, 16),
            receivedAt: iso(q.received_at),
            backfilled: true,
          },
        },
      ];
      const resolved = { reason: q.reason, resolvedBy: q.resolved_by, resolvedAt: iso(q.resolved_at), backfilled: true };
      if (q.status === 'released') events.push({ type: 'quarantine.released', data: { ...resolved, clueId: q.clue_id } });
      if (q.status === 'discarded') events.push({ type: 'quarantine.discarded', data: { ...resolved, resolution: q.resolution } });
      let prevHash = GENESIS;
      let seq = 0;
      for (const e of events) {
        seq++;
        const data = JSON.parse(canonical(e.data)) as Record<string, unknown>;
        const body = canonical({ quarantine: q.id, seq, type: e.type, actor: 'system:migration', at, data });
        const hash = createHash('sha256').update(prevHash).update('\n').update(body).digest('hex');
        await this.execute(
          `insert into ledger_event (quarantine_id, seq, type, actor, at, data, prev_hash, hash) values (?, ?, ?, ?, ?::timestamptz, ?::jsonb, ?, ?)`,
          [q.id, seq, e.type, 'system:migration', at.toISOString(), canonical(data), prevHash, hash],
        );
        prevHash = hash;
      }
      await this.execute(`update quarantined_mail set head_seq = ?, head_hash = ? where id = ?`, [seq, prevHash, q.id]);
    }
  }
}

/** JSON with sorted keys and no undefined (frozen copy of canonicalJson in src/modules/clues/ledger.ts). */
function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map((v) => canonical(v === undefined ? null : v)).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}
