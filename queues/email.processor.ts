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
