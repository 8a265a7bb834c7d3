import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { simpleParser } from 'mailparser';
import { startWorkers } from '../src/roots/worker.ts';
import { verifyLedger } from '../src/modules/clues/ledger.verify.ts';
import { createTestApp, type TestEnv, until } from './helpers.ts';
import { startSmtpSink } from './smtp-sink.ts';

let t: TestEnv;
let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
let stopWorkers: () => Promise<void>;
const tok: Record<string, string> = {};
const u: Record<string, string> = {};
const b: Record<string, string> = {};
const REPORTER = { name: '吴小红', phone: '13511112222' };

beforeAll(async () => {
  smtp = await startSmtpSink();
  t = await createTestApp({ MAIL_URL: smtp.url, PUBLIC_BASE_URL: 'http://hotline.test' });
  u.district = (await t.unit('d', 'district', null, '东安县')).id;
  u.town = (await t.unit('t', 'town', u.district, '芦洪市镇')).id;
  u.village = (await t.unit('v', 'villagers_committee', u.town, '大江口村委会')).id;
  u.street = (await t.unit('s', 'street', u.district, '白牙市街道')).id;
  tok.admin = (await t.staffMember('adm', 'admin', u.district)).token;
  tok.op = (await t.staffMember('op', 'operator', u.district)).token;
  tok.sup = (await t.staffMember('sup', 'supervisor', u.district)).token;
  const mk = async (body: unknown) => (await t.call('POST', '/api/v1/staff/discipline-bodies', { token: tok.admin, body })).json.id as string;
  b.stationed = await mk({ name: '县纪委监委派驻民政局纪检监察组', kind: 'stationed_group', email: 'paizhu@jw.example.cn', authority: { accusedRoles: ['official', 'caseworker'], unitIds: [] } });
  b.district = await mk({ name: '县纪委监委', kind: 'district_commission', email: 'xianjiwei@jw.example.cn', authority: { accusedRoles: ['official', 'caseworker', 'cadre'], unitIds: [] } });
  b.town = await mk({ name: '芦洪市镇纪委', kind: 'town_commission', email: 'luhongshi@jw.example.cn', authority: { accusedRoles: ['cadre'], unitIds: [u.town] } });
  await t.deps.staff.seedStaff({ username: 'town-officer', displayName: '镇纪委干部', password: 'officer-password', role: 'discipline_officer', unitId: u.town, disciplineBodyId: b.town });
  tok.officer = (await t.deps.staff.login({ username: 'town-officer', password: 'officer-password' })).token;
  stopWorkers = await startWorkers(t.deps);
});
afterAll(async () => {
  await stopWorkers?.();
  await t?.close();
  await smtp?.close();
});


async function acceptedClue(reporter: Record<string, unknown>) {
  const res = await t.call('POST', '/api/v1/staff/clues', {
    token: tok.op,
    body: {
      channel: 'visit',
      categories: ['favouring_relatives'],
      narrative: '大江口村委会主任把自己的儿媳报成低保户。',
      unitId: u.village,
      accused: [{ name: '李村长', role: 'cadre', unitId: u.village }],
      reporter,
    },
  });
  expect(res.status).toBe(201);
  await t.call('POST', `/api/v1/staff/clues/${res.json.id}/transitions`, { token: tok.op, body: { action: 'accept' } });
  return res.json as { id: string; trackingCode: string };
}

describe('referral to the discipline body with authority', () => {
  it('proposes the town commission for a villagers’ committee cadre; the packet carries no reporter identity without consent; the signed link works and a forged one does not', async () => {
    const clue = await acceptedClue(REPORTER);
    const proposal = await t.call('GET', `/api/v1/staff/clues/${clue.id}/referral-proposal`, { token: tok.op });
    expect(proposal.json.bodyId).toBe(b.town);

    expect((await t.call('POST', `/api/v1/staff/clues/${clue.id}/referrals`, { token: tok.op, body: {} })).status).toBe(403);
    const referred = await t.call('POST', `/api/v1/staff/clues/${clue.id}/referrals`, { token: tok.sup, body: {} });
    expect(referred.status).toBe(201);
    expect(referred.json).toMatchObject({ bodyId: b.town, status: 'sent', includesReporter: false });

    const mails = await until(async () => smtp.received.filter((m) => m.to.includes('luhongshi@jw.example.cn')), (m) => m.length === 1);
    expect(mails).toHaveLength(1);
    const parsed = await simpleParser(mails[0]!.raw);
    const text = parsed.text ?? '';
    expect(text).toContain(clue.trackingCode.replace(/(\d{4})(?=\d)/g, '$1 '));
    expect(text).toContain('儿媳');
    expect(text).toContain('举报人未同意');
    for (const v of Object.values(REPORTER)) expect(mails[0]!.raw + text).not.toContain(v);
    const link = /http:\/\/hotline\.test(\/referrals\/[^\s"]+)/.exec(text)![1]!;

    // The town commission has officer accounts: the link alone does not open it; signed in, it does.
    const officer = { authorization: `Bearer ${tok.officer}` };
    expect((await t.app.request(link)).status).toBe(403);
    expect((await t.app.request(link, { headers: { authorization: `Bearer ${tok.sup}` } })).status).toBe(403);
    // The officer opens the link, acknowledges, and reports the disposal.
    const opened = await t.app.request(link, { headers: officer });
    expect(opened.status).toBe(200);
    expect(await opened.text()).toContain('签收');
    const url = new URL(`http://x${link}`);
    const forged = await t.app.request(`${url.pathname}?exp=${url.searchParams.get('exp')}&sig=${'A'.repeat(43)}`);
    expect(forged.status).toBe(403);
    const longer = await t.app.request(`${url.pathname}?exp=${Number(url.searchParams.get('exp')) + 86400_000}&sig=${url.searchParams.get('sig')}`);
    expect(longer.status).toBe(403);
    const act = (body: Record<string, string>) =>
      t.app.request(`${url.pathname}/actions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...officer },
        body: JSON.stringify({ ...body, exp: url.searchParams.get('exp'), sig: url.searchParams.get('sig') }),
      });
    expect((await act({ kind: 'report', disposition: 'case_opened', result: '太早' })).status).toBe(409);
    expect((await act({ kind: 'acknowledge' })).status).toBe(200);
    expect((await act({ kind: 'request_info', text: '请补充该户的车辆登记信息。' })).status).toBe(200);
    const reported = await act({ kind: 'report', disposition: 'preliminary_verification', result: '经初步核实，反映问题基本属实，已转立案。' });
    expect(reported.status).toBe(200);
    const forgedAct = await t.app.request(`${url.pathname}/actions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'acknowledge', exp: url.searchParams.get('exp'), sig: 'x' }),
    });
    expect(forgedAct.status).toBe(403);

    const events = (await t.db.query<{ type: string; actor: string; data: any }>('select type, actor, data from ledger_event where clue_id = $1 order by seq', [clue.id])).filter(
      (e) => e.type.startsWith('referral.') || (e.type.startsWith('deadline.') && String(e.data.kind).startsWith('referral')),
    );
    expect(events.map((e) => (e.type.startsWith('deadline.') ? `${e.type}:${e.data.kind}` : e.type))).toEqual([
      'referral.sent',
      'deadline.started:referral_ack',
      'referral.packet_sent',
      'referral.viewed',
      'referral.acknowledged',
      'deadline.met:referral_ack',
      'deadline.started:referral_result',
      'referral.info_requested',
      'referral.result_reported',
      'deadline.met:referral_result',
    ]);
    expect(events.find((e) => e.type === 'referral.acknowledged')!.actor).toBe(`discipline:${b.town}`);
    expect((await verifyLedger(t.deps.orm)).ok).toBe(true);

    // Expired: a month later the same link is refused.
    t.clock.advanceBy(31 * 86400_000);
    expect((await t.app.request(link)).status).toBe(403);
    t.clock.advanceBy(-31 * 86400_000);
  });

  it('the packet includes the reporter only with consent', async () => {
    const clue = await acceptedClue({ name: '郑十', phone: '13322223333', consentToShare: true });
    await t.call('POST', `/api/v1/staff/clues/${clue.id}/referrals`, { token: tok.sup, body: {} });
    const mails = await until(async () => smtp.received.filter((m) => m.to.includes('luhongshi@jw.example.cn')), (m) => m.length === 2);
    expect((await simpleParser(mails[1]!.raw)).text).toContain('郑十');
  });

  it('discipline officers see only the clues referred to their body', async () => {
    const notReferred = await acceptedClue(REPORTER);
    const list = await t.call('GET', '/api/v1/staff/clues', { token: tok.officer });
    const ids = list.json.items.map((c: any) => c.id);
    expect(ids.length).toBe(2);
    expect(ids).not.toContain(notReferred.id);
    expect((await t.call('GET', `/api/v1/staff/clues/${notReferred.id}`, { token: tok.officer })).status).toBe(404);
    expect((await t.call('GET', `/api/v1/staff/clues/${ids[0]}`, { token: tok.officer })).status).toBe(200);
  });
});
