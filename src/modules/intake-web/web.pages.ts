import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { Locale } from '../../app/templates.ts';
import { accusedRoles, categories } from '../clues/clue.entity.ts';
import { accusedRoleLabels, categoryLabels, label, t } from './web.i18n.ts';
import { uploadLimitsText } from '../attachments/uploads.ts';

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

export interface UnitOption {
  id: string;
  name: string;
  nameEn: string | null;
  kind: string;
  parentId: string | null;
}

const css = `
*{box-sizing:border-box}body{margin:0;font:16px/1.6 system-ui,"PingFang SC","Microsoft YaHei",sans-serif;color:#1a1a1a;background:#f6f6f4}
header{background:#9b1c1c;color:#fff;padding:.75rem 1rem;display:flex;justify-content:space-between;align-items:center}
header a{color:#fff}main{max-width:40rem;margin:0 auto;padding:1rem}
h1{font-size:1.4rem}h2{font-size:1.15rem;margin-top:1.5rem}fieldset{border:1px solid #ccc;border-radius:6px;margin:1rem 0;padding:.75rem}
label{display:block;font-weight:600;margin:.75rem 0 .25rem}label.inline{display:flex;gap:.5rem;font-weight:400;align-items:flex-start}
input[type=text],input[type=tel],input[type=email],textarea,select{width:100%;padding:.6rem;font:inherit;border:1px solid #888;border-radius:4px;background:#fff}
textarea{min-height:10rem}.hint{color:#555;font-size:.9rem;margin:.2rem 0}
button{font:inherit;font-weight:700;background:#9b1c1c;color:#fff;border:0;border-radius:6px;padding:.8rem 1.4rem;margin-top:1rem;width:100%}
.errors{border:2px solid #b00;background:#fff0f0;padding:.75rem;border-radius:6px}.error{color:#b00;font-weight:600}
.code{font:700 clamp(1.2rem,7vw,2rem)/1.3 ui-monospace,monospace;letter-spacing:.05em;background:#fff;border:2px dashed #9b1c1c;padding:.75rem;text-align:center;user-select:all;overflow-wrap:anywhere}#tracking-code{white-space:nowrap}
.warn{background:#fff7d6;border-left:4px solid #c90;padding:.75rem}.notice{background:#eef5ff;border-left:4px solid #36c;padding:.75rem}
.msg{background:#fff;border:1px solid #ddd;border-radius:6px;padding:.5rem .75rem;margin:.5rem 0}.msg.staff{border-left:4px solid #36c}.msg.reporter{border-left:4px solid #9b1c1c}
.meta{color:#555;font-size:.85rem}ul.plain{padding-left:1.2rem}
`;

const date = (d: Date, locale: Locale) =>
  new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : 'zh-CN', { timeZone: 'Asia/Shanghai', dateStyle: 'long' }).format(d);
const dateTime = (d: Date, locale: Locale) =>
  new Intl.DateTimeFormat(locale === 'en' ? 'en-GB' : 'zh-CN', { timeZone: 'Asia/Shanghai', dateStyle: 'medium', timeStyle: 'short' }).format(d);

export function layout(locale: Locale, title: string, path: string, body: Html) {
  const other = locale === 'en' ? 'zh-CN' : 'en';
  return html`<!doctype html>
<html lang="${locale}">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer"><title>${title} · ${t(locale, 'siteName')}</title><style>${css}</style></head>
<body><header><a href="/?lang=${locale}"><strong>${t(locale, 'siteName')}</strong></a>
<a href="${path}?lang=${other}" lang="${other}">${t(locale, 'switchLang')}</a></header>
<main>${body}</main></body></html>`;
}

export function homePage(locale: Locale) {
  return layout(
    locale,
    t(locale, 'siteName'),
    '/',
    html`<h1>${t(locale, 'siteName')}</h1><p>${t(locale, 'homeIntro')}</p>
<p><a href="/report?lang=${locale}">${t(locale, 'startReport')}</a></p>
<p><a href="/follow-up?lang=${locale}">${t(locale, 'followUp')}</a></p>`,
  );
}

/** The values a failed submission is re-shown with (files cannot be kept). */
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
}

function unitOptions(locale: Locale, units: UnitOption[], selected: string | undefined, blank: string) {
  const name = (u: UnitOption) => (locale === 'en' && u.nameEn ? u.nameEn : u.name);
  const tops = units.filter((u) => u.kind === 'street' || u.kind === 'town');
  return html`<option value="">${blank}</option>${tops.map(
    (top) => html`<optgroup label="${name(top)}">
<option value="${top.id}" ${selected === top.id ? 'selected' : ''}>${name(top)} ${t(locale, 'wholeUnit')}</option>
${units
  .filter((u) => u.parentId === top.id)
  .map((u) => html`<option value="${u.id}" ${selected === u.id ? 'selected' : ''}>${name(u)}</option>`)}
</optgroup>`,
  )}`;
}

export function reportPage(
  locale: Locale,
  ctx: { csrf: string; units: UnitOption[]; values?: ReportFormValues; errors?: { field: string; message: string }[] },
) {
  const v = ctx.values ?? {};
  const errors = ctx.errors ?? [];
  const errorFor = (field: string) => errors.filter((e) => e.field === field).map((e) => html`<p class="error" id="${field}-error">${e.message}</p>`);
  const describedBy = (field: string, hint?: string) =>
    [hint, errors.some((e) => e.field === field) ? `${field}-error` : undefined].filter(Boolean).join(' ');
  const accusedRows = [0, 1, 2].map((i) => v.accused?.[i] ?? {});
  const named = v.identity === 'named';
  return layout(
    locale,
    t(locale, 'reportTitle'),
    '/report',
    html`<h1>${t(locale, 'reportTitle')}</h1>
${errors.length
  ? html`<div class="errors" role="alert" tabindex="-1" id="error-summary"><p><strong>${t(locale, 'fixErrors')}</strong></p>
<ul>${errors.map((e) => html`<li><a href="#${e.field}">${e.message}</a></li>`)}</ul><p>${t(locale, 'reselectFiles')}</p></div>`
  : ''}
<form method="post" action="/report?lang=${locale}" enctype="multipart/form-data" novalidate>
<input type="hidden" name="_csrf" value="${ctx.csrf}">
<label for="narrative">${t(locale, 'whatHappened')}</label>
<p class="hint" id="narrative-hint">${t(locale, 'whatHappenedHint')}</p>
${errorFor('narrative')}
<textarea id="narrative" name="narrative" required minlength="5" maxlength="20000" aria-describedby="${describedBy('narrative', 'narrative-hint')}">${v.narrative ?? ''}</textarea>
<label for="occurredWhen">${t(locale, 'when')}</label>
<p class="hint" id="when-hint">${t(locale, 'whenHint')}</p>
<input type="text" id="occurredWhen" name="occurredWhen" maxlength="200" value="${v.occurredWhen ?? ''}" aria-describedby="when-hint">
<label for="unitId">${t(locale, 'where')}</label>
${errorFor('unitId')}
<select id="unitId" name="unitId">${unitOptions(locale, ctx.units, v.unitId, t(locale, 'whereUnknown'))}</select>
<fieldset><legend>${t(locale, 'categories')}</legend>
${categories.map(
  (c) => html`<label class="inline"><input type="checkbox" name="categories" value="${c}" ${v.categories?.includes(c) ? 'checked' : ''}> ${label(locale, categoryLabels[c])}</label>`,
)}</fieldset>
<fieldset><legend>${t(locale, 'accusedTitle')}</legend>
${errorFor('accused')}
${accusedRows.map(
  (a, i) => html`<div><label for="accused-${i}-name">${t(locale, 'accusedName')} ${i + 1}</label>
<input type="text" id="accused-${i}-name" name="accused[${i}][name]" maxlength="200" value="${a.name ?? ''}">
<label for="accused-${i}-role">${t(locale, 'accusedRole')} ${i + 1}</label>
<select id="accused-${i}-role" name="accused[${i}][role]">${accusedRoles.map(
    (r) => html`<option value="${r}" ${a.role === r ? 'selected' : ''}>${label(locale, accusedRoleLabels[r])}</option>`,
  )}</select>
<label for="accused-${i}-unit">${t(locale, 'accusedUnit')} ${i + 1}</label>
<select id="accused-${i}-unit" name="accused[${i}][unitId]">${unitOptions(locale, ctx.units, a.unitId, t(locale, 'whereUnknown'))}</select></div>`,
)}</fieldset>
<label for="files">${t(locale, 'files')}</label>
<p class="hint" id="files-hint">${uploadLimitsText(locale)}</p>
${errorFor('files')}
<input type="file" id="files" name="files" multiple accept="image/jpeg,image/png,image/gif,image/webp,application/pdf,.doc,.docx,.xls,.xlsx,.ppt,.pptx,.txt,audio/*" aria-describedby="${describedBy('files', 'files-hint')}">
<fieldset><legend>${t(locale, 'identityTitle')}</legend>
<p class="notice">${t(locale, 'identityNotice')}</p>
<label class="inline"><input type="radio" name="identity" value="anonymous" ${named ? '' : 'checked'}> ${t(locale, 'anonymous')}</label>
<label class="inline"><input type="radio" name="identity" value="named" ${named ? 'checked' : ''}> ${t(locale, 'named')}</label>
<p class="hint" id="contact-hint">${t(locale, 'contactHint')}</p>
${errorFor('reporter')}
<label for="name">${t(locale, 'yourName')}</label>
<input type="text" id="name" name="name" maxlength="200" autocomplete="name" value="${v.name ?? ''}" aria-describedby="contact-hint">
<label for="phone">${t(locale, 'yourPhone')}</label>
<input type="tel" id="phone" name="phone" maxlength="20" autocomplete="tel" value="${v.phone ?? ''}">
<label for="email">${t(locale, 'yourEmail')}</label>
<input type="email" id="email" name="email" maxlength="254" autocomplete="email" value="${v.email ?? ''}">
<label class="inline"><input type="checkbox" name="consentToShare" value="yes" ${v.consentToShare ? 'checked' : ''}> ${t(locale, 'consent')}</label>
</fieldset>
<button type="submit">${t(locale, 'submit')}</button>
</form>`,
  );
}

export function submittedPage(locale: Locale, r: { trackingCodeDisplay: string; secret: string }) {
  return layout(
    locale,
    t(locale, 'doneTitle'),
    '/report',
    html`<h1>${t(locale, 'doneTitle')}</h1>
<p class="warn" role="alert">${t(locale, 'secretWarning')}</p>
<h2>${t(locale, 'trackingCode')}</h2><p class="code" id="tracking-code">${r.trackingCodeDisplay}</p>
<h2>${t(locale, 'secret')}</h2><p class="code" id="secret">${r.secret}</p>
<p><a href="/follow-up?lang=${locale}">${t(locale, 'followUp')}</a></p>`,
  );
}

export function followUpLoginPage(locale: Locale, ctx: { csrf: string; error?: string; code?: string }) {
  return layout(
    locale,
    t(locale, 'followUpTitle'),
    '/follow-up',
    html`<h1>${t(locale, 'followUpTitle')}</h1><p>${t(locale, 'followUpIntro')}</p>
${ctx.error ? html`<p class="errors" role="alert">${ctx.error}</p>` : ''}
<form method="post" action="/follow-up?lang=${locale}">
<input type="hidden" name="_csrf" value="${ctx.csrf}">
<label for="code">${t(locale, 'trackingCode')}</label>
<input type="text" id="code" name="code" inputmode="numeric" autocomplete="off" required value="${ctx.code ?? ''}">
<label for="secret">${t(locale, 'secret')}</label>
<input type="text" id="secret" name="secret" autocomplete="off" autocapitalize="characters" required>
<button type="submit">${t(locale, 'open')}</button></form>`,
  );
}

export interface ReportView {
  trackingCode: string;
  trackingCodeDisplay: string;
  statusText: { zh: string; en: string };
  deadlines: { zh: string; en: string; due: Date; met: boolean }[];
  history: { at: Date; zh: string; en: string }[];
  messages: { author: 'reporter' | 'staff'; body: string; createdAt: Date; attachments: { filename: string; size: number }[] }[];
}

export function reportStatusPage(locale: Locale, ctx: { csrf: string; secret: string; view: ReportView; notice?: string; error?: string }) {
  const v = ctx.view;
  return layout(
    locale,
    t(locale, 'followUpTitle'),
    '/follow-up',
    html`<h1>${t(locale, 'trackingCode')} ${v.trackingCodeDisplay}</h1>
${ctx.notice ? html`<p class="notice" role="status">${ctx.notice}</p>` : ''}
<h2>${t(locale, 'status')}</h2><p id="status"><strong>${label(locale, v.statusText)}</strong></p>
<h2>${t(locale, 'dates')}</h2><ul class="plain">${v.deadlines.map(
      (d) => html`<li>${label(locale, d)}: ${t(locale, 'dueBy')} ${date(d.due, locale)}${d.met ? html` ✓ ${t(locale, 'done')}` : ''}</li>`,
    )}</ul>
<h2>${t(locale, 'history')}</h2><ul class="plain">${v.history.map((h) => html`<li><span class="meta">${dateTime(h.at, locale)}</span> ${label(locale, h)}</li>`)}</ul>
<h2>${t(locale, 'thread')}</h2>
<div id="thread">${v.messages.length === 0 ? html`<p>${t(locale, 'noMessages')}</p>` : ''}${v.messages.map(
      (m) => html`<div class="msg ${m.author}"><p class="meta">${m.author === 'staff' ? t(locale, 'staff') : t(locale, 'you')} · ${dateTime(m.createdAt, locale)}</p>
<p style="white-space:pre-wrap">${m.body}</p>${m.attachments.map((a) => html`<p class="meta">📎 ${a.filename} (${Math.ceil(a.size / 1024)} KB)</p>`)}</div>`,
    )}</div>
${ctx.error ? html`<p class="errors" role="alert">${ctx.error}</p>` : ''}
<form method="post" action="/follow-up/messages?lang=${locale}" enctype="multipart/form-data">
<input type="hidden" name="_csrf" value="${ctx.csrf}">
<input type="hidden" name="code" value="${v.trackingCode}">
<input type="hidden" name="secret" value="${ctx.secret}">
<label for="body">${t(locale, 'yourMessage')}</label>
<textarea id="body" name="body" required maxlength="20000"></textarea>
<label for="files">${t(locale, 'files')}</label>
<p class="hint" id="files-hint">${uploadLimitsText(locale)}</p>
<input type="file" id="files" name="files" multiple aria-describedby="files-hint">
<button type="submit">${t(locale, 'send')}</button></form>`,
  );
}
