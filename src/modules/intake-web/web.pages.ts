import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { Locale } from '../../app/templates.ts';
import { type AccusedRole, accusedRoles, categories } from '../clues/clue.entity.ts';
import { officeHoursText, type PublicContact } from '../contact/contact.usecases.ts';
import { uploadLimitsText } from '../attachments/uploads.ts';
import { accusedRoleLabels, categoryLabels, label, t } from './web.i18n.ts';
import { assetUrl } from './web.assets.ts';
import { promiseSentences, type ReporterDeadline } from './web.promises.ts';

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface UnitOption {
  id: string;
  name: string;
  nameEn: string | null;
  kind: string;
  parentId: string | null;
}

/** A field's error, by the id of the element the summary links to. */
export interface FieldError {
  field: string;
  message: string;
}

const dateTime = (d: Date, locale: Locale) =>
  new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : 'zh-CN', { timeZone: 'Asia/Shanghai', dateStyle: 'medium', timeStyle: 'short' }).format(d);

/** The accused's role choices, "not sure" first: nobody is filed as an official by default. */
const roleOrder: AccusedRole[] = ['unknown', ...accusedRoles.filter((r) => r !== 'unknown')];

export function layout(
  locale: Locale,
  page: { title: string | null; path: string; query?: string; hasErrors?: boolean; contact?: PublicContact; header?: Html },
  body: Html,
) {
  const other = locale === 'en' ? 'zh-CN' : 'en';
  const site = t(locale, 'siteName');
  // The site name once: the home page is titled by it alone.
  const title = `${page.hasErrors ? t(locale, 'errorTitle') : ''}${page.title ? `${page.title} · ${site}` : site}`;
  const switchQuery = [page.query, `lang=${other}`].filter(Boolean).join('&');
  return html`<!doctype html>
<html lang="${locale}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${title}</title>
<link rel="stylesheet" href="${assetUrl('site.css')}"><script src="${assetUrl('site.js')}" defer></script></head>
<body><a class="skip-link" href="#main">${t(locale, 'skipLink')}</a>
<header class="site-header"><div class="inner"><a class="site-name" href="/?lang=${locale}">${site}</a>
<div class="header-links">${page.header ?? ''}<a href="${page.path}?${switchQuery}" lang="${other}" hreflang="${other}">${t(locale, 'switchLang')}</a></div></div></header>
<main id="main" tabindex="-1">${body}</main>
${page.contact ? html`<footer class="site-footer">${contactBox(locale, page.contact)}</footer>` : ''}
</body></html>`;
}

/** The published hotline: numbers, office hours, the report address (seeds 000, 002, 003). */
function contactBox(locale: Locale, c: PublicContact) {
  const tel = (n: string) => `tel:${n.replace(/[^\d+]/g, '')}`;
  return html`<section class="contact" aria-labelledby="contact-title"><h2 id="contact-title">${t(locale, 'contactTitle')}</h2>
${c.numbers.length
  ? html`<p>${t(locale, 'hotline')}${locale === 'en' ? ': ' : '：'}${c.numbers.map((n, i) => html`${i ? (locale === 'en' ? ', ' : '、') : ''}<a class="tel" href="${tel(n)}">${n}</a>`)}<br>
<span id="office-hours">${officeHoursText(locale, c.hours)}</span></p>`
  : html`<p>${t(locale, 'noHotlineYet')}</p>`}
${c.email ? html`<p>${t(locale, 'reportEmail')}${locale === 'en' ? ': ' : '：'}<a class="mail" href="mailto:${c.email}">${c.email}</a></p>` : ''}
</section>`;
}

export function homePage(locale: Locale, contact: PublicContact) {
  return layout(
    locale,
    { title: null, path: '/' },
    html`<h1>${t(locale, 'siteName')}</h1><p>${t(locale, 'homeIntro')}</p>
<p class="actions"><a class="button" href="/report?lang=${locale}">${t(locale, 'startReport')}</a>
<a class="button secondary" href="/follow-up?lang=${locale}">${t(locale, 'followUp')}</a></p>
${contactBox(locale, contact)}`,
  );
}

/** The values a failed submission is re-shown with (files cannot be kept; an anonymous report's contact is dropped). */
export interface ReportFormValues {
  narrative?: string;
  occurredWhen?: string;
  unitId?: string;
  categories?: string[];
  accused?: { name?: string; role?: string; unitId?: string }[];
  identity?: 'anonymous' | 'named';
  name?: string;
  phone?: string;
  email?: string;
  consentToShare?: boolean;
  notifyProgress?: boolean;
}

function unitOptions(locale: Locale, units: UnitOption[], selected: string | undefined, blank: string) {
  const name = (u: UnitOption) => (locale === 'en' && u.nameEn ? u.nameEn : u.name);
  const tops = units.filter((u) => u.kind === 'street' || u.kind === 'town');
  return html`<option value="">${blank}</option>${tops.map(
    (top) => html`<optgroup label="${name(top)}">
<option value="${top.id}" ${selected === top.id ? 'selected' : ''}>${name(top)}${t(locale, top.kind === 'town' ? 'wholeTown' : 'wholeStreet')}</option>
${units
  .filter((u) => u.parentId === top.id)
  .map((u) => html`<option value="${u.id}" ${selected === u.id ? 'selected' : ''}>${name(u)}</option>`)}
</optgroup>`,
  )}`;
}

/** Error text, `aria-invalid` and `aria-describedby` of one field (GOV.UK pattern). */
function fieldState(errors: FieldError[], id: string, hint?: string) {
  const error = errors.find((e) => e.field === id);
  const describedBy = [hint, error ? `${id}-error` : undefined].filter(Boolean).join(' ');
  return {
    error,
    message: error ? html`<p class="error-message" id="${id}-error">${error.message}</p>` : '',
    attrs: html`${describedBy ? html` aria-describedby="${describedBy}"` : ''}${error ? html` aria-invalid="true"` : ''}`,
    cls: error ? 'field field-error' : 'field',
  };
}

function errorSummary(locale: Locale, errors: FieldError[], extra?: string) {
  if (!errors.length) return '';
  return html`<div class="error-summary" role="alert" tabindex="-1" id="error-summary" autofocus aria-labelledby="error-summary-title">
<h2 id="error-summary-title">${t(locale, 'fixErrors')}</h2>
<ul>${errors.map((e) => html`<li><a href="#${e.field}">${e.message}</a></li>`)}</ul>${extra ? html`<p>${extra}</p>` : ''}</div>`;
}

function textInput(
  errors: FieldError[],
  f: { id: string; name?: string; label: string; hint?: string; value?: string; type?: 'text' | 'tel' | 'email'; extra?: string },
) {
  const s = fieldState(errors, f.id, f.hint ? `${f.id}-hint` : undefined);
  return html`<div class="${s.cls}"><label for="${f.id}">${f.label}</label>
${f.hint ? html`<p class="hint" id="${f.id}-hint">${f.hint}</p>` : ''}${s.message}
<input type="${f.type ?? 'text'}" id="${f.id}" name="${f.name ?? f.id}" value="${f.value ?? ''}"${s.attrs} ${raw(f.extra ?? '')}></div>`;
}

export function reportPage(
  locale: Locale,
  ctx: { csrf: string; units: UnitOption[]; contact: PublicContact; values?: ReportFormValues; errors?: FieldError[] },
) {
  const v = ctx.values ?? {};
  const errors = ctx.errors ?? [];
  const accusedRows = [0, 1, 2].map((i) => v.accused?.[i] ?? {});
  const named = v.identity === 'named';
  const narrative = fieldState(errors, 'narrative', 'narrative-hint');
  const unit = fieldState(errors, 'unitId', 'unitId-hint');
  const files = fieldState(errors, 'files', 'files-hint');
  const districtOnly = !ctx.units.some((u) => u.kind === 'street' || u.kind === 'town');
  return layout(
    locale,
    { title: t(locale, 'reportTitle'), path: '/report', hasErrors: errors.length > 0, contact: ctx.contact },
    html`<h1>${t(locale, 'reportTitle')}</h1>
${errorSummary(locale, errors, t(locale, 'reselectFiles'))}
<form method="post" action="/report?lang=${locale}" enctype="multipart/form-data" novalidate data-upload>
<input type="hidden" name="_csrf" value="${ctx.csrf}">
<div class="${narrative.cls}"><label for="narrative">${t(locale, 'whatHappened')}</label>
<p class="hint" id="narrative-hint">${t(locale, 'whatHappenedHint')}</p>${narrative.message}
<textarea id="narrative" name="narrative" required minlength="5" maxlength="20000"${narrative.attrs}>${v.narrative ?? ''}</textarea></div>
${textInput(errors, { id: 'occurredWhen', label: t(locale, 'when'), hint: t(locale, 'whenHint'), value: v.occurredWhen, extra: 'maxlength="200"' })}
<div class="${unit.cls}"><label for="unitId">${t(locale, 'where')}</label>
<p class="hint" id="unitId-hint">${t(locale, districtOnly ? 'whereDistrictOnly' : 'whereHint')}</p>${unit.message}
<select id="unitId" name="unitId"${unit.attrs}>${unitOptions(locale, ctx.units, v.unitId, t(locale, 'whereUnknown'))}</select></div>
<fieldset><legend>${t(locale, 'categories')}</legend>
${categories.map(
  (c) => html`<label class="choice"><input type="checkbox" id="category-${c}" name="categories" value="${c}" ${v.categories?.includes(c) ? 'checked' : ''}><span>${label(locale, categoryLabels[c])}</span></label>`,
)}</fieldset>
<fieldset aria-describedby="accused-hint"><legend>${t(locale, 'accusedTitle')}</legend>
<p class="hint" id="accused-hint">${t(locale, 'accusedHint')}</p>
${accusedRows.map((a, i) => accusedRow(locale, ctx.units, errors, a, i))}</fieldset>
<div class="${files.cls}"><label for="files">${t(locale, 'files')}</label>
<p class="hint" id="files-hint">${t(locale, 'filesHint')}</p>
<details><summary>${t(locale, 'filesDetails')}</summary><p>${uploadLimitsText(locale)}</p></details>${files.message}
<input type="file" id="files" name="files" multiple accept="image/jpeg,image/png,image/gif,image/webp,application/pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.txt,audio/*"${files.attrs}></div>
<fieldset><legend>${t(locale, 'identityTitle')}</legend>
<p class="notice">${t(locale, 'identityNotice')}</p>
<label class="choice"><input type="radio" name="identity" value="anonymous" ${named ? '' : 'checked'}><span>${t(locale, 'anonymous')}</span></label>
<label class="choice"><input type="radio" name="identity" value="named" ${named ? 'checked' : ''}><span>${t(locale, 'named')}</span></label>
${namedFields(locale, errors, v)}
</fieldset>
<div class="progress" hidden><label for="upload-progress">${t(locale, 'uploading')}</label><progress id="upload-progress" max="100" value="0"></progress></div>
<button type="submit">${t(locale, 'submit')}</button>
</form>`,
  );
}

function accusedRow(locale: Locale, units: UnitOption[], errors: FieldError[], a: { name?: string; role?: string; unitId?: string }, i: number) {
  const role = fieldState(errors, `accused-${i}-role`);
  const unit = fieldState(errors, `accused-${i}-unit`);
  const selectedRole = a.role && (roleOrder as string[]).includes(a.role) ? a.role : 'unknown';
  return html`<fieldset class="person"><legend>${t(locale, 'accusedPerson').replace('{n}', String(i + 1))}</legend>
${textInput(errors, { id: `accused-${i}-name`, name: `accused[${i}][name]`, label: `${t(locale, 'accusedName')} ${i + 1}`, value: a.name, extra: 'maxlength="200"' })}
<div class="${role.cls}"><label for="accused-${i}-role">${t(locale, 'accusedRole')} ${i + 1}</label>${role.message}
<select id="accused-${i}-role" name="accused[${i}][role]"${role.attrs}>${roleOrder.map(
    (r) => html`<option value="${r}" ${selectedRole === r ? 'selected' : ''}>${label(locale, accusedRoleLabels[r])}</option>`,
  )}</select></div>
<div class="${unit.cls}"><label for="accused-${i}-unit">${t(locale, 'accusedUnit')} ${i + 1}</label>${unit.message}
<select id="accused-${i}-unit" name="accused[${i}][unitId]"${unit.attrs}>${unitOptions(locale, units, a.unitId, t(locale, 'whereUnknown'))}</select></div>
</fieldset>`;
}

/** Name, phone, email and the two consents: shown (and sent) only for a named report when the page script runs. */
function namedFields(locale: Locale, errors: FieldError[], v: ReportFormValues) {
  const notify = v.notifyProgress === true;
  return html`<fieldset id="named-fields"><legend>${t(locale, 'contactFields')}</legend>
<p class="hint nojs-only" id="named-only-hint">${t(locale, 'namedOnly')}</p>
<p class="hint" id="contact-hint">${t(locale, 'contactHint')}</p>
${textInput(errors, { id: 'name', label: t(locale, 'yourName'), value: v.name, extra: 'maxlength="200" autocomplete="name"' })}
${textInput(errors, { id: 'phone', label: t(locale, 'yourPhone'), type: 'tel', value: v.phone, hint: undefined, extra: 'maxlength="20" autocomplete="tel" inputmode="tel"' })}
${textInput(errors, { id: 'email', label: t(locale, 'yourEmail'), type: 'email', value: v.email, extra: 'maxlength="254" autocomplete="email"' })}
<label class="choice"><input type="checkbox" name="consentToShare" value="yes" ${v.consentToShare ? 'checked' : ''}><span>${t(locale, 'consent')}</span></label>
<fieldset aria-describedby="notify-hint"><legend>${t(locale, 'notifyQuestion')}</legend>
<p class="hint" id="notify-hint">${t(locale, 'notifyHint')}</p>
<label class="choice"><input type="radio" name="notifyProgress" value="yes" ${notify ? 'checked' : ''}><span>${t(locale, 'notifyYes')}</span></label>
<label class="choice"><input type="radio" name="notifyProgress" value="no" ${notify ? '' : 'checked'}><span>${t(locale, 'notifyNo')}</span></label>
</fieldset></fieldset>`;
}

/** "123456789012" (or "1234 5678 9012") in groups of four that wrap as groups on a narrow screen. */
function codeGroups(display: string) {
  return display
    .replace(/\s/g, '')
    .match(/.{1,4}/g)!
    .map((g, i) => html`${i ? ' ' : ''}<span class="group">${g}</span>`);
}

/** "ABCDE-FGHIJ-KLMNO-PQRST" as two halves that wrap only between them (the text stays the same). */
function secretGroups(secret: string) {
  const parts = secret.split('-');
  if (parts.length < 2) return secret;
  const half = Math.ceil(parts.length / 2);
  return html`<span class="group">${parts.slice(0, half).join('-')}-</span><span class="group">${parts.slice(half).join('-')}</span>`;
}

export function submittedPage(
  locale: Locale,
  r: { trackingCodeDisplay: string; secret: string; deadlines: ReporterDeadline[]; now: Date; contact: PublicContact },
) {
  const promises = promiseSentences(locale, r.deadlines, r.now);
  return layout(
    locale,
    { title: t(locale, 'doneTitle'), path: '/report', contact: r.contact },
    html`<h1>${t(locale, 'doneTitle')}</h1>
<p class="warn" role="alert">${t(locale, 'secretWarning')}</p>
<h2>${t(locale, 'trackingCode')}</h2><p class="code" id="tracking-code">${codeGroups(r.trackingCodeDisplay)}</p>
<h2>${t(locale, 'secret')}</h2><p class="code" id="secret">${secretGroups(r.secret)}</p>
${promises.length ? html`<h2>${t(locale, 'whatNext')}</h2><ul class="promises">${promises.map((p) => html`<li>${p.text}</li>`)}</ul>` : ''}
<p class="actions"><a class="button" href="/follow-up?lang=${locale}">${t(locale, 'followUp')}</a></p>`,
  );
}

export function followUpLoginPage(locale: Locale, ctx: { csrf: string; error?: string; code?: string; notice?: string; contact: PublicContact }) {
  const errors: FieldError[] = ctx.error ? [{ field: 'code', message: ctx.error }] : [];
  const code = fieldState(errors, 'code', 'code-hint');
  return layout(
    locale,
    { title: t(locale, 'followUpTitle'), path: '/follow-up', hasErrors: errors.length > 0, contact: ctx.contact },
    html`<h1>${t(locale, 'followUpTitle')}</h1>
${errorSummary(locale, errors)}
${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ''}
<p>${t(locale, 'followUpIntro')}</p>
<form method="post" action="/follow-up?lang=${locale}">
<input type="hidden" name="_csrf" value="${ctx.csrf}">
<div class="${code.cls}"><label for="code">${t(locale, 'trackingCode')}</label>
<p class="hint" id="code-hint">${t(locale, 'codeHint')}</p>${code.message}
<input type="text" id="code" name="code" inputmode="numeric" autocomplete="off" required value="${ctx.code ?? ''}"${code.attrs}></div>
<div class="${errors.length ? 'field field-error' : 'field'}"><label for="secret">${t(locale, 'secret')}</label>
<input type="text" id="secret" name="secret" autocomplete="off" autocapitalize="characters" spellcheck="false" required${errors.length ? html` aria-invalid="true" aria-describedby="code-error"` : ''}></div>
<button type="submit">${t(locale, 'open')}</button></form>`,
  );
}

export interface ReportView {
  trackingCode: string;
  trackingCodeDisplay: string;
  statusText: { zh: string; en: string };
  deadlines: ReporterDeadline[];
  history: { at: Date; zh: string; en: string }[];
  messages: { author: 'reporter' | 'staff'; body: string; createdAt: Date; attachments: { filename: string; size: number }[] }[];
}

export function reportStatusPage(
  locale: Locale,
  ctx: { csrf: string; view: ReportView; now: Date; contact: PublicContact; notice?: string; error?: FieldError; body?: string },
) {
  const v = ctx.view;
  const errors: FieldError[] = ctx.error ? [ctx.error] : [];
  const body = fieldState(errors, 'body');
  const files = fieldState(errors, 'files', 'files-hint');
  const promises = promiseSentences(locale, v.deadlines, ctx.now);
  const signOut = html`<form method="post" action="/follow-up/logout?lang=${locale}"><input type="hidden" name="_csrf" value="${ctx.csrf}"><button type="submit" class="link-button">${t(locale, 'signOut')}</button></form>`;
  return layout(
    locale,
    { title: t(locale, 'followUpTitle'), path: '/follow-up', hasErrors: errors.length > 0, contact: ctx.contact, header: signOut },
    html`<h1>${t(locale, 'trackingCode')} ${v.trackingCodeDisplay}</h1>
${errorSummary(locale, errors)}
${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ''}
<h2>${t(locale, 'status')}</h2><p id="status"><strong>${label(locale, v.statusText)}</strong></p>
${promises.length ? html`<h2>${t(locale, 'dates')}</h2><ul class="promises" id="promises">${promises.map((p) => html`<li class="${p.met ? 'met' : ''}">${p.met ? '✓ ' : ''}${p.text}</li>`)}</ul>` : ''}
<h2>${t(locale, 'history')}</h2><ul class="plain" id="history">${v.history.map((h) => html`<li><span class="meta">${dateTime(h.at, locale)}</span> ${label(locale, h)}</li>`)}</ul>
<h2>${t(locale, 'thread')}</h2>
<div id="thread">${v.messages.length === 0 ? html`<p>${t(locale, 'noMessages')}</p>` : ''}${v.messages.map(
      (m) => html`<div class="msg ${m.author}"><p class="meta">${m.author === 'staff' ? t(locale, 'staff') : t(locale, 'you')} · <time>${dateTime(m.createdAt, locale)}</time></p>
<p class="body">${m.body}</p>${m.attachments.map((a) => html`<p class="meta">📎 ${a.filename} (${Math.ceil(a.size / 1024)} KB)</p>`)}</div>`,
    )}</div>
<form method="post" action="/follow-up/messages?lang=${locale}" enctype="multipart/form-data" novalidate data-upload>
<input type="hidden" name="_csrf" value="${ctx.csrf}">
<div class="${body.cls}"><label for="body">${t(locale, 'yourMessage')}</label>${body.message}
<textarea id="body" name="body" required maxlength="20000"${body.attrs}>${ctx.body ?? ''}</textarea></div>
<div class="${files.cls}"><label for="files">${t(locale, 'files')}</label>
<p class="hint" id="files-hint">${t(locale, 'filesHint')}</p>
<details><summary>${t(locale, 'filesDetails')}</summary><p>${uploadLimitsText(locale)}</p></details>${files.message}
<input type="file" id="files" name="files" multiple${files.attrs}></div>
<div class="progress" hidden><label for="upload-progress">${t(locale, 'uploading')}</label><progress id="upload-progress" max="100" value="0"></progress></div>
<button type="submit">${t(locale, 'send')}</button></form>`,
  );
}
