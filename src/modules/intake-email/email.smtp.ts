import { timingSafeEqual, createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { logIdOf, scanMessageId } from './email.privacy.ts';

/**
 * The SMTP listener for report mail (the hotline's MX, or a relay behind it).
 *
 * Decisions:
 * - 250 only after commit: `onMessage` is awaited before the reply to the final "." is sent, so the sender's
 *   server is told "accepted" only once the app has recorded the message. If `onMessage` throws (or does not
 *   settle within `handlerTimeoutMs`), the reply is 451 and the sending server keeps the message and retries
 *   later: nothing is lost. A retry after a commit whose 250 was lost (timeout, dropped connection) delivers
 *   the same message again: the app deduplicates by Message-ID.
 * - Oversize mail is REFUSED with 552, never accepted truncated: a 250 for a cut-off message would tell the
 *   reporter their evidence arrived when it did not, while a 552 makes their own provider send them a bounce
 *   saying the message was too large, so they can send it again in parts. The limit is advertised in EHLO
 *   (SIZE), a MAIL FROM that declares a larger SIZE is refused straight away, and a message that goes over the
 *   limit while streaming stops being buffered at that point (memory stays bounded) and is answered 552 once the
 *   sender has finished. Each refusal is logged (size only), so it is not silent for operators either.
 * - Null-sender mail (MAIL FROM:<>, i.e. bounces and other notifications) gets `Return-Path: <>` prepended, as a
 *   final-delivery MTA does (RFC 5321 §4.4), so `parseReport` can flag it as automated. Other envelope senders are
 *   not written into the message, and no Received header is added (it would record the client's IP address).
 *   `maxBytes` bounds the raw handed to `onMessage` including that line, so the SMTP limit is maxBytes − 17.
 * - Recipients outside `acceptRecipients` (compared case-insensitively) are refused at RCPT TO with 550, so the
 *   listener is never an open relay and misaddressed mail bounces at once.
 * - STARTTLS is offered only when `tls` is given; AUTH only when `auth` is given, and then it is required (the
 *   listener is a submission point for a relay). Without `tls`, AUTH is allowed in clear: use that only on
 *   loopback or a private link.
 * - Concurrency: at most `maxConnections` (default 20) clients at a time (421 beyond that) and at most
 *   `maxConcurrentMessages` (default 4) `onMessage` calls in flight; further messages wait for a slot before
 *   their reply, which is how SMTP applies back-pressure. Worst-case memory is maxConnections × maxBytes.
 * - Reporter protection: no addresses, subjects, bodies, client IPs or host names are logged (smtp-server's own
 *   logger is off and reverse DNS lookups are disabled); log lines carry the Message-ID's hash and sizes only.
 *   SMTP replies are ASCII English: SMTP reply text must be ASCII (RFC 5321).
 */

export interface EmailLogger {
  info(obj: Record<string, unknown>, msg: string): void;
  warn(obj: Record<string, unknown>, msg: string): void;
}

export interface SmtpIntakeOptions {
  port: number;
  host?: string;
  /** The report addresses; case-insensitive. */
  acceptRecipients: string[];
  /** The largest raw message handed to onMessage, in bytes. */
  maxBytes: number;
  tls?: { key: Buffer; cert: Buffer };
  auth?: { username: string; password: string };
  /** Must resolve only once the message is committed; throwing makes the sender retry later. */
  onMessage: (raw: Buffer, meta: SmtpMeta) => Promise<void>;
  logger?: EmailLogger;
  maxConnections?: number;
  maxConcurrentMessages?: number;
  /** How long the sender waits for onMessage before getting a 451 (default 5 minutes; RFC 5321 clients wait 10). */
  handlerTimeoutMs?: number;
  /** What log lines call a message, from its Message-ID: the app passes its keyed hash (`EmailUseCases.logId`); default an unkeyed hash. */
  logId?: (messageId: string) => string;
}

/** What the connection said about the mail: for the intake's per-address and per-sender limits only, never stored. */
export interface SmtpMeta {
  receivedAt: Date;
  clientAddress?: string;
  envelopeFrom?: string;
}

export interface SmtpIntake {
  port: number;
  /**
   * Stops accepting connections; a session whose message is being recorded gets its reply (250 or
   * 451) and then 421, every other session 421 now (a message in DATA is not taken: the sender keeps
   * it and retries). Resolves when every session is gone, at most `graceMs` later (then all get 421).
   */
  close(graceMs?: number): Promise<void>;
}

const NULL_SENDER_RETURN_PATH = Buffer.from('Return-Path: <>\r\n', 'latin1');

export async function startSmtpIntake(opts: SmtpIntakeOptions): Promise<SmtpIntake> {
  const log = opts.logger;
  const recipients = new Set(opts.acceptRecipients.map(normalizeAddress));
  if (recipients.size === 0) throw new Error('startSmtpIntake: acceptRecipients is empty');
  const dataLimit = opts.maxBytes - NULL_SENDER_RETURN_PATH.length;
  if (!(dataLimit > 0)) throw new Error('startSmtpIntake: maxBytes is too small');
  const slots = new Semaphore(opts.maxConcurrentMessages ?? 4);
  const handlerTimeoutMs = opts.handlerTimeoutMs ?? 5 * 60_000;
  const auth = opts.auth;
  /** Sessions whose message is being recorded: on close they get their reply first. */
  const delivering = new Set<string>();
  let closing = false;
  const shutDown = (connection: { send(code: number, text: string): void; close(): void }) => {
    connection.send(421, '4.3.2 Server shutting down, please try again later');
    connection.close();
  };
  const connectionOf = (id: string) => [...(server.connections as Set<{ id: string; send(code: number, text: string): void; close(): void }>)].find((c) => c.id === id);

  const options: SMTPServerOptions = {
    secure: false,
    logger: false,
    banner: 'report intake ready',
    disableReverseLookup: true,
    size: dataLimit,
    maxClients: opts.maxConnections ?? 20,
    disabledCommands: [...(opts.tls ? [] : ['STARTTLS']), ...(auth ? [] : ['AUTH'])],
    authOptional: !auth,
    authMethods: ['PLAIN', 'LOGIN'],
    allowInsecureAuth: !opts.tls,
    ...(opts.tls ? { key: opts.tls.key, cert: opts.tls.cert } : {}),

    onAuth(credentials, _session, callback) {
      const ok =
        auth !== undefined &&
        sameSecret(credentials.username ?? '', auth.username) &&
        sameSecret(credentials.password ?? '', auth.password);
      if (!ok) return callback(smtpError(535, '5.7.8 Authentication credentials invalid'));
      callback(null, { user: 'relay' });
    },

    onRcptTo(address, _session, callback) {
      if (recipients.has(normalizeAddress(address.address))) return callback();
      log?.info({ event: 'rcpt_refused' }, 'email intake: recipient refused');
      callback(smtpError(550, '5.1.1 Recipient refused: this server only accepts mail for the hotline report address'));
    },

    onData(stream, session, reply) {
      let replied = false;
      const callback = (err: Error | null, message?: string) => {
        if (replied) return;
        replied = true;
        reply(err, message);
      };
      const receivedAt = new Date();
      const nullSender = session.envelope.mailFrom === false || session.envelope.mailFrom.address === '';
      const chunks: Buffer[] = nullSender ? [NULL_SENDER_RETURN_PATH] : [];
      let bytes = 0;
      let over = false;
      stream.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (over) return;
        if (bytes > dataLimit) {
          over = true;
          chunks.length = 0; // stop holding the message: it will be refused
          return;
        }
        chunks.push(chunk);
      });
      stream.once('error', () => callback(smtpError(451, '4.3.0 Temporary failure, please try again later')));
      stream.once('end', () => {
        if (over || stream.sizeExceeded) {
          log?.warn({ event: 'too_large', bytes, limit: dataLimit }, 'email intake: message refused, too large');
          return callback(smtpError(552, `5.3.4 Message too big: the limit is ${dataLimit} bytes`));
        }
        const raw = Buffer.concat(chunks);
        const logId = (opts.logId ?? logIdOf)(scanMessageId(raw));
        delivering.add(session.id);
        const after = () => {
          delivering.delete(session.id);
          if (!closing) return;
          const connection = connectionOf(session.id);
          if (connection) setImmediate(() => shutDown(connection));
        };
        const envelopeFrom = session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address;
        void deliver(raw, { receivedAt, clientAddress: session.remoteAddress, envelopeFrom }).then(
          () => {
            log?.info({ event: 'accepted', messageHash: logId, bytes: raw.length }, 'email intake: message accepted');
            callback(null, '2.0.0 OK: report received');
            after();
          },
          (err: unknown) => {
            const reason = err instanceof HandlerTimeout ? 'timeout' : err instanceof Error ? err.name : 'unknown';
            log?.warn({ event: 'deferred', messageHash: logId, bytes: raw.length, reason }, 'email intake: handler failed, sender told to retry');
            callback(smtpError(451, '4.3.0 Temporary failure, please try again later'));
            after();
          },
        );
      });
    },
  };

  /**
   * onMessage in a concurrency slot, within handlerTimeoutMs counted from the end of DATA (waiting for a slot
   * included, so a sender is answered in time even when every slot is stuck). A slot is held until onMessage
   * really settles, even after its sender was told 451, so stuck handlers cannot pile up beyond the bound.
   */
  async function deliver(raw: Buffer, meta: SmtpMeta): Promise<void> {
    let abandoned = false;
    const run = (async () => {
      await slots.acquire();
      if (abandoned) {
        slots.release();
        return;
      }
      let work: Promise<void>;
      try {
        work = Promise.resolve(opts.onMessage(raw, meta));
      } catch (err) {
        slots.release();
        throw err;
      }
      work.then(
        () => slots.release(),
        () => slots.release(),
      );
      await work;
    })();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        abandoned = true;
        reject(new HandlerTimeout());
      }, handlerTimeoutMs);
    });
    run.catch(() => {}); // its outcome is reported through the race below (or no longer wanted after a timeout)
    try {
      await Promise.race([run, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  const server = new SMTPServer(options);
  // smtp-server emits 'error' for socket-level problems; unhandled, that would crash the process
  server.on('error', (err: Error & { code?: string }) => {
    log?.warn({ event: 'server_error', code: err.code ?? err.name }, 'email intake: SMTP server error');
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.server.once('error', onError);
    server.listen(opts.port, opts.host ?? '0.0.0.0', () => {
      server.server.off('error', onError);
      resolve();
    });
  });
  const port = (server.server.address() as AddressInfo).port;
  log?.info({ event: 'listening', port }, 'email intake: SMTP listening');

  return {
    port,
    close: (graceMs = 15_000) =>
      new Promise<void>((resolve) => {
        closing = true;
        (server as unknown as { options: { closeTimeout?: number } }).options.closeTimeout = graceMs;
        server.close(() => resolve());
        for (const connection of server.connections as Set<{ id: string; send(code: number, text: string): void; close(): void }>) {
          if (!delivering.has(connection.id)) shutDown(connection);
        }
      }),
  };
}

function normalizeAddress(address: string): string {
  return address.trim().toLowerCase();
}

function smtpError(responseCode: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode });
}

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

class HandlerTimeout extends Error {
  override name = 'HandlerTimeout';
}

class Semaphore {
  private available: number;
  private readonly waiting: (() => void)[] = [];

  constructor(size: number) {
    this.available = Math.max(1, Math.floor(size));
  }

  acquire(): Promise<void> {
    if (this.available > 0) {
      this.available--;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.available++;
  }
}
