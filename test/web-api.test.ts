import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queueNames } from '../queues/names.ts';
import { startWorkers } from '../src/roots/worker.ts';
import { createTestApp, seedTree, type TestEnv, until } from './helpers.ts';
import { pngWithMetadata } from './fixtures.ts';
import { openName } from '../src/modules/attachments/attachments.names.ts';
import { startSmtpSink } from './smtp-sink.ts';

let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
let operator: string;

const REPORTER = { name: '孙丽华', phone: '13700001111', email: 'sun.lihua@example.cn' };
const NARRATIVE = '我们村的会计把他弟弟一家报成低保户，他弟弟在城里开饭店，收入很高。';

beforeAll(async () => {
  smtp = await startSmtpSink();
  t = await createTestApp({ MAIL_URL: smtp.url, TRUST_PROXY: 'true' });
  tree = await seedTree(t);
  operator = (await t.staffMember('op', 'operator', tree.district.id)).token;
});
afterAll(async () => {
  await t.close();
  await smtp.close();
});

let ip = 0;
/** Each call from its own address unless told otherwise, so the rate limits stay out of the way. */
const report = (body: unknown, opts: { ip?: string; headers?: Record<string, string> } = {}) =>
  t.call('POST', '/api/v1/reports', { body, headers: { 'x-forwarded-for': opts.ip ?? `10.0.${++ip >> 8}.${ip & 255}`, ...opts.headers } });

const storedFiles = () => {
  try {
    return readdirSync(join(t.config.DATA_DIR, 'attachments'), { recursive: true }).filter((f) => String(f).match(/[0-9a-f]{64}$/));
  } catch {
    return [];
  }
};

describe('citizen JSON API', () => {
  it('accepts a valid report and lets the reporter follow it with code and secret', async () => {
    const res = await report({
      narrative: NARRATIVE,
      occurredWhen: '2026年夏天',
      unitId: tree.committeeA.id,
      categories: ['connection_enrolment', 'favouring_relatives'],
      accused: [{ name: '村会计', role: 'cadre', unitId: tree.committeeA.id }],
    }, { headers: { 'user-agent': 'UniqueAgent/9.9 (reporter-phone-model-XYZ)' } });
    expect(res.status).toBe(201);
    expect(Object.keys(res.json).sort()).toEqual(['secret', 'status', 'trackingCode']);
    expect(res.json.status).toBe('registered');

    const view = await t.call('GET', `/api/v1/reports/${res.json.trackingCode}`, { headers: { 'x-report-secret': res.json.secret } });
    expect(view.status).toBe(200);
    expect(view.json.statusText.zh).toBe('已登记，等待受理');
    expect(view.json.deadlines[0].kind).toBe('receipt_notice');
    expect(view.json.deadlines[0].zh).toBe('告知是否受理');
    expect(view.json.history[0].zh).toBe('举报已登记');
    expect(view.text).not.toContain('村会计'); // the reporter's view shows status, not the file

    // Nothing identifying the reporter's device is kept.
    const rows = await t.db.query(`select c.*, (select json_agg(e) from ledger_event e where e.clue_id = c.id) as events from clue c where tracking_code = $1`, [res.json.trackingCode]);
    expect(JSON.stringify(rows)).not.toMatch(/UniqueAgent|reporter-phone-model|10\.0\./);
    // The clue's id is time-ordered (version 7, its first 48 bits the registration's milliseconds).
    const id = (rows[0] as { id: string }).id;
    expect(id[14]).toBe('7');
    expect(Math.abs(Number.parseInt(id.replace(/-/g, '').slice(0, 12), 16) - new Date((rows[0] as { created_at: string }).created_at).getTime())).toBeLessThan(1000);
  });

  it('answers a wrong secret and an unknown code identically', async () => {
    const res = await report({ narrative: NARRATIVE, unitId: tree.committeeA.id });
    const code = res.json.trackingCode as string;
    const wrongSecret = await t.call('GET', `/api/v1/reports/${code}`, { headers: { 'x-report-secret': 'AAAAA-BBBBB-CCCCC-DDDDD' } });
    const otherCode = code.slice(0, 11) === '00000000000' ? '111111111118' : '000000000000';
    const unknown = await t.call('GET', `/api/v1/reports/${otherCode}`, { headers: { 'x-report-secret': res.json.secret } });
    const garbage = await t.call('GET', '/api/v1/reports/hello', { headers: { 'x-report-secret': 'x' } });
    const missing = await t.call('GET', `/api/v1/reports/${code}`);
    for (const r of [wrongSecret, unknown, garbage, missing]) {
      expect(r.status).toBe(404);
      expect(r.text).toBe(wrongSecret.text);
    }
    expect(wrongSecret.json.error.code).toBe('report.not_found');
  });

  it('refuses each kind of bad input with a coded 4xx and writes nothing', async () => {
    const clueCount = async () => (await t.db.query<{ n: number }>('select count(*)::int as n from clue'))[0]!.n;
    const before = await clueCount();
    const filesBefore = storedFiles().length;
    const exe = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(2000, 0x90)]).toString('base64');
    const big = Buffer.alloc(11 * 1024 * 1024, 0x41).toString('base64');
    const cases: [unknown, number, string][] = [
      [{ unitId: tree.committeeA.id }, 400, 'request.invalid'],
      [{ narrative: '短' }, 400, 'request.invalid'],
      [{ narrative: NARRATIVE, unitId: '00000000-0000-4000-8000-000000000000' }, 422, 'clue.unknown_unit'],
      [{ narrative: NARRATIVE, attachments: [{ filename: 'photo.jpg', contentBase64: exe }] }, 422, 'attachment.rejected'],
      [{ narrative: NARRATIVE, attachments: [{ filename: 'big.txt', contentBase64: big }] }, 422, 'attachment.rejected'],
      [{ narrative: NARRATIVE, reporter: { name: '匿名？' } }, 400, 'request.invalid'],
      ['{"narrative": "未结束的', 400, 'request.malformed_json'],
    ];
    for (const [body, status, code] of cases) {
      const res = await report(body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(status);
      expect(res.json.error.code).toBe(code);
      expect(res.json.error.message).toMatch(/ \/ /); // Chinese first, English beside it
    }
    const utf8 = await t.app.request('/api/v1/reports', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.9.9.9' },
      body: Buffer.concat([Buffer.from('{"narrative":"'), Buffer.from([0xc3, 0x28, 0xa0, 0xa1]), Buffer.from('"}')]),
    });
    expect(utf8.status).toBe(400);
    expect(((await utf8.json()) as any).error.code).toBe('request.invalid_utf8');
    expect(await clueCount()).toBe(before);
    expect(storedFiles().length).toBe(filesBefore);
  });

  it('stores an image without its EXIF and GPS data, with the content hash on the ledger', async () => {
    const png = pngWithMetadata();
    expect(png.includes(Buffer.from('GPS'))).toBe(true);
    const form = new FormData();
    form.set('report', JSON.stringify({ narrative: NARRATIVE, unitId: tree.committeeA.id }));
    form.append('files', new Blob([new Uint8Array(png)]), '现场照片.jpg');
    const res = await t.app.request('/api/v1/reports', { method: 'POST', body: form, headers: { 'x-forwarded-for': '10.8.8.8' } });
    expect(res.status).toBe(201);
    const { trackingCode } = (await res.json()) as { trackingCode: string };
    const [att] = await t.db.query<{ id: string; storage_key: string; sha256: string; filename: string | null; filename_box: Buffer; content_type: string; clue_id: string }>(
      'select a.* from attachment a join clue c on c.id = a.clue_id where c.tracking_code = $1',
      [trackingCode],
    );
    // Type by content: the name said .jpg, the bytes are a PNG.
    expect(att!.filename).toBeNull(); // sealed: the name is the reporter's text
    expect(openName(t.deps.keys.reporterKey, { id: att!.id, filenameBox: att!.filename_box })).toBe('现场照片.png');
    expect(att!.content_type).toBe('image/png');
    const stored = Buffer.from(await t.deps.storage.get(att!.storage_key));
    expect(stored.subarray(1, 4).toString()).toBe('PNG');
    expect(stored.includes(Buffer.from('eXIf'))).toBe(false);
    expect(stored.includes(Buffer.from('IDAT'))).toBe(true);
    expect(stored.includes(Buffer.from('GPS'))).toBe(false);
    const [event] = await t.db.query<{ data: any }>(`select data from ledger_event where clue_id = $1 and seq = 1`, [att!.clue_id]);
    expect(event!.data.attachments[0].sha256).toBe(att!.sha256);
  });

  it('limits submissions per address', async () => {
    const addr = '10.77.0.1';
    for (let i = 0; i < 10; i++) expect((await report({ narrative: NARRATIVE }, { ip: addr })).status).toBe(201);
    const limited = await report({ narrative: NARRATIVE }, { ip: addr });
    expect(limited.status).toBe(429);
    expect(limited.json.error.code).toBe('request.rate_limited');
    expect((await report({ narrative: NARRATIVE }, { ip: '10.77.0.2' })).status).toBe(201);
  });
});

describe('messages between reporter and staff', () => {
  it('staff ask, the reporter answers, both are ledger events', async () => {
    const res = await report({ narrative: NARRATIVE, unitId: tree.committeeA.id });
    const { trackingCode, secret } = res.json;
    const [clue] = await t.db.query<{ id: string }>('select id from clue where tracking_code = $1', [trackingCode]);
    const ask = await t.call('POST', `/api/v1/staff/clues/${clue!.id}/messages`, { token: operator, body: { body: '请问您说的饭店叫什么名字？' } });
    expect(ask.status).toBe(201);
    const answer = await t.call('POST', `/api/v1/reports/${trackingCode}/messages`, {
      headers: { 'x-report-secret': secret },
      body: { body: '叫“老王家常菜”，在镇东头。' },
    });
    expect(answer.status).toBe(201);
    const view = await t.call('GET', `/api/v1/reports/${trackingCode}`, { headers: { 'x-report-secret': secret } });
    expect(view.json.messages.map((m: any) => [m.author, m.body])).toEqual([
      ['staff', '请问您说的饭店叫什么名字？'],
      ['reporter', '叫“老王家常菜”，在镇东头。'],
    ]);
    expect(JSON.stringify(view.json.messages)).not.toContain('staffId');
    const staffView = await t.call('GET', `/api/v1/staff/clues/${clue!.id}/messages`, { token: operator });
    expect(staffView.json.items).toHaveLength(2);
    const events = (await t.call('GET', `/api/v1/staff/clues/${clue!.id}`, { token: operator })).json.events;
    expect(events.filter((e: any) => e.type === 'message.posted').map((e: any) => e.actor)).toEqual([expect.stringMatching(/^staff:/), 'reporter']);
    const wrong = await t.call('POST', `/api/v1/reports/${trackingCode}/messages`, { headers: { 'x-report-secret': 'nope' }, body: { body: '冒充' } });
    expect(wrong.status).toBe(404);
  });
});

describe('named reports', () => {
  it('are acknowledged by email through the outbox and the notifications job; identity stays out of logs, lists and the accused unit', async () => {
    const stop = await startWorkers(t.deps);
    try {
      const res = await report({
        narrative: NARRATIVE,
        unitId: tree.committeeA.id,
        accused: [{ name: '村会计', role: 'cadre', unitId: tree.committeeA.id }],
        reporter: REPORTER,
      });
      expect(res.status).toBe(201);
      const deadline = Date.now() + 15_000;
      while (smtp.received.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      expect(smtp.received).toHaveLength(1);
      const mail = smtp.received[0]!;
      expect(mail.to).toEqual([REPORTER.email]);
      const display = (res.json.trackingCode as string).replace(/(\d{4})(?=\d)/g, '$1 ');
      expect(mail.raw).toContain('Auto-Submitted: auto-replied');
      expect(mail.raw).not.toContain(res.json.secret);
      const { simpleParser } = await import('mailparser').catch(() => ({ simpleParser: null }));
      const text = simpleParser ? (await simpleParser(mail.raw)).text ?? '' : mail.raw;
      if (simpleParser) expect(text).toContain(display);

      // The send is recorded just after the mail server has the mail.
      const [n] = await until(
        () =>
          t.db.query<{ recipient: string; status: string }>(
            `select recipient, status from notification where idempotency_key like 'email:reporter-ack:%' and clue_id = (select id from clue where tracking_code = $1)`,
            [res.json.trackingCode],
          ),
        (rows) => rows[0]?.status === 'sent',
      );
      expect(n).toEqual({ recipient: 'reporter', status: 'sent' });

      const committeeOp = (await t.staffMember('op-a1', 'operator', tree.committeeA.id)).token;
      const [clue] = await t.db.query<{ id: string }>('select id from clue where tracking_code = $1', [res.json.trackingCode]);
      const reveal = await t.call('POST', `/api/v1/staff/clues/${clue!.id}/reporter/reveal`, { token: committeeOp, body: { purpose: '核实' } });
      // The committee is the accused's unit: the clue is not there for it (its excluded set).
      expect(reveal.status).toBe(404);
      const readable = [
        (await t.call('GET', '/api/v1/staff/clues', { token: operator })).text,
        (await t.call('GET', '/api/v1/staff/clues', { token: committeeOp })).text,
        (await t.call('GET', `/api/v1/staff/clues/${clue!.id}`, { token: committeeOp })).text,
        reveal.text,
        t.logs.text(),
        JSON.stringify(await t.db.query('select * from outbox_message')),
        // the outbox rows are gone once relayed: what reached Redis is what a job sees
        JSON.stringify(
          await Promise.all(
            queueNames.map(async (q) => (await t.deps.queues.get(q).getJobs(['waiting', 'delayed', 'active', 'completed', 'failed'])).map((j) => j.data)),
          ),
        ),
        JSON.stringify(await t.db.query('select * from notification')),
      ];
      for (const text of readable) {
        for (const v of Object.values(REPORTER)) expect(text).not.toContain(v);
      }
      expect(t.logs.text()).not.toContain(NARRATIVE);
    } finally {
      await stop();
    }
  });
});
