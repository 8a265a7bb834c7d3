/**
 * A citizen's report through the public JSON API (POST /api/v1/reports) — rate-limit check, JSON
 * and zod validation, the unit check, attachment sniffing and content-addressed storage, then the
 * same one-statement registration as the staff path (clue, accused, hash-chained ledger event,
 * outbox row) and the relay moving the triage job to BullMQ — against the baseline that does one
 * plain INSERT per request on the same database.
 *
 * Two loads on the real app, one after the other:
 * - `text`: anonymous, ~300-character Chinese narrative, a unit, one category, one accused.
 * - `pdf1mb`: the same with a 1 MiB PDF as JSON base64. Every request carries a different file
 *   (a token in a PDF comment, see `uniqueSlot`), so each one is really written and fsynced rather
 *   than found already stored under its hash.
 *
 * The citizen endpoints' rate limits are configuration; the app is built with them raised so the
 * load measures the work, not the limiter.
 *
 * Targets (text only): >= 40% of baseline throughput, and p99 < 60 ms. The attachment figures are
 * reported without a target, with the upload rate in MB/s.
 */
import { readdirSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { sql } from '../src/app/db.ts';
import { startBaseline } from './lib/baseline.ts';
import { drainOutbox, preflight } from './lib/checks.ts';
import { type LoadResult, type LoadSpec, runLoad } from './lib/load.ts';
import { alternate, checkpoint, roundSummary } from './lib/rounds.ts';
import { type Benchmark, startFullApp } from './lib/setup.ts';

const MIN_THROUGHPUT_RATIO = 0.4;
const MAX_P99_MS = 60;
/** High enough that no request of a run is refused: this measures the work, not the limiter. */
const RATE_LIMIT = '10000000';
const PDF_BYTES = 1024 * 1024;

/** What a resident might type into the form: ~300 characters, anonymous. */
const NARRATIVE =
  '我是长风一村的居民，不方便留名。我们居委会负责低保初审的干部王某某，今年三月把她丈夫的弟弟张某某一家三口办进了低保。' +
  '张某某在本区有一套商品房，还有一辆小轿车，本人在物流公司开货车，每月收入六千多元，老婆在超市上班，家里条件比我们好得多。' +
  '街道来入户调查的前一天，王某某专门打电话让他把车停到外面去，核对表上也没有写房子和工资。评议会根本没开，' +
  '公示的名单只贴了两天就被撕掉了。我们楼里独居的残疾老人刘某某申请了三次，每次都说材料不全被退回来。' +
  '五月份我们几户人家一起给街道打过电话反映，到现在也没有任何人来了解情况。' +
  '大家都知道这件事，但是怕被报复不敢说。希望上级认真调查，按规定处理，并且不要让居委会知道是谁反映的。';

function reportFields(unitId: string) {
  return {
    narrative: NARRATIVE,
    occurredWhen: '今年三月至今',
    unitId,
    categories: ['favor_enrolment'],
    accused: [{ name: '王某某', role: 'cadre', unitId, position: '居委会委员' }],
  };
}

/** Where, in the PDF, each request's token goes: 12 bytes at an offset divisible by 3, so 16 base64 characters. */
const PDF_ID_AT = 12;
const PDF_ID_PLACEHOLDER = '000000000000';

/**
 * A small but well-formed one-page PDF (catalog, pages, page, font, content stream, a correct
 * cross-reference table and trailer), padded to exactly `size` bytes with comment lines inside the
 * content stream, as a scan's image data would fill it. `%PDF-1.4` is all the app's sniffer needs;
 * the rest is there so the file would open.
 */
export function buildPdf(size: number): Buffer {
  const head = `%PDF-1.4\n%id${PDF_ID_PLACEHOLDER}\n%\u00e2\u00e3\u00cf\u00d3\n`; // binary-marker line, as writers add
  if (head.indexOf(PDF_ID_PLACEHOLDER) !== PDF_ID_AT) throw new Error('PDF id slot moved');
  const text = ['BT /F1 12 Tf 72 770 Td 14 TL', '(Minimum living allowance: household income check, March) Tj T*', '(Attachment to a citizen report) Tj', 'ET'].join('\n');
  const objects = (streamBody: string) => [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>',
    `<< /Length ${Buffer.byteLength(streamBody, 'latin1')} >>\nstream\n${streamBody}\nendstream`,
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const assemble = (streamBody: string) => {
    let out = head;
    const offsets: number[] = [];
    objects(streamBody).forEach((o, i) => {
      offsets.push(Buffer.byteLength(out, 'latin1'));
      out += `${i + 1} 0 obj\n${o}\nendobj\n`;
    });
    const xrefAt = Buffer.byteLength(out, 'latin1');
    out += `xref\n0 ${offsets.length + 1}\n0000000000 65535 f \n`;
    for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
    out += `trailer\n<< /Size ${offsets.length + 1} /Root 1 0 R >>\nstartxref\n${xrefAt}\n%%EOF\n`;
    return out;
  };
  // Pad the stream so the whole file is `size` bytes. The /Length digits depend on the padding,
  // so settle it in two passes.
  let pad = 0;
  for (let pass = 0; pass < 3; pass++) pad += size - Buffer.byteLength(assemble(text + filler(pad)), 'latin1');
  const pdf = Buffer.from(assemble(text + filler(pad)), 'latin1');
  if (pdf.length !== size || pdf.subarray(-6).toString('latin1') !== '%%EOF\n') throw new Error(`PDF is ${pdf.length} bytes, wanted ${size}`);
  return pdf;
}

/** `n` bytes of content-stream comment lines (`%…\n`); no output operators, so the page renders unchanged. */
function filler(n: number): string {
  if (n <= 0) return '';
  const line = `\n%${'scan-data '.repeat(7)}`; // 72 bytes
  return `${line.repeat(Math.floor(n / line.length))}${n % line.length ? `\n%${'x'.repeat(Math.max(0, (n % line.length) - 2))}` : ''}`.slice(0, n);
}

/** Files and bytes under a folder, recursively (the content-addressed store). */
function folderUsage(dir: string): { files: number; bytes: number } {
  let files = 0;
  let bytes = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return { files, bytes };
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) {
      const sub = folderUsage(p);
      files += sub.files;
      bytes += sub.bytes;
    } else if (e.isFile()) {
      files++;
      bytes += statSync(p).size;
    }
  }
  return { files, bytes };
}

const ratioOf = (a: LoadResult, b: LoadResult) => (b.requestsPerSecond > 0 ? a.requestsPerSecond / b.requestsPerSecond : 0);
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

export const reportBenchmark: Benchmark = {
  name: 'report',
  description: 'POST /api/v1/reports (anonymous, ~300 chars; then with a 1 MiB PDF as base64) vs one plain INSERT',
  async run({ db, settings, signal }) {
    const app = await startFullApp(db, { RATE_SUBMIT_PER_CLIENT_HOUR: RATE_LIMIT, RATE_SUBMIT_GLOBAL_MINUTE: RATE_LIMIT });
    const baseline = await startBaseline(db).catch(async (err) => {
      await app.close();
      throw err;
    });
    try {
      // The run shares its database with the other benchmarks: codes of its own.
      const { staff } = app.deps;
      const district = await staff.seedUnit({ code: 'bench-report-district', name: '普陀区', kind: 'district' });
      const street = await staff.seedUnit({ code: 'bench-report-street', name: '长风新村街道', kind: 'street', parentId: district.id });
      const committee = await staff.seedUnit({ code: 'bench-report-committee', name: '长风一村居委会', kind: 'residents_committee', parentId: street.id });

      const fields = reportFields(committee.id);
      const textBody = JSON.stringify(fields);
      const pdf = buildPdf(PDF_BYTES);
      const pdfBase64 = pdf.toString('base64');
      const pdfBody = JSON.stringify({ ...fields, attachments: [{ filename: '低保审批材料.pdf', contentBase64: pdfBase64 }] });
      // The token's place in the request body: bytes, not characters (the narrative is UTF-8).
      const b64At = Buffer.byteLength(pdfBody.slice(0, pdfBody.indexOf(pdfBase64)));
      const uniqueSlot = { offset: b64At + (PDF_ID_AT / 3) * 4, length: (PDF_ID_PLACEHOLDER.length / 3) * 4 };
      if (Buffer.from(pdfBody).subarray(uniqueSlot.offset, uniqueSlot.offset + uniqueSlot.length).toString() !== Buffer.from(PDF_ID_PLACEHOLDER).toString('base64')) {
        throw new Error('unique slot does not cover the PDF id placeholder');
      }

      const json = { 'content-type': 'application/json' };
      const common = { method: 'POST', headers: json, expectStatus: 201, timeoutMs: 10_000, database: db.name, ...settings };
      // The baseline table wants a channel; otherwise the same fields.
      const baselineSpec: LoadSpec = { ...common, url: baseline.url, body: JSON.stringify({ channel: 'web', ...fields }) };
      const textSpec: LoadSpec = { ...common, url: `${app.url}/api/v1/reports`, body: textBody };
      const pdfSpec: LoadSpec = { ...common, url: `${app.url}/api/v1/reports`, body: pdfBody, uniqueSlot };
      await preflight(baselineSpec);
      const answer = JSON.parse(await preflight(textSpec)) as Record<string, unknown>;
      if (typeof answer.trackingCode !== 'string' || typeof answer.secret !== 'string' || answer.status !== 'registered') {
        throw new Error(`unexpected answer from /api/v1/reports: ${JSON.stringify(Object.keys(answer))}`);
      }
      await preflight(pdfSpec);

      // One after the other, never together: each gets the whole machine. The relay's backlog is
      // cleared between the two app loads so the second does not pay for the first.
      const loadBefore = loadavg()[0]!;
      const { median, all } = await alternate(settings.rounds, {
        baseline: () => runLoad(baselineSpec, signal),
        app: () => runLoad(textSpec, signal),
        afterApp: () => drainOutbox(app, signal),
      });
      const base = median.baseline;
      const text = median.app;
      const textOutbox = median.extra;
      await checkpoint();
      const attached = await runLoad(pdfSpec, signal);
      const pdfOutbox = await drainOutbox(app, signal);

      const store = folderUsage(join(app.dataDir, 'attachments'));
      const [rows] = await sql<{ n: number; distinct: number }>(
        app.deps.orm.em.fork(),
        'select count(*)::int as n, count(distinct sha256)::int as distinct from attachment',
      );
      const textRatio = ratioOf(text, base);
      const pdfBodyBytes = Buffer.byteLength(pdfBody);
      return {
        results: { baseline: base, text, pdf1mb: attached },
        derived: {
          textThroughputRatio: round(textRatio),
          pdfThroughputRatio: round(ratioOf(attached, base)),
          /** PDF bytes accepted and stored per second (decimal MB). */
          pdfFileMBps: round((attached.requestsPerSecond * PDF_BYTES) / 1e6, 1),
          /** Request bytes (JSON with base64) received per second (decimal MB). */
          pdfRequestMBps: round((attached.requestsPerSecond * pdfBodyBytes) / 1e6, 1),
        },
        targets: [
          {
            name: `text throughput >= ${MIN_THROUGHPUT_RATIO * 100}% of baseline`,
            ok: textRatio >= MIN_THROUGHPUT_RATIO,
            detail: `${(textRatio * 100).toFixed(1)}% (${text.requestsPerSecond} vs ${base.requestsPerSecond} req/s)`,
          },
          {
            name: `text p99 < ${MAX_P99_MS} ms at ${settings.connections} connections`,
            ok: text.latencyMs.p99 < MAX_P99_MS,
            detail: `p99 ${text.latencyMs.p99} ms`,
          },
        ],
        notes: {
          // Other work on the machine skews every figure; the 1-minute load average says how much.
          loadAverage1m: { before: round(loadBefore, 2), after: round(loadavg()[0]!, 2) },
          text: textOutbox,
          rounds: all.map(roundSummary),
          pdf1mb: pdfOutbox,
          narrativeChars: [...NARRATIVE].length,
          textBodyBytes: Buffer.byteLength(textBody),
          pdfBytes: pdf.length,
          pdfBodyBytes,
          // Every accepted upload should be its own file: rows = distinct hashes = files on disk.
          attachmentRows: rows?.n ?? 0,
          attachmentDistinctSha256: rows?.distinct ?? 0,
          storedFiles: store.files,
          storedMB: round(store.bytes / 1e6, 1),
        },
      };
    } finally {
      await baseline.close().finally(() => app.close());
    }
  },
};
