import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, seedTree, type TestEnv } from './helpers.ts';

let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
const users: Record<string, string> = {};
const REPORTER = { name: '周晓梅', phone: '13912345678', email: 'zhou.xiaomei@example.cn' };
const NARRATIVE = '居委会主任的表哥开着宝马却一直领低保，举报人是隔壁邻居。';

beforeAll(async () => {
  t = await createTestApp();
  tree = await seedTree(t);
  users.opDistrict = (await t.staffMember('op-d', 'operator', tree.district.id)).token;
  users.opA = (await t.staffMember('op-a', 'operator', tree.streetA.id)).token;
  users.opB = (await t.staffMember('op-b', 'operator', tree.streetB.id)).token;
  users.opCommitteeA = (await t.staffMember('op-a1', 'operator', tree.committeeA.id)).token;
  users.caseworkerA = (await t.staffMember('cw-a', 'caseworker', tree.streetA.id)).token;
  users.discipline = (await t.staffMember('dis', 'discipline_officer', tree.district.id)).token;
  users.admin = (await t.staffMember('adm', 'admin', tree.district.id)).token;
});
afterAll(() => t.close());

async function registerInA() {
  const res = await t.call('POST', '/api/v1/staff/clues', {
    token: users.opDistrict,
    body: {
      channel: 'phone',
      categories: ['connection_enrolment'],
      narrative: NARRATIVE,
      unitId: tree.committeeA.id,
      accused: [{ name: '钱主任', role: 'cadre', unitId: tree.committeeA.id }],
      reporter: REPORTER,
    },
  });
  expect(res.status).toBe(201);
  return res.json as { id: string; trackingCode: string };
}

describe('staff see only the clues of their own units', () => {
  it('a street cannot list or read another street’s clues; the district and admin can', async () => {
    const clue = await registerInA();
    const listed = async (token: string) =>
      ((await t.call('GET', '/api/v1/staff/clues', { token })).json.items as { id: string }[]).map((c) => c.id);

    expect(await listed(users.opA!)).toContain(clue.id);
    expect(await listed(users.opDistrict!)).toContain(clue.id);
    expect(await listed(users.admin!)).toContain(clue.id);
    expect(await listed(users.opB!)).not.toContain(clue.id);
    expect(await listed(users.discipline!)).toEqual([]);

    for (const token of [users.opB!, users.discipline!]) {
      const read = await t.call('GET', `/api/v1/staff/clues/${clue.id}`, { token });
      expect(read.status).toBe(404);
      expect(read.json.error.code).toBe('clue.not_found');
      const change = await t.call('POST', `/api/v1/staff/clues/${clue.id}/transitions`, { token, body: { action: 'accept' } });
      // The other street is told the clue does not exist; a discipline officer may not change statuses at all.
      expect(change.status).toBe(token === users.opB ? 404 : 403);
    }
    expect((await t.call('GET', `/api/v1/staff/clues/${clue.id}`, { token: users.opA })).status).toBe(200);
    // A filter for another unit does not widen what a principal sees.
    const sneaky = await t.call('GET', `/api/v1/staff/clues?unitId=${tree.committeeA.id}`, { token: users.opB });
    expect(sneaky.json.items).toEqual([]);
  });

  it('without a valid token nothing is served', async () => {
    expect((await t.call('GET', '/api/v1/staff/clues')).status).toBe(401);
    expect((await t.call('GET', '/api/v1/staff/clues', { token: 'forged' })).json.error.code).toBe('auth.required');
    const bad = await t.call('POST', '/api/v1/staff/login', { body: { username: 'op-a', password: 'wrong-password' } });
    expect(bad.status).toBe(401);
    expect(bad.json.error.code).toBe('auth.invalid_credentials');
  });

  it('the list and the clue view never carry the reporter’s identity', async () => {
    const clue = await registerInA();
    for (const token of [users.opA!, users.opDistrict!, users.admin!, users.caseworkerA!]) {
      const list = await t.call('GET', '/api/v1/staff/clues', { token });
      const one = await t.call('GET', `/api/v1/staff/clues/${clue.id}`, { token });
      for (const text of [list.text, one.text]) {
        expect(text).not.toContain(REPORTER.name);
        expect(text).not.toContain(REPORTER.phone);
        expect(text).not.toContain(REPORTER.email);
      }
      expect(list.text).not.toContain(NARRATIVE);
    }
    const [row] = await t.db.query<{ box: Buffer }>('select box from sealed_reporter where clue_id = $1', [clue.id]);
    expect(row!.box.toString('utf8')).not.toContain(REPORTER.phone);
    expect(row!.box.toString('latin1')).not.toContain(REPORTER.email);
  });
});

describe('opening the sealed reporter record', () => {
  it('is allowed to an operator outside the accused’s unit and recorded on the ledger', async () => {
    const clue = await registerInA();
    const res = await t.call('POST', `/api/v1/staff/clues/${clue.id}/reporter/reveal`, {
      token: users.opA,
      body: { purpose: '回访举报人核实情况' },
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject(REPORTER);
    const read = await t.call('GET', `/api/v1/staff/clues/${clue.id}`, { token: users.opA });
    const viewed = read.json.events.filter((e: { type: string }) => e.type === 'reporter.viewed');
    expect(viewed).toHaveLength(1);
    expect(viewed[0].actor).toMatch(/^staff:/);
    expect(viewed[0].data).toEqual({ purpose: '回访举报人核实情况' });
  });

  it('is refused to roles that do not need it and to the accused’s own unit (recusal)', async () => {
    const clue = await registerInA();
    const cw = await t.call('POST', `/api/v1/staff/clues/${clue.id}/reporter/reveal`, { token: users.caseworkerA, body: { purpose: '核实' } });
    expect(cw.status).toBe(403);
    expect(cw.text).not.toContain(REPORTER.name);
    const recused = await t.call('POST', `/api/v1/staff/clues/${clue.id}/reporter/reveal`, {
      token: users.opCommitteeA,
      body: { purpose: '核实' },
    });
    // The committee is in the accused's unit's subtree: the clue does not exist for it (excluded set).
    expect(recused.status).toBe(404);
    expect(recused.json.error.code).toBe('clue.not_found');
    expect(recused.text).not.toContain(REPORTER.name);
    const [{ n }] = (await t.db.query<{ n: number }>(
      `select count(*)::int as n from ledger_event where clue_id = $1 and type = 'reporter.viewed'`,
      [clue.id],
    )) as [{ n: number }];
    expect(n).toBe(0);
  });

  it('an anonymous clue has nothing to reveal', async () => {
    const res = await t.call('POST', '/api/v1/staff/clues', {
      token: users.opDistrict,
      body: { channel: 'letter', narrative: '匿名来信反映低保金被冒领。', unitId: tree.committeeB.id, accused: [] },
    });
    const reveal = await t.call('POST', `/api/v1/staff/clues/${res.json.id}/reporter/reveal`, { token: users.opDistrict, body: { purpose: '核实' } });
    expect(reveal.status).toBe(404);
    expect(reveal.json.error.code).toBe('clue.reporter_anonymous');
  });
});

describe('bad input', () => {
  it('gets a coded 4xx and writes nothing', async () => {
    const before = await t.db.query<{ n: number }>('select count(*)::int as n from clue');
    const cases: [unknown, number, string][] = [
      ['{"channel":', 400, 'request.malformed_json'],
      [{ channel: 'letter', narrative: '' }, 400, 'request.invalid'],
      [{ channel: 'pigeon', narrative: '信鸽送来的举报信。' }, 400, 'request.invalid'],
      [{ channel: 'letter', narrative: '举报内容足够长的一句话。', unitId: '00000000-0000-4000-8000-000000000000' }, 422, 'clue.unknown_unit'],
      [{ channel: 'letter', narrative: '举报内容足够长的一句话。', reporter: { name: '张三' } }, 400, 'request.invalid'],
    ];
    for (const [body, status, code] of cases) {
      const res = await t.call('POST', '/api/v1/staff/clues', { token: users.opDistrict, body });
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.json.error.code).toBe(code);
    }
    const invalidUtf8 = await t.app.request('/api/v1/staff/clues', {
      method: 'POST',
      headers: { authorization: `Bearer ${users.opDistrict}`, 'content-type': 'application/json' },
      body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    });
    expect(invalidUtf8.status).toBe(400);
    expect(((await invalidUtf8.json()) as { error: { code: string } }).error.code).toBe('request.invalid_utf8');
    const malformed = await t.call('GET', '/api/v1/staff/clues/not-a-uuid', { token: users.opDistrict });
    expect(malformed.status).toBe(400);
    expect(malformed.json.error).toMatchObject({ code: 'request.invalid', details: { issues: [{ path: 'id' }] } });
    expect(await t.db.query('select count(*)::int as n from clue')).toEqual(before);
  });
});

describe('logs', () => {
  it('never contain the reporter’s identity, contact, secret or the narrative', async () => {
    const clue = await registerInA();
    await t.call('POST', `/api/v1/staff/clues/${clue.id}/reporter/reveal`, { token: users.opA, body: { purpose: '回访' } });
    const text = t.logs.text();
    expect(t.logs.lines.length).toBeGreaterThan(10);
    expect(text).toContain('clue registered');
    for (const secret of [REPORTER.name, REPORTER.phone, REPORTER.email, NARRATIVE, '钱主任']) {
      expect(text).not.toContain(secret);
    }
  });
});
