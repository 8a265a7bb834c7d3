import { html } from 'hono/html';
import { ct } from './console.i18n.ts';
import { type Errors, type Shell, dateTime, layout, errorSummary, fieldError } from './layout.pages.ts';

/** Quarantined mail: the list, and one mail opened with its release and discard forms. */

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
