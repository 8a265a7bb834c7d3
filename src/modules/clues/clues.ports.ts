import type { Em } from '../../app/db.ts';
import type { Clue } from './clue.entity.ts';
import type { Actor } from './ledger.ts';
import type { ClueAction, DeclineReason } from './status-machine.ts';
import type { Principal } from '../staff/access.ts';

/** One deadline an event starts, planned (not yet written), and the ledger event that records it. */
export interface PlannedDeadline {
  row: { id: string; kind: string; unit: string | null; startsAt: Date; dueAt: Date; policy: unknown; fireSeq: number; nextFireAt: Date | null };
  event: { type: string; actor: Actor; data?: Record<string, unknown> };
}

/**
 * What registering and moving a clue need of deadline planning, declared here so that the clues
 * module needs nothing of the deadlines module (which stands on the ledger): the roots pass the
 * deadlines use cases (src/modules/deadlines/deadlines.usecases.ts), which have this shape.
 * `planStarts` is pure (policy, calendar and clock in, rows out); `onEvent` writes in `tx`.
 */
export interface DeadlinePlanning {
  currentPolicy(): Promise<unknown>;
  planStarts(policy: unknown, clue: { id: string; named: boolean; unit: string | null | undefined }, token: string, at: Date): PlannedDeadline[];
  onEvent(tx: Em, clue: Pick<Clue, 'id' | 'named' | 'unit' | 'headSeq' | 'headHash' | 'updatedAt'>, token: string, at: Date): Promise<unknown>;
}

/**
 * Tells the reporter that their clue was accepted or declined, inside the transition's transaction
 * (a thread message, and mail for a named reporter): the messages module's, passed by the roots.
 */
export type TellReporterOfDecision = (
  tx: Em,
  clue: Clue,
  input: { action: ClueAction; reason?: string; reasonCode?: DeclineReason },
  principal: Principal,
  now: Date,
) => void;
