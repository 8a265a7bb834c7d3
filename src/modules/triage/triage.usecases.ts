import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import { type Orm, sql } from '../../app/db.ts';
import type { Logger } from '../../app/logger.ts';
import { Clue } from '../clues/clue.entity.ts';
import { appendEvent } from '../clues/ledger.ts';
import { LedgerEvent } from '../clues/ledger.entity.ts';

/** Several reporters about the same person make a clue major (DESIGN.md: priority). */
export const SEVERAL_REPORTERS = 3;
const LOOKBACK_DAYS = 180;

/**
 * First look at a new clue for the operators: earlier clues naming the same accused person in the
 * last 180 days are listed as possible repeats, and several of them raise the priority to major.
 * Idempotent: a clue is checked once, however often the job runs.
 */
export function createTriageUseCases({ orm, clock, logger }: { orm: Orm; clock: Clock; logger: Logger }) {
  async function checkNewClue(clueId: string) {
    return orm.em.fork().transactional(async (tx) => {
      const clue = await tx.findOne(Clue, { id: clueId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!clue) return { skipped: 'missing' as const };
      if (await tx.count(LedgerEvent, { clue: clueId, type: 'triage.checked' })) return { skipped: 'done' as const };
      const since = new Date(clock.now().getTime() - LOOKBACK_DAYS * 86400_000);
      const related = await sql<{ id: string; tracking_code: string }>(
        tx,
        `select distinct c.id, c.tracking_code from clue c join accused a on a.clue_id = c.id
         where c.id <> ? and c.status <> 'merged' and c.received_at >= ?
           and lower(a.name) in (select lower(name) from accused where clue_id = ?)
         order by c.tracking_code limit 20`,
        [clueId, since, clueId],
      );
      const major = related.length + 1 >= SEVERAL_REPORTERS && clue.priority !== 'major';
      const now = clock.now();
      appendEvent(
        tx,
        clue,
        {
          type: 'triage.checked',
          actor: 'system:job:triage',
          data: { possibleRepeats: related.map((r) => ({ id: r.id, trackingCode: r.tracking_code })) },
        },
        now,
      );
      if (major) {
        clue.priority = 'major';
        appendEvent(
          tx,
          clue,
          { type: 'clue.priority_changed', actor: 'system:job:triage', data: { priority: 'major', reason: 'several_reporters' } },
          now,
        );
      }
      logger.info({ clueId, possibleRepeats: related.length, major }, 'clue triaged');
      return { possibleRepeats: related.length, major };
    });
  }
  return { checkNewClue };
}

export type TriageUseCases = ReturnType<typeof createTriageUseCases>;
