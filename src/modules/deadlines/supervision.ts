import { randomUUID } from 'node:crypto';
import type { ClueEventHook } from '../clues/ledger.ts';
import { StaffNotice } from './deadline.entity.ts';

/**
 * Special supervision (督办): the supervisor attached to a clue hears of every event on it, by a
 * notice written in the event's own transaction. Subscribed to the ledger by the roots
 * (src/roots/ledger-hooks.ts), so the ledger writes no row of this module.
 */
export const noticeSupervisor: ClueEventHook = (em, clue, event, at) => {
  const supervisor = (clue as { supervisor?: string | null }).supervisor;
  const unit = (clue as { unit?: string | null }).unit;
  if (!supervisor || !unit) return;
  em.create(StaffNotice, {
    id: randomUUID(),
    unit,
    role: null,
    staffId: supervisor,
    clue: clue.id,
    deadline: null,
    kind: 'supervised',
    textZh: `督办线索有新动态：${event.type}`,
    textEn: `Supervised clue: ${event.type}`,
    createdAt: at,
  });
};
