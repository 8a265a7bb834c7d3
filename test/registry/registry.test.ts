import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../../src/modules/clues/ledger.verify.ts';
import { Clue } from '../../src/modules/clues/clue.entity.ts';
import { matchClue } from '../../src/modules/registry/registry.usecases.ts';
import { createTestApp, seedTree, type TestEnv } from '../helpers.ts';
import { csvLine, encodeGbk, HEADER, makeId, withWrongCheck } from './fixtures.ts';

let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
const tok: Record<string, string> = {};
const ids: Record<string, string> = {};

/** Every ID number a test puts in: none may show up in a table's text or a log line. */
const usedIds = new Set<string>();
const id = (birth: string, seq: string) => {
  const v = makeId(birth, seq);
  usedIds.add(v);
  return v;
};

const ID_FATHER = id('19500304', '215');
const ID_SON = id('20100611', '037');
const ID_SPOUSE = id('19721108', '421');
const ID_MOTHER = id('19480101', '088');

beforeAll(async () => {
  t = await createTestApp();
  tree = await seedTree(t);
  const make = async (key: string, role: Parameters<TestEnv['staffMember']>[1], unitId: string) => {
    tok[key] = (await t.staffMember(key, role, unitId)).token;
    ids[key] = (await t.call('GET', '/api/v1/staff/me', { token: tok[key] })).json.id;
  };
  await make('admin', 'admin', tree.district.id);
  await make('sup-d', 'supervisor', tree.district.id);
  await make('sup-a', 'supervisor', tree.streetA.id);
  await make('sup-b', 'supervisor', tree.streetB.id);
  await make('cw-a', 'caseworker', tree.streetA.id);
  await make('cw-b', 'caseworker', tree.streetB.id);
  await make('op-d', 'operator', tree.district.id);
});
afterAll(() => t.close());

async function upload(token: string, body: Uint8Array | string, opts: { query?: string; contentType?: string } = {}) {
  const res = await t.app.request(`/api/v1/staff/registry/import${opts.query ?? ''}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': opts.contentType ?? 'text/csv' },
    body: Buffer.from(typeof body === 'string' ? new TextEncoder().encode(body) : body),
  });
  const text = await res.text();
  return { status: res.status, json: JSON.parse(text), text };
}

const rowCount = async () => Number((await t.db.query<{ n: string }>('select count(*) as n from near_relative'))[0]!.n);
const auditCount = async () => Number((await t.db.query<{ n: string }>('select count(*) as n from registry_audit'))[0]!.n);

describe('CSV import', () => {
  it('imports the good rows and reports each bad row by line, column and reason', async () => {
    const csv =
      '\uFEFF' +
      [
        csvLine(HEADER), // line 1
        csvLine(['cw-a', 'a', '经办人员', '张老汉', '父亲', ID_FATHER, '低保', '2023-03-01', '长风一村12号']), // 2: good
        csvLine(['李红', '长风一村居委会', '村（居）委会干部', '李小明', '子女', ID_SON, '特困供养', '2022/7/1', '长风一村5号, 201室']), // 3: good, unit by name
        csvLine(['王芳', 'a1', '村干部', '王大妈', '母亲', withWrongCheck(ID_MOTHER), '低保', '2021-01-01', '']), // 4: check digit
        csvLine(['王芳', 'a1', '村干部', '王二', '表舅', ID_MOTHER, '低保', '2021-01-01', '']), // 5: unknown relation
        csvLine(['赵强', '不存在街道', '民政干部职工', '赵母', '母亲', ID_MOTHER, '低保', '2021-01-01', '']), // 6: unknown unit
        csvLine(['cw-a', 'a', '经办人员', '张老汉', '父亲', ID_FATHER, '低保', '2023-03-01', '']), // 7: duplicate of line 2
        csvLine(['孙丽', 'b1', 'cadre', '', 'spouse', ID_SPOUSE, 'dibao', '2020-05-06', '']), // 8: no relative name
        csvLine(['孙丽', 'b1', 'cadre', '孙丈夫', 'spouse', ID_SPOUSE, 'extreme_poverty', '2020年5月6日', '曹杨路\n3号']), // 9–10: good, English words
        csvLine(['周明', 'b', '公职人员', '周母', '配偶母亲', ID_MOTHER, '其他', '2024.1.2', '']), // 11: good
      ].join('\r\n') +
      '\r\n';
    const before = await rowCount();
    const res = await upload(tok.admin!, csv);
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ dryRun: false, imported: 4, valid: 4, skipped: 5, encoding: 'utf-8', errorsTruncated: false });
    expect(await rowCount()).toBe(before + 4);

    const byLine = new Map<number, { column: string | null; reason: string }[]>();
    for (const e of res.json.errors) byLine.set(e.line, [...(byLine.get(e.line) ?? []), e]);
    expect([...byLine.keys()]).toEqual([4, 5, 6, 7, 8]);
    expect(byLine.get(4)).toEqual([{ line: 4, column: '身份证号', reason: expect.stringMatching(/^身份证号校验位错误 \/ .*check digit/) }]);
    expect(byLine.get(5)).toEqual([{ line: 5, column: '关系', reason: expect.stringMatching(/^关系无法识别.*Unknown relation/) }]);
    expect(byLine.get(6)).toEqual([{ line: 6, column: '登记人单位', reason: expect.stringMatching(/^单位不存在.*Unknown unit/) }]);
    expect(byLine.get(7)).toEqual([{ line: 7, column: '身份证号', reason: expect.stringMatching(/^与第2行重复.*Duplicate of line 2/) }]);
    expect(byLine.get(8)).toEqual([{ line: 8, column: '亲属姓名', reason: expect.stringMatching(/^亲属姓名不能为空.*required/) }]);
    // Reasons never quote the ID number.
    for (const v of usedIds) expect(res.text).not.toContain(v);

    const rows = await t.db.query<{ relative_name: string; registrant_staff_id: string | null; relation: string; programme: string; since: string; household_address: string | null }>(
      `select relative_name, registrant_staff_id, relation, programme, to_char(since, 'YYYY-MM-DD') as since, household_address from near_relative order by relative_name`,
    );
    const byName = new Map(rows.map((r) => [r.relative_name, r]));
    // The registrant named like a staff account of that unit is linked to it.
    expect(byName.get('张老汉')).toMatchObject({ registrant_staff_id: ids['cw-a'], relation: 'parent', programme: 'dibao', since: '2023-03-01' });
    expect(byName.get('李小明')).toMatchObject({ registrant_staff_id: null, relation: 'child', programme: 'extreme_poverty', since: '2022-07-01', household_address: '长风一村5号, 201室' });
    expect(byName.get('孙丈夫')).toMatchObject({ relation: 'spouse', since: '2020-05-06', household_address: '曹杨路\n3号' });
    expect(byName.get('周母')).toMatchObject({ relation: 'in_law', programme: 'other', since: '2024-01-02' });

    // Importing the same file again: everything is a duplicate of an existing row now.
    const again = await upload(tok.admin!, csv);
    expect(again.json.imported).toBe(0);
    expect(again.json.errors.filter((e: { reason: string }) => e.reason.startsWith('重复：')).map((e: { line: number }) => e.line)).toEqual([2, 3, 9, 11]);
    expect(await rowCount()).toBe(before + 4);
  });

  it('a GBK file from Excel without a BOM imports correctly', async () => {
    const text = [
      csvLine(['登记人姓名', '登记人单位', '登记人身份', '亲属姓名', '与登记人关系', '身份证号码', '救助类别', '享受低保时间', '现住址']),
      csvLine(['钱德明', 'b', '民政干部', '钱老太', '母亲', id('19400202', '551'), '城乡低保', '2019/10/8', '曹杨新村8号']),
    ].join('\r\n');
    const bytes = encodeGbk(text);
    const res = await upload(tok['sup-b']!, bytes, { contentType: 'application/vnd.ms-excel' });
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ imported: 1, skipped: 0, errors: [], encoding: 'gb18030' });
    const [row] = await t.db.query<{ registrant_name: string; relative_name: string; household_address: string }>(
      `select registrant_name, relative_name, household_address from near_relative where relative_name = '钱老太'`,
    );
    expect(row).toEqual({ registrant_name: '钱德明', relative_name: '钱老太', household_address: '曹杨新村8号' });
  });

  it('title rows above the header (as on the annex form) are skipped; lines keep their file numbers', async () => {
    const csv = [
      csvLine(['东安县国家公职人员和村（居）委会干部及其近亲属享受低保情况登记表', '', '']),
      csvLine(['填报单位（盖公章）：', '', '']),
      csvLine([...HEADER, '备注']),
      csvLine(['蒋华', 'b', '经办人员', '蒋父', '父亲', id('19490303', '818'), '低保', '2017-12-01', '', '无']),
      csvLine(['蒋华', 'b', '经办人员', '蒋母', '母亲', id('19510505', '919'), '低保', '2017-13-01', '', '']),
    ].join('\r\n');
    const res = await upload(tok.admin!, csv);
    expect(res.status, res.text).toBe(200);
    expect(res.json).toMatchObject({ imported: 1, skipped: 1, ignoredColumns: ['备注'] });
    expect(res.json.errors).toEqual([{ line: 5, column: '享受起始日期', reason: expect.stringMatching(/^日期格式应为/) }]);
  });

  it('a supervisor imports only for units of their own subtree', async () => {
    const csv = [csvLine(HEADER), csvLine(['某人', 'a1', '村干部', '某亲属', '父亲', id('19551212', '301'), '低保', '2020-01-01', ''])].join('\n');
    const res = await upload(tok['sup-b']!, csv);
    expect(res.json.imported).toBe(0);
    expect(res.json.errors).toEqual([{ line: 2, column: '登记人单位', reason: expect.stringMatching(/^单位不在您的管辖范围内/) }]);
    expect((await upload(tok['cw-a']!, csv)).status).toBe(403);
  });

  it('dry run checks everything and writes nothing', async () => {
    const csv = [
      csvLine(HEADER),
      csvLine(['吴刚', 'b', '经办人员', '吴父', '父亲', id('19520707', '113'), '低保', '2022-02-02', '']),
      csvLine(['吴刚', 'b', '经办人员', '吴母', '母亲', withWrongCheck(id('19530808', '224')), '低保', '2022-02-02', '']),
    ].join('\n');
    const [rowsBefore, auditBefore] = [await rowCount(), await auditCount()];
    const res = await upload(tok.admin!, csv, { query: '?dryRun=true' });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ dryRun: true, imported: 0, valid: 1, skipped: 1 });
    expect(res.json.errors.map((e: { line: number }) => e.line)).toEqual([3]);
    expect([await rowCount(), await auditCount()]).toEqual([rowsBefore, auditBefore]);
  });

  it('fatal problems import nothing: missing required column, not CSV, too large, wrong type', async () => {
    const before = await rowCount();
    const missing = [
      csvLine(['登记人姓名', '登记人单位', '登记人身份', '亲属姓名', '关系', '救助类别', '享受起始日期']),
      csvLine(['郑一', 'a', '经办人员', '郑父', '父亲', '低保', '2022-02-02']),
    ].join('\n');
    const res = await upload(tok.admin!, missing);
    expect(res.status).toBe(422);
    expect(res.json.error.code).toBe('registry.import_rejected');
    expect(res.json.error.details).toEqual({
      imported: 0,
      skipped: 0,
      errors: [{ line: 1, column: '身份证号', reason: '缺少必需的列“身份证号” / Required column "身份证号" is missing' }],
    });

    const xlsx = await upload(tok.admin!, new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0]));
    expect(xlsx.status).toBe(422);
    expect(xlsx.json.error.details.errors[0].reason).toMatch(/xlsx/);

    const broken = await upload(tok.admin!, `${csvLine(HEADER)}\n"未闭合的引号,a,经办人员\n`);
    expect(broken.status).toBe(422);
    expect(broken.json.error.details.errors[0]).toMatchObject({ line: 2 });

    const big = await upload(tok.admin!, new Uint8Array(5 * 1024 * 1024 + 1).fill(0x41));
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('registry.import_too_large');

    const json = await upload(tok.admin!, '{"a":1}', { contentType: 'application/json' });
    expect(json.status).toBe(415);
    expect(await rowCount()).toBe(before);
  });

  it('files between 1 and 5 MB pass (the other staff endpoints keep their 1 MB limit)', async () => {
    const note = 'x'.repeat(600_000);
    const csv = [csvLine([...HEADER, '备注']), ...[0, 1, 2].map((i) => csvLine([`大文件${i}`, 'b', '经办人员', `大文件亲属${i}`, '父亲', makeId('19580808', `${i}55`, '110105'), '低保', '2020-01-01', '', note]))].join('\n');
    expect(csv.length).toBeGreaterThan(1024 * 1024);
    const res = await upload(tok.admin!, csv);
    expect(res.status, res.text.slice(0, 300)).toBe(200);
    expect(res.json.imported).toBe(3);
    const tooBig = await t.call('POST', '/api/v1/staff/registry', { token: tok.admin, body: { relativeName: note.repeat(2) } });
    expect(tooBig.status).toBe(413);
    expect(tooBig.json.error.code).toBe('request.too_large');
  });

  /** 600 good rows: the first chunk of 500 is written before the failure in the second. */
  function manyRows(marker: string, markerAt: number, region: string) {
    const lines = [csvLine(HEADER)];
    for (let i = 0; i < 600; i++) {
      const seq = String(i).padStart(3, '0');
      lines.push(csvLine([`批量${i}`, 'a', '经办人员', i === markerAt ? marker : `亲属${i}`, '父亲', makeId('19600101', seq, region), '低保', '2020-01-01', '']));
    }
    return lines.join('\r\n');
  }

  it('a database failure part-way through rolls the whole import back', async () => {
    await t.db.query(`create function registry_test_fail() returns trigger language plpgsql as $$
      begin if new.relative_name = '触发故障' then raise exception 'simulated failure'; end if; return new; end $$`);
    await t.db.query(`create trigger registry_test_fail before insert on near_relative for each row execute function registry_test_fail()`);
    try {
      const before = await rowCount();
      const res = await upload(tok.admin!, manyRows('触发故障', 550, '320102'));
      expect(res.status).toBe(500);
      expect(res.json.error).toMatchObject({ code: 'registry.import_failed', details: { imported: 0 } });
      expect(await rowCount()).toBe(before);
      expect(t.logs.text()).not.toContain('simulated failure');
    } finally {
      await t.db.query('drop trigger registry_test_fail on near_relative');
      await t.db.query('drop function registry_test_fail()');
    }
  });

  it('a unique violation part-way through (a concurrent writer) rolls the whole import back', async () => {
    // When the marker row goes in, "someone else" registers the same relative for the same registrant.
    await t.db.query(`create function registry_test_race() returns trigger language plpgsql as $$
      begin
        if new.relative_name = '并发登记' then
          insert into near_relative (id, registrant_name, registrant_name_key, registrant_staff_id, registrant_unit_id, registrant_role,
            relative_name, relative_name_key, relation, id_box, id_hash, programme, since, household_address, created_at, created_by)
          values (gen_random_uuid(), new.registrant_name, new.registrant_name_key, null, new.registrant_unit_id, new.registrant_role,
            'x', 'x', 'other', new.id_box, new.id_hash, new.programme, new.since, null, now(), new.created_by);
        end if;
        return new;
      end $$`);
    await t.db.query(`create trigger registry_test_race after insert on near_relative for each row execute function registry_test_race()`);
    try {
      const before = await rowCount();
      const res = await upload(tok.admin!, manyRows('并发登记', 520, '320103'));
      expect(res.status).toBe(409);
      expect(res.json.error).toMatchObject({ code: 'registry.import_conflict', details: { imported: 0 } });
      expect(await rowCount()).toBe(before);
    } finally {
      await t.db.query('drop trigger registry_test_race on near_relative');
      await t.db.query('drop function registry_test_race()');
    }
  });

  it('two identical imports at once store each row once', async () => {
    const csv = [csvLine(HEADER), ...[0, 1, 2].map((i) => csvLine([`并行${i}`, 'b', '经办人员', `并行亲属${i}`, '子女', makeId('20050505', `77${i}`, '440103'), '低保', '2021-01-01', '']))].join('\n');
    const before = await rowCount();
    const results = await Promise.all([upload(tok.admin!, csv), upload(tok.admin!, csv)]);
    for (const r of results) expect([200, 409]).toContain(r.status);
    expect(await rowCount()).toBe(before + 3);
  });
});

describe('stored ID numbers', () => {
  it('are not readable in the table, and appear in no log line', async () => {
    const dump = await t.db.query<{ row: string; box: string }>(`select row_to_json(n)::text as row, encode(id_box, 'escape') as box from near_relative n`);
    expect(dump.length).toBeGreaterThan(0);
    const all = dump.map((d) => `${d.row}\n${d.box}`).join('\n');
    for (const v of usedIds) {
      expect(all).not.toContain(v);
      expect(all).not.toContain(Buffer.from(v).toString('hex'));
      expect(all).not.toContain(v.slice(6, 14) + v.slice(14)); // not even the tail after the region
    }
    const [col] = await t.db.query<{ data_type: string }>(`select data_type from information_schema.columns where table_name = 'near_relative' and column_name = 'id_box'`);
    expect(col!.data_type).toBe('bytea');
    const logs = t.logs.text();
    for (const v of usedIds) expect(logs).not.toContain(v);
    for (const name of ['张老汉', '李小明', '钱老太']) expect(logs).not.toContain(name);
  });
});

describe('registering one and listing', () => {
  it('anyone registers for themselves; only supervisors and admins for others', async () => {
    const body = { relativeName: '陈父', relation: 'parent', idNumber: id('19450505', '612'), programme: 'dibao', since: '2018-06-01' };
    const mine = await t.call('POST', '/api/v1/staff/registry', { token: tok['cw-b'], body });
    expect(mine.status, mine.text).toBe(201);
    expect(mine.json).toMatchObject({ registrantStaffId: ids['cw-b'], registrantUnitId: tree.streetB.id, registrantRole: 'caseworker', relation: 'parent' });
    expect(mine.json.idNumberMasked).toMatch(/^310\*{11}\d{3}[\dX]$/);
    expect(mine.json.idNumber).toBeUndefined();

    expect((await t.call('POST', '/api/v1/staff/registry', { token: tok['cw-b'], body })).status).toBe(409);
    const bad = await t.call('POST', '/api/v1/staff/registry', { token: tok['cw-b'], body: { ...body, idNumber: withWrongCheck(body.idNumber) } });
    expect(bad.status).toBe(422);
    expect(bad.text).not.toContain(body.idNumber.slice(0, 17));

    const cadre = { ...body, relativeName: '刘母', relation: 'parent', idNumber: id('19500909', '713'), registrantName: '刘书记', registrantUnitId: tree.committeeB.id, registrantRole: 'cadre' };
    expect((await t.call('POST', '/api/v1/staff/registry', { token: tok['cw-b'], body: cadre })).status).toBe(403);
    expect((await t.call('POST', '/api/v1/staff/registry', { token: tok['sup-a'], body: cadre })).status).toBe(422);
    const byCadre = await t.call('POST', '/api/v1/staff/registry', { token: tok['sup-b'], body: cadre });
    expect(byCadre.status, byCadre.text).toBe(201);
    expect(byCadre.json).toMatchObject({ registrantName: '刘书记', registrantStaffId: null, registrantRole: 'cadre' });
  });

  it('lists masked by unit subtree; reveal is for supervisors and admins and is audited', async () => {
    const list = async (token: string, query = '') => t.call('GET', `/api/v1/staff/registry${query}`, { token });
    const a = await list(tok['sup-a']!);
    expect(a.status).toBe(200);
    const names = (r: typeof a) => r.json.items.map((i: { relativeName: string }) => i.relativeName);
    expect(names(a)).toEqual(expect.arrayContaining(['张老汉', '李小明']));
    expect(names(a)).not.toContain('钱老太');
    for (const item of a.json.items) {
      expect(item.idNumberMasked).toMatch(/^\d{3}\*{11}\d{3}[\dX]$/);
      expect(item.idNumber).toBeUndefined();
    }
    for (const v of usedIds) expect(a.text).not.toContain(v);

    expect(names(await list(tok['cw-b']!))).toEqual(['陈父']);
    expect((await list(tok['cw-b']!, '?reveal=true')).status).toBe(403);

    const paged = await list(tok.admin!, '?limit=2');
    expect(paged.json.items).toHaveLength(2);
    const next = await list(tok.admin!, `?limit=2&cursor=${paged.json.nextCursor}`);
    expect(next.json.items.map((i: { id: string }) => i.id)).not.toContain(paged.json.items[0].id);

    const auditBefore = await auditCount();
    const revealed = await list(tok['sup-a']!, `?reveal=true&purpose=${encodeURIComponent('复核')}&unitId=${tree.committeeA.id}`);
    expect(revealed.status).toBe(200);
    expect(revealed.json.items.map((i: { relativeName: string; idNumber: string }) => [i.relativeName, i.idNumber])).toEqual([['李小明', ID_SON]]);
    expect(await auditCount()).toBe(auditBefore + 1);
    const [audit] = await t.db.query<{ action: string; staff_id: string; registry_ids: string[]; purpose: string }>(
      `select action, staff_id, registry_ids, purpose from registry_audit where action = 'ids_revealed'`,
    );
    expect(audit).toEqual({ action: 'ids_revealed', staff_id: ids['sup-a'], registry_ids: [revealed.json.items[0].id], purpose: '复核' });
    expect(t.logs.text()).not.toContain(ID_SON);
  });
});

describe('matching clues against the registry', () => {
  let clueId: string;

  it('flags a clue naming a registered relative, records only row ids, and keeps the chain verifying', async () => {
    const created = await t.call('POST', '/api/v1/staff/clues', {
      token: tok['op-d'],
      body: {
        channel: 'letter',
        categories: ['favouring_relatives'],
        narrative: '经办人员的父亲张老汉家里有两套房，却一直领低保。',
        unitId: tree.committeeA.id,
        accused: [{ name: '张 老汉', role: 'beneficiary', unitId: tree.committeeA.id }],
      },
    });
    expect(created.status, created.text).toBe(201);
    clueId = created.json.id;
    const [registered] = await t.db.query<{ id: string }>(`select id from near_relative where relative_name = '张老汉'`);

    const first = await t.deps.registry.checkClue(clueId);
    expect(first).toEqual({ matched: [registered!.id], recorded: [registered!.id] });
    // Idempotent: the follow-up job may run again.
    expect(await t.deps.registry.checkClue(clueId)).toEqual({ matched: [registered!.id], recorded: [] });

    const clue = await t.call('GET', `/api/v1/staff/clues/${clueId}`, { token: tok.admin });
    expect(clue.json.flags).toEqual(['near_relative_match']);
    const events = clue.json.events.filter((e: { type: string }) => e.type === 'registry.matched');
    expect(events).toHaveLength(1);
    expect(events[0].data).toEqual({ registryIds: [registered!.id] });
    expect(JSON.stringify(events[0])).not.toContain('张老汉');

    const report = await verifyLedger(t.deps.orm);
    expect(report.problems).toEqual([]);
    expect(report.ok).toBe(true);
  });

  it('an ID number given with the name must match too', async () => {
    const em = t.deps.orm.em.fork();
    const result = await em.transactional(async (tx) => {
      const clue = await tx.findOneOrFail(Clue, { id: clueId });
      const wrong = await matchClue(tx, t.deps.keys, clue, [{ name: '张老汉', idNumber: makeId('19500304', '216') }], new Date());
      const right = await matchClue(tx, t.deps.keys, clue, [{ name: '张老汉', idNumber: ID_FATHER.toLowerCase() }], new Date());
      return { wrong, right };
    });
    expect(result.wrong.matched).toEqual([]);
    expect(result.right.matched).toHaveLength(1);
    expect(result.right.recorded).toEqual([]); // already on the ledger
  });

  it('match details: supervisors and admins of the clue’s units, with recusal for the registrant’s unit', async () => {
    const path = `/api/v1/staff/clues/${clueId}/registry-matches`;
    const admin = await t.call('GET', path, { token: tok.admin });
    expect(admin.status, admin.text).toBe(200);
    expect(admin.json.withheld).toBe(0);
    expect(admin.json.items).toHaveLength(1);
    expect(admin.json.items[0]).toMatchObject({
      relativeName: '张老汉',
      relation: 'parent',
      registrantStaffId: ids['cw-a'],
      registrantUnitId: tree.streetA.id,
      accused: [{ name: '张 老汉', role: 'beneficiary', matchedAs: 'relative' }],
    });
    expect(admin.json.items[0].idNumber).toBeUndefined();
    expect(admin.text).not.toContain(ID_FATHER);

    expect((await t.call('GET', path, { token: tok['sup-d'] })).status).toBe(200);
    // The registrant (a caseworker of street A) is in the street A supervisor's own unit: recusal.
    const recused = await t.call('GET', path, { token: tok['sup-a'] });
    expect(recused.status).toBe(403);
    expect(recused.json.error.code).toBe('registry.match_recusal');
    // Street B cannot see the clue at all; caseworkers and operators may not see matches.
    expect((await t.call('GET', path, { token: tok['sup-b'] })).status).toBe(404);
    expect((await t.call('GET', path, { token: tok['cw-b'] })).status).toBe(403);
    expect((await t.call('GET', path, { token: tok['cw-a'] })).status).toBe(403);
    expect((await t.call('GET', path, { token: tok['op-d'] })).status).toBe(403);

    const [audit] = await t.db.query<{ n: string }>(`select count(*) as n from registry_audit where action = 'matches_viewed' and clue_id = $1`, [clueId]);
    expect(Number(audit!.n)).toBe(2);
  });

  it('a clue accusing a registrant (an official with relatives on the rolls) is flagged too', async () => {
    const created = await t.call('POST', '/api/v1/staff/clues', {
      token: tok['op-d'],
      body: {
        channel: 'phone',
        categories: ['connection_enrolment'],
        narrative: '社区干部孙丽的丈夫不符合条件却享受特困供养。',
        unitId: tree.committeeB.id,
        accused: [{ name: '孙丽', role: 'cadre', unitId: tree.committeeB.id }],
      },
    });
    const result = await t.deps.registry.checkClue(created.json.id);
    expect(result).toMatchObject({ recorded: [expect.any(String)] });
    const none = await t.call('POST', '/api/v1/staff/clues', {
      token: tok['op-d'],
      body: { channel: 'phone', narrative: '与登记无关的线索，反映窗口推诿。', accused: [{ name: '无关人员', role: 'caseworker' }] },
    });
    expect(await t.deps.registry.checkClue(none.json.id)).toEqual({ matched: [], recorded: [] });
    const plain = await t.call('GET', `/api/v1/staff/clues/${none.json.id}`, { token: tok.admin });
    expect(plain.json.flags).toEqual([]);
  });

  it('isRegisteredRelativeOf finds a caseworker’s own registered relatives (recusal)', async () => {
    expect(await t.deps.registry.isRegisteredRelativeOf(ids['cw-a']!, ['王五', '张老汉'])).toBe(true);
    expect(await t.deps.registry.isRegisteredRelativeOf(ids['cw-a']!, ['王五'])).toBe(false);
    expect(await t.deps.registry.isRegisteredRelativeOf(ids['cw-b']!, ['张老汉'])).toBe(false);
    expect(await t.deps.registry.isRegisteredRelativeOf(ids['cw-b']!, ['陈 父'])).toBe(true);
  });
});

describe('API docs', () => {
  it('document the registry endpoints', async () => {
    const paths = (await t.call('GET', '/openapi.json')).json.paths;
    expect(paths['/api/v1/staff/registry']?.post).toBeDefined();
    expect(paths['/api/v1/staff/registry']?.get).toBeDefined();
    expect(paths['/api/v1/staff/registry/import']?.post?.parameters.map((p: { name: string }) => p.name)).toContain('dryRun');
    expect(paths['/api/v1/staff/clues/{id}/registry-matches']?.get).toBeDefined();
  });
});
