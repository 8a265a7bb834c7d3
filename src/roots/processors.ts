import { type Job, UnrecoverableError } from 'bullmq';
import type { Dependencies } from './dependencies.ts';
import { processHotlineJob } from '../../queues/hotline.processor.ts';
import type { JobPayloads, QueueName } from '../../queues/names.ts';
import { pollConfiguredMailbox } from '../../queues/email.processor.ts';
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

function createInnerProcessors(deps: Dependencies): Record<QueueName, (job: Job) => Promise<unknown>> {
  return {
    triage: async (job) => {
      const { clueId } = job.data as JobPayloads['triage']['clue.registered'];
      if (typeof clueId !== 'string') throw new UnrecoverableError('triage job without clueId');
      const triaged = await deps.triage.checkNewClue(clueId);
      const matched = await deps.registry.checkClue(clueId);
      await deps.workflow.ensureHomeVisit(clueId);
      return { triaged, matched };
    },
    notifications: async (job) => {
      const data = job.data as { clueId?: unknown; messageId?: unknown; taskId?: unknown };
      const send = () => {
        if (job.name === 'email.reporter_ack' && typeof data.clueId === 'string') return deps.notifications.sendReporterAck(data.clueId, job.id);
        if (job.name === 'email.reporter_decision' && typeof data.clueId === 'string' && typeof data.messageId === 'string') {
          return deps.notifications.sendReporterDecision(data.clueId, data.messageId, job.id);
        }
        if (job.name === 'reporter.reply_notice' && typeof data.clueId === 'string' && typeof data.messageId === 'string') {
          return deps.notifications.sendReplyNotice(data.clueId, data.messageId, job.id);
        }
        if (job.name === 'staff.task_assigned' && typeof data.taskId === 'string') return deps.notifications.noticeTaskAssigned(data.taskId);
        const { referralId } = job.data as { referralId?: unknown };
        if (job.name === 'email.referral_packet' && typeof referralId === 'string') return deps.referrals.sendPacket(referralId, job.id);
        throw new UnrecoverableError(`bad notification job ${job.name}`);
      };
      try {
        return await send();
      } catch (err) {
        // Retries are BullMQ's; the last failure is recorded so nobody wonders whether it went out.
        if (!(err instanceof UnrecoverableError) && job.attemptsMade + 1 >= (job.opts.attempts ?? 1) && typeof data.clueId === 'string') {
          await deps.notifications.recordFailure(`email:${job.name}:${job.id}`, job.name, data.clueId, (err as Error).message);
        }
        throw err;
      }
    },
    deadlines: async (job) => {
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
    },
    email: async (job) => {
      if (job.name !== 'email.poll_imap') throw new UnrecoverableError(`unknown email job ${job.name}`);
      if (!deps.config.IMAP_URL) return { skipped: 'no IMAP_URL' };
      return pollConfiguredMailbox(deps.config.IMAP_URL, deps.email, deps.config.EMAIL_MAX_BYTES, deps.logger);
    },
    ledger: async (job) => {
      if (job.name === 'ledger.witness') return deps.ledgerWitness.sendDigest('system:job:ledger');
      if (job.name !== 'ledger.checkpoint') throw new UnrecoverableError(`unknown ledger job ${job.name}`);
      return deps.sealCheckpoint();
    },
    hotline: (job) => processHotlineJob(deps.hotline, job),
  };
}
