import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { QueueName } from '../../../queues/names.ts';
import type { DeadlineUseCases } from '../deadlines/deadlines.usecases.ts';
import type { Clock } from '../../app/clock.ts';
import { type Em, type Orm, sql, sqlBound } from '../../app/db.ts';
import { forbidden } from '../../app/errors.ts';
import type { Keys } from '../../app/keys.ts';
import type { Logger } from '../../app/logger.ts';
import { seal, unseal } from '../../app/seal.ts';
import { can, canSeeUnit, clueVisibility, type Principal } from '../staff/access.ts';
import { Unit } from '../staff/unit.entity.ts';
import {
  Accused,
  type AccusedRole,
  Attachment,
  type Category,
  type Channel,
  Clue,
  SealedReporter,
  type SecretKind,
} from './clue.entity.ts';
import {
  clueNotFound,
  illegalTransition,
  reporterAnonymous,
  reporterRecusal,
  transitionRequirementMissing,
  unknownUnit,
} from './clues.errors.ts';
import { type Actor, appendEvent, GENESIS_HASH, nextEvent, pgTextArray, sha256Hex } from './ledger.ts';
import { LedgerEvent } from './ledger.entity.ts';
import { generatePin, generateWebSecret, hashSecret, secretMatches } from './secrets.ts';
import { allowedActions, type ClueAction, type ClueStatus, type DeclineReason, declineReasons, type Finding, nextStatus, transitions } from './status-machine.ts';
import { Message } from '../messages/message.entity.ts';
import { automaticMessage } from '../messages/messages.automatic.ts';
import { enqueueInTransaction } from '../outbox/outbox.ts';
import { generateTrackingCode, normalizeTrackingCode } from './tracking-code.ts';
import { createGroupCommit } from '../../app/group-commit.ts';
import { type RegistrationRows, registrationStatement } from './registration.repository.ts';
import type { Locale } from '../../app/templates.ts';

export interface ReporterIdentity {
  name: string;
  phone?: string;
  email?: string;
  address?: string;
  /** The reporter agrees that their identity may go with a referral to a discipline body. */
  consentToShare?: boolean;
  /** Intake only: they agree to be told of staff replies (kept as `clue.notifyProgress`, not sealed). */
  notifyProgress?: boolean;
}

export interface RegisterClueInput {
  channel: Channel;
  receivedAt?: Date;
  categories: Category[];
  narrative: string;
  occurredWhen?: string | null;
  unitId?: string | null;
  accused: { name: string; role: AccusedRole; unitId?: string | null; position?: string | null }[];
  reporter?: ReporterIdentity | null;
  /** Phone reporters choose a numeric PIN; everyone else gets a generated high-entropy secret. */
  secret?: { kind: 'pin'; pin: string } | { kind: SecretKind };
  /** Files already checked and stored (content-addressed) before the transaction. */
  attachments?: StoredAttachment[];
  /** What an outside delivery is known by (Message-ID, RecordingSid): a repeat returns the first clue. */
  intakeKey?: string;
  /** The reporter's language (default Chinese): automatic messages and mail to them use it. */
  locale?: Locale;
}

export interface StoredAttachment {
  filename: string;
  contentType: string;
  size: number;
  sha256: string;
  storageKey: string;
}

export interface ClueDeps {
  orm: Orm;
  clock: Clock;
  keys: Keys;
  logger: Logger;
  /** Called after a commit that wrote outbox rows, so the relay moves them without waiting for its poll. */
  onOutboxWritten: () => void;
  pinMaxAttempts: number;
  pinLockMinutes: number;
  /** Starts and stops deadlines inside the transactions that change a clue. */
  deadlines: Pick<DeadlineUseCases, 'currentPolicy' | 'planStarts' | 'onEvent'>;
  /** Called after a commit that created or closed deadlines, so Redis follows soon. */
  onDeadlinesChanged: () => void;
  /** The deadline scheduler's horizon: deadline steps due within it are held in Redis. */
  deadlineHorizonMs: number;
  /** Called after a clue is accepted (e.g. to give registered-relative households a home visit). */
  onAccepted?: (clueId: string) => void;
}

export function createClueUseCases(deps: ClueDeps) {
  const { orm, clock, keys, logger } = deps;

  async function assertUnitsExist(em: Em, ids: (string | null | undefined)[]) {
    const wanted = [...new Set(ids.filter((x): x is string => !!x))];
    if (wanted.length === 0) return;
    const found = await em.count(Unit, { id: { $in: wanted } });
    if (found !== wanted.length) throw unknownUnit();
  }

  // Registrations arriving together are written together (registration.repository.ts). Two
  // batches in flight let the database work on one while the next fills.
  const registrations = createGroupCommit<RegistrationRows>({
    maxBatch: 64,
    maxInFlight: 2,
    write: async (batch) => {
      const { text, params } = registrationStatement(batch);
      await sqlBound(orm.em.fork(), text, params);
    },
  });

  /**
   * Registers a clue with its accused, sealed reporter, attachments, first ledger events, first
   * deadlines and outbox rows in ONE statement (data-modifying CTEs): atomic like a transaction,
   * one round trip, shared with registrations arriving at the same time (group commit). This is
   * the intake hot path, so it bypasses the unit of work. Unknown units fail the foreign keys.
   * Resolves only after the commit.
   */
  async function registerClue(actor: Actor, input: RegisterClueInput) {
    const kind: SecretKind = input.secret?.kind ?? 'web';
    const secret = input.secret && 'pin' in input.secret ? input.secret.pin : kind === 'pin' ? generatePin() : generateWebSecret();

    for (let attempt = 1; ; attempt++) {
      const trackingCode = generateTrackingCode();
      const now = clock.now();
      const id = randomUUID();
      const receivedAt = input.receivedAt ?? now;
      const accused = input.accused.map((a) => ({ id: randomUUID(), name: a.name, role: a.role, unitId: a.unitId ?? null, position: a.position ?? null }));
      const files = (input.attachments ?? []).map((a) => ({ id: randomUUID(), ...a }));
      const { notifyProgress, ...identity } = input.reporter ?? {};
      const box = input.reporter ? seal(keys.reporterKey, JSON.stringify(identity), id) : null;
      const locale: Locale = input.locale ?? 'zh-CN';
      const clue = {
        id,
        trackingCode,
        channel: input.channel,
        receivedAt,
        categories: input.categories,
        unit: input.unitId ?? null,
        status: 'registered' as ClueStatus,
        priority: 'normal' as const,
        named: !!input.reporter,
        finding: null,
        mergedInto: null,
        flags: [] as string[],
        locale,
        notifyProgress: !!input.reporter && !!notifyProgress,
        updatedAt: now,
        headSeq: 0,
        headHash: GENESIS_HASH,
      };
      const event = nextEvent(clue, {
        type: 'clue.registered',
        actor,
        data: {
          trackingCode,
          channel: input.channel,
          receivedAt: receivedAt.toISOString(),
          categories: input.categories,
          unitId: clue.unit,
          accused: accused.map((a) => ({ id: a.id, name: a.name, role: a.role, unitId: a.unitId, position: a.position })),
          narrativeSha256: sha256Hex(input.narrative),
          occurredWhen: input.occurredWhen ?? null,
          named: clue.named,
          locale,
          notifyProgress: clue.named ? clue.notifyProgress : undefined,
          reporterSealSha256: box ? sha256Hex(box) : undefined,
          secretKind: kind,
          attachments: files.map((f) => ({ id: f.id, filename: f.filename, contentType: f.contentType, size: f.size, sha256: f.sha256 })),
        },
      }, now);
      const starts = deps.deadlines.planStarts(await deps.deadlines.currentPolicy(), clue, 'clue.registered', now);
      const events = [event, ...starts.map((st) => nextEvent(clue, st.event, now))];
      const jobs: { queue: QueueName; name: string; jobId: string }[] = [];
      if (input.reporter?.email) jobs.push({ queue: 'notifications', name: 'email.reporter_ack', jobId: `ack-${id}` });
      jobs.push({ queue: 'triage', name: 'clue.registered', jobId: `triage-${id}` });

      // Only steps due within the scheduler's horizon need a delayed job now; the periodic
      // reconcile adds the others as they come within it.
      const syncUntil = now.getTime() + deps.deadlineHorizonMs;
      const syncNow = starts.map(({ row: r }) => !!r.nextFireAt && r.nextFireAt.getTime() <= syncUntil);
      const rows: RegistrationRows = {
        clue: [
          id, trackingCode, input.channel, receivedAt, pgTextArray(input.categories), input.narrative, input.occurredWhen ?? null, clue.unit,
          clue.named, kind, hashSecret(keys.secretHmacKey, trackingCode, secret), clue.headSeq, clue.headHash, locale, clue.notifyProgress, now, now,
        ],
        events: events.map((e) => [id, e.seq, e.type, e.actor, now, e.dataJson, e.prevHash, e.hash]),
        outbox: jobs.map((j) => [j.queue, j.name, j.jobId, JSON.stringify({ clueId: id }), now]),
        accused: accused.map((a) => [a.id, id, a.name, a.role, a.unitId, a.position]),
        deadlines: starts.map(({ row: r }, i) => [
          r.id, id, r.kind, r.unit, r.startsAt, r.dueAt, r.dueAt, JSON.stringify(r.policy), r.fireSeq, r.nextFireAt, syncNow[i], now,
        ]),
        intakeKeys: input.intakeKey ? [[input.intakeKey, id, now]] : [],
        reporters: box ? [[id, box, now]] : [],
        attachments: files.map((f) => [f.id, id, f.filename, f.contentType, f.size, f.sha256, f.storageKey, actor === 'reporter' ? 'reporter' : actor, now]),
      };
      try {
        await registrations.submit(rows);
      } catch (err) {
        // A tracking-code collision is astronomically rare but must not lose the report.
        // Raw driver errors here (the ORM is bypassed): SQLSTATE 23505 unique, 23503 foreign key.
        const { code, constraint } = err as { code?: string; constraint?: string };
        if (code === '23505' && constraint === 'intake_key_pkey' && input.intakeKey) {
          const [first] = await sql<{ clue_id: string }>(orm.em.fork(), 'select clue_id from intake_key where key = ?', [input.intakeKey]);
          const existing = await orm.em.fork().findOneOrFail(Clue, { id: first!.clue_id });
          return { clue: existing, trackingCode: existing.trackingCode, secret: null, duplicate: true as const };
        }
        if (code === '23505' && attempt < 5) continue;
        if (code === '23503') throw unknownUnit();
        throw err;
      }
      deps.onOutboxWritten();
      if (syncNow.includes(true)) deps.onDeadlinesChanged();
      logger.info({ clueId: id, channel: input.channel, named: clue.named }, 'clue registered');
      return { clue, trackingCode, secret: secret as string | null, duplicate: false as const };
    }
  }

  async function unitPathOf(em: Em, unitId: string | null | undefined): Promise<string | null> {
    if (!unitId) return null;
    return (await em.findOne(Unit, { id: unitId }, { fields: ['path'] }))?.path ?? null;
  }

  /** Loads a clue the principal may see, else `clue.not_found` (existence is not revealed). */
  async function loadVisible(em: Em, principal: Principal, clueId: string, lock = false) {
    const clue = await em.findOne(Clue, { id: clueId }, lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {});
    if (!clue) throw clueNotFound();
    if (principal.role === 'discipline_officer') {
      const [referred] = principal.disciplineBodyId
        ? await sql(em, 'select 1 from referral where clue_id = ? and body_id = ?', [clue.id, principal.disciplineBodyId])
        : [];
      if (!referred) throw clueNotFound();
      return clue;
    }
    const visible =
      canSeeUnit(principal, clue.unit, await unitPathOf(em, clue.unit)) ||
      (!!clue.assignedUnit && canSeeUnit(principal, clue.assignedUnit, await unitPathOf(em, clue.assignedUnit)));
    if (!visible) throw clueNotFound();
    return clue;
  }

  type ClueSummary = Pick<Clue, 'id' | 'trackingCode' | 'channel' | 'receivedAt' | 'categories' | 'unit' | 'status' | 'priority' | 'named' | 'finding' | 'mergedInto' | 'flags' | 'updatedAt'>;

  function publicView(clue: ClueSummary) {
    return {
      id: clue.id,
      trackingCode: clue.trackingCode,
      channel: clue.channel,
      receivedAt: clue.receivedAt,
      categories: clue.categories,
      unitId: clue.unit,
      status: clue.status,
      priority: clue.priority,
      named: clue.named,
      finding: clue.finding,
      mergedInto: clue.mergedInto,
      flags: clue.flags,
      updatedAt: clue.updatedAt,
    };
  }

  async function getClue(principal: Principal, clueId: string) {
    const em = orm.em.fork();
    const clue = await loadVisible(em, principal, clueId);
    const [accused, attachments, events] = await Promise.all([
      em.find(Accused, { clue: clue.id }),
      em.find(Attachment, { clue: clue.id }, { orderBy: { createdAt: 'asc' } }),
      em.find(LedgerEvent, { clue: clue.id }, { orderBy: { seq: 'asc' } }),
    ]);
    return {
      ...publicView(clue),
      narrative: clue.narrative,
      occurredWhen: clue.occurredWhen,
      allowedActions: allowedActions(clue.status),
      accused: accused.map((a) => ({ id: a.id, name: a.name, role: a.role, unitId: a.unit, position: a.position })),
      attachments: attachments.map((a) => ({
        id: a.id,
        filename: a.filename,
        contentType: a.contentType,
        size: a.size,
        sha256: a.sha256,
        source: a.source,
        createdAt: a.createdAt,
      })),
      events: events.map((e) => ({ seq: e.seq, type: e.type, actor: e.actor, at: e.at, data: e.data, hash: e.hash })),
    };
  }

  async function listClues(
    principal: Principal,
    filter: {
      status?: ClueStatus;
      channel?: Channel;
      category?: Category;
      unitId?: string;
      receivedFrom?: Date;
      receivedTo?: Date;
      limit: number;
      cursor?: { receivedAt: Date; id: string };
    },
  ) {
    const em = orm.em.fork();
    const vis = clueVisibility(principal);
    const where = [vis.where];
    const params: unknown[] = [...vis.params];
    const add = (cond: string, ...values: unknown[]) => {
      where.push(cond);
      params.push(...values);
    };
    if (filter.status) add('c.status = ?', filter.status);
    if (filter.channel) add('c.channel = ?', filter.channel);
    if (filter.category) add('? = any(c.categories)', filter.category);
    if (filter.unitId) {
      // The subtree's unit ids as constants: with them PostgreSQL estimates how many clues the filter
      // keeps and reads the list in its order; with the subquery it fetched and sorted every clue of
      // the subtree (bench/README "staff-reads").
      const units = await sql<{ id: string }>(em, 'select id from unit where path like (select path from unit where id = ?) || ?', [filter.unitId, '%']);
      if (units.length) add('c.unit_id in (?)', units.map((u) => u.id));
      else add('false');
    }
    if (filter.receivedFrom) add('c.received_at >= ?', filter.receivedFrom);
    if (filter.receivedTo) add('c.received_at < ?', filter.receivedTo);
    if (filter.cursor) add('(c.received_at, c.id) < (?, ?)', filter.cursor.receivedAt, filter.cursor.id);
    const rows = await sql<{ id: string }>(
      em,
      `select c.id from clue c where ${where.join(' and ')} order by c.received_at desc, c.id desc limit ?`,
      [...params, filter.limit + 1],
    );
    const ids = rows.slice(0, filter.limit).map((r) => r.id);
    const clues = ids.length ? await em.find(Clue, { id: { $in: ids } }) : [];
    const byId = new Map(clues.map((c) => [c.id, c]));
    const items = ids.map((id) => publicView(byId.get(id)!));
    const last = items.at(-1);
    const nextCursor =
      rows.length > filter.limit && last ? Buffer.from(`${last.receivedAt.toISOString()}|${last.id}`).toString('base64url') : null;
    return { items, nextCursor };
  }

  async function changeStatus(
    principal: Principal,
    clueId: string,
    input: { action: ClueAction; reason?: string; reasonCode?: DeclineReason; finding?: Finding; outcome?: Record<string, number>; mergedInto?: string },
  ) {
    if (!can.handleClues(principal)) throw forbidden();
    const result = await orm.em.fork().transactional(async (tx) => {
      const clue = await loadVisible(tx, principal, clueId, true);
      const from = clue.status;
      const to = nextStatus(from, input.action);
      if (!to) throw illegalTransition({ from, action: input.action, allowed: allowedActions(from) });
      const missing = transitions[input.action].requires.filter((r: string) => !input[r as keyof typeof input]);
      if (missing.length) throw transitionRequirementMissing({ missing });
      if (input.mergedInto) {
        const target = await tx.findOne(Clue, { id: input.mergedInto }, { fields: ['id'] });
        if (!target || target.id === clue.id) throw clueNotFound({ mergedInto: input.mergedInto });
        clue.mergedInto = target.id;
      }
      clue.status = to;
      if (input.finding) clue.finding = input.finding;
      if (input.action === 'conclude') clue.outcome = input.outcome ?? null;
      const now = clock.now();
      appendEvent(
        tx,
        clue,
        {
          type: 'clue.status_changed',
          actor: `staff:${principal.id}`,
          data: {
            action: input.action,
            from,
            to,
            reason: input.reason,
            reasonCode: input.reasonCode,
            finding: input.finding,
            outcome: input.action === 'conclude' ? input.outcome : undefined,
            mergedInto: input.mergedInto,
          },
        },
        now,
      );
      await deps.deadlines.onEvent(tx, clue, `clue.${input.action}`, now);
      if (input.action === 'accept' || input.action === 'decline') tellReporterOfDecision(tx, clue, input, principal, now);
      return clue;
    });
    deps.onDeadlinesChanged();
    deps.onOutboxWritten();
    if (input.action === 'accept') deps.onAccepted?.(clueId);
    logger.info({ clueId, action: input.action, to: result.status, staffId: principal.id }, 'clue status changed');
    return publicView(result);
  }

  /**
   * The reporter is told of acceptance or refusal through their channel: a message on the
   * follow-up thread (web, email and anonymous reporters all see it there) and, for a named
   * reporter with an email address, an email sent by the notifications job.
   */
  function tellReporterOfDecision(
    tx: Em,
    clue: Clue,
    input: { action: ClueAction; reason?: string; reasonCode?: DeclineReason },
    principal: Principal,
    now: Date,
  ) {
    const reason = input.reasonCode ? declineReasons[input.reasonCode] : null;
    // In every language; the reporter reads theirs (Message.localized).
    const text =
      input.action === 'accept'
        ? automaticMessage('decision-accepted', () => ({}))
        : automaticMessage('decision-declined', (l) => ({ reason: l === 'en' ? reason!.en : reason!.zh, explanation: input.reason ?? '' }));
    const message = tx.create(Message, { id: randomUUID(), clue: clue.id, author: 'staff', staffId: principal.id, ...text, createdAt: now });
    appendEvent(tx, clue, { type: 'message.posted', actor: `staff:${principal.id}`, data: { messageId: message.id, author: 'staff', reason: `decision:${input.action}` } }, now);
    if (clue.named) {
      enqueueInTransaction(tx, now, {
        queue: 'notifications',
        name: 'email.reporter_decision',
        jobId: `decision-${clue.id}-${clue.headSeq}`,
        payload: { clueId: clue.id, messageId: message.id },
      });
    }
  }

  /**
   * Opens the sealed reporter record for a role that needs it. Staff of a unit an accused person
   * belongs to never see it (recusal), and every view is itself a ledger event.
   */
  async function revealReporter(principal: Principal, clueId: string, purpose: string) {
    if (!can.revealReporter(principal)) throw forbidden();
    return orm.em.fork().transactional(async (tx) => {
      const clue = await loadVisible(tx, principal, clueId, true);
      const accusedUnits = (await tx.find(Accused, { clue: clue.id }, { fields: ['unit'] })).map((a) => a.unit);
      if (accusedUnits.includes(principal.unitId)) throw reporterRecusal();
      const sealed = await tx.findOne(SealedReporter, { clue: clue.id });
      if (!sealed) throw reporterAnonymous();
      const identity = JSON.parse(unseal(keys.reporterKey, Buffer.from(sealed.box), clue.id)) as ReporterIdentity;
      appendEvent(tx, clue, { type: 'reporter.viewed', actor: `staff:${principal.id}`, data: { purpose } }, clock.now());
      return identity;
    });
  }

  /**
   * The reporter's key to their clue. An unknown code, a wrong secret and a locked PIN all give
   * `null` after the same HMAC work, so the answers cannot be told apart.
   */
  async function authenticateReporter(code: string, secret: string, em: Em = orm.em.fork()): Promise<Clue | null> {
    const normalized = normalizeTrackingCode(code);
    const clue = normalized ? await em.findOne(Clue, { trackingCode: normalized }) : null;
    if (!clue) {
      hashSecret(keys.secretHmacKey, normalized ?? '000000000000', secret);
      return null;
    }
    const now = clock.now();
    const ok = secretMatches(keys.secretHmacKey, clue.trackingCode, secret, clue.secretHash);
    if (clue.lockedUntil && clue.lockedUntil > now) return null;
    if (ok) {
      if (clue.failedAttempts > 0) await sql(em, 'update clue set failed_attempts = 0 where id = ?', [clue.id]);
      return clue;
    }
    if (clue.secretKind === 'pin') {
      const lockUntil = new Date(now.getTime() + deps.pinLockMinutes * 60_000);
      // Atomic, so parallel guesses cannot slip past the limit.
      await sql(
        em,
        `update clue set failed_attempts = case when failed_attempts + 1 >= ? then 0 else failed_attempts + 1 end,
           locked_until = case when failed_attempts + 1 >= ? then ? else locked_until end where id = ?`,
        [deps.pinMaxAttempts, deps.pinMaxAttempts, lockUntil, clue.id],
      );
    }
    return null;
  }

  /** Throws `clue.not_found` unless the principal may see the clue; inside a transaction pass its `em` (PGlite has one connection). */
  async function assertVisible(principal: Principal, clueId: string, em: Em = orm.em.fork()) {
    await loadVisible(em, principal, clueId);
  }

  /**
   * The clue a tracking code names, if the principal may see it (else `clue.not_found`): the staff
   * console's search. The code may be typed as read out (spaces, dashes, full-width digits).
   */
  async function findByTrackingCode(principal: Principal, code: string) {
    const normalized = normalizeTrackingCode(code);
    if (!normalized) throw clueNotFound();
    const em = orm.em.fork();
    const found = await em.findOne(Clue, { trackingCode: normalized }, { fields: ['id'] });
    if (!found) throw clueNotFound();
    return publicView(await loadVisible(em, principal, found.id));
  }

  /** One attachment of a clue the principal may see, with its storage key (for the staff download). */
  async function attachmentOf(principal: Principal, clueId: string, attachmentId: string) {
    const em = orm.em.fork();
    await loadVisible(em, principal, clueId);
    const a = await em.findOne(Attachment, { id: attachmentId, clue: clueId });
    if (!a) throw clueNotFound();
    return { id: a.id, filename: a.filename, contentType: a.contentType, size: a.size, sha256: a.sha256, storageKey: a.storageKey };
  }

  /** `clue.unknown_unit` unless every given unit exists: checked before any file is stored. */
  async function checkUnits(ids: (string | null | undefined)[]) {
    await assertUnitsExist(orm.em.fork(), ids);
  }

  return { checkUnits, registerClue, registrationStats: registrations.stats, getClue, listClues, findByTrackingCode, attachmentOf, changeStatus, revealReporter, authenticateReporter, publicView, assertVisible };
}

export type ClueUseCases = ReturnType<typeof createClueUseCases>;
