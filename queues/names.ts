/**
 * Queue names and the typed payload of every job. A job is always the consequence of a
 * committed row (transactional outbox) or a job scheduler; Redis never holds the only copy.
 */
export interface JobPayloads {
  triage: {
    'clue.registered': { clueId: string };
  };
  notifications: {
    /** No address in the payload: the processor reads it from the sealed reporter record. */
    'email.reporter_ack': { clueId: string };
    /** The decision text is the thread message `messageId`; the address comes from the sealed record. */
    'email.reporter_decision': { clueId: string; messageId: string };
    /**
     * Staff replied in the thread of a named reporter who agreed to hear of it: email, or SMS when
     * they gave only a phone number; the address comes from the sealed record, the text is fixed.
     */
    'reporter.reply_notice': { clueId: string; messageId: string };
    /** The referral packet to the discipline body's address. */
    'email.referral_packet': { referralId: string };
    /** In-app notices to the assignee unit of a new verification task. */
    'staff.task_assigned': { taskId: string };
  };
  ledger: {
    'ledger.checkpoint': Record<string, never>;
    /** Mail the latest checkpoint's digest to the witnesses (a daily job scheduler). */
    'ledger.witness': Record<string, never>;
  };
  hotline: {
    /** Download a call's recording into the attachment store; ids only, the URL is on the call row. */
    'recording.fetch': { callId: string };
    /** Send one outbound SMS row; the number and text are unsealed by the processor. */
    'sms.send': { smsId: string };
    /** A job scheduler: call-back reminders and escalation, calls whose recording never came. */
    'hotline.sweep': Record<string, never>;
  };
  email: {
    /** Fetch new mail from the configured IMAP mailbox (a job scheduler). */
    'email.poll_imap': Record<string, never>;
  };
  deadlines: {
    /** Step `seq` of a deadline, due at `at`; stale or repeated firings are no-ops. */
    'deadline.fire': { deadlineId: string; seq: number; at: string };
    'deadline.reconcile': Record<string, never>;
  };
}

export type QueueName = keyof JobPayloads;
export type JobName<Q extends QueueName> = keyof JobPayloads[Q] & string;
export type JobPayload<Q extends QueueName, N extends JobName<Q>> = JobPayloads[Q][N];

export const queueNames = ['triage', 'notifications', 'ledger', 'deadlines', 'email', 'hotline'] as const satisfies readonly QueueName[];
