import { type Job, UnrecoverableError } from 'bullmq';
import type { JobPayloads } from './names.ts';
import type { DeadlineScheduler } from '../src/modules/deadlines/deadlines.scheduler.ts';
import type { DeadlineUseCases } from '../src/modules/deadlines/deadlines.usecases.ts';

export interface DeadlineJobDeps {
  deadlines: Pick<DeadlineUseCases, 'fireStep'>;
  deadlineScheduler: Pick<DeadlineScheduler, 'sync' | 'reconcile' | 'kick'>;
}

/** The `deadlines` queue (thin): a deadline step fires, or the periodic reconcile brings Redis in line with the rows. */
export async function processDeadlineJob(deps: DeadlineJobDeps, job: Job): Promise<unknown> {
  if (job.name === 'deadline.reconcile') {
    await deps.deadlineScheduler.sync();
    return deps.deadlineScheduler.reconcile();
  }
  const { deadlineId, seq, at } = job.data as JobPayloads['deadlines']['deadline.fire'];
  if (job.name !== 'deadline.fire' || typeof deadlineId !== 'string' || !Number.isInteger(seq) || typeof at !== 'string') {
    throw new UnrecoverableError(`bad deadline job ${job.name}`);
  }
  const result = await deps.deadlines.fireStep(deadlineId, seq, at);
  // The row moved on (next step scheduled, or closed): bring Redis in line now, not at the next sweep.
  deps.deadlineScheduler.kick();
  return result;
}
