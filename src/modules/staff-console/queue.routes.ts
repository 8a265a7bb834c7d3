import type { Context } from 'hono';
import { isAppError } from '../../app/errors.ts';
import type { AppEnv } from '../staff/http-env.ts';
import { categories, type Category, type Channel, channels } from '../clues/clue.entity.ts';
import { clueCursor } from '../clues/clues.routes.ts';
import { type ClueStatus, clueStatuses, openStatuses } from '../clues/status-machine.ts';
import { normalizeTrackingCode } from '../clues/tracking-code.ts';
import { ct } from './console.i18n.ts';
import { type ClueSummary, type QueueFilter, queuePage } from './queue.pages.ts';
import type { DeadlineView, Errors } from './layout.pages.ts';
import { type ConsoleKit, type ConsoleApp, oneOf, UUID, DAY, PAGE_SIZE } from './console.kit.ts';

/** The triage queue (filters, the due-first panel, the capped count) and finding a clue by its tracking code. */
export function queueRoutes(app: ConsoleApp, kit: ConsoleKit) {
  const { deps, localeOf, ctxOf, shell, units } = kit;
  // ---- the triage queue ----
  async function clocksFor(ids: string[]) {
    const rows = (await deps.deadlines.forClues(ids)) as DeadlineView[];
    const clocks = new Map<string, DeadlineView>();
    for (const d of rows) if (!d.closedAt && d.state !== 'met' && !clocks.has(d.clueId)) clocks.set(d.clueId, d);
    return clocks;
  }

  const dayStart = (day: string) => new Date(`${day}T00:00:00+08:00`); // the desk's day (Asia/Shanghai, no DST)

  /** The due-first panel: the clues of the soonest-due open deadlines (overdue first), at most this many. */
  const DUE_FIRST = 8;
  /**
   * The filter's count is exact up to this many, then shown as "100+": an exact count reads every
   * clue it counts. Measured on the 10⁶ set for a street caseworker's open clues: 101 rows 7–8 ms,
   * 201 13–16 ms, 1 001 115–380 ms, because a street sees 1/12 of the clues and each is checked
   * against the unit rule and the excluded set (bench/README "console").
   */
  const COUNT_CAP = 100;

  async function renderQueue(c: Context<AppEnv>, extra: { code?: string; errors?: Errors } = {}, status: 200 | 400 | 404 = 200) {
    const q = c.req.query();
    const filter: QueueFilter = {
      channel: oneOf(channels, q.channel),
      // No status chosen: the clues still being handled; `all` for every status.
      status: q.status === 'all' ? 'all' : oneOf(clueStatuses, q.status),
      category: oneOf(categories, q.category),
      unitId: q.unitId && UUID.test(q.unitId) ? q.unitId : undefined,
      from: q.from && DAY.test(q.from) ? q.from : undefined,
      to: q.to && DAY.test(q.to) ? q.to : undefined,
      code: extra.code,
    };
    const common = {
      channel: filter.channel as Channel | undefined,
      status: filter.status && filter.status !== 'all' ? (filter.status as ClueStatus) : undefined,
      statuses: filter.status ? undefined : openStatuses,
      category: filter.category as Category | undefined,
      unitId: filter.unitId,
      receivedFrom: filter.from ? dayStart(filter.from) : undefined,
      receivedTo: filter.to ? new Date(dayStart(filter.to).getTime() + 86_400_000) : undefined,
    };
    // The first page and its count are one walk (`countCap`); a later page counts on its own. On the
    // first page, overdue and nearly-due clues come first, in the order their deadlines fall due (the
    // deadline list walks its open-deadline index in due order; the clue filters then apply): that
    // walk needs nothing from the page's, so the two run side by side.
    const cursor = clueCursor(q.cursor || undefined);
    const [page, counted, soonest] = await Promise.all([
      deps.clues.listClues({ ctx: ctxOf(c), input: { ...common, limit: PAGE_SIZE, cursor, countCap: COUNT_CAP } }),
      cursor ? deps.clues.countClues({ ctx: ctxOf(c), input: { ...common, cap: COUNT_CAP } }) : null,
      // Twice the panel's rows: enough when a clue has two open deadlines; each more row walked costs a
      // street ~12 deadline lookups (it sees 1/12 of the clues), 28 ms for 16 rows on the 10⁶ set.
      q.cursor ? null : deps.deadlines.list({ ctx: ctxOf(c), input: { view: 'open', withinHours: 0, limit: DUE_FIRST * 2 } }),
    ]);
    const total = counted ?? page.total!;
    let dueFirst: ClueSummary[] = [];
    const order = [...new Set((soonest ?? []).filter((d) => !d.paused).map((d) => d.clueId))];
    if (order.length) {
      const found = await deps.clues.listClues({ ctx: ctxOf(c), input: { ...common, ids: order, limit: order.length } });
      const byId = new Map(found.items.map((i) => [i.id, i]));
      dueFirst = order.map((id) => byId.get(id)).filter((i): i is ClueSummary => !!i).slice(0, DUE_FIRST);
    }
    const s = await shell(c, '/staff');
    return c.html(
      queuePage(s, {
        items: page.items,
        total,
        dueFirst,
        nextCursor: page.nextCursor,
        filter,
        units: await units(),
        clocks: await clocksFor([...new Set([...dueFirst, ...page.items].map((i) => i.id))]),
        now: deps.clock.now(),
        errors: extra.errors,
        paged: !!q.cursor,
      }),
      status,
    );
  }

  app.get('/', (c) => renderQueue(c));

  app.get('/find', async (c) => {
    const raw = c.req.query('code') ?? '';
    const locale = localeOf(c);
    if (!normalizeTrackingCode(raw)) return renderQueue(c, { code: raw, errors: { code: ct(locale, 'codeInvalid') } }, 400);
    try {
      const clue = await deps.clues.findByTrackingCode({ ctx: ctxOf(c), input: { code: raw } });
      return c.redirect(`/staff/clues/${clue.id}`, 302);
    } catch (err) {
      if (isAppError(err) && err.code === 'clue.not_found') return renderQueue(c, { code: raw, errors: { code: ct(locale, 'codeNotFound') } }, 404);
      throw err;
    }
  });
}
