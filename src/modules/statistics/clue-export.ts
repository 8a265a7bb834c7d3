import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { PassThrough, Readable, Transform } from 'node:stream';
import iconv from 'iconv-lite';
import type { Clock } from '../../app/clock.ts';
import { type Orm, sql } from '../../app/db.ts';
import type { Logger } from '../../app/logger.ts';
import { collectAfterBulkWork } from '../../app/memory.ts';
import type { AccusedRole, Category, Channel } from '../clues/clue.entity.ts';
import { appendAuditEvent } from '../clues/ledger.ts';
import type { ClueStatus, Finding } from '../clues/status-machine.ts';
import { formatTrackingCode } from '../clues/tracking-code.ts';
import type { Principal } from '../staff/access.ts';
import { visibleClues } from '../visibility/visibility.ts';
import { accusedRoleNames, categoryNames, channelNames, findingNames, replyState, statusNames } from './statistics.definitions.ts';

/** 群众举报问题线索台账: the export's columns, in order. */
export const exportHeader = ['序号', '受理编号', '来源渠道', '受理时间', '问题类别', '被反映人及单位', '问题摘要', '承办单位', '办理状态', '办理时限', '办结时间', '处理结果', '是否移交纪检', '答复情况'];

export interface ExportFilter {
  format: 'csv' | 'xlsx';
  encoding: 'utf-8' | 'gbk';
  fromAt?: Date;
  toAt?: Date;
  unitId?: string;
}

const PAGE = 2000;
/** From this many rows an export asks for a full collection when it ends (src/app/memory.ts). */
const BULK_ROWS = 50_000;

interface PageRow {
  id: string;
  tracking_code: string;
  channel: Channel;
  received_at: Date;
  categories: Category[];
  summary: string | null;
  status: ClueStatus;
  finding: Finding | null;
  unit_id: string | null;
  assigned_unit_id: string | null;
  concluded_at: Date | null;
}

/**
 * Instants as local wall-clock time in `timeZone`, as an ISO string (`YYYY-MM-DDTHH:mm:ss.sssZ`,
 * read as local). Intl formatting costs ~5 µs a call, a large part of an export's CPU at three
 * times a row; here the zone's offset is looked up once a UTC day and used for the whole day,
 * unless it differs at the day's two ends (a daylight-saving change): then each instant is looked up.
 */
export function localClock(timeZone: string): (at: Date) => string {
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit' });
  const offsetAt = (t: number) => {
    const part: Record<string, number> = {};
    for (const p of fmt.formatToParts(new Date(t))) if (p.type !== 'literal') part[p.type] = Number(p.value);
    return Date.UTC(part.year!, part.month! - 1, part.day!, part.hour!, part.minute!, part.second!) - Math.floor(t / 1000) * 1000;
  };
  const DAY = 86_400_000;
  const days = new Map<number, number | null>();
  return (at: Date) => {
    const t = at.getTime();
    const day = Math.floor(t / DAY);
    let offset = days.get(day);
    if (offset === undefined) {
      const [first, last] = [offsetAt(day * DAY), offsetAt((day + 1) * DAY - 1000)];
      offset = first === last ? first : null;
      days.set(day, offset);
    }
    return new Date(t + (offset ?? offsetAt(t))).toISOString();
  };
}

/**
 * The clue ledger export: one row a clue the principal may see (the same rule as the clue list),
 * oldest first, read in keyset pages so memory stays flat at any size. It carries the staff-written
 * summary, never the narrative, and nothing of the reporter.
 */
export function createClueExport(deps: { orm: Orm; clock: Clock; logger: Logger; timeZone: string }) {
  const { orm, clock, logger } = deps;
  const local = localClock(deps.timeZone);
  const at = (d: Date | null) => {
    if (!d) return '';
    const iso = local(new Date(d));
    return `${iso.slice(0, 10)} ${iso.slice(11, 16)}`;
  };
  const date = (d: Date | null) => (d ? local(new Date(d)).slice(0, 10) : '');

  /**
   * The export's rows a keyset page at a time: an async step per row (a generator's `yield` and its
   * consumer's `for await`) cost more than formatting the row (bench/README "reports").
   */
  async function* pages(principal: Principal, filter: ExportFilter): AsyncGenerator<string[][]> {
    const em = orm.em.fork();
    const units = new Map((await sql<{ id: string; name: string }>(em, 'select id, name from unit')).map((u) => [u.id, u.name]));
    const vis = visibleClues(principal);
    const where = [vis.where];
    const params: unknown[] = [...vis.params];
    const add = (cond: string, ...values: unknown[]) => {
      where.push(cond);
      params.push(...values);
    };
    if (filter.fromAt) add('c.received_at >= ?', filter.fromAt);
    if (filter.toAt) add('c.received_at < ?', filter.toAt);
    if (filter.unitId) add('c.unit_id in (select id from unit where path like (select path from unit where id = ?) || ?)', filter.unitId, '%');
    /** One keyset page of clues, after `cursor` (the last clue of the page before). */
    async function readPage(cursor: { at: Date; id: string } | null): Promise<PageRow[]> {
      // The page is an index-only scan of `clue_received_at_index`, which carries the columns read
      // here (Migration20261206100000_clue_export_covering_index). Over that index PostgreSQL
      // planned the page in parallel (a Gather Merge over two workers), which on the 10⁵ set took
      // 46–56 ms a page against 14–16 ms for the same plan in one process: the app's connections run
      // without parallel query (src/app/db.ts).
      return sql<PageRow>(
        em,
        `select c.id, c.tracking_code, c.channel, c.received_at, c.categories, c.summary, c.status, c.finding, c.unit_id, c.assigned_unit_id, o.concluded_at
           from clue c left join clue_conclusion o on o.clue_id = c.id
          where ${where.join(' and ')}${cursor ? ' and (c.received_at, c.id) > (?, ?)' : ''}
          order by c.received_at, c.id limit ?`,
        [...params, ...(cursor ? [cursor.at, cursor.id] : []), PAGE],
      );
    }
    /** A page with its accused, conclusion deadlines and referrals (one query each, by the page's ids). */
    async function withSides(page: PageRow[]) {
      if (page.length === 0) return { page, dueOf: new Map<string, Date>(), referred: new Set<string>(), byClue: new Map<string, string[]>() };
      const pageIds = page.map((r) => r.id);
      const [accused, deadlines, referrals] = await Promise.all([
        sql<{ clue_id: string; name: string; role: AccusedRole; position: string | null; unit_id: string | null }>(
          em,
          'select clue_id, name, role, position, unit_id from accused where clue_id in (?) order by clue_id, name',
          [pageIds],
        ),
        sql<{ clue_id: string; due_at: Date }>(
          em,
          `select distinct on (clue_id) clue_id, due_at from deadline where clue_id in (?) and kind = 'conclusion' order by clue_id, starts_at desc`,
          [pageIds],
        ),
        sql<{ clue_id: string }>(em, 'select distinct clue_id from referral where clue_id in (?)', [pageIds]),
      ]);
      const byClue = new Map<string, string[]>();
      for (const a of accused) {
        const about = [accusedRoleNames[a.role], a.position, a.unit_id ? units.get(a.unit_id) : null].filter(Boolean).join('，');
        const list = byClue.get(a.clue_id) ?? [];
        list.push(`${a.name}（${about}）`);
        byClue.set(a.clue_id, list);
      }
      return { page, dueOf: new Map(deadlines.map((d) => [d.clue_id, d.due_at])), referred: new Set(referrals.map((r) => r.clue_id)), byClue };
    }
    type Page = Awaited<ReturnType<typeof withSides>>;
    const ahead = <T>(p: Promise<T>) => {
      p.catch(() => undefined); // awaited below; a reader that stops early leaves it unawaited, not unhandled
      return p;
    };
    /** The page after the one `prev` reads (none after a short page). */
    const pageAfter = (prev: Promise<PageRow[]>) =>
      prev.then((p) => (p.length < PAGE ? [] : readPage({ at: p.at(-1)!.received_at, id: p.at(-1)!.id })));

    // One page ahead: while a page is written out, the next page's side reads run, and the page
    // after it is read as soon as the next page's last clue is known — beside those side reads, not
    // after them (on a cold cache the page statement and the side reads each wait on the disk:
    // bench/README "reports").
    let pageP = ahead(readPage(null));
    let current: Promise<Page> = ahead(pageP.then(withSides));
    let n = 0;
    for (;;) {
      const nextPageP = ahead(pageAfter(pageP));
      const next = ahead(nextPageP.then(withSides));
      const { page, dueOf, referred, byClue }: Page = await current;
      if (page.length === 0) return;
      [pageP, current] = [nextPageP, next];
      yield page.map((r) => [
          String(++n),
          formatTrackingCode(r.tracking_code),
          channelNames[r.channel] ?? r.channel,
          at(r.received_at),
          (r.categories ?? []).map((c) => categoryNames[c] ?? c).join('、'),
          (byClue.get(r.id) ?? []).join('；'),
          r.summary ?? '',
          units.get(r.assigned_unit_id ?? r.unit_id ?? '') ?? '',
          statusNames[r.status] ?? r.status,
          date(dueOf.get(r.id) ?? null),
          at(r.concluded_at),
          r.finding ? (findingNames[r.finding] ?? r.finding) : '',
          referred.has(r.id) ? '是' : '否',
          replyState(r.status),
        ]);
    }
  }

  /** The export's rows one by one (tests and small callers; the streams read `pages`). */
  async function* rows(principal: Principal, filter: ExportFilter): AsyncGenerator<string[]> {
    for await (const page of pages(principal, filter)) yield* page;
  }

  /**
   * The export as a byte stream. When the last byte has gone out, the export is recorded on the
   * system audit chain: who, the filter, the row count and the SHA-256 of exactly the bytes sent.
   */
  function exportClues(principal: Principal, filter: ExportFilter): { body: Readable; contentType: string; filename: string } {
    const hash = createHash('sha256');
    let count = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    const source = filter.format === 'csv' ? csvStream(pages(principal, filter), filter.encoding, () => count++) : xlsxStream(pages(principal, filter), () => count++);
    source.on('error', (error) => tap.destroy(error));
    let recorded = false;
    const record = (complete: boolean) => {
      if (recorded) return;
      recorded = true;
      const data = {
        format: filter.format,
        encoding: filter.format === 'csv' ? filter.encoding : undefined,
        from: filter.fromAt?.toISOString(),
        to: filter.toAt?.toISOString(),
        unitId: filter.unitId,
        rows: count,
        sha256: hash.digest('hex'),
        complete,
      };
      orm.em
        .fork()
        .transactional((tx) => appendAuditEvent(tx, { type: 'export.clues', actor: `staff:${principal.id}`, data }, clock.now()))
        .catch((error: unknown) => logger.error({ err: error, staffId: principal.id }, 'could not record a clue export on the audit chain'));
      // Only after an export large enough to leave slack worth a pause of the event loop.
      if (count >= BULK_ROWS) collectAfterBulkWork();
    };
    tap.on('end', () => record(true));
    // A download cut off stops the reading (no more pages are fetched) and is recorded as incomplete,
    // with the rows and the hash of the bytes that did go out.
    tap.on('close', () => {
      if (tap.readableEnded) return;
      source.destroy();
      record(false);
    });
    const stamp = clock.now().toISOString().slice(0, 10);
    return {
      body: source.pipe(tap),
      contentType: filter.format === 'csv' ? `text/csv; charset=${filter.encoding === 'gbk' ? 'GBK' : 'utf-8'}` : 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
      filename: `clue-ledger-${stamp}.${filter.format}`,
    };
  }

  return { exportClues, rows };
}

/**
 * A CSV cell: quoted when it holds a comma, quote or line break; a leading = + - @ (a formula to a
 * spreadsheet — accused names come from citizens) is neutralised with an apostrophe. Hand-written:
 * these two rules are the whole of it, and a row is one line of output.
 */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

function csvStream(source: AsyncGenerator<string[][]>, encoding: 'utf-8' | 'gbk', onRow: () => void): Readable {
  const encode = (text: string) => (encoding === 'gbk' ? iconv.encode(text, 'gbk') : Buffer.from(text, 'utf8'));
  async function* lines() {
    yield encoding === 'gbk' ? encode(`${exportHeader.join(',')}\r\n`) : Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), encode(`${exportHeader.join(',')}\r\n`)]);
    let batch = '';
    for await (const page of source) {
      for (const row of page) {
        onRow();
        batch += `${row.map(csvCell).join(',')}\r\n`;
        if (batch.length > 64 * 1024) {
          yield encode(batch);
          batch = '';
        }
      }
    }
    if (batch) yield encode(batch);
  }
  return Readable.from(lines(), { objectMode: false });
}

/** What is known of a Writable of readable-stream 2 (inside archiver 5): its buffered bytes and whether a write was refused. */
interface LegacyWritable {
  _writableState?: { length: number; needDrain: boolean };
  once(event: 'drain', listener: () => void): unknown;
}

/**
 * The zip entry the sheet's XML goes into. exceljs 4.4's sheet stream (a StreamBuf) writes into it
 * without heeding its answer, so when the deflate or the download is slower than the rows the XML
 * piles up there (~73 MB seen at 10⁵ rows): the entry's buffer is the backlog to wait on, not only
 * `out`. Undefined if exceljs is laid out otherwise (then only `out` is waited on).
 */
function zipEntryOf(ws: unknown): LegacyWritable | undefined {
  const pipes = (ws as { stream?: { pipes?: LegacyWritable[] } }).stream?.pipes;
  const entry = Array.isArray(pipes) ? pipes[0] : undefined;
  return entry?._writableState ? entry : undefined;
}

/** XML bytes the zip entry may hold before the rows wait (its own high-water mark is 16 KiB). */
const ZIP_BACKLOG_BYTES = 1024 * 1024;

/**
 * exceljs, loaded when a workbook is first made: it is ~36 MB of the process's memory (bench/README
 * "reports"), and most processes never make one.
 */
export const loadExcel = async () => (await import('exceljs')).default;

function xlsxStream(source: AsyncGenerator<string[][]>, onRow: () => void): Readable {
  const out = new PassThrough();
  const closed = new Promise((resolve) => out.once('close', resolve));
  /**
   * Waits while the download (`out`) or the zip entry in front of it (zipEntryOf) holds more than
   * its share, so a slow download or a slow deflate holds a few pages in memory, not the whole file.
   */
  async function backpressure(ws: unknown) {
    for (;;) {
      if (out.destroyed) return;
      const entry = zipEntryOf(ws);
      const state = entry?._writableState;
      if (entry && state && state.length > ZIP_BACKLOG_BYTES) await Promise.race([new Promise((resolve) => entry.once('drain', () => resolve(undefined))), closed]);
      else if (out.writableNeedDrain) await Promise.race([once(out, 'drain'), closed]);
      else return;
    }
  }
  void (async () => {
    try {
      const wb = new (await loadExcel()).stream.xlsx.WorkbookWriter({ stream: out, useSharedStrings: false, useStyles: true });
      const ws = wb.addWorksheet('线索台账');
      ws.columns = exportHeader.map((h, i) => ({ header: h, key: String(i), width: [6, 16, 10, 17, 20, 30, 30, 18, 12, 12, 17, 10, 8, 12][i] }));
      ws.getRow(1).font = { bold: true };
      let n = 0;
      for await (const page of source) {
        for (const row of page) {
          onRow();
          ws.addRow(row).commit();
          if (++n % 200 === 0) await backpressure(ws);
          if (out.destroyed) return;
        }
      }
      ws.commit();
      await wb.commit();
    } catch (error) {
      out.destroy(error as Error);
    }
  })();
  return out;
}
