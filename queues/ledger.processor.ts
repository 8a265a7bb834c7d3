import { type Job, UnrecoverableError } from 'bullmq';
import type { LedgerWitness } from '../src/modules/clues/ledger.witness.ts';

export interface LedgerJobDeps {
  ledgerWitness: Pick<LedgerWitness, 'sendDigest'>;
  sealCheckpoint: () => Promise<unknown>;
}

/** The `ledger` queue (thin): seal a checkpoint, or mail the day's digest to the witnesses. */
export async function processLedgerJob(deps: LedgerJobDeps, job: Job): Promise<unknown> {
  if (job.name === 'ledger.witness') return deps.ledgerWitness.sendDigest('system:job:ledger');
  if (job.name !== 'ledger.checkpoint') throw new UnrecoverableError(`unknown ledger job ${job.name}`);
  return deps.sealCheckpoint();
}
