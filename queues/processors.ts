import { type Job, UnrecoverableError } from 'bullmq';
import type { Dependencies } from '../src/app/dependencies.ts';
import type { JobPayloads, QueueName } from './names.ts';

/** Thin: each processor checks its payload and calls one use case. */
export function createProcessors(deps: Dependencies): Record<QueueName, (job: Job) => Promise<unknown>> {
  return {
    triage: async (job) => {
      const { clueId } = job.data as JobPayloads['triage']['clue.registered'];
      if (typeof clueId !== 'string') throw new UnrecoverableError('triage job without clueId');
      return deps.triage.checkNewClue(clueId);
    },
    ledger: async (job) => {
      if (job.name !== 'ledger.checkpoint') throw new UnrecoverableError(`unknown ledger job ${job.name}`);
      return deps.sealCheckpoint();
    },
  };
}
