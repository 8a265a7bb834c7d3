import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { Clock } from '../../app/clock.ts';
import type { Throttle } from '../../app/throttle.ts';
import { type Orm, sql } from '../../app/db.ts';
import { forbidden } from '../../app/errors.ts';
import type { Keys } from '../../app/keys.ts';
import type { Logger } from '../../app/logger.ts';
import { sealBytes, unseal, unsealBytes } from '../../app/seal.ts';
import type { AttachmentStorage } from '../attachments/attachments.storage.ts';
import { Clue, SealedReporter } from '../clues/clue.entity.ts';
import type { ClueUseCases, ReporterIdentity, StoredAttachment } from '../clues/clues.usecases.ts';
import { appendEvent, appendQuarantineEvent, GENESIS_HASH } from '../clues/ledger.ts';
import { Message } from '../messages/message.entity.ts';
import type { MessageUseCases } from '../messages/messages.usecases.ts';
import type { Principal, StaffCall } from '../staff/access.ts';
import { createHotlineUnit } from '../staff/hotline-unit.ts';
import { QuarantinedMail } from './email.entity.ts';
import { type EmailAttachment, type ParsedEmail, parseReport, readForStaff } from './email.parse.ts';
import { logIdOf, scanMessageId } from './email.privacy.ts';
import { quarantineNotFound, quarantineResolved } from './email.errors.ts';
import { LockMode } from '@mikro-orm/core';

const OUR_ACK = /^<ack-([0-9a-f-]{36})@dibao-hotline>$/;
/** Our decision and reply-notice mails are named by the thread message they are about. */
const OUR_DECISION = /^<email-reporter-(?:decision|reply)-([0-9a-f-]{36})@dibao-hotline>$/;

export interface EmailDeps {
  orm: Orm;
  clock: Clock;
  logger: Logger;
  keys: Keys;
  storage: AttachmentStorage;
  clues: ClueUseCases;
  messages: MessageUseCases;
  maxBytes: number;
  /** HOTLINE_UNIT_CODE: quarantined mail belongs to the hotline unit (unset: the root unit). */
  hotlineUnitCode?: string;
  /** Per-hour limits on SMTP intake (throttle.ts): over them the mail is kept, quarantined with reason `rate`. */
  limits?: { throttle: Throttle; perAddressHour: number; perSenderHour: number };
}



/**
 * One pipeline for both ways mail comes in (the SMTP listener and the IMAP poller): raw MIME in,
 * a clue, a message on an existing clue, or a quarantine record out. Idempotent by Message-ID
 * (or the raw message's hash), so a mail delivered or fetched twice is recorded once.
 */
export function createEmailUseCases(deps: EmailDeps) {
  const { orm, clock, logger, keys } = deps;
  const hotlineUnit = createHotlineUnit(() => orm.em.fork(), deps.hotlineUnitCode);
  /**
   * The Message-ID (often holding the sender's address) as it is kept where it is a key: an HMAC
   * under the secret key, as the hotline keeps Twilio SIDs. The quarantine row and the intake key
   * never hold it in clear.
   */
  const mailKey = (messageId: string) => createHmac('sha256', keys.secretHmacKey).update(`email-message-id:${messageId}`).digest('hex');
  /** What logs and ledger events call a mail: the first 16 hex digits of the keyed hash (one who knows a Message-ID cannot look it up). */
  const logId = (messageId: string) => mailKey(messageId).slice(0, 16);

  async function store(attachments: EmailAttachment[]): Promise<StoredAttachment[]> {
    const out: StoredAttachment[] = [];
    for (const a of attachments) {
      const put = await deps.storage.put(a.bytes);
      out.push({ filename: a.filename, contentType: a.contentType, size: put.size, sha256: put.sha256, storageKey: put.key });
    }
    return out;
  }

  /**
   * Holds the mail, whole and sealed, with the reason; the row and the first event of its own ledger
   * chain (`quarantine.held`) are written in one transaction. The event names the mail by the hash its
   * log lines use and carries the reason code, the size and the SHA-256 of the sealed copy: nothing
   * from the mail itself (the sender may be a reporter).
   */
  async function quarantine(raw: Buffer, messageId: string, reason: string, detail: string, receivedAt: Date) {
    const em = orm.em.fork();
    const key = mailKey(messageId);
    const existing = await em.findOne(QuarantinedMail, { messageId: key });
    if (existing) return { kind: 'quarantine' as const, id: existing.id, reason: existing.reason, repeated: true };
    const id = randomUUID();
    // Kept whole, but sealed: the raw message carries the sender's address.
    const put = await deps.storage.put(sealBytes(keys.reporterKey, raw, `quarantine:${id}`));
    try {
      await em.transactional(async (tx) => {
        const mail = tx.create(QuarantinedMail, {
          id, messageId: key, reason, detail, storageKey: put.key, size: raw.length, status: 'held',
          resolvedBy: null, resolvedAt: null, resolution: null, clueId: null, receivedAt, headSeq: 0, headHash: GENESIS_HASH,
        });
        appendQuarantineEvent(tx, mail, {
          type: 'quarantine.held',
          actor: 'email',
          data: { reason, size: raw.length, mail: logId(messageId), sealedSha256: put.sha256, receivedAt: receivedAt.toISOString() },
        }, clock.now());
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505' || /unique/i.test((err as Error).message)) return { kind: 'quarantine' as const, id, reason, repeated: true };
      throw err;
    }
    logger.warn({ mail: logId(messageId), quarantineId: id, reason, bytes: raw.length }, 'mail quarantined');
    return { kind: 'quarantine' as const, id, reason, repeated: false };
  }

  /** The clue a reply belongs to: one of our own messages in In-Reply-To/References, or the tracking code in the subject from the reporter's own address. */
  async function replyTarget(mail: ParsedEmail): Promise<string | null> {
    const em = orm.em.fork();
    for (const ref of [...mail.inReplyTo, ...mail.references]) {
      const ack = OUR_ACK.exec(ref);
      if (ack && (await em.findOne(Clue, { id: ack[1]! }, { fields: ['id'] }))) return ack[1]!;
      const decision = OUR_DECISION.exec(ref);
      if (decision) {
        const m = await em.findOne(Message, { id: decision[1]! });
        if (m) return m.clue;
      }
    }
    if (mail.trackingCode && mail.from) {
      const clue = await em.findOne(Clue, { trackingCode: mail.trackingCode });
      const sealed = clue ? await em.findOne(SealedReporter, { clue: clue.id }) : null;
      if (clue && sealed) {
        const identity = JSON.parse(unseal(keys.reporterKey, Buffer.from(sealed.box), clue.id)) as ReporterIdentity;
        // A code alone is not enough to write into someone's thread: the sender must be that reporter.
        if (identity.email && identity.email.toLowerCase() === mail.from.address.toLowerCase()) return clue.id;
      }
    }
    return null;
  }

  /** Over a per-hour SMTP limit (connecting address, envelope sender)? Counted for every mail delivered. */
  async function overLimit(meta: { clientAddress?: string; envelopeFrom?: string }): Promise<string | null> {
    const l = deps.limits;
    if (!l) return null;
    const now = clock.now().getTime();
    const hour = now - (now % 3600_000);
    const [byAddress, bySender] = await Promise.all([
      meta.clientAddress ? l.throttle.countWindow('smtp-address', meta.clientAddress, hour, 3600_000) : 0,
      meta.envelopeFrom ? l.throttle.countWindow('smtp-sender', meta.envelopeFrom.toLowerCase(), hour, 3600_000) : 0,
    ]);
    if (byAddress > l.perAddressHour) return `来自同一服务器的邮件本小时超过 ${l.perAddressHour} 封 / More than ${l.perAddressHour} mails this hour from one connecting server`;
    if (bySender > l.perSenderHour) return `同一发件人本小时超过 ${l.perSenderHour} 封 / More than ${l.perSenderHour} mails this hour from one envelope sender`;
    return null;
  }

  async function receive(raw: Buffer, meta: { receivedAt?: Date; clientAddress?: string; envelopeFrom?: string } = {}) {
    const receivedAt = meta.receivedAt ?? clock.now();
    const limited = await overLimit(meta);
    if (limited) {
      // Kept whole for an operator (who can release it as a report), neither registered nor answered.
      const messageId = scanMessageId(raw) ?? `sha256:${createHash('sha256').update(raw).digest('hex')}`;
      logger.warn({ mail: logIdOf(messageId) }, 'mail over the SMTP intake limits: quarantined (rate)');
      return quarantine(raw, messageId, 'rate', limited, receivedAt);
    }
    const parsed = await parseReport(raw, { maxBytes: deps.maxBytes, maxAttachments: 5 });
    if (parsed.kind === 'quarantine') {
      const messageId = parsed.messageId ?? `sha256:${createHash('sha256').update(raw).digest('hex')}`;
      return quarantine(raw, messageId, parsed.reason, parsed.detail, receivedAt);
    }
    if (parsed.automated) {
      // Never answered, never a clue by itself: an operator can still release it.
      return quarantine(raw, parsed.messageId, 'automated', '自动回复或退信，未登记、未回复 / Automated mail (auto-reply or bounce): not registered, not answered', receivedAt);
    }
    const intakeKey = `email:${mailKey(parsed.messageId)}`;
    const target = await replyTarget(parsed);
    const attachments = await store(parsed.attachments);
    const body = [parsed.subject, parsed.text].filter(Boolean).join('\n\n') || '（邮件无正文，仅有附件 / no text, attachments only）';
    if (target) {
      const m = await deps.messages.postMessage(target, { author: 'reporter', actor: 'email', body, attachments, intakeKey });
      logger.info({ mail: logId(parsed.messageId), clueId: target, repeated: !m }, 'mail recorded as a reply');
      return { kind: 'message' as const, clueId: target, repeated: !m };
    }
    const result = await deps.clues.registerClue('email', {
      channel: 'email',
      receivedAt,
      categories: [],
      narrative: body,
      accused: [],
      // They wrote from this address and are answered there: told of staff replies without being asked.
      reporter: parsed.from ? { name: parsed.from.name || parsed.from.address, email: parsed.from.address, notifyProgress: true } : null,
      attachments,
      intakeKey,
    });
    logger.info({ mail: logId(parsed.messageId), clueId: result.clue.id, repeated: result.duplicate }, 'mail registered as a clue');
    return { kind: 'clue' as const, clueId: result.clue.id, repeated: result.duplicate };
  }

  /** Quarantined mail belongs to the hotline unit: its operators and supervisors, and admins (README "Email intake"). */
  const assertMayHandle = async (p: Principal) => {
    if (!(await hotlineUnit.mayHandle(p))) throw forbidden();
  };

  /** The list shows the reason and size only: no sender, address, subject or attachment name (those only on an audited opening). */
  async function listQuarantine({ ctx }: StaffCall<object>) {
    await assertMayHandle(ctx.principal);
    const rows = await ctx.em.find(QuarantinedMail, { status: 'held' }, { orderBy: { receivedAt: 'desc' }, limit: 200 });
    return rows.map((q) => ({ id: q.id, reason: q.reason, detail: q.detail, size: q.size, receivedAt: q.receivedAt, status: q.status }));
  }

  /**
   * Start-up step (idempotent): Message-IDs kept in clear before they were keyed hashes — in
   * quarantine rows and in `email:` intake keys — are rewritten as the HMAC. A migration cannot do
   * it (the key lives outside the database), so it runs when the app starts with its keys.
   */
  async function rekeyClearMessageIds(): Promise<{ quarantined: number; intakeKeys: number }> {
    let quarantined = 0;
    let intakeKeys = 0;
    // In batches, each its own transaction: a large database is rewritten without one long transaction.
    for (;;) {
      const em = orm.em.fork();
      const mails = await sql<{ id: string; message_id: string }>(em, `select id, message_id from quarantined_mail where message_id !~ '^[0-9a-f]{64}$' order by id limit 500`);
      if (mails.length === 0) break;
      await em.transactional(async (tx) => {
        for (const m of mails) await sql(tx, 'update quarantined_mail set message_id = ? where id = ?', [mailKey(m.message_id), m.id]);
      });
      quarantined += mails.length;
    }
    for (;;) {
      const em = orm.em.fork();
      const rows = await sql<{ key: string }>(em, `select key from intake_key where key like 'email:%' and key !~ '^email:[0-9a-f]{64}$' order by key limit 500`);
      if (rows.length === 0) break;
      await em.transactional(async (tx) => {
        for (const k of rows) {
          const hashed = `email:${mailKey(k.key.slice('email:'.length))}`;
          // Should the same mail be keyed both ways, the hashed key stays and the clear one goes.
          const [taken] = await sql<{ n: number }>(tx, 'select count(*)::int as n from intake_key where key = ?', [hashed]);
          if (taken && taken.n > 0) await sql(tx, 'delete from intake_key where key = ?', [k.key]);
          else await sql(tx, 'update intake_key set key = ? where key = ?', [hashed, k.key]);
        }
      });
      intakeKeys += rows.length;
    }
    if (quarantined || intakeKeys) logger.info({ quarantined, intakeKeys }, 'clear Message-IDs rewritten as keyed hashes');
    return { quarantined, intakeKeys };
  }

  /**
   * An operator releases quarantined mail into a clue, summarising what it says. `quarantine.released`
   * goes on both chains, the mail's and the new clue's, in the transaction that marks the mail released.
   */
  async function release({ ctx, input: { id, narrative } }: StaffCall<{ id: string; narrative: string }>) {
    const { principal, em } = ctx;
    await assertMayHandle(principal);
    const q = await em.findOne(QuarantinedMail, { id });
    if (!q) throw quarantineNotFound();
    if (q.status !== 'held') throw quarantineResolved();
    const raw = unsealBytes(keys.reporterKey, await deps.storage.get(q.storageKey), `quarantine:${id}`);
    const parsed = await parseReport(raw, { maxBytes: Number.MAX_SAFE_INTEGER, maxAttachments: 50 }).catch(() => null);
    const from = parsed?.kind === 'report' ? parsed.from : null;
    // Idempotent by the intake key: a retried (or concurrent) release finds the same clue.
    const result = await deps.clues.registerClue(ctx.actor, {
      channel: 'email',
      receivedAt: q.receivedAt,
      categories: [],
      narrative: parsed?.kind === 'report' && parsed.text ? `${narrative}\n\n---\n${parsed.text}` : narrative,
      accused: [],
      reporter: from ? { name: from.name || from.address, email: from.address, notifyProgress: true } : null,
      intakeKey: `quarantine:${id}`,
    });
    await em.transactional(async (tx) => {
      // The mail first, then the clue: the status is checked again under the lock, so of two
      // concurrent releases (or a release and a discard) only one is recorded.
      const row = await tx.findOneOrFail(QuarantinedMail, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (row.status !== 'held') throw quarantineResolved();
      const clue = await tx.findOneOrFail(Clue, { id: result.clue.id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const now = ctx.clock.now();
      const { actor } = ctx;
      appendEvent(tx, clue, { type: 'quarantine.released', actor, data: { quarantineId: id, reason: row.reason } }, now);
      appendQuarantineEvent(tx, row, { type: 'quarantine.released', actor, data: { clueId: clue.id, reason: row.reason } }, now);
      row.status = 'released';
      row.resolvedBy = principal.id;
      row.resolvedAt = now;
      row.clueId = clue.id;
    });
    ctx.logger.info({ quarantineId: id, clueId: result.clue.id, staffId: principal.id }, 'quarantined mail released');
    return { clueId: result.clue.id, trackingCode: result.trackingCode };
  }

  /**
   * An operator opens quarantined mail to decide on it: what it says and its attachments' names (the
   * files themselves stay sealed). The sender may be a reporter, so every opening is a
   * `quarantine.viewed` event on the mail's chain, written before anything is shown.
   */
  async function viewQuarantine({ ctx, input: { id } }: StaffCall<{ id: string }>) {
    const { principal } = ctx;
    await assertMayHandle(principal);
    const row = await ctx.em.transactional(async (tx) => {
      const q = await tx.findOne(QuarantinedMail, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!q) throw quarantineNotFound();
      appendQuarantineEvent(tx, q, { type: 'quarantine.viewed', actor: ctx.actor, data: {} }, ctx.clock.now());
      return q;
    });
    const raw = unsealBytes(keys.reporterKey, await deps.storage.get(row.storageKey), `quarantine:${id}`);
    const events = await sql<{ seq: number; type: string; actor: string; at: Date; data: Record<string, unknown> }>(
      ctx.em,
      'select seq, type, actor, at, data from ledger_event where quarantine_id = ? order by seq',
      [id],
    );
    ctx.logger.info({ quarantineId: id, staffId: principal.id }, 'quarantined mail opened');
    return {
      id: row.id,
      reason: row.reason,
      detail: row.detail,
      size: row.size,
      receivedAt: row.receivedAt,
      status: row.status,
      resolution: row.resolution,
      clueId: row.clueId,
      mail: await readForStaff(raw),
      events,
    };
  }

  /**
   * Discarded mail stays stored (sealed) with who discarded it and why; `quarantine.discarded` on the
   * mail's chain carries the staff's reason, written in the same transaction.
   */
  async function discard({ ctx, input: { id, reason } }: StaffCall<{ id: string; reason: string }>) {
    const { principal } = ctx;
    await assertMayHandle(principal);
    const result = await ctx.em.transactional(async (tx) => {
      const q = await tx.findOne(QuarantinedMail, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!q) throw quarantineNotFound();
      if (q.status !== 'held') throw quarantineResolved();
      const now = ctx.clock.now();
      q.status = 'discarded';
      q.resolvedBy = principal.id;
      q.resolvedAt = now;
      q.resolution = reason;
      appendQuarantineEvent(tx, q, { type: 'quarantine.discarded', actor: ctx.actor, data: { reason: q.reason, resolution: reason } }, now);
      return { id, status: q.status };
    });
    ctx.logger.info({ quarantineId: id, staffId: principal.id }, 'quarantined mail discarded');
    return result;
  }

  return { receive, listQuarantine, viewQuarantine, release, discard, rekeyClearMessageIds, mailKey, logId };
}

export type EmailUseCases = ReturnType<typeof createEmailUseCases>;
