import { html } from 'hono/html';
import type { Locale } from '../../app/templates.ts';
import type { Category } from '../clues/clue.entity.ts';
import type { ClueUseCases } from '../clues/clues.usecases.ts';
import { type ClueAction, declineReasons, type Finding, findings } from '../clues/status-machine.ts';
import { formatTrackingCode } from '../clues/tracking-code.ts';
import { accusedRoleLabels, categoryLabels } from '../intake-web/web.i18n.ts';
import { actionLabels, channelLabels, ct, eventLabels, findingLabels, pick, referralStatusLabels, relationLabels, statusLabels, taskTypeLabels } from './console.i18n.ts';
import { type Errors, type UnitOption, type DeadlineView, type Shell, dateTime, unitName, clock, layout, errorSummary, fieldError, options, unitOptions } from './layout.pages.ts';

/** The clue page: the clue, its ledger, deadlines, tasks and thread, and the forms of each action on it. */

export type ClueDetail = Awaited<ReturnType<ClueUseCases['getClue']>>;

export interface CluePageCtx {
  clue: ClueDetail;
  deadlines: DeadlineView[];
  tasks: { id: string; type: string; assigneeUnitId: string; status: string; dueAt?: Date | null; createdAt: Date }[];
  messages: { id: string; author: string; body: string; createdAt: Date; attachments: { id: string; label: string; labelEn: string; size: number }[] }[];
  units: UnitOption[];
  now: Date;
  canReveal: boolean;
  canHandle: boolean;
  canRegister: boolean;
  errors?: Errors;
  values?: Record<string, string>;
  notice?: string;
  recusal?: { unitId: string; unitName: string | null } | null;
  /** The signed-in staff member's id (their own ledger entries are named). */
  me?: string;
  /** Special supervision (督办): whether a supervisor is attached, and whether the viewer may attach themself. */
  supervision?: { by: 'me' | 'other' | null; byName?: string | null; canSupervise: boolean; choices?: { id: string; name: string }[] };
  /** Referral: the clue's referrals, and (while the status allows one) the proposal and the bodies to choose from. */
  referral?: {
    items: { id: string; bodyId: string; status: string; createdAt: Date }[];
    bodies: { id: string; name: string; nameEn?: string | null }[];
    proposal: { bodyId: string | null; bodyName: string | null } | null;
    open: boolean;
    canRefer: boolean;
  };
  /** Near-relative registry: whether the clue is flagged, whether the viewer may open the details, and the details once opened. */
  registry?: { flagged: boolean; canOpen: boolean; matches?: RegistryMatches };
  /** The tracking code of the clue this one was merged into (when the viewer may see it). */
  mergedIntoCode?: string | null;
}

export interface RegistryMatches {
  items: {
    id: string;
    registrantName: string;
    registrantStaffId: string | null;
    registrantUnitName: string;
    relativeName: string;
    relation: string;
    idNumberMasked: string;
    accused: { id: string; name: string; matchedAs: 'relative' | 'registrant' }[];
  }[];
  withheld: number;
}

// 'refer' is the referral form below (to a body within its authority), never a bare status change.
const actionOrder: ClueAction[] = ['accept', 'decline', 'merge', 'start_verification', 'resume_verification', 'conclude', 'reply', 'close', 'review', 're_review'];

export function cluePage(s: Shell, ctx: CluePageCtx) {
  const { locale } = s;
  const c = ctx.clue;
  const errors = ctx.errors ?? {};
  const v = ctx.values ?? {};
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  const byId = new Map(ctx.units.map((u) => [u.id, u]));
  const code = formatTrackingCode(c.trackingCode);
  const actions = actionOrder.filter((a) => c.allowedActions.includes(a));
  const actionForm = (a: ClueAction) => {
    const hidden = html`<input type="hidden" name="_csrf" value="${s.csrf}"><input type="hidden" name="action" value="${a}">`;
    if (a === 'decline') {
      const rc = fieldError(errors, 'decline-reasonCode');
      const r = fieldError(errors, 'decline-reason');
      return html`<form method="post" action="/staff/clues/${c.id}/status" class="action-form" id="form-decline" novalidate>${hidden}
<h3>${pick(locale, actionLabels.decline)}</h3>
<div class="${rc.cls}"><label for="decline-reasonCode">${label('reasonCode')}</label>${rc.message}<select id="decline-reasonCode" name="reasonCode"${rc.attrs}>${options(Object.keys(declineReasons) as (keyof typeof declineReasons)[], (k) => pick(locale, declineReasons[k]), v.reasonCode)}</select></div>
<div class="${r.cls}"><label for="decline-reason">${label('reason')}</label>${r.message}<textarea id="decline-reason" name="reason" class="short" maxlength="2000" required${r.attrs}>${v.action === 'decline' ? (v.reason ?? '') : ''}</textarea></div>
<button type="submit" class="danger">${pick(locale, actionLabels.decline)}</button></form>`;
    }
    if (a === 'merge') {
      const t = fieldError(errors, 'merge-target');
      return html`<form method="post" action="/staff/clues/${c.id}/merge" class="action-form" id="form-merge" novalidate><input type="hidden" name="_csrf" value="${s.csrf}">
<h3>${label('mergeTitle')}</h3><p class="hint" id="merge-target-hint">${label('mergeHint')}</p>
<div class="${t.cls}"><label for="merge-target">${label('mergeTarget')}</label>${t.message}<input type="text" id="merge-target" name="target" inputmode="numeric" autocomplete="off" maxlength="40" value="${v.target ?? ''}" aria-describedby="merge-target-hint${errors['merge-target'] ? ' merge-target-error' : ''}"${errors['merge-target'] ? html` aria-invalid="true"` : ''}></div>
<div class="field"><label for="merge-reason">${label('mergeReason')}</label><input type="text" id="merge-reason" name="reason" maxlength="2000" value="${v.mergeReason ?? ''}"></div>
<button type="submit">${pick(locale, actionLabels.merge)}</button></form>`;
    }
    if (a === 'conclude') {
      const fe = fieldError(errors, 'conclude-finding');
      return html`<form method="post" action="/staff/clues/${c.id}/status" class="action-form" id="form-conclude" novalidate>${hidden}
<h3>${pick(locale, actionLabels.conclude)}</h3>
<div class="${fe.cls}"><label for="conclude-finding">${label('finding')}</label>${fe.message}<select id="conclude-finding" name="finding"${fe.attrs}>${options(findings, (k) => pick(locale, findingLabels[k]), v.finding, '')}</select></div>
<button type="submit">${pick(locale, actionLabels.conclude)}</button></form>`;
    }
    if (a === 'review' || a === 're_review') {
      const id = `${a}-reason`;
      const r = fieldError(errors, id);
      return html`<form method="post" action="/staff/clues/${c.id}/status" class="action-form" id="form-${a}" novalidate>${hidden}
<h3>${pick(locale, actionLabels[a])}</h3>
<div class="${r.cls}"><label for="${id}">${label('reason')}</label>${r.message}<textarea id="${id}" name="reason" class="short" maxlength="2000"${r.attrs}></textarea></div>
<button type="submit">${pick(locale, actionLabels[a])}</button></form>`;
    }
    return html`<form method="post" action="/staff/clues/${c.id}/status" class="action-form inline-action" id="form-${a}">${hidden}<button type="submit">${pick(locale, actionLabels[a])}</button></form>`;
  };
  const assignError = fieldError(errors, 'assign-unit');
  const taskUnitError = fieldError(errors, 'task-unit');
  const bodyError = fieldError(errors, 'reply-body');
  const purposeError = fieldError(errors, 'purpose');
  return layout(
    s,
    `${label('trackingCode')} ${code}`,
    html`<p class="crumbs"><a href="/staff">← ${label('navQueue')}</a></p>
<h1>${label('trackingCode')} <span class="code">${code}</span></h1>
${errorSummary(locale, errors)}
${ctx.notice ? html`<p class="notice" role="status" id="notice">${ctx.notice}</p>` : ''}
<div class="clue-grid">
<div class="clue-main">
<dl class="facts">
<div><dt>${label('status')}</dt><dd><span class="status status-${c.status}" id="clue-status">${pick(locale, statusLabels[c.status])}</span>${c.finding ? html` · ${pick(locale, findingLabels[c.finding as Finding])}` : ''}</dd></div>
${c.mergedInto ? html`<div><dt>${label('mergedInto')}</dt><dd><a href="/staff/clues/${c.mergedInto}" id="merged-into">${ctx.mergedIntoCode ?? label('theClue')}</a></dd></div>` : ''}
<div><dt>${label('channel')}</dt><dd>${pick(locale, channelLabels[c.channel])}</dd></div>
<div><dt>${label('received')}</dt><dd>${dateTime(c.receivedAt, locale)}</dd></div>
<div><dt>${label('unit')}</dt><dd>${c.unitId ? unitName(locale, byId.get(c.unitId)) : label('noUnit')}</dd></div>
<div><dt>${label('categories')}</dt><dd>${c.categories.length ? c.categories.map((k) => html`<span class="tag">${pick(locale, categoryLabels[k as Category])}</span>`) : '—'}</dd></div>
<div><dt>${label('reporter')}</dt><dd>${c.named ? label('named') : label('anonymous')}</dd></div>
${c.occurredWhen ? html`<div><dt>${label('occurredWhen')}</dt><dd>${c.occurredWhen}</dd></div>` : ''}
</dl>
<h2>${label('narrative')}</h2><div class="narrative" id="narrative">${c.narrative}</div>
<h2>${label('accused')}</h2>${c.accused.length
      ? html`<ul class="plain" id="accused">${c.accused.map((a) => html`<li><strong>${a.name}</strong> · ${pick(locale, accusedRoleLabels[a.role])}${a.unitId ? html` · ${unitName(locale, byId.get(a.unitId))}` : ''}${a.position ? html` · ${a.position}` : ''}</li>`)}</ul>`
      : html`<p>${label('none')}</p>`}
<h2>${label('attachments')}</h2>${c.attachments.length
      ? html`<ul class="attachments" id="attachments">${c.attachments.map((a) => {
          const url = `/staff/clues/${c.id}/attachments/${a.id}`;
          const media = a.contentType.startsWith('audio/')
            ? html`<audio controls preload="none" src="${url}?inline=1"></audio>`
            : a.contentType.startsWith('image/')
              ? html`<img src="${url}?inline=1" alt="${locale === 'en' ? a.labelEn : a.label}" loading="lazy">`
              : '';
          // A label, never the file's name: the name is the reporter's text (sealed, shown only on reveal).
          return html`<li>${media}<a href="${url}" download>${label('download')} ${locale === 'en' ? a.labelEn : a.label}</a></li>`;
        })}</ul>`
      : html`<p>${label('none')}</p>`}
<h2>${label('thread')}</h2>
<div id="thread">${ctx.messages.length === 0 ? html`<p>${label('noMessages')}</p>` : ''}${ctx.messages.map(
      (m) => html`<article class="msg ${m.author}"><p class="meta">${m.author === 'reporter' ? label('reporter') : label('staffAuthor')} · <time datetime="${new Date(m.createdAt).toISOString()}">${dateTime(m.createdAt, locale)}</time></p>
<p class="body">${m.body}</p>${m.attachments.map((a) => html`<p class="meta"><a href="/staff/clues/${c.id}/attachments/${a.id}" download>📎 ${locale === 'en' ? a.labelEn : a.label}</a></p>`)}</article>`,
    )}</div>
${ctx.canHandle
      ? html`<form method="post" action="/staff/clues/${c.id}/messages" id="reply-form" novalidate><input type="hidden" name="_csrf" value="${s.csrf}">
<div class="${bodyError.cls}"><label for="reply-body">${label('reply')}</label>${bodyError.message}<textarea id="reply-body" name="body" maxlength="20000" required${bodyError.attrs}>${v.body ?? ''}</textarea></div>
<button type="submit">${label('send')}</button></form>`
      : ''}
<h2>${label('timeline')}</h2>
<ol class="timeline" id="timeline">${c.events.map(
      (e) => html`<li><time datetime="${new Date(e.at).toISOString()}">${dateTime(e.at, locale)}</time> <strong>${eventLabels[e.type] ? pick(locale, eventLabels[e.type]!) : e.type}</strong>${eventDetail(locale, { type: e.type, data: e.data ?? {} })} <span class="meta">${actorLabel(locale, e.actor, s.user?.username, ctx.me)}</span></li>`,
    )}</ol>
</div>
<aside class="clue-side">
<h2>${label('deadlines')}</h2>${ctx.deadlines.length
      ? html`<ul class="plain" id="deadlines">${ctx.deadlines.map((d) => html`<li>${d.closedAt ? html`<span class="clock done">✓ ${pick(locale, d)}</span>` : clock(locale, d, ctx.now)}<br><span class="meta">${label('due')}: ${dateTime(d.dueAt, locale)}</span></li>`)}</ul>`
      : html`<p>${label('none')}</p>`}
${ctx.canHandle && actions.length ? html`<h2>${label('actions')}</h2><div class="actions" id="actions">${actions.map(actionForm)}</div>` : ''}
${ctx.canRegister
      ? html`<h2>${label('assign')}</h2>
<form method="post" action="/staff/clues/${c.id}/assign" id="assign-form" novalidate><input type="hidden" name="_csrf" value="${s.csrf}">
<div class="${assignError.cls}"><label for="assign-unit">${label('assignTo')}</label>${assignError.message}<select id="assign-unit" name="unitId"${assignError.attrs}>${unitOptions(locale, ctx.units, v.unitId, '')}</select></div>
<button type="submit">${label('assign')}</button></form>
${ctx.recusal
  ? html`<form method="post" action="/staff/clues/${c.id}/assign" id="assign-suggested"><input type="hidden" name="_csrf" value="${s.csrf}"><input type="hidden" name="unitId" value="${ctx.recusal.unitId}">
<p>${label('recusalOffer')}<strong>${ctx.recusal.unitName ?? unitName(locale, byId.get(ctx.recusal.unitId))}</strong></p><button type="submit">${label('assignSuggested')} ${ctx.recusal.unitName ?? unitName(locale, byId.get(ctx.recusal.unitId))}</button></form>`
  : ''}`
      : ''}
${supervisionSection(s, ctx)}
${referralSection(s, ctx)}
${registrySection(s, ctx)}
<h2>${label('tasks')}</h2>${ctx.tasks.length
      ? html`<ul class="plain" id="tasks">${ctx.tasks.map((t) => html`<li><strong>${taskTypeLabels[t.type] ? pick(locale, taskTypeLabels[t.type]!) : t.type}</strong> · ${unitName(locale, byId.get(t.assigneeUnitId))} · ${t.status}${t.dueAt ? html`<br><span class="meta">${label('due')}: ${dateTime(t.dueAt, locale)}</span>` : ''}</li>`)}</ul>`
      : html`<p>${label('noTasks')}</p>`}
${ctx.canRegister && ['accepted', 'verifying', 'referred'].includes(c.status)
      ? html`<form method="post" action="/staff/clues/${c.id}/tasks" id="task-form" novalidate><input type="hidden" name="_csrf" value="${s.csrf}">
<h3>${label('createTask')}</h3>
<div class="field"><label for="task-type">${label('taskType')}</label><select id="task-type" name="type">${options(Object.keys(taskTypeLabels), (k) => pick(locale, taskTypeLabels[k]!), v.type)}</select></div>
<div class="${taskUnitError.cls}"><label for="task-unit">${label('taskUnit')}</label>${taskUnitError.message}<select id="task-unit" name="assigneeUnitId"${taskUnitError.attrs}>${unitOptions(locale, ctx.units, v.assigneeUnitId, '')}</select></div>
<button type="submit">${label('create')}</button></form>`
      : ''}
${ctx.canReveal && c.named
      ? html`<h2>${label('reveal')}</h2>
<form method="post" action="/staff/clues/${c.id}/reveal" id="reveal-form" novalidate><input type="hidden" name="_csrf" value="${s.csrf}">
<p class="hint" id="purpose-hint">${label('revealHint')}</p>
<div class="${purposeError.cls}"><label for="purpose">${label('purpose')}</label>${purposeError.message}<input type="text" id="purpose" name="purpose" maxlength="500" required aria-describedby="purpose-hint${errors.purpose ? ' purpose-error' : ''}"${errors.purpose ? html` aria-invalid="true"` : ''}></div>
<button type="submit" class="danger">${label('revealButton')}</button></form>`
      : ''}
</aside></div>`,
    { hasErrors: Object.keys(errors).length > 0 },
  );
}

/**
 * 督办: who supervises, and the form for a supervisor (or admin) to take it on or name another
 * supervisor; the choices are only those who may handle the clue (outside its excluded set).
 */
function supervisionSection(s: Shell, ctx: CluePageCtx) {
  const sup = ctx.supervision;
  if (!sup) return '';
  const { locale } = s;
  const e = fieldError(ctx.errors ?? {}, 'supervise');
  const state =
    sup.by === 'me' ? ct(locale, 'supervisedByMe')
    : sup.by === 'other' ? (sup.byName ? ct(locale, 'supervisedByNamed').replace('{name}', sup.byName) : ct(locale, 'supervisedByOther'))
    : ct(locale, 'notSupervised');
  const others = (sup.choices ?? []).filter((x) => x.id !== ctx.me);
  // The "you supervise it" hint is for taking it on; once the viewer supervises, the state above says so.
  const self = sup.by !== 'me';
  const describedBy = [self ? 'supervise-hint' : '', ctx.errors?.supervise ? 'supervise-error' : ''].filter(Boolean).join(' ');
  return html`<h2>${ct(locale, 'supervision')}</h2><p id="supervision-state">${state}</p>
${sup.canSupervise
    ? html`<form method="post" action="/staff/clues/${ctx.clue.id}/supervise" id="supervise-form" class="${e.cls}"><input type="hidden" name="_csrf" value="${s.csrf}">
${self ? html`<p class="hint" id="supervise-hint">${ct(locale, 'superviseHint')}</p>` : ''}${e.message}
${self ? html`<p><button type="submit" id="supervise" aria-describedby="${describedBy}">${ct(locale, 'superviseButton')}</button></p>` : ''}
${others.length
  ? html`<div class="field"><label for="supervisor-id">${ct(locale, 'superviseOther')}</label><select id="supervisor-id" name="otherSupervisorId"${describedBy ? html` aria-describedby="${describedBy}"` : ''}>${others.map((x) => html`<option value="${x.id}">${x.name}</option>`)}</select></div>
<button type="submit" class="secondary" id="supervise-other" name="other" value="1">${ct(locale, 'superviseOtherButton')}</button>`
  : ''}</form>`
    : ''}`;
}

/** 移送: the referrals made, and (while the status allows) the proposal with the form a supervisor confirms. */
function referralSection(s: Shell, ctx: CluePageCtx) {
  const r = ctx.referral;
  if (!r || (!r.items.length && !r.open)) return '';
  const { locale } = s;
  const errors = ctx.errors ?? {};
  const v = ctx.values ?? {};
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  const bodyName = (id: string | null) => {
    const b = r.bodies.find((x) => x.id === id);
    return b ? (locale === 'en' && b.nameEn ? b.nameEn : b.name) : '';
  };
  const be = fieldError(errors, 'refer-body');
  const oe = fieldError(errors, 'refer-override');
  const chosen = v.bodyId ?? r.proposal?.bodyId ?? '';
  const form = r.open && r.proposal
    ? html`${r.proposal.bodyId ? html`<p id="referral-proposal">${label('referralProposed')}<strong>${bodyName(r.proposal.bodyId) || r.proposal.bodyName}</strong></p>` : html`<p id="referral-proposal">${label('referralNoBody')}</p>`}
${r.canRefer && r.bodies.length
  ? html`<form method="post" action="/staff/clues/${ctx.clue.id}/referral" id="referral-form" novalidate><input type="hidden" name="_csrf" value="${s.csrf}">
<div class="${be.cls}"><label for="refer-body">${label('referralBody')}</label>${be.message}<select id="refer-body" name="bodyId"${be.attrs}>${r.bodies.map(
      (b) => html`<option value="${b.id}" ${chosen === b.id ? 'selected' : ''}>${locale === 'en' && b.nameEn ? b.nameEn : b.name}${b.id === r.proposal?.bodyId ? label('referralProposedOption') : ''}</option>`,
    )}</select></div>
<div class="${oe.cls}"><label for="refer-override">${label('referralOverride')}</label><p class="hint" id="refer-override-hint">${label('referralOverrideHint')}</p>${oe.message}<textarea id="refer-override" name="overrideReason" class="short" maxlength="1000" aria-describedby="refer-override-hint${errors['refer-override'] ? ' refer-override-error' : ''}"${errors['refer-override'] ? html` aria-invalid="true"` : ''}>${v.overrideReason ?? ''}</textarea></div>
<button type="submit">${label('referButton')}</button></form>`
  : html`<p class="hint">${label('referralOnlySupervisor')}</p>`}`
    : '';
  return html`<h2>${label('referrals')}</h2>
${r.items.length
    ? html`<ul class="plain" id="referrals">${r.items.map((x) => html`<li><strong>${bodyName(x.bodyId)}</strong> · ${pick(locale, referralStatusLabels[x.status] ?? { zh: x.status, en: x.status })}<br><span class="meta">${dateTime(x.createdAt, locale)}</span></li>`)}</ul>`
    : html`<p>${label('noReferrals')}</p>`}
${form}`;
}

/** 近亲属备案比对: the flag, the audited "show the matches" form, and each match with what may be done about it. */
function registrySection(s: Shell, ctx: CluePageCtx) {
  const reg = ctx.registry;
  if (!reg || !reg.flagged) return '';
  const { locale } = s;
  const errors = ctx.errors ?? {};
  const v = ctx.values ?? {};
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  const me = fieldError(errors, 'registry-open');
  const m = reg.matches;
  const matches = m
    ? html`<ul class="cards" id="registry-matches">${m.items.map(
        (item) => html`<li class="card" id="match-${item.id}">
<dl class="facts"><div><dt>${label('registrant')}</dt><dd>${item.registrantName} · ${item.registrantUnitName}</dd></div>
<div><dt>${label('relative')}</dt><dd>${item.relativeName} · ${pick(locale, relationLabels[item.relation] ?? { zh: item.relation, en: item.relation })}</dd></div>
<div><dt>${label('idNumber')}</dt><dd>${item.idNumberMasked}</dd></div></dl>
${item.accused.map((a) => {
          if (a.matchedAs === 'relative' || !item.registrantStaffId) return html`<p><strong>${a.name}</strong>: ${label(a.matchedAs === 'relative' ? 'matchedAsRelative' : 'matchedAsRegistrant')}</p>`;
          const id = `link-${item.id.slice(0, 8)}-${a.id.slice(0, 8)}`;
          const e = fieldError(errors, id);
          return html`<form method="post" action="/staff/clues/${ctx.clue.id}/accused/${a.id}/links" class="link-form" id="${id}-form" novalidate><input type="hidden" name="_csrf" value="${s.csrf}"><input type="hidden" name="staffId" value="${item.registrantStaffId}"><input type="hidden" name="field" value="${id}">
<p><strong>${a.name}</strong>: ${label('matchedAsRegistrant')}</p>
<div class="${e.cls}"><label for="${id}">${label('linkReason')}</label>${e.message}<input type="text" id="${id}" name="reason" maxlength="500" value="${v.field === id ? (v.reason ?? '') : ''}"${e.attrs}></div>
<div class="button-row"><button type="submit" name="kind" value="same_person">${label('linkSame')}</button> <button type="submit" name="kind" value="not_same_person" class="secondary">${label('linkNotSame')}</button></div></form>`;
        })}</li>`,
      )}</ul>${m.items.length === 0 ? html`<p>${label('registryNone')}</p>` : ''}${m.withheld ? html`<p class="hint" id="registry-withheld">${label('registryWithheld').replace('{n}', String(m.withheld))}</p>` : ''}`
    : '';
  return html`<h2>${label('registryTitle')}</h2><p id="registry-flag">⚠ ${label('registryFlag')}</p>
${m
    ? matches
    : reg.canOpen
      ? html`<form method="post" action="/staff/clues/${ctx.clue.id}/registry-matches" id="registry-open-form" class="${me.cls}"><input type="hidden" name="_csrf" value="${s.csrf}">${me.message}<button type="submit" id="registry-open" aria-describedby="registry-open-hint">${label('registryOpen')}</button> <span class="hint" id="registry-open-hint">${label('registryOpenHint')}</span></form>`
      : html`<p class="hint">${label('registryOnlySupervisor')}</p>`}`;
}

/** Who wrote a ledger event, in words: the reporter, the system, me, or a staff member. */
function actorLabel(locale: Locale, actor: string, username: string | undefined, me: string | undefined) {
  if (actor === 'reporter') return ct(locale, 'reporter');
  if (actor.startsWith('system:')) return locale === 'en' ? 'System' : '系统';
  if (me && actor === `staff:${me}`) return `${ct(locale, 'staffAuthor')} ${username ?? ''}`.trim();
  return ct(locale, 'staffAuthor');
}

function eventDetail(locale: Locale, e: { type: string; data: Record<string, unknown> }) {
  const d = e.data;
  if (e.type === 'clue.status_changed' && typeof d.from === 'string' && typeof d.to === 'string') {
    const from = statusLabels[d.from as keyof typeof statusLabels];
    const to = statusLabels[d.to as keyof typeof statusLabels];
    return html`: ${from ? pick(locale, from) : d.from} → ${to ? pick(locale, to) : d.to}${typeof d.reason === 'string' ? html` (${d.reason})` : ''}`;
  }
  if (e.type === 'reporter.viewed' && typeof d.purpose === 'string') return html`: ${d.purpose}`;
  if (e.type === 'accused.linked' && (d.kind === 'same_person' || d.kind === 'not_same_person')) return html`: ${ct(locale, d.kind === 'same_person' ? 'linkSame' : 'linkNotSame')}${typeof d.reason === 'string' ? html` (${d.reason})` : ''}`;
  return '';
}

export function revealedPage(s: Shell, ctx: { clueId: string; code: string; identity: { name: string; phone?: string; email?: string; address?: string; consentToShare?: boolean } }) {
  const { locale } = s;
  const i = ctx.identity;
  const row = (k: Parameters<typeof ct>[1], value: string | undefined) => (value ? html`<div><dt>${ct(locale, k)}</dt><dd>${value}</dd></div>` : '');
  return layout(
    s,
    ct(locale, 'revealedTitle'),
    html`<h1>${ct(locale, 'revealedTitle')}</h1><p class="warn" role="alert">${ct(locale, 'revealedWarning')}</p>
<p>${ct(locale, 'trackingCode')} ${ctx.code}</p>
<dl class="facts" id="identity">${row('name', i.name)}${row('phone', i.phone)}${row('email', i.email)}${row('address', i.address)}${row('consentToShare', i.consentToShare === undefined ? undefined : i.consentToShare ? '✓' : '✗')}</dl>
<p><a class="button" href="/staff/clues/${ctx.clueId}">${ct(locale, 'backToClue')}</a></p>`,
  );
}
