import { randomBytes } from 'node:crypto';
import twilio from 'twilio';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, seedTree, type TestEnv } from './helpers.ts';
import { rawMessage } from './email/mime.ts';
import { csvLine, HEADER, makeId } from './registry/fixtures.ts';

// Issue 12, item 1: NUL and other C0 control characters in any field of any channel are removed
// (forms, mail, SMS, CSV) or refused with a 400 naming the field (JSON), never a 500; malformed
// cursors are 400s. Then a fuzz corpus over every channel: no answer ≥ 500.

const AUTH_TOKEN = 'fuzz-auth-token';
const BASE = 'https://hotline.example.gov.cn';
let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
let admin: string;

beforeAll(async () => {
  t = await createTestApp({ TWILIO_ACCOUNT_SID: 'AC' + '0'.repeat(32), TWILIO_AUTH_TOKEN: AUTH_TOKEN, PUBLIC_BASE_URL: BASE, RATE_SUBMIT_PER_CLIENT_HOUR: '100000', RATE_SUBMIT_GLOBAL_MINUTE: '100000', RATE_FOLLOWUP_PER_CLIENT_10MIN: '100000', RATE_FOLLOWUP_GLOBAL_10MIN: '100000' });
  tree = await seedTree(t);
  admin = (await t.staffMember('fuzz-admin', 'admin', tree.district.id)).token;
});
afterAll(() => t?.close());

const narratives = async () => (await t.db.query<{ narrative: string }>('select narrative from clue')).map((r) => r.narrative);

/** A form session: the csrf cookie and field from GET /report. */
async function formSession() {
  const res = await t.app.request(`${BASE}/report`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const csrf = /name="_csrf" value="([^"]+)"/.exec(await res.text())![1]!;
  return { cookie, csrf };
}

async function postForm(path: string, fields: Record<string, string>, s: { cookie: string; csrf: string }) {
  const res = await t.app.request(`${BASE}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: s.cookie },
    body: new URLSearchParams({ _csrf: s.csrf, ...fields }).toString(),
  });
  return { status: res.status, text: await res.text() };
}

async function twilioPost(path: string, params: Record<string, string>) {
  const url = `${BASE}${path}`;
  const res = await t.app.request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilio.getExpectedTwilioSignature(AUTH_TOKEN, url, params) },
    body: new URLSearchParams(params).toString(),
  });
  return { status: res.status, text: await res.text() };
}

describe('control characters', () => {
  it('a JSON report with NUL in the narrative or an accused name is a 400 naming the field', async () => {
    const nulNarrative = await t.call('POST', '/api/v1/reports', { body: { narrative: '村主任冒领低保\u0000，每月都领。' } });
    expect(nulNarrative.status).toBe(400);
    expect(nulNarrative.json.error.details.issues).toEqual([{ path: 'narrative', message: expect.stringMatching(/control/) }]);
    const nulName = await t.call('POST', '/api/v1/reports', { body: { narrative: '村主任冒领低保，每月都领。', accused: [{ name: '钱\u0000主任', role: 'cadre' }] } });
    expect(nulName.status).toBe(400);
    expect(nulName.json.error.details.issues[0].path).toBe('accused.0.name');
    // The short escapes JSON has for two of them (a body is walked only when its text has one).
    for (const ch of ['\b', '\f']) {
      const short = await t.call('POST', '/api/v1/reports', { body: { narrative: `村主任冒领低保${ch}，每月都领。`, occurredWhen: '今年' } });
      expect(short.status, JSON.stringify(ch)).toBe(400);
      expect(short.json.error.details.issues).toEqual([{ path: 'narrative', message: expect.stringMatching(/control/) }]);
    }
    const escape = await t.call('POST', '/api/v1/staff/clues', { token: admin, body: { channel: 'letter', narrative: '来信反映\u001b[31m低保问题。' } });
    expect(escape.status).toBe(400);
    expect(escape.json.error.details.issues[0].path).toBe('narrative');
    // Tab, newline and CR are text.
    const ok = await t.call('POST', '/api/v1/reports', { body: { narrative: '第一段\t说明。\r\n第二段：村主任冒领低保。' } });
    expect(ok.status).toBe(201);
  });

  it('the no-JavaScript form, an SMS and an email have them removed and are registered', async () => {
    const s = await formSession();
    const form = await postForm('/report', { narrative: '表格：村主任\u0000冒领低保\u0007。', 'accused[0][name]': '孙\u0000会计', 'accused[0][role]': 'cadre' }, s);
    expect(form.status, form.text.slice(0, 300)).toBe(201);

    const sms = await twilioPost('/twilio/sms', { MessageSid: `SM${randomBytes(16).toString('hex')}`, AccountSid: 'AC' + '0'.repeat(32), From: '+8613600001111', To: '+861012345', Body: '短信：村主任\u0000冒领低保。', NumMedia: '0' });
    expect(sms.status).toBe(200);

    const mail = rawMessage(['From: a@example.cn', 'To: report@localhost', 'Subject: =?UTF-8?B?' + Buffer.from('举报\u0000').toString('base64') + '?=', 'Message-ID: <nul-1@example.cn>', 'Content-Type: text/plain; charset=utf-8'], Buffer.from('邮件：村主任\u0000冒领低保\u001f。\r\n'));
    await t.deps.email.receive(mail);

    const all = await narratives();
    expect(all).toEqual(expect.arrayContaining(['表格：村主任冒领低保。', '短信：村主任冒领低保。', expect.stringContaining('邮件：村主任冒领低保。')]));
    expect(all.join('')).not.toMatch(/\p{Cc}(?<![\t\n\r])/u);
    const names = await t.db.query<{ name: string }>("select name from accused where name like '孙%'");
    expect(names.map((n) => n.name)).toEqual(['孙会计']);
  });

  it('a CSV registry import with a control character in a cell imports the cleaned text', async () => {
    const csv = [csvLine(HEADER), csvLine(['王芳', 'a1', '村干部', '王\u001b大妈', '母亲', makeId('19500101', '021'), '低保', '2021-01-01', '长风\u000c一村'])].join('\r\n') + '\r\n';
    const res = await t.app.request('/api/v1/staff/registry/import', { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/csv' }, body: csv });
    expect(res.status, await res.clone().text()).toBe(200);
    expect((await res.json()).imported).toBe(1);
    const rows = await t.db.query<{ relative_name: string; household_address: string }>("select relative_name, household_address from near_relative where relative_name like '王%'");
    expect(rows).toEqual([{ relative_name: '王大妈', household_address: '长风一村' }]);
  });

  it('malformed list cursors are 400s', async () => {
    const bad = [
      Buffer.from('2026-01-01T00:00:00Z|not-a-uuid').toString('base64url'),
      Buffer.from('-100000-01-01T00:00:00Z|00000000-0000-4000-8000-000000000000').toString('base64url'),
      Buffer.from('garbage').toString('base64url'),
      '%%%',
    ];
    for (const cursor of bad) {
      for (const path of ['/api/v1/staff/clues', '/api/v1/staff/registry']) {
        const res = await t.call('GET', `${path}?cursor=${encodeURIComponent(cursor)}`, { token: admin });
        expect(res.status, `${path} ${cursor}`).toBe(400);
      }
    }
    expect((await t.call('GET', `/api/v1/staff/clues?q=${encodeURIComponent('a\u0000b')}`, { token: admin })).status).toBeLessThan(500);
  });

  it('malformed ids on every id route are 400s (a signed referral link: 403, as any bad link) and never reach the database', async () => {
    const ids = ['not-a-uuid', '1', "'; drop table clue; --", '00000000-0000-4000-8000-00000000000g', '%00', 'x'.repeat(300)];
    const routes = [
      ['GET', '/api/v1/staff/clues/:id'], ['GET', '/api/v1/staff/clues/:id/tasks'], ['POST', '/api/v1/staff/clues/:id/triage'], ['GET', '/api/v1/staff/clues/:id/referrals'],
      ['GET', '/api/v1/staff/clues/:id/registry-matches'], ['POST', '/api/v1/staff/deadlines/:id/pause'], ['GET', '/api/v1/staff/quarantine/:id'], ['GET', '/api/v1/staff/callbacks/:id'],
      ['POST', '/api/v1/staff/tasks/:id/complete'], ['POST', '/api/v1/staff/users/:id/deactivate'], ['GET', '/referrals/:id'], ['POST', '/referrals/:id/actions'],
    ] as const;
    for (const id of ids) {
      for (const [method, route] of routes) {
        const res = await t.call(method, route.replace(':id', encodeURIComponent(id)), { token: admin, ...(method === 'POST' ? { body: {} } : {}) });
        // The discipline body's signed link answers a malformed id as any link that does not verify
        // (403), or its empty form first (400).
        if (route.startsWith('/referrals/')) expect([400, 403], `${method} ${route} ${id}`).toContain(res.status);
        else expect(res.status, `${method} ${route} ${id}`).toBe(400);
      }
    }
  });
});

describe('fuzz corpus over every channel', () => {
  // mulberry32, seeded: the same corpus on every run.
  let seed = 12;
  const next = () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => int(256)));
  const pick = <T,>(xs: readonly T[]): T => xs[int(xs.length)]!;
  const nasty = ['\u0000', '\u0001', '\u001b', '\u007f', '\ud800', '\ufffe', '\u202e', '%00', '\\u0000', '"', '}', '{"a":', '💥', '\r\n.\r\n', '=?UTF-8?B?AA==?=', 'A'.repeat(300)];
  const junk = () => Array.from({ length: 1 + int(6) }, () => pick(nasty) + bytes(int(8)).toString('latin1')).join('');
  const enc = (x: string) => encodeURIComponent(x.toWellFormed());
  const badBytes = () => Buffer.concat([Buffer.from('{"narrative":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80]), Buffer.from('"}')]);

  it('JSON, bad UTF-8, forms, MIME, signed Twilio parameters and CSV: no answer ≥ 500', { timeout: 240_000 }, async () => {
    const statuses: { where: string; status: number }[] = [];
    const note = (where: string, status: number) => statuses.push({ where, status });
    const s = await formSession();
    const { json } = await t.call('POST', '/api/v1/reports', { body: { narrative: '用于模糊测试的一条举报内容。' } });
    const jsonBodies = () => [
      junk(),
      JSON.stringify({ narrative: junk(), accused: [{ name: junk(), role: junk() }], reporter: { name: junk(), phone: junk(), email: junk() } }),
      JSON.stringify({ narrative: '正常的举报内容，没有问题。', categories: [junk()], unitId: junk(), occurredWhen: junk() }),
      JSON.stringify([1, 2, 3]),
      'null',
      JSON.stringify({ body: junk() }),
      '{"narrative": "' + 'x'.repeat(10) + '", "accused": {"0": 1}}',
    ];
    for (let round = 0; round < 12; round++) {
      for (const body of jsonBodies()) {
        note('api report', (await t.call('POST', '/api/v1/reports', { body })).status);
        note('api message', (await t.call('POST', `/api/v1/reports/${json.trackingCode}/messages`, { body, headers: { 'x-report-secret': json.secret } })).status);
        note('api view', (await t.call('GET', `/api/v1/reports/${enc(junk())}`, { headers: { 'x-report-secret': 'A'.repeat(int(40)) } })).status);
        note('staff clue', (await t.call('POST', '/api/v1/staff/clues', { token: admin, body })).status);
        note('staff users', (await t.call('POST', '/api/v1/staff/users', { token: admin, body })).status);
        note('login', (await t.call('POST', '/api/v1/staff/login', { body })).status);
        note('referral action', (await t.call('POST', `/referrals/${enc(junk())}/actions?exp=${int(99)}&sig=${junk()}`, { body })).status);
        note('staff list', (await t.call('GET', `/api/v1/staff/clues?status=${enc(junk())}&cursor=${enc(junk())}&limit=${enc(junk())}`, { token: admin })).status);
      }
      const bad = await t.app.request('/api/v1/reports', { method: 'POST', headers: { 'content-type': 'application/json' }, body: badBytes() });
      note('bad utf-8', bad.status);
      const multipart = new FormData();
      multipart.set('report', junk());
      note('multipart report', (await t.app.request('/api/v1/reports', { method: 'POST', body: multipart })).status);
      for (const path of ['/report', '/follow-up', '/follow-up/messages', '/follow-up/logout']) {
        note(`form ${path}`, (await postForm(path, { narrative: junk(), code: junk(), secret: junk(), body: junk(), identity: pick(['named', 'anonymous', junk()]), phone: junk(), email: junk(), 'accused[0][name]': junk(), categories: junk(), unitId: junk() }, s)).status);
      }
      const sig = { MessageSid: `SM${randomBytes(16).toString('hex')}`, CallSid: `CA${randomBytes(16).toString('hex')}`, AccountSid: 'AC' + '0'.repeat(32), From: pick(['+8613600002222', junk(), '']), To: junk(), Body: junk(), Digits: pick(['1', '2', '#', junk()]), SpeechResult: junk(), NumMedia: pick(['0', '3', junk()]), RecordingUrl: junk(), RecordingSid: junk(), CallStatus: junk() };
      for (const path of ['/twilio/sms', '/twilio/voice', '/twilio/voice/menu', '/twilio/voice/recording', '/twilio/status']) note(`twilio ${path}`, (await twilioPost(path, sig)).status);
      const mime = rawMessage([`From: ${junk()}`, `Subject: ${junk()}`, `Message-ID: <${junk()}>`, `Content-Type: ${pick(['text/plain; charset=gbk', 'multipart/mixed; boundary=x', junk()])}`], Buffer.from(junk(), 'latin1'), '\r\n--x\r\nContent-Type: text/plain\r\n\r\n', junk(), '\r\n--x--\r\n');
      await t.deps.email.receive(mime).then(() => note('mime', 200), (err: Error) => note(`mime ${err.message}`, 500));
      const csv = Buffer.concat([Buffer.from(csvLine(HEADER) + '\r\n'), Buffer.from(junk(), 'latin1'), Buffer.from([0xff, 0x00, 0x81])]);
      note('csv', (await t.app.request('/api/v1/staff/registry/import', { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/csv' }, body: csv })).status);
    }
    expect(statuses.length).toBeGreaterThan(500);
    expect(statuses.filter((x) => x.status >= 500)).toEqual([]);
  });
});
