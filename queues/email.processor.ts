import { type Job, UnrecoverableError } from 'bullmq';
import type { Config } from '../src/app/config.ts';
import type { Logger } from '../src/app/logger.ts';
import { pollMailbox } from '../src/modules/intake-email/email.imap.ts';
import type { EmailUseCases } from '../src/modules/intake-email/email.usecases.ts';

/** One poll of the configured mailbox; each message is marked only after its clue is committed. */
export async function pollConfiguredMailbox(imapUrl: string, email: EmailUseCases, maxBytes: number, logger: Logger) {
  const url = new URL(imapUrl);
  const secure = url.protocol === 'imaps:';
  return pollMailbox({
    host: url.hostname,
    port: Number(url.port || (secure ? 993 : 143)),
    secure,
    user: decodeURIComponent(url.username),
    password: decodeURIComponent(url.password),
    mailbox: decodeURIComponent(url.pathname.replace(/^\//, '')) || 'INBOX',
    maxBytes,
    logger,
    onMessage: async (raw, meta) => {
      await email.receive(raw, { receivedAt: meta.receivedAt });
    },
  });
}

/** The `email` queue (thin): the scheduled IMAP poll, when a mailbox is configured. */
export async function processEmailJob(deps: { config: Pick<Config, 'IMAP_URL' | 'EMAIL_MAX_BYTES'>; email: EmailUseCases; logger: Logger }, job: Job): Promise<unknown> {
  if (job.name !== 'email.poll_imap') throw new UnrecoverableError(`unknown email job ${job.name}`);
  if (!deps.config.IMAP_URL) return { skipped: 'no IMAP_URL' };
  return pollConfiguredMailbox(deps.config.IMAP_URL, deps.email, deps.config.EMAIL_MAX_BYTES, deps.logger);
}
