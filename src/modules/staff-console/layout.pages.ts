import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { Locale } from '../../app/templates.ts';
import { consoleAssetUrl } from './console.assets.ts';
import { ct, pick } from './console.i18n.ts';

/** The staff console's page frame and the helpers every page shares: the layout, form fields, dates and deadline clocks. */
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

/**
 * The notices badge counts up to this many and then shows "9+": it is on every page, and each
 * candidate notice is checked against the visibility rule (its clue), so reading 10 instead of 50
 * makes the badge a fifth of the work (bench/README "console").
 */
export const NOTICE_BADGE_CAP = 9;

export interface Shell {
  locale: Locale;
  csrf: string;
  path: string;
  query?: string;
  user?: { username: string; role: string };
  /** New notices, counted up to NOTICE_BADGE_CAP + 1. */
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

export const unitName = (locale: Locale, u: UnitOption | undefined) => (u ? (locale === 'en' && u.nameEn ? u.nameEn : u.name) : '');

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
<li><a href="/staff/notices" id="notices-link" ${s.path === '/staff/notices' ? html`aria-current="page"` : ''}>${ct(locale, 'navNotices')}${s.newNotices ? html` <span class="badge" id="notice-badge"><span class="count">${s.newNotices > NOTICE_BADGE_CAP ? `${NOTICE_BADGE_CAP}+` : s.newNotices}</span><span class="visually-hidden"> ${ct(locale, 'newNotices')}</span></span>` : ''}</a></li>
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

export function errorSummary(locale: Locale, errors: Errors) {
  const list = Object.entries(errors);
  if (!list.length) return '';
  return html`<div class="error-summary" role="alert" tabindex="-1" id="error-summary" aria-labelledby="error-summary-title">
<h2 id="error-summary-title">${ct(locale, 'fixErrors')}</h2>
<ul>${list.map(([field, message]) => html`<li><a href="#${field}">${message}</a></li>`)}</ul></div>`;
}

export function fieldError(errors: Errors, id: string) {
  const message = errors[id];
  return {
    message: message ? html`<p class="error-message" id="${id}-error">${message}</p>` : '',
    attrs: message ? html` aria-invalid="true" aria-describedby="${id}-error"` : '',
    cls: message ? 'field field-error' : 'field',
  };
}

export function input(errors: Errors, f: { id: string; name?: string; label: string; value?: string; type?: string; hint?: string; extra?: string; required?: boolean }) {
  const e = fieldError(errors, f.id);
  const hintId = f.hint ? `${f.id}-hint` : '';
  const described = [hintId, errors[f.id] ? `${f.id}-error` : ''].filter(Boolean).join(' ');
  return html`<div class="${e.cls}"><label for="${f.id}">${f.label}</label>${f.hint ? html`<p class="hint" id="${hintId}">${f.hint}</p>` : ''}${e.message}
<input type="${f.type ?? 'text'}" id="${f.id}" name="${f.name ?? f.id}" value="${f.value ?? ''}"${described ? html` aria-describedby="${described}"` : ''}${errors[f.id] ? html` aria-invalid="true"` : ''}${f.required ? html` required` : ''}${f.extra ? raw(` ${f.extra}`) : ''}></div>`;
}

export function options<T extends string>(values: readonly T[], labelOf: (v: T) => string, selected: string | undefined, blank?: string) {
  return html`${blank !== undefined ? html`<option value="">${blank}</option>` : ''}${values.map((v) => html`<option value="${v}" ${selected === v ? 'selected' : ''}>${labelOf(v)}</option>`)}`;
}

export function unitOptions(locale: Locale, units: UnitOption[], selected: string | undefined, blank?: string) {
  return html`${blank !== undefined ? html`<option value="">${blank}</option>` : ''}${units.map(
    (u) => html`<option value="${u.id}" ${selected === u.id ? 'selected' : ''}>${'　'.repeat(u.depth)}${unitName(locale, u)}</option>`,
  )}`;
}


export function errorPage(s: Shell, title: string, text: string) {
  return layout(s, title, html`<h1>${title}</h1><p>${text}</p><p><a href="/staff">${ct(s.locale, 'navQueue')}</a></p>`);
}
