import type { Context } from 'hono';
import { type AppError, isAppError } from '../../app/errors.ts';
import { contentDisposition, idParam } from '../../app/http.ts';
import type { AppEnv } from '../staff/http-env.ts';
import type { Locale } from '../../app/templates.ts';
import { clueNotFound } from '../clues/clues.errors.ts';
import { type ClueAction, clueActions, type DeclineReason, declineReasons, type Finding, findings } from '../clues/status-machine.ts';
import { formatTrackingCode, normalizeTrackingCode } from '../clues/tracking-code.ts';
import { can } from '../staff/access.ts';
import { NEAR_RELATIVE_FLAG } from '../registry/registry.usecases.ts';
import { taskTypes } from '../verification/task.entity.ts';
import { actionLabels, type ConsoleKey, ct, pick } from './console.i18n.ts';
import { type CluePageCtx, cluePage, revealedPage, type RegistryMatches } from './clue.pages.ts';
import type { DeadlineView } from './layout.pages.ts';
import { type ConsoleKit, type ConsoleApp, str, oneOf, bilingual, UUID } from './console.kit.ts';

/** The clue page and its forms: status actions, assignment, tasks, merge, supervision, referral, registry matches, replies, revealing the reporter, attachments. */
export function clueRoutes(app: ConsoleApp, kit: ConsoleKit) {
  const { deps, localeOf, noStore, principalOf, ctxOf, shell, units } = kit;
  // ---- the clue page ----
  const clueIdOf = (c: Context) => idParam(c.req.param('id') ?? '', clueNotFound);

  const supervisorRoles = new Set(['supervisor', 'admin']);
  const doneLabels: Record<string, ConsoleKey> = { sent: 'send', assigned: 'assign', task: 'createTask', supervised: 'supervision', referred: 'referralSent', linked: 'linkReason' };

  async function renderClue(c: Context<AppEnv>, id: string, extra: Partial<CluePageCtx> = {}, status: 200 | 400 | 403 | 404 | 409 | 422 = 200) {
    const principal = principalOf(c);
    const clue = await deps.clues.getClue({ ctx: ctxOf(c), input: { clueId: id } });
    const referable = clue.allowedActions.includes('refer');
    const [deadlines, tasks, messages, unitList, referrals, proposal, mergedInto, supervisors] = await Promise.all([
      deps.deadlines.forClues([id]) as Promise<DeadlineView[]>,
      deps.workflow.listTasks({ ctx: ctxOf(c), input: { clueId: id } }),
      deps.messages.listMessages(id),
      units(),
      deps.referrals.listForClue({ ctx: ctxOf(c), input: { clueId: id } }),
      // Only while the status allows a referral, and only for a clue about an official, caseworker or cadre.
      referable ? deps.referrals.proposal({ ctx: ctxOf(c), input: { clueId: id } }).catch((err) => (isAppError(err) && err.code === 'referral.not_referable' ? null : Promise.reject(err))) : null,
      clue.mergedInto ? deps.clues.getClue({ ctx: ctxOf(c), input: { clueId: clue.mergedInto } }).then((t) => formatTrackingCode(t.trackingCode), () => null) : null,
      deps.workflow.supervisorChoices({ ctx: ctxOf(c), input: { clueId: id } }),
    ]);
    const bodies = referrals.length || proposal ? await deps.referrals.listBodies({ ctx: ctxOf(c), input: {} }) : [];
    const supervisorId = clue.events.filter((e) => e.type === 'clue.supervised').map((e) => e.data?.supervisorId).at(-1);
    const s = await shell(c, `/staff/clues/${id}`);
    const done = c.req.query('done');
    const doneText = done ? (oneOf(clueActions, done) ? pick(s.locale, actionLabels[done as ClueAction]) : doneLabels[done] ? ct(s.locale, doneLabels[done]) : '') : '';
    const notice = extra.notice ?? (done ? `${ct(s.locale, 'done')}${doneText}` : undefined);
    noStore(c);
    return c.html(
      cluePage(s, {
        clue,
        deadlines,
        tasks,
        messages,
        units: unitList,
        now: deps.clock.now(),
        canReveal: can.revealReporter(principal),
        canHandle: can.handleClues(principal),
        canRegister: can.registerClues(principal),
        me: principal.id,
        supervision: {
          by: supervisorId ? (supervisorId === principal.id ? 'me' : 'other') : null,
          byName: supervisors.find((x) => x.id === supervisorId)?.name ?? null,
          canSupervise: supervisorRoles.has(principal.role),
          choices: supervisors,
        },
        referral: {
          items: referrals,
          bodies: bodies.map((b) => ({ id: b.id, name: b.name, nameEn: b.nameEn })),
          proposal: proposal ? { bodyId: proposal.bodyId, bodyName: proposal.bodyName } : null,
          open: referable && !!proposal,
          canRefer: supervisorRoles.has(principal.role),
        },
        registry: { flagged: clue.flags.includes(NEAR_RELATIVE_FLAG), canOpen: supervisorRoles.has(principal.role) },
        mergedIntoCode: mergedInto,
        ...extra,
        notice,
      }),
      status,
    );
  }

  app.get('/clues/:id', (c) => renderClue(c, clueIdOf(c)));

  const formError = (locale: Locale, err: AppError) => bilingual(locale, err.message);

  app.post('/clues/:id/status', async (c) => {
    const id = clueIdOf(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const locale = localeOf(c);
    const action = oneOf(clueActions, str(form.action));
    const reason = str(form.reason)?.trim() || undefined;
    const reasonCode = oneOf(Object.keys(declineReasons) as DeclineReason[], str(form.reasonCode));
    const finding = oneOf(findings, str(form.finding)) as Finding | undefined;
    const values = { action: action ?? '', reason: reason ?? '', reasonCode: reasonCode ?? '', finding: finding ?? '' };
    if (!action) return renderClue(c, id, { errors: { actions: ct(locale, 'errorPageTitle') } }, 400);
    if ((action === 'decline' || action === 'review' || action === 're_review') && (!reason || reason.length < 2)) {
      return renderClue(c, id, { errors: { [`${action}-reason`]: ct(locale, 'reasonRequired') }, values }, 400);
    }
    if (action === 'decline' && !reasonCode) return renderClue(c, id, { errors: { 'decline-reasonCode': ct(locale, 'reasonCode') }, values }, 400);
    if (action === 'conclude' && !finding) return renderClue(c, id, { errors: { 'conclude-finding': ct(locale, 'finding') }, values }, 400);
    try {
      await deps.clues.changeStatus({ ctx: ctxOf(c), input: { clueId: id, action, reason, reasonCode: action === 'decline' ? reasonCode : undefined, finding: action === 'conclude' ? finding : undefined } });
    } catch (err) {
      if (isAppError(err) && err.statusCode < 500 && err.statusCode !== 404) {
        const field = action === 'decline' ? 'decline-reason' : action === 'conclude' ? 'conclude-finding' : `form-${action}`;
        return renderClue(c, id, { errors: { [field]: formError(locale, err) }, values }, err.statusCode as 409);
      }
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=${action}`, 303);
  });

  app.post('/clues/:id/assign', async (c) => {
    const id = clueIdOf(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const locale = localeOf(c);
    const unitId = str(form.unitId) ?? '';
    if (!UUID.test(unitId)) return renderClue(c, id, { errors: { 'assign-unit': ct(locale, 'assignTo') } }, 400);
    try {
      await deps.workflow.assign({ ctx: ctxOf(c), input: { clueId: id, unitId } });
    } catch (err) {
      if (isAppError(err) && err.statusCode < 500 && err.statusCode !== 404) {
        const d = (err.details ?? {}) as { suggestedUnitId?: string | null; suggestedUnitName?: string | null; message?: string };
        const message = d.message ? `${formError(locale, err)} ${bilingual(locale, d.message)}` : formError(locale, err);
        return renderClue(c, id, { errors: { 'assign-unit': message }, values: { unitId }, recusal: d.suggestedUnitId ? { unitId: d.suggestedUnitId, unitName: d.suggestedUnitName ?? null } : null }, err.statusCode as 409);
      }
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=assigned`, 303);
  });

  app.post('/clues/:id/tasks', async (c) => {
    const id = clueIdOf(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const locale = localeOf(c);
    const type = oneOf(taskTypes, str(form.type));
    const assigneeUnitId = str(form.assigneeUnitId) ?? '';
    const values = { type: type ?? '', assigneeUnitId };
    if (!type || !UUID.test(assigneeUnitId)) return renderClue(c, id, { errors: { 'task-unit': ct(locale, 'taskUnit') }, values }, 400);
    try {
      await deps.workflow.createTask({ ctx: ctxOf(c), input: { clueId: id, type, assigneeUnitId } });
    } catch (err) {
      if (isAppError(err) && err.statusCode < 500 && err.statusCode !== 404) {
        const d = (err.details ?? {}) as { message?: string };
        return renderClue(c, id, { errors: { 'task-unit': d.message ? bilingual(locale, d.message) : formError(locale, err) }, values }, err.statusCode as 409);
      }
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=task`, 303);
  });

  /**
   * The clue's own forms below check first that the principal may see the clue (as the page does),
   * so that one they may not see answers exactly as a missing clue, whatever the form holds.
   */
  const clueForm = async (c: Context<AppEnv>) => {
    const id = clueIdOf(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    await deps.clues.assertVisible({ ctx: ctxOf(c), input: { clueId: id } });
    return { id, form, locale: localeOf(c) };
  };
  const expected = (err: unknown): err is AppError => isAppError(err) && err.statusCode < 500 && err.code !== 'clue.not_found';

  // 合并: into the clue a tracking code names (as read out), if the principal may see it.
  app.post('/clues/:id/merge', async (c) => {
    const { id, form, locale } = await clueForm(c);
    const target = str(form.target)?.trim() ?? '';
    const reason = str(form.reason)?.trim() || undefined;
    const values = { target, mergeReason: reason ?? '' };
    const fail = (message: string, status: 400 | 404 | 409 | 422) => renderClue(c, id, { errors: { 'merge-target': message }, values }, status);
    if (!normalizeTrackingCode(target)) return fail(ct(locale, 'codeInvalid'), 400);
    let targetId: string;
    try {
      targetId = (await deps.clues.findByTrackingCode({ ctx: ctxOf(c), input: { code: target } })).id;
    } catch (err) {
      if (isAppError(err) && err.code === 'clue.not_found') return fail(ct(locale, 'codeNotFound'), 404);
      throw err;
    }
    if (targetId === id) return fail(ct(locale, 'mergeSelf'), 422);
    try {
      await deps.clues.changeStatus({ ctx: ctxOf(c), input: { clueId: id, action: 'merge', mergedInto: targetId, reason: reason && reason.length >= 2 ? reason.slice(0, 2000) : undefined } });
    } catch (err) {
      if (isAppError(err) && err.code === 'clue.not_found') return fail(ct(locale, 'codeNotFound'), 404);
      if (expected(err)) return fail(formError(locale, err), err.statusCode as 409);
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=merge`, 303);
  });

  // 督办: the signed-in supervisor (or admin) attaches themself; the recusal rule may refuse them.
  app.post('/clues/:id/supervise', async (c) => {
    const { id, form, locale } = await clueForm(c);
    try {
      // Two buttons in one form: 由我督办 (no name sent) or 指定督办 (other=1 with the chosen supervisor).
      const chosen = str(form.other) === '1' ? str(form.otherSupervisorId) : undefined;
      await deps.workflow.supervise({ ctx: ctxOf(c), input: { clueId: id, supervisorId: chosen && UUID.test(chosen) ? chosen : undefined } });
    } catch (err) {
      if (expected(err)) return renderClue(c, id, { errors: { supervise: formError(locale, err) } }, err.statusCode as 403);
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=supervised`, 303);
  });

  // 移送: to the body chosen (the proposed one by default); outside its authority only with a supervisor's reason.
  app.post('/clues/:id/referral', async (c) => {
    const { id, form, locale } = await clueForm(c);
    const bodyId = str(form.bodyId) ?? '';
    const overrideReason = str(form.overrideReason)?.trim() ?? '';
    const values = { bodyId, overrideReason };
    if (bodyId && !UUID.test(bodyId)) return renderClue(c, id, { errors: { 'refer-body': ct(locale, 'referralBody') }, values }, 400);
    if (overrideReason && overrideReason.length < 5) return renderClue(c, id, { errors: { 'refer-override': ct(locale, 'referralOverrideShort') }, values }, 400);
    try {
      await deps.referrals.refer({ ctx: ctxOf(c), input: { clueId: id, bodyId: bodyId || undefined, override: overrideReason ? { reason: overrideReason.slice(0, 1000) } : undefined } });
    } catch (err) {
      if (expected(err)) {
        const field = err.code === 'referral.body_lacks_authority' || err.code === 'referral.override_needs_supervisor' ? 'refer-override' : 'refer-body';
        return renderClue(c, id, { errors: { [field]: formError(locale, err) }, values }, err.statusCode as 422);
      }
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=referred`, 303);
  });

  // Near-relative matches: each opening is recorded (registry_audit), so it is a form, never a plain GET.
  const openMatches = async (c: Context<AppEnv>, id: string): Promise<RegistryMatches> => {
    const found = await deps.registry.getMatchDetails({ ctx: ctxOf(c), input: { clueId: id } });
    return {
      withheld: found.withheld,
      items: found.items.map((m) => ({
        id: m.id,
        registrantName: m.registrantName,
        registrantStaffId: m.registrantStaffId,
        registrantUnitName: m.registrantUnitName,
        relativeName: m.relativeName,
        relation: m.relation,
        idNumberMasked: m.idNumberMasked,
        accused: m.accused.map((a) => ({ id: a.id, name: a.name, matchedAs: a.matchedAs })),
      })),
    };
  };
  const withMatches = (flagged: boolean, matches: RegistryMatches) => ({ registry: { flagged, canOpen: true, matches } });

  app.post('/clues/:id/registry-matches', async (c) => {
    const { id, locale } = await clueForm(c);
    noStore(c);
    try {
      return await renderClue(c, id, withMatches(true, await openMatches(c, id)));
    } catch (err) {
      if (expected(err)) return renderClue(c, id, { errors: { 'registry-open': formError(locale, err) } }, err.statusCode as 403);
      throw err;
    }
  });

  // A match's registrant is, or is not, the person reported: the API's link, with its reason on the ledger.
  app.post('/clues/:id/accused/:accusedId/links', async (c) => {
    const { id, form, locale } = await clueForm(c);
    const accusedId = idParam(c.req.param('accusedId'), clueNotFound);
    const staffId = str(form.staffId) ?? '';
    const kind = str(form.kind) === 'not_same_person' ? 'not_same_person' : str(form.kind) === 'same_person' ? 'same_person' : undefined;
    const reason = str(form.reason)?.trim() ?? '';
    const field = /^link-[0-9a-f]{8}-[0-9a-f]{8}$/.test(str(form.field) ?? '') ? str(form.field)! : 'registry-open';
    const again = async (message: string, status: 400 | 403 | 404 | 409) => {
      const matches = await openMatches(c, id).catch(() => ({ items: [], withheld: 0 }));
      return renderClue(c, id, { ...withMatches(true, matches), errors: { [field]: message }, values: { field, reason } }, status);
    };
    if (!UUID.test(staffId) || !kind) return again(ct(locale, 'errorPageTitle'), 400);
    if (reason.length < 2) return again(ct(locale, 'reasonRequired'), 400);
    try {
      await deps.clues.linkAccused({ ctx: ctxOf(c), input: { clueId: id, accusedId, staffId, kind, reason: reason.slice(0, 500) } });
    } catch (err) {
      if (expected(err)) return again(formError(locale, err), err.statusCode as 404);
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=linked`, 303);
  });

  app.post('/clues/:id/messages', async (c) => {
    const id = clueIdOf(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const body = str(form.body)?.trim() ?? '';
    try {
      await deps.messages.postStaffMessage({ ctx: ctxOf(c), input: { clueId: id, body: body.slice(0, 20_000) } });
    } catch (err) {
      // The use case checked the role and the clue first: an empty reply is the only refusal shown on the page.
      if (isAppError(err) && err.code === 'request.invalid') return renderClue(c, id, { errors: { 'reply-body': ct(localeOf(c), 'emptyMessage') } }, 400);
      throw err;
    }
    return c.redirect(`/staff/clues/${id}?done=sent#thread`, 303);
  });

  app.post('/clues/:id/reveal', async (c) => {
    noStore(c);
    const id = clueIdOf(c);
    const form = await c.req.parseBody();
    deps.csrf.verify(c, form._csrf);
    const locale = localeOf(c);
    const purpose = str(form.purpose)?.trim() ?? '';
    if (purpose.length < 2) return renderClue(c, id, { errors: { purpose: ct(locale, 'purposeRequired') } }, 400);
    try {
      const identity = await deps.clues.revealReporter({ ctx: ctxOf(c), input: { clueId: id, purpose: purpose.slice(0, 500) } });
      const clue = await deps.clues.getClue({ ctx: ctxOf(c), input: { clueId: id } });
      return c.html(revealedPage(await shell(c, `/staff/clues/${id}`), { clueId: id, code: formatTrackingCode(clue.trackingCode), identity }));
    } catch (err) {
      if (isAppError(err) && err.statusCode < 500 && err.code !== 'clue.not_found') {
        return renderClue(c, id, { errors: { purpose: formError(locale, err) } }, err.statusCode as 403);
      }
      throw err;
    }
  });

  app.get('/clues/:id/attachments/:attachmentId', async (c) => {
    const id = clueIdOf(c);
    const attachmentId = idParam(c.req.param('attachmentId'), clueNotFound);
    const a = await deps.clues.attachmentOf({ ctx: ctxOf(c), input: { clueId: id, attachmentId } });
    const bytes = await deps.storage.get(a.storageKey);
    const inline = c.req.query('inline') === '1' && /^(image\/(jpeg|png|gif|webp)|audio\/[a-z0-9.+-]+)$/i.test(a.contentType);
    return c.body(new Uint8Array(bytes), 200, {
      'content-type': a.contentType || 'application/octet-stream',
      'content-length': String(bytes.length),
      'content-disposition': contentDisposition(a.filename, inline ? 'inline' : 'attachment'),
      'cache-control': 'private, no-store',
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; media-src 'self'; img-src 'self'; sandbox",
    });
  });
}
