import { type Job, UnrecoverableError } from 'bullmq';
import type { Dependencies } from './dependencies.ts';
import { processHotlineJob } from '../../queues/hotline.processor.ts';
import type { QueueName } from '../../queues/names.ts';
import { processEmailJob } from '../../queues/email.processor.ts';
import { processTriageJob } from '../../queues/triage.processor.ts';
import { processNotificationJob } from '../../queues/notifications.processor.ts';
import { processDeadlineJob } from '../../queues/deadlines.processor.ts';
import { processLedgerJob } from '../../queues/ledger.processor.ts';
import { completeIntent } from '../modules/outbox/outbox.relay.ts';

/**
 * A job whose hash Redis lost (its keys were deleted while its id waited in a list): no name, no
 * data. Failed with this reason, never run; if it came from an outbox row, the reconciler puts the
 * real job back from the row (its row is not marked failed).
 */
export class JobDataMissing extends UnrecoverableError {
  constructor(queue: string, jobId: string | undefined) {
    super(`job ${jobId ?? '(no id)'} in queue ${queue} has no name or data in Redis (its keys were deleted?); not run: an outbox job is put back from its row`);
    this.name = 'UnrecoverableError';
  }
}

/** Queues whose jobs come from outbox rows (the others' come from job schedulers and deadline rows). */
const intentQueues: ReadonlySet<QueueName> = new Set(['triage', 'notifications', 'hotline']);

/**
 * Every processor, guarded: a job without a name or data is failed with a clear reason (never
 * run, never a crash), and a job that came from an outbox row deletes that row once it succeeded
 * (the use cases that commit an effect delete it in that transaction already; this is then a no-op).
 */
export function createProcessors(deps: Dependencies): Record<QueueName, (job: Job) => Promise<unknown>> {
  const inner = createInnerProcessors(deps);
  return Object.fromEntries(
    Object.entries(inner).map(([queue, run]) => [
      queue,
      async (job: Job) => {
        if (typeof job.name !== 'string' || !job.name || job.data === null || typeof job.data !== 'object') throw new JobDataMissing(queue, job.id);
        const result = await run(job);
        if (intentQueues.has(queue as QueueName) && !job.repeatJobKey && job.id) await completeIntent(deps.orm.em.fork(), job.id);
        return result;
      },
    ]),
  ) as Record<QueueName, (job: Job) => Promise<unknown>>;
}

/** Which processor runs which queue, and with which use cases (each processor: queues/<queue>.processor.ts). */
function createInnerProcessors(deps: Dependencies): Record<QueueName, (job: Job) => Promise<unknown>> {
  return {
    triage: (job) => processTriageJob(deps, job),
    notifications: (job) => processNotificationJob(deps, job),
    deadlines: (job) => processDeadlineJob(deps, job),
    email: (job) => processEmailJob(deps, job),
    ledger: (job) => processLedgerJob(deps, job),
    hotline: (job) => processHotlineJob(deps.hotline, job),
  };
}
