import { html } from 'hono/html';
import { callbackReasonLabels, callbackResultLabels, ct, pick } from './console.i18n.ts';
import { type Errors, type Shell, dateTime, layout, errorSummary, options } from './layout.pages.ts';

/** The call-backs page: the list a desk works through, each with its form to mark it done. */

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
