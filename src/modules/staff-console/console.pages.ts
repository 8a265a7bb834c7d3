import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { Locale } from '../../app/templates.ts';
import { accusedRoles, categories, type Category, channels } from '../clues/clue.entity.ts';
import type { ClueUseCases } from '../clues/clues.usecases.ts';
import { type ClueAction, type ClueStatus, clueStatuses, declineReasons, type Finding, findings } from '../clues/status-machine.ts';
import { formatTrackingCode } from '../clues/tracking-code.ts';
import { accusedRoleLabels, categoryLabels } from '../intake-web/web.i18n.ts';
import { uploadLimitsText } from '../attachments/uploads.ts';
import { consoleAssetUrl } from './console.assets.ts';
import {
  actionLabels,
  callbackReasonLabels,
  callbackResultLabels,
  channelLabels,
  ct,
  eventLabels,
  findingLabels,
  pick,
  referralStatusLabels,
  relationLabels,
  statusLabels,
  taskTypeLabels,
} from './console.i18n.ts';

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;
export type Errors = Record<string, string>;

export interface UnitOption {
  id: string;
  name: string;
  nameEn: string | null;
  kind: string;
  parentId: string | null;
  depth: number;
}

export interface DeadlineView {
  id: string;
  clueId: string;
  zh: string;
  en: string;
  state: string;
  startsAt: Date;
  dueAt: Date;
  closedAt: Date | null;
  paused: boolean;
}

export interface Shell {
  locale: Locale;
  csrf: string;
  path: string;
  query?: string;
  user?: { username: string; role: string };
  newNotices?: number;
}

const fmt = new Map<string, Intl.DateTimeFormat>();
export function dateTime(d: Date | string | null | undefined, locale: Locale) {
  if (!d) return '';
  const key = locale;
  let f = fmt.get(key);
  if (!f) {
    f = new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : 'zh-CN', { timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
    fmt.set(key, f);
  }
  return f.format(new Date(d));
}

const unitName = (locale: Locale, u: UnitOption | undefined) => (u ? (locale === 'en' && u.nameEn ? u.nameEn : u.name) : '');

function duration(ms: number, locale: Locale) {
  const minutes = Math.max(0, Math.round(ms / 60_000));
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  if (locale === 'en') return d ? `${d} d ${h} h` : h ? `${h} h ${m} min` : `${m} min`;
  return d ? `${d}天${h}小时` : h ? `${h}小时${m}分` : `${m}分钟`;
}

/** The running clock of a deadline: green, amber when a quarter of the time is left, red when overdue. */
export function clock(locale: Locale, d: DeadlineView | undefined, now: Date) {
  if (!d) return html`<span class="clock none">—</span>`;
  const total = d.dueAt.getTime() - d.startsAt.getTime();
  const left = d.dueAt.getTime() - now.getTime();
  const state = left < 0 || d.state === 'missed' ? 'red' : left <= total / 4 ? 'amber' : 'ok';
  const text = left < 0 ? `${ct(locale, 'overdueBy')} ${duration(-left, locale)}` : locale === 'en' ? `${duration(left, locale)} ${ct(locale, 'left')}` : `${ct(locale, 'left')}${duration(left, locale)}`;
  const icon = state === 'red' ? '⚠ ' : state === 'amber' ? '⏳ ' : '';
  return html`<span class="clock ${state}" data-due="${d.dueAt.toISOString()}" data-start="${d.startsAt.toISOString()}" title="${pick(locale, d)} · ${dateTime(d.dueAt, locale)}">${icon}<span class="clock-kind">${pick(locale, d)}</span> <span class="clock-text">${text}</span></span>`;
}

export function layout(s: Shell, title: string, body: Html, opts: { hasErrors?: boolean; bare?: boolean } = {}) {
  const { locale } = s;
  const other = locale === 'en' ? 'zh-CN' : 'en';
  const switchQuery = [s.query, `lang=${other}`].filter(Boolean).join('&');
  // The hotline desk's pages (register, call-backs, quarantine) only for the roles that may use them.
  const desk = !!s.user && ['operator', 'supervisor', 'admin'].includes(s.user.role);
  const nav = s.user && !opts.bare
    ? html`<nav class="console-nav" aria-label="${ct(locale, 'consoleName')}"><ul>
<li><a href="/staff" ${s.path === '/staff' ? html`aria-current="page"` : ''}>${ct(locale, 'navQueue')}</a></li>
${desk
  ? html`<li><a href="/staff/clues/new" ${s.path === '/staff/clues/new' ? html`aria-current="page"` : ''}>${ct(locale, 'navRegister')}</a></li>
<li><a href="/staff/callbacks" ${s.path === '/staff/callbacks' ? html`aria-current="page"` : ''}>${ct(locale, 'navCallbacks')}</a></li>
<li><a href="/staff/quarantine" ${s.path === '/staff/quarantine' ? html`aria-current="page"` : ''}>${ct(locale, 'navQuarantine')}</a></li>`
  : ''}
<li><a href="/staff/account" ${s.path === '/staff/account' ? html`aria-current="page"` : ''}>${ct(locale, 'navAccount')}</a></li>
<li><a href="/staff/notices" id="notices-link" ${s.path === '/staff/notices' ? html`aria-current="page"` : ''}>${ct(locale, 'navNotices')}${s.newNotices ? html` <span class="badge" id="notice-badge"><span class="count">${s.newNotices}</span><span class="visually-hidden"> ${ct(locale, 'newNotices')}</span></span>` : ''}</a></li>
</ul></nav>`
    : '';
  const user = s.user
    ? html`<span class="user">${ct(locale, 'signedInAs')}: <strong>${s.user.username}</strong></span>
<form method="post" action="/staff/logout" class="inline"><input type="hidden" name="_csrf" value="${s.csrf}"><button type="submit" class="link-button">${ct(locale, 'signOut')}</button></form>`
    : '';
  return html`<!doctype html>
<html lang="${locale}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><meta name="robots" content="noindex">
<title>${opts.hasErrors ? ct(locale, 'errorTitle') : ''}${title} · ${ct(locale, 'consoleName')}</title>
<link rel="stylesheet" href="${consoleAssetUrl('console.css')}">
<script src="${consoleAssetUrl('htmx.js')}" defer></script><script src="${consoleAssetUrl('console.js')}" defer></script></head>
<body><a class="skip-link" href="#main">${ct(locale, 'skipLink')}</a>
<header class="console-header"><div class="inner"><a class="console-name" href="/staff">${ct(locale, 'consoleName')}</a>
<div class="header-links">${user}<a href="${s.path}?${switchQuery}" lang="${other}" hreflang="${other}">${ct(locale, 'switchLang')}</a></div></div>
${nav}</header>
<main id="main" tabindex="-1">${body}</main>
</body></html>`;
}

function errorSummary(locale: Locale, errors: Errors) {
  const list = Object.entries(errors);
  if (!list.length) return '';
  return html`<div class="error-summary" role="alert" tabindex="-1" id="error-summary" aria-labelledby="error-summary-title">
<h2 id="error-summary-title">${ct(locale, 'fixErrors')}</h2>
<ul>${list.map(([field, message]) => html`<li><a href="#${field}">${message}</a></li>`)}</ul></div>`;
}

function fieldError(errors: Errors, id: string) {
  const message = errors[id];
  return {
    message: message ? html`<p class="error-message" id="${id}-error">${message}</p>` : '',
    attrs: message ? html` aria-invalid="true" aria-describedby="${id}-error"` : '',
    cls: message ? 'field field-error' : 'field',
  };
}

function input(errors: Errors, f: { id: string; name?: string; label: string; value?: string; type?: string; hint?: string; extra?: string; required?: boolean }) {
  const e = fieldError(errors, f.id);
  const hintId = f.hint ? `${f.id}-hint` : '';
  const described = [hintId, errors[f.id] ? `${f.id}-error` : ''].filter(Boolean).join(' ');
  return html`<div class="${e.cls}"><label for="${f.id}">${f.label}</label>${f.hint ? html`<p class="hint" id="${hintId}">${f.hint}</p>` : ''}${e.message}
<input type="${f.type ?? 'text'}" id="${f.id}" name="${f.name ?? f.id}" value="${f.value ?? ''}"${described ? html` aria-describedby="${described}"` : ''}${errors[f.id] ? html` aria-invalid="true"` : ''}${f.required ? html` required` : ''}${f.extra ? raw(` ${f.extra}`) : ''}></div>`;
}

function options<T extends string>(values: readonly T[], labelOf: (v: T) => string, selected: string | undefined, blank?: string) {
  return html`${blank !== undefined ? html`<option value="">${blank}</option>` : ''}${values.map((v) => html`<option value="${v}" ${selected === v ? 'selected' : ''}>${labelOf(v)}</option>`)}`;
}

function unitOptions(locale: Locale, units: UnitOption[], selected: string | undefined, blank?: string) {
  return html`${blank !== undefined ? html`<option value="">${blank}</option>` : ''}${units.map(
    (u) => html`<option value="${u.id}" ${selected === u.id ? 'selected' : ''}>${'　'.repeat(u.depth)}${unitName(locale, u)}</option>`,
  )}`;
}

// ---- sign-in ----

export function loginPage(s: Shell, ctx: { errors?: Errors; username?: string; notice?: string; next?: string }) {
  const { locale } = s;
  const errors = ctx.errors ?? {};
  return layout(
    s,
    ct(locale, 'loginTitle'),
    html`<div class="narrow"><h1>${ct(locale, 'loginTitle')}</h1>
${errorSummary(locale, errors)}
${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ''}
<form method="post" action="/staff/login" novalidate>
<input type="hidden" name="_csrf" value="${s.csrf}">
${ctx.next ? html`<input type="hidden" name="next" value="${ctx.next}">` : ''}
${input(errors, { id: 'username', label: ct(locale, 'username'), value: ctx.username, extra: 'autocomplete="username" autocapitalize="none" spellcheck="false"', required: true })}
${input(errors, { id: 'password', label: ct(locale, 'password'), type: 'password', extra: 'autocomplete="current-password"', required: true })}
${input(errors, { id: 'totp', label: ct(locale, 'totp'), hint: ct(locale, 'totpHint'), extra: 'autocomplete="one-time-code" autocapitalize="characters" spellcheck="false" maxlength="32"' })}
<button type="submit">${ct(locale, 'signIn')}</button></form></div>`,
    { hasErrors: Object.keys(errors).length > 0, bare: true },
  );
}

// ---- queue ----

export type ClueSummary = Awaited<ReturnType<ClueUseCases['listClues']>>['items'][number];

export interface QueueFilter {
  channel?: string;
  status?: string;
  category?: string;
  unitId?: string;
  from?: string;
  to?: string;
  code?: string;
}

export function queuePage(
  s: Shell,
  ctx: {
    items: ClueSummary[];
    /** How many clues the filter keeps, exact up to a cap. */
    total?: { count: number; capped: boolean };
    /** Overdue and nearly-due clues, soonest deadline first (first page only). */
    dueFirst?: ClueSummary[];
    nextCursor: string | null;
    filter: QueueFilter;
    units: UnitOption[];
    clocks: Map<string, DeadlineView>;
    now: Date;
    errors?: Errors;
    paged: boolean;
  },
) {
  const { locale } = s;
  const f = ctx.filter;
  const errors = ctx.errors ?? {};
  const byId = new Map(ctx.units.map((u) => [u.id, u]));
  const filterQuery = new URLSearchParams(Object.entries(f).filter(([k, v]) => v && k !== 'code') as [string, string][]);
  const next = ctx.nextCursor ? `/staff?${new URLSearchParams([...filterQuery, ['cursor', ctx.nextCursor]]).toString()}` : null;
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  const head = html`<thead><tr>
<th scope="col">${label('trackingCode')}</th><th scope="col">${label('received')}</th><th scope="col">${label('channel')}</th><th scope="col">${label('categories')}</th><th scope="col">${label('unit')}</th><th scope="col">${label('status')}</th><th scope="col">${label('deadline')}</th></tr></thead>`;
  // The due-first panel repeats clues of the list below: its rows are marked apart (data-due-clue).
  const row = (c: ClueSummary, due = false) => html`<tr ${due ? 'data-due-clue' : 'data-clue'}="${c.id}">
<td data-label="${label('trackingCode')}"><a href="/staff/clues/${c.id}" class="code-link">${formatTrackingCode(c.trackingCode)}</a></td>
<td data-label="${label('received')}">${dateTime(c.receivedAt, locale)}</td>
<td data-label="${label('channel')}">${pick(locale, channelLabels[c.channel])}</td>
<td data-label="${label('categories')}">${c.categories.length ? c.categories.map((k) => html`<span class="tag">${pick(locale, categoryLabels[k as Category])}</span>`) : '—'}</td>
<td data-label="${label('unit')}">${c.unitId ? unitName(locale, byId.get(c.unitId)) : label('noUnit')}</td>
<td data-label="${label('status')}"><span class="status status-${c.status}">${pick(locale, statusLabels[c.status])}</span></td>
<td data-label="${label('deadline')}">${clock(locale, ctx.clocks.get(c.id), ctx.now)}</td></tr>`;
  return layout(
    s,
    label('queueTitle'),
    html`<h1>${label('queueTitle')}</h1>
${errorSummary(locale, errors)}
<div class="queue-tools">
<form method="get" action="/staff/find" class="search" role="search">
${input(errors, { id: 'code', label: label('search'), hint: label('searchHint'), value: f.code, extra: 'inputmode="numeric" autocomplete="off"' })}
<button type="submit">${label('find')}</button></form>
<form method="get" action="/staff" class="filters" id="filters" hx-get="/staff" hx-target="#queue" hx-select="#queue" hx-swap="outerHTML" hx-push-url="true" hx-trigger="change, submit">
<fieldset><legend>${label('filters')}</legend><div class="filter-grid">
<div class="field"><label for="f-channel">${label('channel')}</label><select id="f-channel" name="channel">${options(channels, (v) => pick(locale, channelLabels[v]), f.channel, label('any'))}</select></div>
<div class="field"><label for="f-status">${label('status')}</label><select id="f-status" name="status">${options(['all', ...clueStatuses], (v) => (v === 'all' ? label('allStatuses') : pick(locale, statusLabels[v as ClueStatus])), f.status, label('openStatuses'))}</select></div>
<div class="field"><label for="f-category">${label('category')}</label><select id="f-category" name="category">${options(categories, (v) => pick(locale, categoryLabels[v]), f.category, label('any'))}</select></div>
<div class="field"><label for="f-unit">${label('unit')}</label><select id="f-unit" name="unitId">${unitOptions(locale, ctx.units, f.unitId, label('any'))}</select></div>
<div class="field"><label for="f-from">${label('from')}</label><input type="date" id="f-from" name="from" value="${f.from ?? ''}"></div>
<div class="field"><label for="f-to">${label('to')}</label><input type="date" id="f-to" name="to" value="${f.to ?? ''}"></div>
</div>
<div class="button-row"><button type="submit">${label('apply')}</button> <a class="button secondary" href="/staff">${label('clear')}</a></div></fieldset></form>
</div>
<section id="queue" aria-label="${label('filterResultsLabel')}">
${ctx.dueFirst?.length
  ? html`<h2 id="due-first-title">${label('dueFirst')}</h2><div class="table-wrap"><table class="queue" id="due-first" aria-labelledby="due-first-title">${head}<tbody>${ctx.dueFirst.map((c) => row(c, true))}</tbody></table></div>
<h2 id="all-title">${label('allInFilter')}</h2>`
  : ''}
${ctx.total ? html`<p id="queue-count" role="status">${label(ctx.total.capped ? 'countCapped' : 'countExact').replace('{n}', ctx.total.count.toLocaleString(locale === 'en' ? 'en' : 'zh-CN').replace(/,/g, ' '))}</p>` : ''}
${ctx.items.length === 0
  ? html`<p id="no-clues">${label('noClues')}</p>`
  : html`<div class="table-wrap"><table class="queue" id="queue-list">${head}<tbody>${ctx.items.map((c) => row(c))}</tbody></table></div>`}
<p class="paging">${ctx.paged ? html`<a href="/staff?${filterQuery.toString()}">${label('firstPage')}</a> ` : ''}${next ? html`<a href="${next}" rel="next" id="next-page">${label('nextPage')}</a>` : ''}</p>
</section>`,
    { hasErrors: Object.keys(errors).length > 0 },
  );
}

// ---- clue page ----

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

// ---- register ----

export interface RegisterValues {
  channel?: string;
  identity?: string;
  name?: string;
  phone?: string;
  email?: string;
  address?: string;
  unitId?: string;
  categories?: string[];
  narrative?: string;
  occurredWhen?: string;
  accused?: { name?: string; role?: string; unitId?: string }[];
  followUp?: 'web' | 'phone';
}

export const registerChannels = ['letter', 'visit', 'phone'] as const;

export function registerPage(s: Shell, ctx: { units: UnitOption[]; values?: RegisterValues; errors?: Errors }) {
  const { locale } = s;
  const v = ctx.values ?? {};
  const errors = ctx.errors ?? {};
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  const narrative = fieldError(errors, 'narrative');
  const unit = fieldError(errors, 'unitId');
  const files = fieldError(errors, 'files');
  const rows = [0, 1, 2].map((i) => v.accused?.[i] ?? {});
  const named = v.identity === 'named';
  return layout(
    s,
    label('registerTitle'),
    html`<h1>${label('registerTitle')}</h1>${errorSummary(locale, errors)}
<form method="post" action="/staff/clues/new" id="register-form" enctype="multipart/form-data" novalidate data-upload-progress
 hx-post="/staff/clues/new" hx-encoding="multipart/form-data" hx-target="#main" hx-select="#main" hx-swap="outerHTML"><input type="hidden" name="_csrf" value="${s.csrf}">
<div class="form-grid">
<div>
<fieldset><legend>${label('channel')}</legend>${registerChannels.map(
      (ch, i) => html`<label class="choice"><input type="radio" name="channel" value="${ch}" id="channel-${ch}" ${v.channel === ch || (!v.channel && i === 0) ? 'checked' : ''}><span>${pick(locale, channelLabels[ch])}</span></label>`,
    )}</fieldset>
<div class="${narrative.cls}"><label for="narrative">${label('narrative')}</label>${narrative.message}<textarea id="narrative" name="narrative" maxlength="20000" required${narrative.attrs}>${v.narrative ?? ''}</textarea></div>
${input(errors, { id: 'occurredWhen', label: label('occurredWhen'), value: v.occurredWhen, extra: 'maxlength="200"' })}
<div class="${unit.cls}"><label for="unitId">${label('unit')}</label>${unit.message}<select id="unitId" name="unitId"${unit.attrs}>${unitOptions(locale, ctx.units, v.unitId, label('noUnit'))}</select></div>
<fieldset><legend>${label('categories')}</legend><div class="choices-2">${categories.map(
      (k) => html`<label class="choice"><input type="checkbox" name="categories" value="${k}" id="category-${k}" ${v.categories?.includes(k) ? 'checked' : ''}><span>${pick(locale, categoryLabels[k])}</span></label>`,
    )}</div></fieldset>
</div>
<div>
<fieldset><legend>${label('identity')}</legend>
<label class="choice"><input type="radio" name="identity" value="anonymous" id="identity-anonymous" ${named ? '' : 'checked'}><span>${label('anonymous')}</span></label>
<label class="choice"><input type="radio" name="identity" value="named" id="identity-named" ${named ? 'checked' : ''}><span>${label('named')}</span></label>
<p class="hint">${label('namedHint')}</p>
${input(errors, { id: 'name', label: label('name'), value: v.name, extra: 'maxlength="200"' })}
${input(errors, { id: 'phone', label: label('phone'), type: 'tel', value: v.phone, extra: 'maxlength="20"' })}
${input(errors, { id: 'email', label: label('email'), type: 'email', value: v.email, extra: 'maxlength="254"' })}
${input(errors, { id: 'address', label: label('address'), value: v.address, extra: 'maxlength="500"' })}
</fieldset>
<fieldset><legend>${label('followUp')}</legend>
<label class="choice"><input type="radio" name="followUp" value="web" id="follow-up-web" ${v.followUp === 'phone' ? '' : 'checked'}><span>${label('followUpWeb')}</span></label>
<label class="choice"><input type="radio" name="followUp" value="phone" id="follow-up-phone" ${v.followUp === 'phone' ? 'checked' : ''}><span>${label('followUpPhone')}</span></label>
</fieldset>
<fieldset><legend>${label('accused')}</legend>${rows.map(
      (a, i) => html`<fieldset class="person"><legend>${label('accusedPerson').replace('{n}', String(i + 1))}</legend>
${input(errors, { id: `accused-${i}-name`, name: `accused[${i}][name]`, label: `${label('accusedName')} ${i + 1}`, value: a.name, extra: 'maxlength="200"' })}
<div class="field"><label for="accused-${i}-role">${label('accusedRole')} ${i + 1}</label><select id="accused-${i}-role" name="accused[${i}][role]">${options(['unknown', ...accusedRoles.filter((r) => r !== 'unknown')], (r) => pick(locale, accusedRoleLabels[r as keyof typeof accusedRoleLabels]), a.role ?? 'unknown')}</select></div>
<div class="field"><label for="accused-${i}-unit">${label('accusedUnit')} ${i + 1}</label><select id="accused-${i}-unit" name="accused[${i}][unitId]">${unitOptions(locale, ctx.units, a.unitId, label('noUnit'))}</select></div></fieldset>`,
    )}</fieldset>
</div></div>
<div class="${files.cls}"><label for="files">${label('files')}</label><p class="hint" id="files-hint">${label('filesHint')} ${uploadLimitsText(locale)}</p>${files.message}
<input type="file" id="files" name="files" multiple accept="image/jpeg,image/png,image/gif,image/webp,application/pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.txt,audio/*" aria-describedby="files-hint${errors.files ? ' files-error' : ''}"${errors.files ? html` aria-invalid="true"` : ''}></div>
<div class="progress" id="upload-progress-box" hidden><label for="upload-progress">${label('uploading')}</label> <progress id="upload-progress" max="100" value="0"></progress> <span id="upload-progress-text" role="status"></span></div>
<button type="submit">${label('register')}</button></form>`,
    { hasErrors: Object.keys(errors).length > 0 },
  );
}

export function receiptPage(s: Shell, ctx: { clueId: string; code: string; secret: string | null; channel: string; receivedAt: Date; files?: number }) {
  const { locale } = s;
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  // A phone PIN is all digits; the web secret never is (Crockford base32 in groups with hyphens).
  const pin = !!ctx.secret && /^\d+$/.test(ctx.secret);
  return layout(
    s,
    label('receiptTitle'),
    html`<div class="receipt" id="receipt"><h1>${label('receiptTitle')}</h1>
<p>${label('receiptIntro')}</p>
<dl class="facts big">
<div><dt>${label('trackingCode')}</dt><dd class="code" id="receipt-code">${ctx.code}</dd></div>
${ctx.secret ? html`<div><dt>${label(pin ? 'phonePin' : 'secret')}</dt><dd class="code" id="receipt-${pin ? 'pin' : 'secret'}">${ctx.secret}</dd></div>` : ''}
${pin ? html`<div><dt>${label('phonePinUse')}</dt><dd id="receipt-pin-use">${label('phonePinHow')}</dd></div>` : ''}
<div><dt>${label('channel')}</dt><dd>${pick(locale, channelLabels[ctx.channel as keyof typeof channelLabels] ?? { zh: ctx.channel, en: ctx.channel })}</dd></div>
<div><dt>${label('received')}</dt><dd>${dateTime(ctx.receivedAt, locale)}</dd></div>
${ctx.files ? html`<div><dt>${label('filesStored')}</dt><dd id="receipt-files">${label('filesCount').replace('{n}', String(ctx.files))}</dd></div>` : ''}
</dl></div>
<p class="no-print hint">${label('printHint')}</p>
<p class="no-print"><button type="button" class="js-only" id="print-button" hidden>${label('print')}</button> <a class="button secondary" href="/staff/clues/${ctx.clueId}">${label('openClue')}</a></p>`,
  );
}

// ---- call-backs ----

export interface CallbackRow {
  id: string;
  reason: string;
  calls: number;
  dueAt: Date;
  state: string;
  overdue: boolean;
  hasNumber: boolean;
  createdAt: Date;
  doneAt: Date | null;
  result: string | null;
  note: string | null;
}

export function callbacksPage(s: Shell, ctx: { open: CallbackRow[]; done: CallbackRow[]; canSeeNumber: boolean; numbers?: Map<string, string>; errors?: Errors; notice?: string }) {
  const { locale } = s;
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  const errors = ctx.errors ?? {};
  const sorted = [...ctx.open].sort((a, b) => Number(b.overdue) - Number(a.overdue) || a.dueAt.getTime() - b.dueAt.getTime());
  return layout(
    s,
    label('callbacksTitle'),
    html`<h1>${label('callbacksTitle')}</h1>${errorSummary(locale, errors)}
${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ''}
${sorted.length === 0 ? html`<p>${label('noCallbacks')}</p>` : ''}
<ul class="cards" id="callbacks">${sorted.map((cb) => {
      const number = ctx.numbers?.get(cb.id);
      return html`<li class="card ${cb.overdue ? 'overdue' : ''}" id="cb-${cb.id}">
<p><strong>${pick(locale, callbackReasonLabels[cb.reason] ?? { zh: cb.reason, en: cb.reason })}</strong> · ${label('calls')}: ${cb.calls}
${cb.overdue ? html` · <span class="clock red">⚠ ${label('overdue')}</span>` : html` · <span class="clock ok">${label('open')}</span>`}</p>
<p class="meta">${label('due')}: ${dateTime(cb.dueAt, locale)} · ${label('received')}: ${dateTime(cb.createdAt, locale)}</p>
${number ? html`<p class="number">${label('number')}: <a href="tel:${number.replace(/[^\d+]/g, '')}" class="tel" id="number-${cb.id}">${number}</a></p>` : ''}
<div class="button-row">${ctx.canSeeNumber && cb.hasNumber && !number
        ? html`<form method="post" action="/staff/callbacks/${cb.id}/number" class="inline"><input type="hidden" name="_csrf" value="${s.csrf}"><button type="submit" class="secondary" aria-describedby="number-hint-${cb.id}">${label('showNumber')}</button><span class="hint" id="number-hint-${cb.id}"> ${label('numberAudited')}</span></form>`
        : ''}</div>
<form method="post" action="/staff/callbacks/${cb.id}/done" class="done-form"><input type="hidden" name="_csrf" value="${s.csrf}">
<div class="field"><label for="result-${cb.id}">${label('result')}</label><select id="result-${cb.id}" name="result">${options(Object.keys(callbackResultLabels), (k) => pick(locale, callbackResultLabels[k]!), 'reached')}</select></div>
<div class="field"><label for="note-${cb.id}">${label('note')}</label><input type="text" id="note-${cb.id}" name="note" maxlength="500"></div>
<button type="submit">${label('markDone')}</button></form></li>`;
    })}</ul>
${ctx.done.length
      ? html`<h2>${label('recentlyDone')}</h2><ul class="plain" id="callbacks-done">${ctx.done.map((cb) => html`<li>${dateTime(cb.doneAt, locale)} · ${pick(locale, callbackReasonLabels[cb.reason] ?? { zh: cb.reason, en: cb.reason })} · ${pick(locale, callbackResultLabels[cb.result ?? ''] ?? { zh: cb.result ?? '', en: cb.result ?? '' })}${cb.note ? html` · ${cb.note}` : ''}</li>`)}</ul>`
      : ''}`,
    { hasErrors: Object.keys(errors).length > 0 },
  );
}

// ---- quarantine ----

export function quarantinePage(s: Shell, ctx: { items: { id: string; reason: string; detail: string | null; size: number; receivedAt: Date }[]; notice?: string }) {
  const { locale } = s;
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  return layout(
    s,
    label('quarantineTitle'),
    html`<h1>${label('quarantineTitle')}</h1>${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ''}
${ctx.items.length === 0 ? html`<p>${label('noQuarantine')}</p>` : ''}
<ul class="cards" id="quarantine">${ctx.items.map(
      (q) => html`<li class="card"><p><strong>${q.reason}</strong>${q.detail ? html` · ${q.detail}` : ''}</p><p class="meta">${dateTime(q.receivedAt, locale)} · ${Math.ceil(q.size / 1024)} KB</p>
<form method="post" action="/staff/quarantine/${q.id}/open" class="inline"><input type="hidden" name="_csrf" value="${s.csrf}"><button type="submit" aria-describedby="open-hint-${q.id}">${label('openMail')}</button> <span class="hint" id="open-hint-${q.id}">${label('openMailHint')}</span></form></li>`,
    )}</ul>`,
  );
}

export function mailPage(
  s: Shell,
  ctx: { id: string; reason: string; status: string; receivedAt: Date; mail: { from: unknown; subject: string; text: string; attachments: { filename: string; size: number }[] } | null; errors?: Errors; values?: Record<string, string> },
) {
  const { locale } = s;
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  const errors = ctx.errors ?? {};
  const n = fieldError(errors, 'release-narrative');
  const r = fieldError(errors, 'discard-reason');
  const from = ctx.mail?.from as { address?: string; name?: string } | null | undefined;
  return layout(
    s,
    label('quarantineTitle'),
    html`<p class="crumbs"><a href="/staff/quarantine">← ${label('quarantineTitle')}</a></p><h1>${label('quarantineTitle')}</h1>${errorSummary(locale, errors)}
<dl class="facts"><div><dt>${label('callbackReason')}</dt><dd>${ctx.reason}</dd></div><div><dt>${label('received')}</dt><dd>${dateTime(ctx.receivedAt, locale)}</dd></div>
${from ? html`<div><dt>${label('sender')}</dt><dd>${from.name ? `${from.name} ` : ''}${from.address ?? ''}</dd></div>` : ''}
${ctx.mail ? html`<div><dt>${label('subject')}</dt><dd>${ctx.mail.subject}</dd></div>` : ''}</dl>
${ctx.mail ? html`<div class="narrative" id="mail-text">${ctx.mail.text}</div>${ctx.mail.attachments.length ? html`<ul class="plain">${ctx.mail.attachments.map((a) => html`<li>📎 ${a.filename} (${Math.ceil(a.size / 1024)} KB)</li>`)}</ul>` : ''}` : ''}
${ctx.status === 'held'
      ? html`<div class="two-col">
<form method="post" action="/staff/quarantine/${ctx.id}/release" novalidate><input type="hidden" name="_csrf" value="${s.csrf}"><h2>${label('release')}</h2>
<div class="${n.cls}"><label for="release-narrative">${label('summary')}</label><p class="hint">${label('releaseHint')}</p>${n.message}<textarea id="release-narrative" name="narrative" maxlength="20000"${n.attrs}>${ctx.values?.narrative ?? ''}</textarea></div>
<button type="submit">${label('release')}</button></form>
<form method="post" action="/staff/quarantine/${ctx.id}/discard" novalidate><input type="hidden" name="_csrf" value="${s.csrf}"><h2>${label('discard')}</h2>
<div class="${r.cls}"><label for="discard-reason">${label('discardReason')}</label>${r.message}<input type="text" id="discard-reason" name="reason" maxlength="1000" value="${ctx.values?.reason ?? ''}"${r.attrs}></div>
<button type="submit" class="danger">${label('discard')}</button></form></div>`
      : html`<p>${ctx.status}</p>`}`,
    { hasErrors: Object.keys(errors).length > 0 },
  );
}

// ---- notices ----

export function noticesPage(s: Shell, ctx: { items: { id: string; kind: string; clueId: string | null; callbackId: string | null; zh: string; en: string; createdAt: Date }[]; seenBefore: Date | null }) {
  const { locale } = s;
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  return layout(
    s,
    label('noticesTitle'),
    html`<h1>${label('noticesTitle')}</h1>${ctx.items.length === 0 ? html`<p>${label('noNotices')}</p>` : ''}
<ul class="cards" id="notices">${ctx.items.map((n) => {
      const fresh = !ctx.seenBefore || n.createdAt > ctx.seenBefore;
      return html`<li class="card${fresh ? ' fresh' : ''}">${fresh ? html`<span class="tag new">${label('new')}</span> ` : ''}<span>${pick(locale, n)}</span>
<p class="meta">${dateTime(n.createdAt, locale)}${n.clueId ? html` · <a href="/staff/clues/${n.clueId}">${label('theClue')}</a>` : ''}${n.callbackId ? html` · <a href="/staff/callbacks#cb-${n.callbackId}">${label('theCallback')}</a>` : ''}</p></li>`;
    })}</ul>`,
  );
}

export function errorPage(s: Shell, title: string, text: string) {
  return layout(s, title, html`<h1>${title}</h1><p>${text}</p><p><a href="/staff">${ct(s.locale, 'navQueue')}</a></p>`);
}

/** Account and security: two-factor sign-in on or off, and the way to turn it on. */
export function accountPage(s: Shell, ctx: { twoFactorOn: boolean; required: boolean; error?: string }) {
  const { locale } = s;
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  return layout(
    s,
    label('accountTitle'),
    html`<h1>${label('accountTitle')}</h1>
<section class="card" id="two-factor"><h2>${label('twoFactor')}</h2>
${ctx.error ? html`<p class="error-text" role="alert" id="enrol-error">${ctx.error}</p>` : ''}
${ctx.twoFactorOn
      ? html`<p id="two-factor-state">✓ ${label('twoFactorOn')}</p>`
      : html`${ctx.required ? html`<p class="notice" role="status">${label('twoFactorNeeded')}</p>` : ''}<p id="two-factor-state">${label('twoFactorOff')}</p>
<form method="post" action="/staff/account/totp"><input type="hidden" name="_csrf" value="${s.csrf}"><button type="submit" id="totp-start">${label('twoFactorStart')}</button></form>`}
</section>`,
    { bare: ctx.required && !ctx.twoFactorOn },
  );
}

/** The QR code (inline SVG: no script, no style attribute) and the key, with the confirming form. */
export function enrolPage(s: Shell, ctx: { qrSvg: string; secret: string }) {
  const { locale } = s;
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  const grouped = ctx.secret.replace(/(.{4})(?=.)/g, '$1 ');
  return layout(
    s,
    label('enrolTitle'),
    html`<h1>${label('enrolTitle')}</h1><p>${label('enrolScan')}</p>
<figure class="qr" id="totp-qr">${raw(ctx.qrSvg)}</figure>
<p>${label('enrolKey')}: <code id="totp-secret" class="secret">${grouped}</code></p>
<form method="post" action="/staff/account/totp/confirm" novalidate><input type="hidden" name="_csrf" value="${s.csrf}">
<div class="field"><label for="code">${label('enrolCode')}</label><input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="10" required></div>
<button type="submit">${label('enrolConfirm')}</button></form>`,
    { bare: true },
  );
}

export function recoveryCodesPage(s: Shell, ctx: { codes: string[] }) {
  const { locale } = s;
  const label = (k: Parameters<typeof ct>[1]) => ct(locale, k);
  return layout(
    s,
    label('recoveryTitle'),
    html`<h1>${label('recoveryTitle')}</h1><p>${label('recoveryText')}</p>
<ol class="recovery-codes" id="recovery-codes">${ctx.codes.map((c) => html`<li><code>${c}</code></li>`)}</ol>
<p><a href="/staff">${label('backToQueue')}</a></p>`,
  );
}
