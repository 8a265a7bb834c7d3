import ExcelJS from 'exceljs';
import iconv from 'iconv-lite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createTestApp, seedTree } from './helpers.ts';

type TestApp = Awaited<ReturnType<typeof createTestApp>>;
let t: TestApp;
let tree: Awaited<ReturnType<typeof seedTree>>;
let operator: string;
let supervisor: string;
let supervisorB: string;
let caseworkerA: string;
let admin: string;
const ids: Record<string, string> = {};

const CANARY_NAME = '欧阳金钗';
const CANARY_PHONE = '13912345678';
const CANARY_NARRATIVE = '叙述正文不应出现在台账里';

async function register(unitId: string | null, accused: { name: string; role: string; unitId?: string }[], opts: { receivedAt?: string; named?: boolean } = {}) {
  const r = await t.call('POST', '/api/v1/staff/clues', {
    token: operator,
    body: {
      channel: 'letter',
      narrative: `${CANARY_NARRATIVE}：反映低保办理中的问题。`,
      unitId,
      accused,
      receivedAt: opts.receivedAt,
      reporter: opts.named ? { name: CANARY_NAME, phone: CANARY_PHONE } : null,
    },
  });
  expect(r.status, r.text).toBe(201);
  return r.json.id as string;
}

async function act(id: string, action: string, extra: Record<string, unknown> = {}) {
  const r = await t.call('POST', `/api/v1/staff/clues/${id}/transitions`, { token: supervisor, body: { action, ...extra } });
  expect(r.status, r.text).toBe(200);
}

async function conclude(id: string, outcome?: Record<string, unknown>, reopened = false) {
  if (!reopened) {
    await act(id, 'accept');
    await act(id, 'start_verification');
  }
  await act(id, 'conclude', { finding: 'substantiated', outcome });
}

/** Local (Asia/Shanghai) wall time → instant. */
const local = (s: string) => new Date(`${s}+08:00`);

/** The test moves the clock by days, past any session's life: everyone signs in again after each move. */
async function setClock(at: Date) {
  t.clock.set(at);
  const login = async (username: string) => (await t.deps.staff.login({ username, password: `pw-${username}-0123456789` })).token;
  [operator, supervisor, supervisorB, caseworkerA, admin] = (await Promise.all(['op', 'sup', 'supb', 'cwa', 'adm'].map(login))) as [string, string, string, string, string];
}

beforeAll(async () => {
  t = await createTestApp();
  t.clock.set(local('2027-01-04T09:00:00'));
  tree = await seedTree(t);
  for (const [username, role, unitId] of [
    ['op', 'operator', tree.district.id],
    ['sup', 'supervisor', tree.district.id],
    ['supb', 'supervisor', tree.streetB.id],
    ['cwa', 'caseworker', tree.streetA.id],
    ['adm', 'admin', tree.district.id],
  ] as const) {
    await t.deps.staff.seedStaff({ username, displayName: username, password: `pw-${username}-0123456789`, role, unitId });
  }
  await setClock(local('2027-01-04T09:00:00'));

  // January
  ids.c1 = await register(tree.committeeA.id, [{ name: '王某', role: 'official', unitId: tree.committeeB.id }], { named: true });
  ids.c2 = await register(tree.streetB.id, [{ name: '李某', role: 'beneficiary' }]);
  ids.c3 = await register(tree.streetA.id, [{ name: '赵某', role: 'caseworker' }]);
  ids.c4 = await register(tree.committeeA.id, [{ name: '王某', role: 'official', unitId: tree.committeeB.id }]);
  ids.c5 = await register(tree.streetB.id, [{ name: '钱某', role: 'cadre' }]);
  ids.c7 = await register(null, [{ name: '某人', role: 'unknown' }]);
  await setClock(local('2027-01-10T10:00:00'));
  await conclude(ids.c1, {
    byType: { renqing: { people: 2, fundsYuan: 3000.5 }, guanxi: { people: 1, fundsYuan: 1000 } },
    cardCustodyCases: 1,
    enrolledAfterSingleFix: 3,
  });
  await conclude(ids.c2, { byType: { zhengce: { people: 1, fundsYuan: 500 } } });
  await conclude(ids.c3, { byType: { sanwu: { people: 1, fundsYuan: 200 } } });
  await act(ids.c4, 'merge', { mergedInto: ids.c1 });
  // Concluded as before this change: totals without the split by type.
  await conclude(ids.c5, { peopleRemoved: 2, fundsRecoveredYuan: 800, cardCustodyCases: 1 });
  // Received on the last evening of January (local time), concluded in February.
  ids.c6 = await register(tree.committeeA.id, [{ name: '孙某', role: 'cadre' }], { receivedAt: '2027-01-31T23:30:00+08:00' });
  // February: c3 reopened and concluded again; c6 concluded.
  await setClock(local('2027-02-03T10:00:00'));
  await act(ids.c3, 'review', { reason: '举报人申请复查' });
  await conclude(ids.c3, { byType: { renqing: { people: 1, fundsYuan: 100 } } }, true);
  await conclude(ids.c6, { byType: { guanxi: { people: 1, fundsYuan: 50 } } });
  // A near-relative registration of street A, in January.
  await t.db.query(
    `insert into near_relative (id, registrant_name, registrant_name_key, registrant_unit_id, registrant_role, relative_name, relative_name_key, relation, id_box, id_hash, programme, since, created_at, created_by)
     select gen_random_uuid(), '张三', '张三', $1, 'caseworker', '张四', '张四', 'sibling', '\\x00', repeat('a', 64), 'dibao', '2020-01-01', $2, id from staff where username = 'adm'`,
    [tree.streetA.id, local('2027-01-05T10:00:00')],
  );
}, 120_000);

afterAll(async () => {
  await t?.close();
});

const table = async (from: string, to: string, token = supervisor, extra = '') =>
  t.call('GET', `/api/v1/staff/reports/self-inspection?from=${from}&to=${to}${extra}`, { token });

const zero = {
  renqingPeople: 0,
  renqingFunds: 0,
  guanxiPeople: 0,
  guanxiFunds: 0,
  zhengcePeople: 0,
  zhengceFunds: 0,
  sanwuPeople: 0,
  sanwuFunds: 0,
  enrolledAfterSingleFix: 0,
  civilAffairsClues: 0,
  civilAffairsDisposed: 0,
  cardCustodyCases: 0,
  nearRelativeRegistrations: 0,
  petitions: 0,
  petitionsDisposed: 0,
};

/**
 * The table of [from, to] for the district, recomputed from the ledger's events (the status, the
 * latest conclusion and the unit of registration of each clue) and compared line by line.
 */
async function expectTableFromEvents(from: string, to: string) {
  const api = (await table(from, to)).json;
  const fromAt = local(`${from}T00:00:00`).getTime();
  const toAt = local(`${to}T00:00:00`).getTime() + 86_400_000;
  const events = await t.db.query<{ clue_id: string; seq: number; at: Date; type: string; data: any }>(
    'select clue_id, seq, at, type, data from ledger_event where clue_id is not null order by clue_id, seq',
  );
  const units = await t.db.query<{ id: string; path: string }>('select id, path from unit');
  const pathOf = new Map(units.map((u) => [u.id, u.path]));
  const byClue = new Map<string, typeof events>();
  for (const e of events) byClue.set(e.clue_id, [...(byClue.get(e.clue_id) ?? []), e]);
  const expected = new Map<string, Record<string, number>>();
  type Line = Record<string, number>;
  const untyped = { clues: 0, peopleRemoved: 0, fundsRecoveredYuan: 0 };
  const lineOf = (unitId: string | null) => {
    const path = unitId ? pathOf.get(unitId)! : '';
    const seg = path.split('/').filter(Boolean)[1] ?? '';
    if (!expected.has(seg)) expected.set(seg, { ...zero });
    return expected.get(seg)! as Line & typeof zero;
  };
  for (const list of byClue.values()) {
    const reg = list.find((e) => e.type === 'clue.registered')!;
    let status = 'registered';
    let lastConclusion: (typeof list)[number] | null = null;
    for (const e of list) {
      if (e.type !== 'clue.status_changed') continue;
      status = e.data.to;
      if (e.data.to === 'concluded') lastConclusion = e;
      if (e.data.action === 'review' || e.data.action === 're_review') lastConclusion = null;
    }
    if (status === 'merged') continue;
    const f = lineOf(reg.data.unitId ?? null);
    const received = new Date(reg.data.receivedAt).getTime();
    const accused = await t.db.query<{ role: string }>('select role from accused where clue_id = $1', [reg.clue_id]);
    const civil = accused.some((a) => ['official', 'caseworker', 'cadre'].includes(a.role));
    const disposed = ['concluded', 'replied', 'closed'].includes(status);
    if (received >= fromAt && received < toAt) {
      if (civil) {
        f.civilAffairsClues += 1;
        f.civilAffairsDisposed += disposed ? 1 : 0;
      } else {
        f.petitions += 1;
        f.petitionsDisposed += disposed ? 1 : 0;
      }
    }
    const at = lastConclusion ? new Date(lastConclusion.at).getTime() : NaN;
    if (lastConclusion && disposed && at >= fromAt && at < toAt) {
      const o = lastConclusion.data.outcome ?? {};
      if (!o.byType) {
        untyped.clues += 1;
        untyped.peopleRemoved += o.peopleRemoved ?? 0;
        untyped.fundsRecoveredYuan += o.fundsRecoveredYuan ?? 0;
      }
      for (const [type, r] of Object.entries<{ people: number; fundsYuan: number }>(o.byType ?? {})) {
        f[`${type}People`] = (f[`${type}People`] ?? 0) + r.people;
        f[`${type}Funds`] = (f[`${type}Funds`] ?? 0) + r.fundsYuan;
      }
      f.enrolledAfterSingleFix += o.enrolledAfterSingleFix ?? 0;
      f.cardCustodyCases += o.cardCustodyCases ?? 0;
    }
  }
  lineOf(tree.streetA.id).nearRelativeRegistrations += local('2027-01-05T10:00:00').getTime() < toAt ? 1 : 0;
  expect(api.untyped).toEqual(untyped);
  for (const row of api.rows as { unitId: string | null; figures: Record<string, number> }[]) {
    const key = row.unitId ?? '';
    expect(row.figures, `${from}…${to} ${key}`).toEqual(expected.get(key) ?? zero);
  }
  return api;
}

describe('the self-inspection table', () => {
  it('January, by hand: c3 counts nowhere (reopened and concluded again in February), c4 merged, c5 on the untyped line, c6 received in January', async () => {
    const r = await table('2027-01-01', '2027-01-31');
    expect(r.status, r.text).toBe(200);
    const rows = Object.fromEntries(r.json.rows.map((x: { unitName: string; figures: unknown }) => [x.unitName, x.figures]));
    expect(Object.keys(rows)).toEqual(['长风街道', '曹杨街道', '区本级 / district level']);
    expect(rows['长风街道']).toEqual({
      ...zero,
      renqingPeople: 2,
      renqingFunds: 3000.5,
      guanxiPeople: 1,
      guanxiFunds: 1000,
      enrolledAfterSingleFix: 3,
      cardCustodyCases: 1,
      civilAffairsClues: 3, // c1, c3, c6 (c4 merged into c1)
      civilAffairsDisposed: 3, // c6 was concluded only in February, but stands concluded when the table is made
      nearRelativeRegistrations: 1,
    });
    expect(rows['曹杨街道']).toEqual({ ...zero, zhengcePeople: 1, zhengceFunds: 500, cardCustodyCases: 1, civilAffairsClues: 1, civilAffairsDisposed: 1, petitions: 1, petitionsDisposed: 1 });
    expect(rows['区本级 / district level']).toEqual({ ...zero, petitions: 1 });
    expect(r.json.untyped).toEqual({ clues: 1, peopleRemoved: 2, fundsRecoveredYuan: 800 });
    expect(r.json.total.civilAffairsClues).toBe(4);
    expect(r.json.total.renqingFunds).toBe(3000.5);
  });

  it('February holds c3’s latest conclusion and c6; January–February counts c3 once', async () => {
    const feb = await table('2027-02-01', '2027-02-28');
    const a = feb.json.rows.find((x: { unitName: string }) => x.unitName === '长风街道').figures;
    expect(a).toEqual({ ...zero, renqingPeople: 1, renqingFunds: 100, guanxiPeople: 1, guanxiFunds: 50, nearRelativeRegistrations: 1 });
    const both = await table('2027-01-01', '2027-02-28');
    const ab = both.json.rows.find((x: { unitName: string }) => x.unitName === '长风街道').figures;
    expect(ab.renqingPeople).toBe(3);
    expect(ab.sanwuPeople).toBe(0);
    expect(ab.civilAffairsClues).toBe(3);
  });

  it('equals the figures recomputed from the ledger’s events', async () => {
    for (const [from, to] of [
      ['2027-01-01', '2027-01-31'],
      ['2027-02-01', '2027-02-28'],
      ['2027-01-01', '2027-12-31'],
    ] as const) {
      await expectTableFromEvents(from, to);
    }
  });

  it('a street supervisor gets their street only; another street, a caseworker and bad periods are refused', async () => {
    const own = await table('2027-01-01', '2027-01-31', supervisorB, `&unitId=${tree.streetB.id}`);
    expect(own.status).toBe(200);
    expect(own.json.rows).toHaveLength(1);
    expect(own.json.rows[0].unitName).toBe('曹杨街道');
    expect((await table('2027-01-01', '2027-01-31', supervisorB, `&unitId=${tree.streetA.id}`)).status).toBe(404);
    expect((await table('2027-01-01', '2027-01-31', supervisorB)).json.rows[0].unitId).toBe(tree.streetB.id);
    expect((await table('2027-01-01', '2027-01-31', caseworkerA)).status).toBe(403);
    const backwards = await table('2027-02-01', '2027-01-01');
    expect(backwards.status).toBe(400);
    expect(backwards.json.error.code).toBe('statistics.period_invalid');
    expect((await table('2027-13-01', '2027-01-01')).status).toBe(400);
    expect((await table('2020-01-01', '2027-01-01')).status).toBe(400);
  });

  it('the workbook is laid out as the annex, header cell by cell, with the figures of the JSON table', async () => {
    const res = await t.app.request(`/api/v1/staff/reports/self-inspection?from=2027-01-01&to=2027-01-31&format=xlsx&contact=${encodeURIComponent('王欣')}&phone=021-12345678`, {
      headers: { authorization: `Bearer ${supervisor}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('spreadsheetml');
    expect(res.headers.get('content-disposition')).toContain("filename*=UTF-8''");
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(Buffer.from(await res.arrayBuffer()) as never);
    const ws = wb.worksheets[0]!;
    const v = (cell: string) => String(ws.getCell(cell).value ?? '');
    expect(v('A1')).toBe('普陀区社会救助“人情保”“关系保”问题自查自纠工作开展情况统计表');
    expect([v('A2'), v('E2'), v('I2')]).toEqual(['街镇：普陀区', '联系人：王欣', '电话：021-12345678']);
    expect(v('M2')).toMatch(/^填报日期：\d{4}-\d{2}-\d{2}$/);
    // The annex (Putuo 2024, seed 004), transcribed by hand.
    const header: Record<string, string> = {
      A3: '类别',
      B3: '对象认定不精准情况',
      K3: '民政部门问题线索查处情况',
      M3: '其它',
      O3: '社会救助领域信访事项处理情况',
      B4: '清退“人情保”',
      D4: '清退“关系保”',
      F4: '清退“政策保”',
      H4: '清退因审核把关不严、随意放宽“三无”认定条件纳入特困供养人员',
      J4: '纠正以“单人保”代替“整户保”问题，新纳入低保人数（人）',
      K4: '问题线索数（条）',
      L4: '其中',
      L5: '已处置到位数（件）',
      M4: '卡折代管案数（人）',
      N4: '近亲属备案数（人）',
      O4: '办理社会救助领域信访事项数（件）',
      P4: '其中',
      P5: '已处置到位数（件）',
      B5: '人数（人）',
      C5: '追回资金（元）',
      D5: '人数（人）',
      E5: '追回资金（元）',
      F5: '人数（人）',
      G5: '追回资金（元）',
      H5: '人数（人）',
      I5: '追回资金（元）',
    };
    for (const [cell, text] of Object.entries(header)) expect(v(cell), cell).toBe(text);
    const merges = (ws.model as unknown as { merges: string[] }).merges;
    for (const m of ['A1:P1', 'A3:A5', 'B3:J3', 'K3:L3', 'M3:N3', 'O3:P3', 'B4:C4', 'D4:E4', 'F4:G4', 'H4:I4', 'J4:J5', 'K4:K5', 'M4:M5', 'N4:N5', 'O4:O5']) expect(merges).toContain(m);
    const json = (await table('2027-01-01', '2027-01-31')).json;
    const cols = 'BCDEFGHIJKLMNOP'.split('');
    const lines = [...json.rows.map((r: { unitName: string; figures: Record<string, number> }) => [r.unitName, r.figures]), ['合计', json.total]];
    lines.forEach(([name, figures], i) => {
      expect(v(`A${6 + i}`)).toBe(name);
      json.columns.forEach((c: { key: string }, j: number) => expect(ws.getCell(`${cols[j]}${6 + i}`).value, `${name} ${c.key}`).toBe(figures[c.key]));
    });
    const after = 6 + lines.length;
    expect(v(`A${after}`)).toContain('1 条线索办结时未记录问题类型');
    expect(v(`A${after + 1}`)).toBe('备注');
    expect(v(`B${after + 1}`)).toContain('确保报送数据与报送同级纪检监察机关数据一致');
  });
});

describe('the clue summary (问题摘要)', () => {
  it('refuses part of the reporter’s name, a phone or ID number, an email; each refusal is on the ledger', async () => {
    const put = (summary: string) => t.call('PUT', `/api/v1/staff/clues/${ids.c1}/summary`, { token: caseworkerA, body: { summary } });
    for (const bad of ['金钗反映社区干部优亲厚友', '联系电话139 1234 5678', '身份证31010119800101123X', '请回复 someone@example.cn']) {
      const r = await put(bad);
      expect(r.status, bad).toBe(422);
      expect(r.json.error.code).toBe('clue.summary_identifies_reporter');
      expect(r.text).not.toContain(CANARY_NAME);
    }
    expect((await put('x'.repeat(51))).status).toBe(400);
    const ok = await put('反映社区干部为亲属违规办理低保');
    expect(ok.status, ok.text).toBe(200);
    const refusals = await t.db.query<{ data: { rule: string } }>(`select data from ledger_event where clue_id = $1 and type = 'clue.summary_refused' order by seq`, [ids.c1]);
    expect(refusals.map((e) => e.data.rule)).toEqual(['reporter_name', 'number_pattern', 'number_pattern', 'email_pattern']);
    const detail = await t.call('GET', `/api/v1/staff/clues/${ids.c1}`, { token: supervisor });
    expect(detail.json.summary).toBe('反映社区干部为亲属违规办理低保');
  });
});

describe('the clue ledger export', () => {
  const download = async (query: string, token: string) => {
    const res = await t.app.request(`/api/v1/staff/exports/clues?${query}`, { headers: { authorization: `Bearer ${token}` } });
    return { res, bytes: Buffer.from(await res.arrayBuffer()) };
  };
  const parseCsv = (text: string) => text.trim().split('\r\n').map((l) => l.split(','));

  it('CSV (UTF-8 with BOM): a street caseworker gets the clues of their street only, with the summary and never the reporter or the narrative; recorded on the audit chain', async () => {
    const { res, bytes } = await download('format=csv', caseworkerA);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
    const text = bytes.subarray(3).toString('utf8');
    const [header, ...rows] = parseCsv(text);
    expect(header).toEqual(['序号', '受理编号', '来源渠道', '受理时间', '问题类别', '被反映人及单位', '问题摘要', '承办单位', '办理状态', '办理时限', '办结时间', '处理结果', '是否移交纪检', '答复情况']);
    const codes = await t.db.query<{ tracking_code: string; id: string }>('select id, tracking_code from clue');
    const codeOf = new Map(codes.map((c) => [c.id, c.tracking_code]));
    const streetA = [ids.c1, ids.c3, ids.c4, ids.c6];
    expect(rows.map((r) => r[1]!.replace(/\D/g, '')).sort()).toEqual(streetA.map((id) => codeOf.get(id!)).sort());
    expect(rows.map((r) => r[0])).toEqual(rows.map((_, i) => String(i + 1)));
    const c1 = rows.find((r) => r[1]!.replace(/\D/g, '') === codeOf.get(ids.c1!))!;
    expect(c1[2]).toBe('来信');
    expect(c1[5]).toBe('王某（民政部门工作人员，曹杨一村居委会）');
    expect(c1[6]).toBe('反映社区干部为亲属违规办理低保');
    expect(c1[7]).toBe('长风一村居委会');
    expect(c1[8]).toBe('已办结');
    expect(c1[11]).toBe('属实');
    expect(c1[13]).toBe('待答复');
    for (const canary of [CANARY_NAME, CANARY_PHONE, CANARY_NARRATIVE]) expect(text).not.toContain(canary);
    const [audit] = await t.db.query<{ actor: string; data: { rows: number; sha256: string; complete: boolean; format: string } }>(
      `select actor, data from ledger_event where audit_id = 'system' and type = 'export.clues' order by seq desc limit 1`,
    );
    expect(audit!.data).toMatchObject({ rows: 4, format: 'csv', complete: true, sha256: createHash('sha256').update(bytes).digest('hex') });
  });

  it('GBK on request, and a formula-looking accused name is neutralised', async () => {
    await register(tree.streetB.id, [{ name: '=HYPERLINK("http://x")', role: 'other' }]);
    const { res, bytes } = await download('format=csv&encoding=gbk', supervisorB);
    expect(res.headers.get('content-type')).toContain('GBK');
    const text = iconv.decode(bytes, 'gbk');
    expect(text.startsWith('序号,受理编号')).toBe(true);
    expect(text).toContain(`"'=HYPERLINK(""http://x"")（其他）"`);
  });

  it('XLSX streams the same rows for the same filter; a period filters by 受理时间', async () => {
    const csv = parseCsv((await download('format=csv&from=2027-01-01&to=2027-01-31', supervisor)).bytes.subarray(3).toString('utf8'));
    const { res, bytes } = await download('format=xlsx&from=2027-01-01&to=2027-01-31', supervisor);
    expect(res.status).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(bytes as never);
    const ws = wb.worksheets[0]!;
    const sheet: string[][] = [];
    ws.eachRow((row) => sheet.push(Array.from({ length: 14 }, (_, i) => String(row.getCell(i + 1).value ?? ''))));
    expect(sheet.map((r) => r.slice(0, 9))).toEqual(csv.map((r) => r.slice(0, 9)));
    // c6 was received on 31 January at 23:30 local time: in January.
    expect(csv.length - 1).toBe(7);
  });

  it('bad filters are 400s, not 500s', async () => {
    for (const q of ['format=pdf', 'from=2027-02-30', 'unitId=nope', 'from=2027-02-01&to=2027-01-01', 'encoding=latin1']) {
      const r = await t.call('GET', `/api/v1/staff/exports/clues?${q}`, { token: admin });
      expect(r.status, q).toBe(400);
    }
  });
});

describe('the roll-up of settled days', () => {
  const lineOf = (api: { rows: { unitName: string; figures: Record<string, number> }[] }, name: string) => api.rows.find((r) => r.unitName === name)!.figures;

  it('a late change to a past day — a clue reopened, one concluded again, a late registration merged, an accused added — is in the table after its days were rolled up', async () => {
    await setClock(local('2027-03-10T10:00:00'));
    const periods = [
      ['2027-01-01', '2027-01-31'],
      ['2027-02-01', '2027-02-28'],
      ['2027-01-01', '2027-03-31'],
    ] as const;
    for (const [from, to] of periods) await expectTableFromEvents(from, to);
    // 1 January to 9 March are settled and now rolled up; 10 March (today) is read live.
    const [rolled] = await t.db.query<{ n: number; first: string; last: string }>(
      `select count(*)::int as n, min(day)::text as first, max(day)::text as last from annex_day`,
    );
    expect(rolled).toEqual({ n: 68, first: '2027-01-01', last: '2027-03-09' });
    const janBefore = (await table('2027-01-01', '2027-01-31')).json;
    expect(lineOf(janBefore, '长风街道')).toMatchObject({ renqingPeople: 2, civilAffairsDisposed: 3 });
    expect(lineOf(janBefore, '区本级 / district level')).toMatchObject({ petitions: 1, civilAffairsClues: 0 });

    // c6 (received 31 January, concluded 3 February) reopened; c1 (concluded 10 January) reopened and concluded again today.
    await act(ids.c6!, 'review', { reason: '举报人申请复查' });
    await act(ids.c1!, 're_review', { reason: '举报人申请复核' });
    await conclude(ids.c1!, { byType: { zhengce: { people: 4, fundsYuan: 10 } } }, true);
    // c7 (received in January, a petition) now names an official.
    const added = await t.call('POST', `/api/v1/staff/clues/${ids.c7}/accused`, { token: supervisor, body: { name: '吴某', role: 'official', reason: '核查中查明' } });
    expect(added.status, added.text).toBe(201);
    // A letter dated 20 January registered today counts in January …
    const late = await register(tree.streetB.id, [{ name: '周某', role: 'caseworker' }], { receivedAt: '2027-01-20T10:00:00+08:00' });
    const withLate = await expectTableFromEvents('2027-01-01', '2027-01-31');
    expect(lineOf(withLate, '曹杨街道').civilAffairsClues).toBe(lineOf(janBefore, '曹杨街道').civilAffairsClues! + 1);

    const jan = await expectTableFromEvents('2027-01-01', '2027-01-31');
    expect(lineOf(jan, '长风街道')).toMatchObject({ renqingPeople: 0, renqingFunds: 0, guanxiPeople: 0, civilAffairsDisposed: 2 });
    expect(lineOf(jan, '区本级 / district level')).toMatchObject({ petitions: 0, civilAffairsClues: 1 });
    const feb = await expectTableFromEvents('2027-02-01', '2027-02-28');
    expect(lineOf(feb, '长风街道')).toMatchObject({ renqingPeople: 1, guanxiPeople: 0, guanxiFunds: 0 });
    const q1 = await expectTableFromEvents('2027-01-01', '2027-03-31');
    expect(lineOf(q1, '长风街道')).toMatchObject({ zhengcePeople: 4, zhengceFunds: 10 });

    // … until it is merged into c5 (the days are dropped again and refilled).
    await act(late, 'merge', { mergedInto: ids.c5 });
    const merged = await expectTableFromEvents('2027-01-01', '2027-01-31');
    expect(lineOf(merged, '曹杨街道').civilAffairsClues).toBe(lineOf(janBefore, '曹杨街道').civilAffairsClues);
    for (const [from, to] of periods) await expectTableFromEvents(from, to);
  });
});
