import { type Job, UnrecoverableError } from 'bullmq';
import type { NotificationUseCases } from '../src/modules/notifications/notifications.usecases.ts';
import type { ReferralUseCases } from '../src/modules/referrals/referrals.usecases.ts';

export interface NotificationJobDeps {
  notifications: Pick<NotificationUseCases, 'sendReporterAck' | 'sendReporterDecision' | 'sendReplyNotice' | 'noticeTaskAssigned' | 'recordFailure'>;
  referrals: Pick<ReferralUseCases, 'sendPacket'>;
}

/**
 * The `notifications` queue (thin: payload check, one use case). Retries are BullMQ's; the last
 * failure of a job about a clue is recorded, so nobody wonders whether it went out.
 */
export async function processNotificationJob(deps: NotificationJobDeps, job: Job): Promise<unknown> {
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
    if (!(err instanceof UnrecoverableError) && job.attemptsMade + 1 >= (job.opts.attempts ?? 1) && typeof data.clueId === 'string') {
      await deps.notifications.recordFailure(`email:${job.name}:${job.id}`, job.name, data.clueId, (err as Error).message);
    }
    throw err;
  }
}
