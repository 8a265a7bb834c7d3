import { onClueEvent } from '../modules/clues/ledger.ts';
import { noticeSupervisor } from '../modules/deadlines/supervision.ts';

/**
 * What other modules keep, in the same transaction, about every event appended to a clue's chain.
 * Idempotent (a hook is subscribed once however often this runs): every root that opens the
 * application (createDependencies) calls it.
 */
export function registerLedgerHooks(): void {
  onClueEvent(noticeSupervisor);
}
