import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import { LockMode } from '@mikro-orm/core';
import type { Clock } from '../../app/clock.ts';
import { type Em, type Orm, sql } from '../../app/db.ts';
import { forbidden } from '../../app/errors.ts';
import type { Keys } from '../../app/keys.ts';
import type { Logger } from '../../app/logger.ts';
import { unseal } from '../../app/seal.ts';
import { renderBilingual } from '../../app/templates.ts';
import { Accused, Attachment, Clue, SealedReporter } from '../clues/clue.entity.ts';
import type { ClueUseCases, ReporterIdentity } from '../clues/clues.usecases.ts';
import { illegalTransition } from '../clues/clues.errors.ts';
import { type Actor, appendEvent } from '../clues/ledger.ts';
import { nextStatus } from '../clues/status-machine.ts';
import { formatTrackingCode } from '../clues/tracking-code.ts';
import type { DeadlineUseCases } from '../deadlines/deadlines.usecases.ts';
import type { MailTransport } from '../notifications/notifications.usecases.ts';
import { Notification } from '../notifications/notification.entity.ts';
import { createMailOnce } from '../notifications/mail-once.ts';
import { enqueueInTransaction } from '../outbox/outbox.ts';
import type { Principal, StaffCall } from '../staff/access.ts';
import { Staff } from '../staff/staff.entity.ts';
import { Unit } from '../staff/unit.entity.ts';
import { isStaffExcluded } from '../visibility/visibility.ts';
import { attachmentLabel } from '../attachments/attachments.label.ts';
import { openName } from '../attachments/attachments.names.ts';
import { VerificationTask } from '../verification/task.entity.ts';
import { accusedOfClue } from '../clues/clues.repository.ts';
import { bodiesWithAuthority, listBodyRows, type ReferralRow, referralsOfClue, unitPaths as unitPathsOf } from './referrals.repository.ts';
import { type BodyAuthority, bodyKinds, DisciplineBody, type dispositions, dispositionText, Referral } from './referral.entity.ts';
import { bodyLacksAuthority, bodyRecused, linkInvalid, noBodyFound, notReferable, officerSignInRequired, overrideNeedsSupervisor, referralNotFound, referralState } from './referrals.errors.ts';

const REFERABLE_ROLES = ['official', 'caseworker', 'cadre'];
/** A body whose officers sign in: its link still needs the sign-in, so it may live this long. */
const SIGNED_IN_LINK_DAYS = 30;

export interface ReferralDeps {
  orm: Orm;
  clock: Clock;
  logger: Logger;
  keys: Keys;
  clues: ClueUseCases;
  deadlines: Pick<DeadlineUseCases, 'onEvent'>;
  transport: MailTransport;
  mailFrom: string;
  publicBaseUrl: string;
  /** REFERRAL_LINK_DAYS: how long a packet link lives for a body without officer accounts. */
  linkDays?: number;
  afterCommit: () => void;
}

/** Referral (移交) of clues about officials, caseworkers and cadres to the discipline body with authority. */
export function createReferralUseCases(deps: ReferralDeps) {
  const { orm, clock, logger, keys } = deps;
  const mailOnce = createMailOnce({ orm, clock, transport: deps.transport, mailFrom: deps.mailFrom });
  const linkKey = createHmac('sha256', keys.secretHmacKey).update('referral-link-key').digest();
  const sign = (id: string, exp: number) => createHmac('sha256', linkKey).update(`referral:${id}:${exp}`).digest('base64url');

  function linkFor(r: Pick<Referral, 'id' | 'linkExpiresAt'>) {
    const exp = r.linkExpiresAt.getTime();
    return `${deps.publicBaseUrl.replace(/\/$/, '')}/referrals/${r.id}?exp=${exp}&sig=${sign(r.id, exp)}`;
  }

  async function createBody({ ctx, input }: StaffCall<{ name: string; nameEn?: string; kind: (typeof bodyKinds)[number]; email: string; authority: BodyAuthority }>) {
    if (ctx.principal.role !== 'admin') throw forbidden();
    const { em } = ctx;
    const body = em.create(DisciplineBody, { id: randomUUID(), name: input.name, nameEn: input.nameEn ?? null, kind: input.kind, email: input.email, authority: input.authority, createdAt: ctx.clock.now() });
    await em.flush();
    return body;
  }

  /** The configured bodies: any signed-in staff member may read them. */
  const listBodies = ({ ctx }: StaffCall<object>) => listBodyRows(ctx.em);

  /**
   * The body with authority over the persons reported (干部管理权限): it must cover the accused's
   * role, and the most specific unit wins (a town's commission over the district's).
   */
  async function propose(em: Em, clueId: string) {
    // Columns, not entities: asked on every page of a referable clue. Only the units the rule
    // compares (the accused's and the bodies' own) are read, not the whole tree.
    const accused = (await accusedOfClue(em, clueId)).filter((a) => REFERABLE_ROLES.includes(a.role));
    if (accused.length === 0) return null;
    const bodies = await bodiesWithAuthority(em);
    const unitPaths = await unitPathsOf(em, [...accused.flatMap((a) => (a.unit ? [a.unit] : [])), ...bodies.flatMap((b) => b.authority.unitIds)]);
    let best: { body: (typeof bodies)[number]; depth: number; accusedId: string } | null = null;
    for (const a of accused) {
      const accusedPath = a.unit ? (unitPaths.get(a.unit) ?? '') : '';
      for (const b of bodies) {
        if (!b.authority.accusedRoles.includes(a.role)) continue;
        const depths = b.authority.unitIds.length === 0 ? [0] : b.authority.unitIds.filter((u) => accusedPath.startsWith(unitPaths.get(u) ?? '\u0000')).map((u) => (unitPaths.get(u) ?? '').split('/').length);
        for (const depth of depths) if (!best || depth > best.depth) best = { body: b, depth, accusedId: a.id };
      }
    }
    return best ? { bodyId: best.body.id, bodyName: best.body.name, accusedId: best.accusedId } : { bodyId: null, bodyName: null, accusedId: accused[0]!.id };
  }

  /** Whether a body's authority covers at least one of the persons reported (role, and unit within its units). */
  async function covers(em: Em, clueId: string, body: DisciplineBody): Promise<boolean> {
    const accused = (await em.find(Accused, { clue: clueId })).filter((a) => REFERABLE_ROLES.includes(a.role));
    const unitPaths = new Map((await em.find(Unit, {})).map((u) => [u.id, u.path]));
    return accused.some((a) => {
      if (!body.authority.accusedRoles.includes(a.role)) return false;
      if (body.authority.unitIds.length === 0) return true;
      const accusedPath = a.unit ? (unitPaths.get(a.unit) ?? '') : '';
      return body.authority.unitIds.some((u) => !!unitPaths.get(u) && accusedPath.startsWith(unitPaths.get(u)!));
    });
  }

  /** Whether the body has officers who sign in (active discipline officer accounts). */
  async function hasOfficers(em: Em, bodyId: string): Promise<boolean> {
    return (await em.count(Staff, { disciplineBody: bodyId, role: 'discipline_officer', active: true })) > 0;
  }

  /**
   * A body whose every active officer is in the clue's excluded set (an accused, or registered as an
   * accused's near relative): its packet would reach only the persons it is about, so it is not sent.
   */
  async function allOfficersRecused(em: Em, clueId: string, bodyId: string): Promise<boolean> {
    const [row] = await sql<{ officers: number; free: number }>(
      em,
      `select count(*)::int as officers,
              count(*) filter (where not exists (select 1 from clue_exclusion x where x.clue_id = ? and x.staff_id = s.id))::int as free
         from staff s where s.discipline_body = ? and s.role = 'discipline_officer' and s.active`,
      [clueId, bodyId],
    );
    return !!row && row.officers > 0 && row.free === 0;
  }

  async function proposal({ ctx, input: { clueId } }: StaffCall<{ clueId: string }>) {
    await deps.clues.assertVisible({ ctx, input: { clueId } });
    const p = await propose(ctx.em, clueId);
    if (!p) throw notReferable();
    return p;
  }

  /**
   * A supervisor confirms the referral; the packet goes out by email from a job. Only to a body whose
   * authority covers the persons reported; another body needs an override — a supervisor, with a
   * reason, recorded in the `referral.sent` event.
   */
  async function refer({ ctx, input: { clueId, bodyId, override } }: StaffCall<{ clueId: string; bodyId?: string; override?: { reason: string } }>) {
    const { principal } = ctx;
    if (principal.role !== 'supervisor' && principal.role !== 'admin') throw forbidden();
    await deps.clues.assertVisible({ ctx, input: { clueId } });
    const referral = await ctx.em.transactional(async (tx) => {
      const clue = await tx.findOneOrFail(Clue, { id: clueId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const proposed = await propose(tx, clueId);
      if (!proposed) throw notReferable();
      const chosen = bodyId ?? proposed.bodyId;
      const chosenBody = chosen ? await tx.findOne(DisciplineBody, { id: chosen }) : null;
      if (!chosen || !chosenBody) throw noBodyFound();
      const covered = await covers(tx, clueId, chosenBody);
      if (!covered && !override) throw bodyLacksAuthority();
      if (!covered && principal.role !== 'supervisor') throw overrideNeedsSupervisor();
      if (await allOfficersRecused(tx, clueId, chosen)) throw bodyRecused();
      const to = nextStatus(clue.status, 'refer');
      if (!to) throw illegalTransition({ from: clue.status, action: 'refer' });
      const now = ctx.clock.now();
      const sealed = await tx.findOne(SealedReporter, { clue: clueId });
      const consent = sealed ? !!(JSON.parse(unseal(keys.reporterKey, Buffer.from(sealed.box), clueId)) as ReporterIdentity).consentToShare : false;
      const from = clue.status;
      clue.status = to;
      appendEvent(tx, clue, { type: 'clue.status_changed', actor: ctx.actor, data: { action: 'refer', from, to } }, now);
      await deps.deadlines.onEvent(tx, clue, 'clue.refer', now);
      const referral = tx.create(Referral, {
        id: randomUUID(),
        clue: clueId,
        body: chosen,
        status: 'sent',
        includesReporter: consent,
        disposition: null,
        result: null,
        confirmedBy: principal.id,
        linkExpiresAt: new Date(now.getTime() + ((await hasOfficers(tx, chosen)) ? SIGNED_IN_LINK_DAYS : (deps.linkDays ?? 3)) * 86400_000),
        linkRevokedAt: null,
        createdAt: now,
      });
      appendEvent(tx, clue, { type: 'referral.sent', actor: ctx.actor, data: { referralId: referral.id, bodyId: chosen, proposedBodyId: proposed.bodyId, includesReporter: consent, ...(covered ? {} : { authorityOverride: { reason: override!.reason } }) } }, now);
      await deps.deadlines.onEvent(tx, clue, 'referral.sent', now, referral.id);
      enqueueInTransaction(tx, now, { queue: 'notifications', name: 'email.referral_packet', jobId: `referral-packet-${referral.id}`, payload: { referralId: referral.id } });
      return referral;
    });
    deps.afterCommit();
    ctx.logger.info({ clueId, referralId: referral.id, staffId: principal.id }, 'clue referred');
    return view(referral);
  }

  function view(r: ReferralRow) {
    return { id: r.id, clueId: r.clue, bodyId: r.body, status: r.status, includesReporter: r.includesReporter, disposition: r.disposition, result: r.result, createdAt: r.createdAt, linkExpiresAt: r.linkExpiresAt, linkRevokedAt: r.linkRevokedAt ?? null };
  }

  async function listForClue({ ctx, input: { clueId } }: StaffCall<{ clueId: string }>) {
    await deps.clues.assertVisible({ ctx, input: { clueId } });
    return (await referralsOfClue(ctx.em, clueId)).map(view);
  }

  /** The packet: summary, findings so far, evidence list; the reporter only with consent. */
  async function packet(em: Em, referral: Referral) {
    const clue = await em.findOneOrFail(Clue, { id: referral.clue });
    const [accused, tasks, files, body] = await Promise.all([
      em.find(Accused, { clue: clue.id }),
      em.find(VerificationTask, { clue: clue.id, status: 'completed' }),
      em.find(Attachment, { clue: clue.id }, { orderBy: { createdAt: 'asc', id: 'asc' }, populate: ['filenameBox'] }),
      em.findOneOrFail(DisciplineBody, { id: referral.body }),
    ]);
    let reporter = '举报人未同意向纪检监察机关提供身份信息（匿名或未同意）/ The reporter did not consent to share their identity.';
    if (referral.includesReporter) {
      const sealed = await em.findOne(SealedReporter, { clue: clue.id });
      if (sealed) {
        const id = JSON.parse(unseal(keys.reporterKey, Buffer.from(sealed.box), clue.id)) as ReporterIdentity;
        reporter = [id.name, id.phone, id.email].filter(Boolean).join(' / ');
      }
    }
    return {
      body,
      vars: {
        bodyName: body.name,
        trackingCode: formatTrackingCode(clue.trackingCode),
        receivedAt: clue.receivedAt.toISOString().slice(0, 10),
        categories: clue.categories.join(', ') || '—',
        narrative: clue.narrative,
        accused: accused.map((a) => `${a.name}（${a.role}）`).join('; ') || '—',
        findings: tasks.map((t) => `[${t.type}] ${t.findings ?? ''}`).join('\n') || '（尚无核实结论 / no findings yet）',
        // File names are the reporter's text: they go only with the reporter's consent; otherwise place, type and size.
        evidence:
          files
            .map((f, i) => {
              const label = attachmentLabel(i + 1, f.contentType, f.size);
              return `${referral.includesReporter ? `${openName(keys.reporterKey, f)} (${f.size} B)` : `${label.zh} / ${label.en}`}, sha256 ${f.sha256}`;
            })
            .join('\n') || '—',
        reporter,
        link: linkFor(referral),
        linkExpires: referral.linkExpiresAt.toISOString().slice(0, 10),
      },
    };
  }

  /** The packet to the discipline body, once (`mailOnce`: attempt recorded first, the send with its ledger event). */
  async function sendPacket(referralId: string, jobId?: string) {
    const key = `email:referral-packet:${referralId}`;
    const em = orm.em.fork();
    const done = await em.findOne(Notification, { idempotencyKey: key });
    if (done?.status === 'sent') return { status: 'sent' as const, repeated: true };
    const referral = await em.findOne(Referral, { id: referralId });
    if (!referral) return { status: 'skipped' as const };
    const { body, vars } = await packet(em, referral);
    return mailOnce({
      key,
      template: 'referral/packet',
      clueId: referral.clue,
      recipient: body.email,
      jobId,
      build: async () => ({
        to: body.email,
        subject: renderBilingual('referral/packet.subject.txt', vars, ' / ').replace(/\n/g, ''),
        text: renderBilingual('referral/packet.txt', vars, '\n\n----------------------------------------\n\n'),
        html: renderBilingual('referral/packet.html', vars, '<hr>'),
      }),
      commit: async (tx) => {
        const clue = await tx.findOneOrFail(Clue, { id: referral.clue }, { lockMode: LockMode.PESSIMISTIC_WRITE });
        appendEvent(tx, clue, { type: 'referral.packet_sent', actor: 'system:job:notifications', data: { referralId, bodyId: body.id, includesReporter: referral.includesReporter } }, clock.now());
      },
    });
  }

  /**
   * Checks a signed link; a forged, altered, expired or revoked one is refused. A body with officer
   * accounts opens it only signed in, as one of its officers (`viewer`); a body without accounts
   * has the link alone, valid REFERRAL_LINK_DAYS.
   */
  async function checkLink(id: string, exp: string, sig: string, viewer: Principal | null) {
    const expMs = Number(exp);
    const expected = Buffer.from(sign(id, expMs));
    const given = Buffer.from(sig ?? '');
    if (!Number.isFinite(expMs) || given.length !== expected.length || !timingSafeEqual(given, expected) || expMs < clock.now().getTime()) throw linkInvalid();
    const em = orm.em.fork();
    const referral = await em.findOne(Referral, { id });
    if (!referral || referral.linkExpiresAt.getTime() !== expMs || referral.linkRevokedAt) throw linkInvalid();
    if (await hasOfficers(em, referral.body)) {
      if (!viewer) throw officerSignInRequired();
      if (viewer.role !== 'discipline_officer' || viewer.disciplineBodyId !== referral.body) throw officerSignInRequired();
      // An officer in the clue's excluded set gets what any officer of another body gets.
      if (await isStaffExcluded(em, referral.clue, viewer.id)) throw officerSignInRequired();
    }
    return { em, referral };
  }

  /** Opens the packet; every opening is a `referral.viewed` event on the clue's chain, written before anything is shown. */
  async function openLink(id: string, exp: string, sig: string, viewer: Principal | null = null) {
    const { em, referral } = await checkLink(id, exp, sig, viewer);
    return { referral, ...(await viewed(em, referral, viewer)) };
  }

  /** The packet in the staff API, for a signed-in officer of the body it went to (no link needed); the opening is recorded the same way. */
  async function packetForOfficer({ ctx, input: { referralId } }: StaffCall<{ referralId: string }>) {
    const { principal, em } = ctx;
    const referral = await em.findOne(Referral, { id: referralId });
    if (!referral || principal.role !== 'discipline_officer' || principal.disciplineBodyId !== referral.body) throw referralNotFound();
    if (await isStaffExcluded(em, referral.clue, principal.id)) throw referralNotFound();
    const { vars } = await viewed(em, referral, principal);
    const { link: _link, linkExpires: _expires, ...rest } = vars;
    return { referral: view(referral), packet: rest };
  }

  async function viewed(em: Em, referral: Referral, viewer: Principal | null) {
    const id = referral.id;
    await orm.em.fork().transactional(async (tx) => {
      const clue = await tx.findOneOrFail(Clue, { id: referral.clue }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const actor: Actor = viewer ? `staff:${viewer.id}` : `discipline:${referral.body}`;
      appendEvent(tx, clue, { type: 'referral.viewed', actor, data: { referralId: id, bodyId: referral.body, signedIn: !!viewer } }, clock.now());
    });
    logger.info({ referralId: id, signedIn: !!viewer }, 'referral packet viewed');
    return packet(em, referral);
  }

  /** A supervisor (or admin) revokes the packet link: it opens no more; recorded on the clue's chain. */
  async function revokeLink({ ctx, input: { referralId } }: StaffCall<{ referralId: string }>) {
    const { principal } = ctx;
    if (principal.role !== 'supervisor' && principal.role !== 'admin') throw forbidden();
    const found = await ctx.em.findOne(Referral, { id: referralId });
    if (!found) throw referralNotFound();
    await deps.clues.assertVisible({ ctx, input: { clueId: found.clue } });
    const result = await ctx.em.transactional(async (tx) => {
      const clue = await tx.findOneOrFail(Clue, { id: found.clue }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const referral = await tx.findOneOrFail(Referral, { id: referralId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      if (!referral.linkRevokedAt) {
        referral.linkRevokedAt = ctx.clock.now();
        appendEvent(tx, clue, { type: 'referral.link_revoked', actor: ctx.actor, data: { referralId } }, referral.linkRevokedAt);
      }
      return view(referral);
    });
    ctx.logger.info({ referralId, staffId: principal.id }, 'referral link revoked');
    return result;
  }

  async function officerAction(
    id: string,
    exp: string,
    sig: string,
    action: { kind: 'acknowledge' } | { kind: 'request_info'; text: string } | { kind: 'report'; disposition: (typeof dispositions)[number]; result: string },
    viewer: Principal | null = null,
  ) {
    const { referral: peek } = await checkLink(id, exp, sig, viewer);
    const actor: Actor = `discipline:${peek.body}`;
    const result = await orm.em.fork().transactional(async (tx) => {
      const clue = await tx.findOneOrFail(Clue, { id: peek.clue }, { lockMode: LockMode.PESSIMISTIC_WRITE });
      const referral = await tx.findOneOrFail(Referral, { id }, { lockMode: LockMode.PESSIMISTIC_WRITE, refresh: true });
      const now = clock.now();
      if (action.kind === 'acknowledge') {
        if (referral.status !== 'sent') throw referralState();
        referral.status = 'acknowledged';
        appendEvent(tx, clue, { type: 'referral.acknowledged', actor, data: { referralId: id } }, now);
        await deps.deadlines.onEvent(tx, clue, 'referral.acknowledged', now, id);
      } else if (action.kind === 'request_info') {
        if (referral.status === 'result_reported' || referral.status === 'withdrawn') throw referralState();
        referral.status = 'info_requested';
        appendEvent(tx, clue, { type: 'referral.info_requested', actor, data: { referralId: id, text: action.text } }, now);
      } else {
        if (referral.status === 'sent' || referral.status === 'result_reported' || referral.status === 'withdrawn') throw referralState();
        referral.status = 'result_reported';
        referral.disposition = action.disposition;
        referral.result = action.result;
        appendEvent(tx, clue, { type: 'referral.result_reported', actor, data: { referralId: id, disposition: action.disposition, dispositionZh: dispositionText[action.disposition].zh, result: action.result } }, now);
        await deps.deadlines.onEvent(tx, clue, 'referral.result_reported', now, id);
      }
      return view(referral);
    });
    deps.afterCommit();
    logger.info({ referralId: id, action: action.kind }, 'referral updated by the discipline body');
    return result;
  }

  return { createBody, listBodies, proposal, refer, listForClue, sendPacket, openLink, officerAction, linkFor, revokeLink, packetForOfficer };
}

export type ReferralUseCases = ReturnType<typeof createReferralUseCases>;
