import { ImapFlow } from 'imapflow';
import type { EmailLogger } from './email.smtp.ts';

/**
 * One poll of a mailbox that receives report mail (for deployments where the hotline's mail is hosted elsewhere).
 *
 * - Fetches the UIDs of unseen, undeleted messages, oldest first, one at a time, with BODY.PEEK (fetching does not
 *   set \Seen). Messages already \Seen are never fetched again.
 * - `onMessage` is awaited; only after it resolves is the message marked \Seen (and, with `{ moveTo }`, moved).
 *   If it throws, the message stays unseen and is fetched again at the next poll; the poll goes on with the next
 *   message. If marking fails after a successful `onMessage`, the next poll delivers it again: the app
 *   deduplicates by Message-ID.
 * - With `maxBytes`, a larger message is fetched only up to maxBytes + 1 bytes and handed over with
 *   `truncated: true` (so `parseReport` quarantines it as too large without parsing); the full message stays in
 *   the mailbox for staff.
 * - IMAP/connection errors reject the poll (after closing the connection); counts so far are lost with it, but
 *   nothing is marked that was not handled. Run polls one at a time per mailbox.
 * - Logs (optional) carry UIDs and sizes only.
 */

export interface PollMailboxOptions {
  host: string;
  port: number;
  /** Implicit TLS (IMAPS, usually port 993). Without it, STARTTLS is used when the server offers it. */
  secure: boolean;
  user: string;
  password: string;
  /** Default 'INBOX'. */
  mailbox?: string;
  tls?: { rejectUnauthorized?: boolean };
  onMessage: (raw: Buffer, meta: { uid: number; receivedAt: Date; truncated?: boolean }) => Promise<void>;
  /** What happens to a handled message: '\\Seen' (default) or moved to another mailbox (created if missing; also marked \Seen). */
  markAs?: '\\Seen' | { moveTo: string };
  /** Larger messages are handed over truncated to maxBytes + 1 bytes, with `truncated: true`. */
  maxBytes?: number;
  logger?: EmailLogger;
  /** Socket timeouts in ms (default 60 s). */
  timeoutMs?: number;
}

export interface PollResult {
  /** messages fetched and handed to onMessage */
  fetched: number;
  /** onMessage resolved and the message was marked */
  handled: number;
  /** onMessage threw: left unseen for the next poll */
  failed: number;
}

export async function pollMailbox(opts: PollMailboxOptions): Promise<PollResult> {
  const mailbox = opts.mailbox ?? 'INBOX';
  const markAs = opts.markAs ?? '\\Seen';
  const log = opts.logger;
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const client = new ImapFlow({
    host: opts.host,
    port: opts.port,
    secure: opts.secure,
    auth: { user: opts.user, pass: opts.password },
    tls: { rejectUnauthorized: opts.tls?.rejectUnauthorized ?? true },
    logger: false,
    disableAutoIdle: true,
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
  });
  // errors also surface through the awaited calls; an unhandled 'error' event would crash the process
  client.on('error', () => {});

  const result: PollResult = { fetched: 0, handled: 0, failed: 0 };
  await client.connect();
  try {
    if (typeof markAs === 'object') await ensureMailbox(client, markAs.moveTo);
    const lock = await client.getMailboxLock(mailbox);
    try {
      const found = await client.search({ seen: false, deleted: false }, { uid: true });
      const uids = (found || []).slice().sort((a, b) => a - b);
      for (const uid of uids) {
        const source = opts.maxBytes !== undefined ? { start: 0, maxLength: opts.maxBytes + 1 } : true;
        const msg = await client.fetchOne(String(uid), { uid: true, source, internalDate: true, size: true }, { uid: true });
        if (!msg || !msg.source) continue; // expunged meanwhile
        result.fetched++;
        const truncated = opts.maxBytes !== undefined && (msg.size ?? msg.source.length) > opts.maxBytes;
        const internal = msg.internalDate instanceof Date ? msg.internalDate : msg.internalDate ? new Date(msg.internalDate) : null;
        const receivedAt = internal && !Number.isNaN(internal.getTime()) ? internal : new Date();
        try {
          await opts.onMessage(msg.source, truncated ? { uid, receivedAt, truncated } : { uid, receivedAt });
        } catch (err) {
          result.failed++;
          log?.warn(
            { event: 'handler_failed', uid, bytes: msg.source.length, reason: err instanceof Error ? err.name : 'unknown' },
            'email intake: IMAP message left unseen for retry',
          );
          continue;
        }
        await client.messageFlagsAdd(String(uid), ['\\Seen'], { uid: true });
        if (typeof markAs === 'object') {
          const moved = await client.messageMove(String(uid), markAs.moveTo, { uid: true });
          if (!moved) log?.warn({ event: 'move_failed', uid }, 'email intake: IMAP message handled and marked \\Seen but not moved');
        }
        result.handled++;
      }
    } finally {
      lock.release();
    }
  } finally {
    try {
      await client.logout();
    } catch {
      client.close();
    }
  }
  log?.info({ event: 'imap_poll', ...result }, 'email intake: IMAP poll done');
  return result;
}

async function ensureMailbox(client: ImapFlow, path: string): Promise<void> {
  const list = await client.list();
  if (list.some((m) => m.path === path)) return;
  await client.mailboxCreate(path);
}
