import type { Em } from '../../app/db.ts';
import type { JobName, JobPayload, QueueName } from '../../../queues/names.ts';
import { OutboxMessage } from './outbox.entity.ts';

/**
 * Records the intent to enqueue a job inside the caller's transaction. `jobId` must be
 * deterministic (derived from what caused it) so that a retried or replayed change adds nothing twice.
 */
export function enqueueInTransaction<Q extends QueueName, N extends JobName<Q>>(
  em: Em,
  at: Date,
  job: { queue: Q; name: N; jobId: string; payload: JobPayload<Q, N>; delayMs?: number },
): OutboxMessage {
  return em.create(OutboxMessage, {
    queue: job.queue,
    jobName: job.name,
    jobId: job.jobId,
    payload: job.payload as Record<string, unknown>,
    delayMs: job.delayMs ?? 0,
    createdAt: at,
    attempts: 0,
  });
}
