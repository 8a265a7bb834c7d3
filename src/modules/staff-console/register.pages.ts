import { html } from 'hono/html';
import { accusedRoles, categories } from '../clues/clue.entity.ts';
import { accusedRoleLabels, categoryLabels } from '../intake-web/web.i18n.ts';
import { uploadLimitsText } from '../attachments/uploads.ts';
import { channelLabels, ct, pick } from './console.i18n.ts';
import { type Errors, type UnitOption, type Shell, dateTime, layout, errorSummary, fieldError, input, options, unitOptions } from './layout.pages.ts';

/** Registering a letter, visit or call, and the receipt with its tracking code. */

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
