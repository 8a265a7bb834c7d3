import { randomUUID } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { QueueName } from '../../../queues/names.ts';
import type { DeadlinePlanning, TellReporterOfDecision } from './clues.ports.ts';
import type { Clock } from '../../app/clock.ts';
import type { Em, Orm } from '../../app/db.ts';
import { forbidden } from '../../app/errors.ts';
import type { Keys } from '../../app/keys.ts';
import { labelled, openName, sealName, withoutNames } from '../attachments/attachments.names.ts';
import type { StoredAttachment, UploadedFile, Uploads } from '../attachments/uploads.ts';
import type { Logger } from '../../app/logger.ts';
import { seal, unseal } from '../../app/seal.ts';
import { can, type ClueVisibilityCall, type Principal, type StaffCall, type StaffContext } from '../staff/access.ts';
import { canSeeClue, recomputeExclusions, visibleClueIds, visibleClues } from '../visibility/visibility.ts';
import { AccusedLink, type AccusedLinkKind } from '../visibility/exclusion.entity.ts';
import { nameKey } from '../../app/text.ts';
import { Unit } from '../staff/unit.entity.ts';
import {
  Accused,
  type AccusedRole,
  Attachment,
  type Category,
  type Channel,
  Clue,
  type ClueOutcomeFigures,
  SealedReporter,
  type SecretKind,
} from './clue.entity.ts';
import {
  accusedNotFound,
  clueNotFound,
  illegalTransition,
  reporterAnonymous,
  summaryIdentifiesReporter,
  transitionRequirementMissing,
  unknownUnit,
} from './clues.errors.ts';
import { type Actor, appendEvent, GENESIS_HASH, nextEvent, sha256Hex } from './ledger.ts';
import { generatePin, generateWebSecret, hashSecret, secretMatches } from './secrets.ts';
import type { SlowDownRule, Throttle } from '../../app/throttle.ts';
import { allowedActions, type ClueAction, type ClueStatus, type DeclineReason, type Finding, nextStatus, transitions } from './status-machine.ts';
import { generateTrackingCode, normalizeTrackingCode } from './tracking-code.ts';
import { summaryProblem } from './clue-summary.ts';
import { createGroupCommit } from '../../app/group-commit.ts';
import { type Registration, writeRegistrations } from './registration.repository.ts';
import {
  accusedOfClue,
  attachmentsOfClue,
  type ClueListFilter,
  type ClueSummary,
  clueIdOfIntakeKey,
  clueIdOfTrackingCode,
  countClueRows,
  deleteAccusedLink,
  deleteAccusedRows,
  eventsOfClue,
  keepConclusion,
  listCluePage,
  resetFailedAttempts,
  secretOfTrackingCode,
  staffExists,
  visibleClueDetail,
  visibleClueSummary,
} from './clues.repository.ts';
import { timeOrderedUuid, UUID } from '../../app/ids.ts';
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

/** Defined by the attachments module (uploads.ts); named here too for the intake modules. */
export type { StoredAttachment };

export interface ClueDeps {
  orm: Orm;
  clock: Clock;
  keys: Keys;
  logger: Logger;
  /** Called after a commit that wrote outbox rows, so the relay moves them without waiting for its poll. */
  onOutboxWritten: () => void;
  /** Phone PIN slow-down (throttle.ts): per tracking code across all callers, and per caller. Unset: none (tests of other modules). */
  pinGuard?: { throttle: Throttle; perCode: SlowDownRule; perCaller: SlowDownRule };
  /** Digits of a generated phone PIN (PHONE_PIN_LENGTH, as the hotline's status query asks for); default 6. */
  pinLength?: number;
  /** Starts and stops deadlines inside the transactions that change a clue. */
  deadlines: DeadlinePlanning;
  /** Tells the reporter of an acceptance or refusal, inside the transition's transaction (the messages module: messages.decision.ts). */
  tellReporterOfDecision: TellReporterOfDecision;
  /** Called after a commit that created or closed deadlines, so Redis follows soon. */
  onDeadlinesChanged: () => void;
  /** The deadline scheduler's horizon: deadline steps due within it are held in Redis. */
  deadlineHorizonMs: number;
  /** Called after a clue is accepted (e.g. to give registered-relative households a home visit). */
  onAccepted?: (clueId: string) => void;
  /** Checks and stores the files staff register with a letter (attachments module). Unset: staff registration takes no files. */
  uploads?: Uploads;
}

/** A letter, visit or call registered by staff, with its files as uploaded (not yet checked). */
export type StaffRegistrationInput = Omit<RegisterClueInput, 'attachments' | 'secret' | 'intakeKey'> & {
  files: UploadedFile[];
  /** How the reporter will follow up: `phone` gives a numeric PIN (the hotline's status query takes it) instead of the web secret. */
  followUp?: 'web' | 'phone';
};

const DUMMY_SECRET_HASH = '0'.repeat(64);

export function createClueUseCases(deps: ClueDeps) {
  const { orm, clock, keys, logger } = deps;

  async function assertUnitsExist(em: Em, ids: (string | null | undefined)[]) {
    const wanted = [...new Set(ids.filter((x): x is string => !!x))];
    if (wanted.length === 0) return;
    const found = await em.count(Unit, { id: { $in: wanted } });
    if (found !== wanted.length) throw unknownUnit();
  }

  // Registrations arriving together are written together (registration.repository.ts). One
  // batch in flight: the next fills while it is written, and goes out as soon as it is done. With
  // two, the groups were half as large and the statement's fixed cost (planning, the round trip,
  // the commit, ~0.5 ms) was paid twice as often: `register` at 32 connections wrote 6.7
  // registrations a statement at 0.68 ms of CPU each, against 15.8 at 0.56 ms with one, p99 the
  // same (bench/README "Intake: one registration statement in flight").
  // Raw SQL only (no entities, no transaction): one fork for every batch instead of one each.
  const registrationWrites = orm.em.fork();
  const registrations = createGroupCommit<Registration>({
    maxBatch: 64,
    maxInFlight: 1,
    write: (batch) => writeRegistrations(registrationWrites, batch),
  });

  /**
   * Registers a clue with its accused, sealed reporter, attachments, first ledger events, first
   * deadlines and outbox rows in ONE statement (data-modifying CTEs): atomic like a transaction,
   * one round trip, shared with registrations arriving at the same time (group commit). This is
   * the intake hot path, so it bypasses the unit of work. Unknown units fail the foreign keys.
   * Resolves only after the commit.
   */
  /** `attachment.source` (32 characters): who brought the file; a staff member as `staff` (the event names them). */
  const attachmentSource = (actor: Actor) => (actor.startsWith('staff:') ? 'staff' : actor).slice(0, 32);

  async function registerClue(actor: Actor, input: RegisterClueInput) {
    const kind: SecretKind = input.secret?.kind ?? 'web';
    const secret = input.secret && 'pin' in input.secret ? input.secret.pin : kind === 'pin' ? generatePin(deps.pinLength) : generateWebSecret();

    for (let attempt = 1; ; attempt++) {
      const trackingCode = generateTrackingCode();
      const now = clock.now();
      const id = timeOrderedUuid(now.getTime());
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
          // No file name: it is the reporter's text (sealed on the row).
          attachments: files.map((f) => ({ id: f.id, contentType: f.contentType, size: f.size, sha256: f.sha256 })),
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
      const registration: Registration = {
        clue: {
          id, trackingCode, channel: input.channel, receivedAt, categories: input.categories, narrative: input.narrative, occurredWhen: input.occurredWhen ?? null,
          unitId: clue.unit, named: clue.named, secretKind: kind, secretHash: hashSecret(keys.secretHmacKey, trackingCode, secret), headSeq: clue.headSeq,
          headHash: clue.headHash, locale, notifyProgress: clue.notifyProgress, at: now,
        },
        events,
        jobs,
        accused,
        deadlines: starts.map(({ row: r }, i) => ({ id: r.id, kind: r.kind, unitId: r.unit, startsAt: r.startsAt, dueAt: r.dueAt, policy: r.policy, fireSeq: r.fireSeq, nextFireAt: r.nextFireAt, syncNeeded: syncNow[i]! })),
        intakeKey: input.intakeKey ?? null,
        reporterBox: box,
        // The file's name is the reporter's text: it goes in sealed only.
        attachments: files.map((f) => ({
          id: f.id, filenameBox: sealName(keys.reporterKey, f.id, f.filename), contentType: f.contentType, size: f.size, sha256: f.sha256, storageKey: f.storageKey, source: attachmentSource(actor),
        })),
      };
      try {
        await registrations.submit(registration);
      } catch (err) {
        // A tracking-code collision is astronomically rare but must not lose the report.
        // Raw driver errors here (the ORM is bypassed): SQLSTATE 23505 unique, 23503 foreign key.
        const { code, constraint } = err as { code?: string; constraint?: string };
        if (code === '23505' && constraint === 'intake_key_pkey' && input.intakeKey) {
          const existing = await orm.em.fork().findOneOrFail(Clue, { id: (await clueIdOfIntakeKey(orm.em.fork(), input.intakeKey))! });
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

  /** `forbidden` unless the principal registers clues (the console asks before showing the registration form). */
  function assertMayRegister({ ctx }: StaffCall<object>) {
    if (!can.registerClues(ctx.principal)) throw forbidden();
  }

  /**
   * A letter, visit or call registered by staff, with its files (the API's and the console's one path):
   * the principal must be one who registers clues; units are checked, then every file (type by content,
   * metadata stripped, names sealed with the clue), and only then anything is stored, so a refused
   * registration leaves nothing behind.
   */
  async function registerByStaff({ ctx, input: { files, followUp, ...input } }: StaffCall<StaffRegistrationInput>) {
    assertMayRegister({ ctx, input: {} });
    if (files.length) await assertUnitsExist(ctx.em, [input.unitId, ...input.accused.map((a) => a.unitId)]);
    if (files.length && !deps.uploads) throw new Error('staff registration with files needs the uploads dependency');
    const attachments = files.length ? await deps.uploads!.accept(files, input.locale ?? 'zh-CN') : [];
    return registerClue(ctx.actor, { ...input, attachments, ...(followUp === 'phone' ? { secret: { kind: 'pin' as const } } : {}) });
  }

  /**
   * Loads a clue the principal may see, else `clue.not_found`: existence is not revealed, and a
   * principal in the clue's excluded set gets exactly that too (visibility module).
   */
  async function loadVisible(em: Em, principal: Principal, clueId: string, lock = false) {
    if (!(await canSeeClue(em, principal, clueId))) throw clueNotFound();
    const clue = await em.findOne(Clue, { id: clueId }, lock ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {});
    if (!clue) throw clueNotFound();
    return clue;
  }

  /**
   * The clue as the staff view shows it (columns, not an entity: nothing here is written), if the
   * principal may see it, else `clue.not_found`: the visibility module's condition is the statement's
   * (as `canSeeClue`, which answers `false` for what is not an id).
   */
  async function readVisible(em: Em, principal: Principal, clueId: string) {
    const clue = UUID.test(clueId) ? await visibleClueDetail(em, visibleClues(principal), clueId) : undefined;
    if (!clue) throw clueNotFound();
    return clue;
  }

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

  async function getClue({ ctx, input: { clueId } }: StaffCall<{ clueId: string }>) {
    const { principal, em } = ctx;
    const clue = await readVisible(em, principal, clueId);
    const [accused, attachments, events] = await Promise.all([accusedOfClue(em, clue.id), attachmentsOfClue(em, clue.id), eventsOfClue(em, clue.id)]);
    // Other clues this one points to (possible repeats found at triage, the clue it was merged
    // into) are shown only where the principal may see them: a reference is not a way round the
    // excluded set. The event's hash covers its full data, so such an event is marked `withheld`.
    const referenced = events.flatMap((e) => [
      ...(e.type === 'triage.checked' ? ((e.data?.possibleRepeats as { id: string }[] | undefined) ?? []).map((r) => r.id) : []),
      ...(typeof e.data?.mergedInto === 'string' ? [e.data.mergedInto] : []),
      ...(clue.mergedInto ? [clue.mergedInto] : []),
    ]);
    const seen = await visibleClueIds(em, principal, referenced);
    const redact = (data: Record<string, unknown> | undefined) => {
      if (!data) return { data, withheld: false };
      let withheld = false;
      const out = { ...data };
      if (Array.isArray(out.possibleRepeats)) {
        const kept = (out.possibleRepeats as { id: string }[]).filter((r) => seen.has(r.id));
        withheld = kept.length !== out.possibleRepeats.length;
        out.possibleRepeats = kept;
      }
      if (typeof out.mergedInto === 'string' && !seen.has(out.mergedInto)) {
        out.mergedInto = null;
        withheld = true;
      }
      return { data: out, withheld };
    };
    return {
      ...publicView(clue),
      mergedInto: clue.mergedInto && seen.has(clue.mergedInto) ? clue.mergedInto : null,
      narrative: clue.narrative,
      occurredWhen: clue.occurredWhen,
      summary: clue.summary,
      allowedActions: allowedActions(clue.status),
      accused: accused.map((a) => ({ id: a.id, name: a.name, role: a.role, unitId: a.unit, position: a.position })),
      // The names are the reporter's text: a label here, the names only through the reveal path.
      attachments: attachments.map((a, i) => ({
        id: a.id,
        ...labelled(i + 1, a),
        contentType: a.contentType,
        size: a.size,
        sha256: a.sha256,
        source: a.source,
        createdAt: a.createdAt,
      })),
      events: events.map((e) => {
        const { data, withheld } = redact(withoutNames(e.data) as Record<string, unknown> | undefined);
        return { seq: e.seq, type: e.type, actor: e.actor, at: e.at, data, hash: e.hash, ...(withheld ? { withheld: true } : {}) };
      }),
    };
  }

  /**
   * How many clues a filter keeps, counted up to `cap` (the console shows "100+" beyond it): an
   * exact count of a district's years of clues would read them all; this stops after `cap` + 1.
   */
  async function countClues({ ctx, input }: StaffCall<ClueListFilter & { cap?: number }>): Promise<{ count: number; capped: boolean }> {
    const { cap = 1000, ...filter } = input;
    const n = await countClueRows(ctx.em, visibleClues(ctx.principal), filter, cap);
    return n > cap ? { count: cap, capped: true } : { count: n, capped: false };
  }

  /**
   * A page of clues, newest first. With `countCap` (first pages only: no cursor) the same walk also
   * counts the filter up to the cap: the page is the first rows of the `countCap` + 1 read for the
   * count, so the list and its count cost one statement, not two walks of the same index.
   */
  async function listClues({ ctx, input: { countCap, ...filter } }: StaffCall<ClueListFilter & { limit: number; countCap?: number }>) {
    const { principal, em } = ctx;
    const counting = countCap !== undefined && !filter.cursor && countCap >= filter.limit;
    const { ids: rows, summaries: clues } = await listCluePage(em, visibleClues(principal), filter, counting ? countCap + 1 : filter.limit + 1, filter.limit);
    const total = counting ? (rows.length > countCap ? { count: countCap, capped: true } : { count: rows.length, capped: false }) : undefined;
    const ids = rows.slice(0, filter.limit);
    const byId = new Map(clues.map((c) => [c.id, c]));
    const targets = await visibleClueIds(em, principal, clues.map((c) => c.mergedInto).filter((m): m is string => !!m));
    const items = ids.map((id) => {
      const view = publicView(byId.get(id)!);
      return view.mergedInto && !targets.has(view.mergedInto) ? { ...view, mergedInto: null } : view;
    });
    const last = items.at(-1);
    const nextCursor =
      rows.length > filter.limit && last ? Buffer.from(`${last.receivedAt.toISOString()}|${last.id}`).toString('base64url') : null;
    return { items, nextCursor, total };
  }

  async function changeStatus({
    ctx,
    input: { clueId, ...input },
  }: StaffCall<{ clueId: string; action: ClueAction; reason?: string; reasonCode?: DeclineReason; finding?: Finding; outcome?: ClueOutcomeFigures; mergedInto?: string }>) {
    const { principal } = ctx;
    if (!can.handleClues(principal)) throw forbidden();
    const result = await ctx.em.transactional(async (tx) => {
      const clue = await loadVisible(tx, principal, clueId, true);
      const from = clue.status;
      const to = nextStatus(from, input.action);
      if (!to) throw illegalTransition({ from, action: input.action, allowed: allowedActions(from) });
      const missing = transitions[input.action].requires.filter((r: string) => !input[r as keyof typeof input]);
      if (missing.length) throw transitionRequirementMissing({ missing });
      if (input.mergedInto) {
        // A clue the principal may not see (absent, or they are in its excluded set) is no target.
        const target = (await canSeeClue(tx, principal, input.mergedInto)) ? await tx.findOne(Clue, { id: input.mergedInto }, { fields: ['id'] }) : null;
        if (!target || target.id === clue.id) throw clueNotFound({ mergedInto: input.mergedInto });
        clue.mergedInto = target.id;
      }
      clue.status = to;
      if (input.finding) clue.finding = input.finding;
      if (input.action === 'conclude') clue.outcome = input.outcome ?? null;
      const now = ctx.clock.now();
      appendEvent(
        tx,
        clue,
        {
          type: 'clue.status_changed',
          actor: ctx.actor,
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
      await keepConclusion(tx, clue.id, input.action, input.outcome ?? null, now);
      if (input.action === 'accept' || input.action === 'decline') deps.tellReporterOfDecision(tx, clue, input, principal, now);
      return clue;
    });
    deps.onDeadlinesChanged();
    deps.onOutboxWritten();
    if (input.action === 'accept') deps.onAccepted?.(clueId);
    ctx.logger.info({ clueId, action: input.action, to: result.status, staffId: principal.id }, 'clue status changed');
    return publicView(result);
  }

  /**
   * Opens the sealed reporter record for operators and supervisors of a unit that may handle the
   * clue, with a stated purpose. A principal in the clue's excluded set (an accused's unit or one
   * below it, an accused person, a registered relative) does not find the clue at all, and every
   * view is itself a ledger event.
   */
  async function revealReporter({ ctx, input: { clueId, purpose } }: StaffCall<{ clueId: string; purpose: string }>) {
    const { principal } = ctx;
    if (!can.revealReporter(principal)) throw forbidden();
    return ctx.em.transactional(async (tx) => {
      const clue = await loadVisible(tx, principal, clueId, true);
      const sealed = await tx.findOne(SealedReporter, { clue: clue.id });
      if (!sealed) throw reporterAnonymous();
      const identity = JSON.parse(unseal(keys.reporterKey, Buffer.from(sealed.box), clue.id)) as ReporterIdentity;
      // The attachments' names are the reporter's text too: shown here, with the identity, under the same event.
      const files = await tx.find(Attachment, { clue: clue.id }, { orderBy: { createdAt: 'asc', id: 'asc' }, populate: ['filenameBox'] });
      appendEvent(tx, clue, { type: 'reporter.viewed', actor: ctx.actor, data: { purpose } }, ctx.clock.now());
      return { ...identity, attachments: files.map((f, i) => ({ id: f.id, ...labelled(i + 1, f), filename: openName(keys.reporterKey, f) })) };
    });
  }

  /**
   * Sets the clue's 问题摘要. It is checked against the sealed identity in memory (never shown to the
   * writer); a refusal is itself a ledger event, so probing the identity through refusals is visible.
   */
  async function setSummary({ ctx, input: { clueId, summary } }: StaffCall<{ clueId: string; summary: string }>) {
    const { principal } = ctx;
    if (!can.handleClues(principal)) throw forbidden();
    const refused = await ctx.em.transactional(async (tx) => {
      const clue = await loadVisible(tx, principal, clueId, true);
      const sealed = await tx.findOne(SealedReporter, { clue: clue.id });
      const identity = sealed ? (JSON.parse(unseal(keys.reporterKey, Buffer.from(sealed.box), clue.id)) as ReporterIdentity) : null;
      const rule = summaryProblem(summary, identity);
      const now = ctx.clock.now();
      if (rule) {
        appendEvent(tx, clue, { type: 'clue.summary_refused', actor: ctx.actor, data: { rule } }, now);
        return rule;
      }
      clue.summary = summary;
      appendEvent(tx, clue, { type: 'clue.summary_set', actor: ctx.actor, data: { summary } }, now);
      return null;
    });
    if (refused) throw summaryIdentifiesReporter({ rule: refused === 'reporter_name' || refused === 'reporter_contact' ? 'reporter_identity' : refused });
    return { summary };
  }

  /**
   * The reporter's key to their clue. An unknown code, a wrong secret and a PIN held back by the
   * slow-down all give `null` after the same HMAC work, so the answers cannot be told apart.
   * A PIN (digits) is slowed down per code across all callers and per caller (`caller`: the phone
   * number), never locked: after a few wrong PINs each try waits longer, at most PIN_MAX_DELAY_SECONDS,
   * so a stranger can delay a reporter's check, not lock them out (README "Why guessing a tracking
   * code is hopeless").
   */
  async function authenticateReporter(code: string, secret: string, em: Em = orm.em.fork(), opts: { caller?: string } = {}): Promise<Clue | null> {
    const normalized = normalizeTrackingCode(code);
    const guard = deps.pinGuard && /^\d{1,12}$/.test(secret.trim()) ? deps.pinGuard : null;
    if (guard) {
      const waits = await Promise.all([
        guard.throttle.attempt('pin-code', normalized ?? code, guard.perCode),
        opts.caller ? guard.throttle.attempt('pin-caller', opts.caller, guard.perCaller) : 0,
      ]);
      if (Math.max(...waits) > 0) {
        hashSecret(keys.secretHmacKey, normalized ?? '000000000000', secret);
        return null;
      }
    }
    // Same steps whatever is wrong: one small lookup (a malformed code is looked up too, as '',
    // which no clue has) and one HMAC comparison (against a dummy hash for an unknown code); the
    // clue itself is loaded only once the secret matched (test/same-work.test.ts).
    const row = await secretOfTrackingCode(em, normalized ?? '');
    const ok = secretMatches(keys.secretHmacKey, row?.trackingCode ?? normalized ?? '000000000000', secret, row?.secretHash ?? DUMMY_SECRET_HASH);
    if (!row) return null;
    if (ok) {
      const clue = await em.findOneOrFail(Clue, { id: row.id });
      if (clue.failedAttempts > 0) await resetFailedAttempts(em, clue.id);
      if (guard) {
        await guard.throttle.clear('pin-code', clue.trackingCode);
        if (opts.caller) await guard.throttle.clear('pin-caller', opts.caller);
      }
      return clue;
    }
    // No write here (it would make a wrong secret slower than an unknown code): the slow-down above counts.
    return null;
  }

  /**
   * Throws `clue.not_found` unless `ctx.principal` may see the clue. It reads through `ctx.em`: inside a
   * transaction, pass a context with that transaction's `em` (PGlite has one connection).
   */
  async function assertVisible({ ctx, input: { clueId } }: ClueVisibilityCall) {
    // The check alone: loading the clue as well (as `loadVisible` does) cost every caller an entity it did not use.
    if (!(await canSeeClue(ctx.em, ctx.principal, clueId))) throw clueNotFound();
  }

  /**
   * Accused persons after registration: adding or removing one, and an operator's word that an
   * accused is (`same_person`) or is not (`not_same_person`, a wrong name match) a staff account.
   * Each is a ledger event with its reason, and re-evaluates the clue's excluded set in the same
   * transaction: a principal who falls into it loses the clue at once.
   */
  async function editAccused(ctx: StaffContext, clueId: string, edit: (tx: Em, clue: Clue, now: Date) => Promise<Record<string, unknown>>) {
    const { principal } = ctx;
    if (!can.registerClues(principal)) throw forbidden();
    return ctx.em.transactional(async (tx) => {
      const clue = await loadVisible(tx, principal, clueId, true);
      const result = await edit(tx, clue, ctx.clock.now());
      await tx.flush();
      await recomputeExclusions(tx, [clue.id]);
      ctx.logger.info({ clueId, staffId: principal.id, change: result.change }, 'accused changed');
      return result;
    });
  }

  async function findAccused(tx: Em, clueId: string, accusedId: string) {
    const accused = await tx.findOne(Accused, { id: accusedId, clue: clueId });
    if (!accused) throw accusedNotFound();
    return accused;
  }

  const addAccused = ({ ctx, input: { clueId, ...input } }: StaffCall<{ clueId: string; name: string; role: AccusedRole; unitId?: string | null; position?: string | null; reason: string }>) =>
    editAccused(ctx, clueId, async (tx, clue, now) => {
      await assertUnitsExist(tx, [input.unitId]);
      const a = tx.create(Accused, { id: randomUUID(), clue: clue.id, name: input.name, nameKey: nameKey(input.name).slice(0, 200), role: input.role, unit: input.unitId ?? null, position: input.position ?? null });
      appendEvent(tx, clue, { type: 'accused.added', actor: ctx.actor, data: { accusedId: a.id, name: a.name, role: a.role, unitId: a.unit, position: a.position, reason: input.reason } }, now);
      return { change: 'added', accusedId: a.id };
    });

  const removeAccused = ({ ctx, input: { clueId, accusedId, reason } }: StaffCall<{ clueId: string; accusedId: string; reason: string }>) =>
    editAccused(ctx, clueId, async (tx, clue, now) => {
      const a = await findAccused(tx, clue.id, accusedId);
      await deleteAccusedRows(tx, clue.id, a.id);
      tx.remove(a);
      appendEvent(tx, clue, { type: 'accused.removed', actor: ctx.actor, data: { accusedId: a.id, reason } }, now);
      return { change: 'removed', accusedId: a.id };
    });

  const linkAccused = ({ ctx, input: { clueId, accusedId, ...input } }: StaffCall<{ clueId: string; accusedId: string; staffId: string; kind: AccusedLinkKind; reason: string }>) =>
    editAccused(ctx, clueId, async (tx, clue, now) => {
      const a = await findAccused(tx, clue.id, accusedId);
      if (!(await staffExists(tx, input.staffId))) throw accusedNotFound({ staffId: input.staffId });
      await deleteAccusedLink(tx, a.id, input.staffId);
      tx.create(AccusedLink, { id: randomUUID(), clue: clue.id, accused: a.id, staff: input.staffId, kind: input.kind, reason: input.reason, createdBy: ctx.principal.id, createdAt: now });
      appendEvent(tx, clue, { type: 'accused.linked', actor: ctx.actor, data: { accusedId: a.id, staffId: input.staffId, kind: input.kind, reason: input.reason } }, now);
      return { change: 'linked', accusedId: a.id, staffId: input.staffId, kind: input.kind };
    });

  const unlinkAccused = ({ ctx, input: { clueId, accusedId, ...input } }: StaffCall<{ clueId: string; accusedId: string; staffId: string; reason: string }>) =>
    editAccused(ctx, clueId, async (tx, clue, now) => {
      const a = await findAccused(tx, clue.id, accusedId);
      const kind = await deleteAccusedLink(tx, a.id, input.staffId);
      if (kind === undefined) throw accusedNotFound({ staffId: input.staffId });
      appendEvent(tx, clue, { type: 'accused.unlinked', actor: ctx.actor, data: { accusedId: a.id, staffId: input.staffId, kind, reason: input.reason } }, now);
      return { change: 'unlinked', accusedId: a.id, staffId: input.staffId };
    });

  /**
   * The clue a tracking code names, if the principal may see it (else `clue.not_found`): the staff
   * console's search. The code may be typed as read out (spaces, dashes, full-width digits).
   */
  async function findByTrackingCode({ ctx, input: { code } }: StaffCall<{ code: string }>) {
    const { principal, em } = ctx;
    const normalized = normalizeTrackingCode(code);
    if (!normalized) throw clueNotFound();
    const id = await clueIdOfTrackingCode(em, normalized);
    const clue = id ? await visibleClueSummary(em, visibleClues(principal), id) : undefined;
    if (!clue) throw clueNotFound();
    return publicView(clue);
  }

  /** One attachment of a clue the principal may see, with its storage key (for the staff download). */
  async function attachmentOf({ ctx, input: { clueId, attachmentId } }: StaffCall<{ clueId: string; attachmentId: string }>) {
    const { em } = ctx;
    await assertVisible({ ctx, input: { clueId } });
    const a = await em.findOne(Attachment, { id: attachmentId, clue: clueId });
    if (!a) throw clueNotFound();
    // Downloaded under a neutral name: the file's own name is the reporter's text (sealed).
    const ext = /^[a-z]+\/([a-z0-9.+-]{1,20})$/i.exec(a.contentType)?.[1]?.replace(/^x-/, '').replace(/[^a-z0-9]/gi, '') || 'bin';
    return { id: a.id, filename: `attachment-${a.id.slice(0, 8)}.${ext}`, contentType: a.contentType, size: a.size, sha256: a.sha256, storageKey: a.storageKey };
  }

  /** `clue.unknown_unit` unless every given unit exists: checked before any file is stored. */
  async function checkUnits(ids: (string | null | undefined)[]) {
    await assertUnitsExist(orm.em.fork(), ids);
  }

  return { checkUnits, registerClue, assertMayRegister, registerByStaff, addAccused, removeAccused, linkAccused, unlinkAccused, registrationStats: registrations.stats, getClue, listClues, countClues, findByTrackingCode, attachmentOf, changeStatus, setSummary, revealReporter, authenticateReporter, publicView, assertVisible };
}

export type ClueUseCases = ReturnType<typeof createClueUseCases>;
