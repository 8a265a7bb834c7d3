import type { Clock } from '../../app/clock.ts';
import { type Em, type Orm, sql } from '../../app/db.ts';
import type { Logger } from '../../app/logger.ts';

/**
 * Watches the unsealed tail. Events written after the last checkpoint are protected only by their own
 * chains until the next checkpoint seals them: whoever can write the tables could rewrite them in that
 * window, and the next checkpoint would seal the forgery. Checkpoints come every few seconds; if an
 * event waits longer than LEDGER_CHECKPOINT_ALERT_MS (the checkpoint job stopped, Redis or the workers
 * are down), `/healthz` says so and the supervisors of the root unit get one notice per stall.
 *
 * This runs in the `serve` role, not as a job: a stalled job queue is exactly what it must notice.
 */
export interface TailState {
  /** The newest checkpoint's id (0: none yet) and when it was sealed. */
  lastCheckpointId: number;
  lastSealedAt: Date | null;
  /** When the oldest event not yet sealed was written (null: nothing waits). */
  oldestUnsealedAt: Date | null;
  overdue: boolean;
}

export function createLedgerWatch({ orm, clock, logger, alertMs }: { orm: Orm; clock: Clock; logger: Logger; alertMs: number }) {
  async function state(em: Em = orm.em.fork()): Promise<TailState> {
    const [last] = await sql<{ id: number; to_xid: string; sealed_at: Date }>(
      em,
      'select id, to_xid::text as to_xid, sealed_at from ledger_checkpoint order by id desc limit 1',
    );
    // Events of transactions at or above the last sealed range's end are not sealed yet (ledger_event_txid_index).
    const [oldest] = await sql<{ at: Date | null }>(em, 'select min(at) as at from ledger_event where txid >= ?::xid8', [last?.to_xid ?? '0']);
    const oldestUnsealedAt = oldest?.at ? new Date(oldest.at) : null;
    return {
      lastCheckpointId: last?.id ?? 0,
      lastSealedAt: last ? new Date(last.sealed_at) : null,
      oldestUnsealedAt,
      overdue: !!oldestUnsealedAt && clock.now().getTime() - oldestUnsealedAt.getTime() > alertMs,
    };
  }

  /** Looks once; on a stall not yet reported, tells the root unit's supervisors (once, whatever the number of replicas). */
  async function check(): Promise<TailState> {
    const em = orm.em.fork();
    const s = await state(em);
    if (!s.overdue) return s;
    const raised = await em.transactional(async (tx) => {
      const [row] = await sql<{ after_checkpoint_id: number }>(
        tx,
        'insert into ledger_alert (after_checkpoint_id, raised_at) values (?, ?) on conflict do nothing returning after_checkpoint_id',
        [s.lastCheckpointId, clock.now()],
      );
      if (!row) return false;
      const minutes = Math.round((clock.now().getTime() - s.oldestUnsealedAt!.getTime()) / 60_000);
      await sql(
        tx,
        `insert into staff_notice (id, unit_id, role, staff_id, clue_id, deadline_id, callback_id, kind, text_zh, text_en, created_at)
         select gen_random_uuid(), id, 'supervisor', null, null, null, null, 'ledger_overdue', ?, ?, ? from unit where parent_id is null`,
        [
          `台账封存已停止：有记录等待封存已约 ${minutes} 分钟（上一封存点第 ${s.lastCheckpointId} 号）。请检查后台任务（work 进程、Redis）。`,
          `Ledger sealing has stopped: events have waited about ${minutes} min for a checkpoint (last: no. ${s.lastCheckpointId}). Check the workers and Redis.`,
          clock.now(),
        ],
      );
      return true;
    });
    if (raised) logger.error({ lastCheckpointId: s.lastCheckpointId, oldestUnsealedAt: s.oldestUnsealedAt }, 'ledger checkpoint overdue: supervisors notified');
    return s;
  }

  let timer: NodeJS.Timeout | null = null;
  return {
    state,
    check,
    start(everyMs = Math.min(60_000, Math.max(1000, alertMs / 5))) {
      if (timer) return;
      timer = setInterval(() => void check().catch((err: Error) => logger.warn({ err: err.message }, 'ledger watch could not look')), everyMs);
      timer.unref();
    },
    stop() {
      if (timer) clearInterval(timer);
      timer = null;
    },
  };
}

export type LedgerWatch = ReturnType<typeof createLedgerWatch>;
