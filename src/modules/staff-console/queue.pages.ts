import { html } from 'hono/html';
import { categories, type Category, channels } from '../clues/clue.entity.ts';
import type { ClueUseCases } from '../clues/clues.usecases.ts';
import { type ClueStatus, clueStatuses } from '../clues/status-machine.ts';
import { formatTrackingCode } from '../clues/tracking-code.ts';
import { categoryLabels } from '../intake-web/web.i18n.ts';
import { channelLabels, ct, pick, statusLabels } from './console.i18n.ts';
import { type Errors, type UnitOption, type DeadlineView, type Shell, dateTime, unitName, clock, layout, errorSummary, input, options, unitOptions } from './layout.pages.ts';

/** The triage queue: filters, the due-first panel and the list with its deadline clocks. */

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
