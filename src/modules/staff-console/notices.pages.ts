import { html } from 'hono/html';
import { ct, pick } from './console.i18n.ts';
import { type Shell, dateTime, layout } from './layout.pages.ts';

/** The notices page. */

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
