import { randomBytes, randomUUID } from 'node:crypto';
import type { Principal } from '../modules/staff/access.ts';
import type { StaffRole } from '../modules/staff/staff.entity.ts';
import type { Dependencies } from './dependencies.ts';

/**
 * `npm run seed -- --demo`: a small district at work, so a new user sees the product within a
 * minute: two streets with a committee each, a discipline body, one account per role (passwords
 * printed once), clues from every channel (web, phone, SMS, email, letter, visit), a call-back owed
 * to a missed caller, and a quarantined automatic reply. Everything goes through the use cases, so
 * the ledger, deadlines and outbox are as real as for reports that came in by themselves.
 * Run once per database: a second run changes nothing.
 */
export async function seedDemo(deps: Dependencies): Promise<string> {
  const units = await deps.staff.listUnits();
  if (units.some((u) => u.code === 'demo-a')) return '演示数据已存在 / the demo district is already there';
  const district = units.find((u) => u.kind === 'district');
  if (!district) throw new Error('no district unit: seed the first admin first');
  const streetA = await deps.staff.seedUnit({ code: 'demo-a', name: '长风街道', nameEn: 'Changfeng Street', kind: 'street', parentId: district.id });
  const streetB = await deps.staff.seedUnit({ code: 'demo-b', name: '曹杨街道', nameEn: 'Caoyang Street', kind: 'street', parentId: district.id });
  const committeeA = await deps.staff.seedUnit({ code: 'demo-a1', name: '长风一村居委会', nameEn: 'Changfeng No.1 Residents’ Committee', kind: 'residents_committee', parentId: streetA.id });
  await deps.staff.seedUnit({ code: 'demo-b1', name: '曹杨一村居委会', nameEn: 'Caoyang No.1 Residents’ Committee', kind: 'residents_committee', parentId: streetB.id });

  // Creating a body is an admin's act; the demo acts as one (nothing else of the principal is read).
  const admin = { id: randomUUID(), role: 'admin', unitId: district.id } as Principal;
  const body = await deps.referrals.createBody({
    ctx: { actor: `staff:${admin.id}`, principal: admin, em: deps.orm.em.fork(), clock: deps.clock, logger: deps.logger },
    input: {
      name: '区纪委监委派驻民政局纪检监察组',
      nameEn: 'Discipline inspection group stationed at the civil affairs bureau',
      kind: 'stationed_group',
      email: 'jijian@example.invalid',
      authority: { accusedRoles: ['official', 'caseworker', 'cadre'], unitIds: [] },
    },
  });

  const accounts: { role: StaffRole; username: string; unitId: string; name: string }[] = [
    { role: 'operator', username: 'demo-operator', unitId: district.id, name: '热线接线员 / Hotline operator' },
    { role: 'supervisor', username: 'demo-supervisor', unitId: district.id, name: '督办人员 / Supervisor' },
    { role: 'caseworker', username: 'demo-caseworker', unitId: streetA.id, name: '街道经办人 / Street caseworker' },
    { role: 'discipline_officer', username: 'demo-discipline', unitId: district.id, name: '纪检监察干部 / Discipline officer' },
  ];
  const lines = ['演示账号（密码只显示这一次）/ demo accounts (passwords shown this once):'];
  for (const a of accounts) {
    const password = randomBytes(9).toString('base64url');
    await deps.staff.seedStaff({ username: a.username, displayName: a.name, password, role: a.role, unitId: a.unitId, disciplineBodyId: a.role === 'discipline_officer' ? body.id : null });
    lines.push(`  ${a.role.padEnd(18)} ${a.username} / ${password}`);
  }

  const clue = (channel: 'web' | 'phone' | 'letter' | 'visit', narrative: string, extra: Record<string, unknown> = {}) =>
    deps.clues.registerClue(channel === 'web' ? 'reporter' : channel === 'phone' ? 'twilio' : 'system:demo', {
      channel,
      categories: ['favor_enrolment'],
      narrative,
      unitId: streetA.id,
      accused: [{ name: '王某', role: 'cadre', unitId: committeeA.id, position: '居委会主任' }],
      ...extra,
    } as never);
  const web = await clue('web', '（演示）居委会主任把低保名额给了自己的亲戚，他们家有两套房。');
  await clue('phone', '（演示，电话录音）我家老人符合条件，申请了半年没有下文。', { categories: ['missed_enrolment'], accused: [], secret: { kind: 'pin', pin: '246810' } });
  await clue('letter', '（演示，来信）有人冒领去世老人的低保金。', { categories: ['false_claim'], reporter: { name: '李某（演示）', address: '长风一村 3 号' } });
  await clue('visit', '（演示，来访）街道经办人要求送礼才给办理。', { categories: ['extortion'], accused: [{ name: '赵某', role: 'caseworker', unitId: streetA.id }] });
  await deps.hotline.sms.receive({ sid: `SMdemo${randomBytes(8).toString('hex')}`, from: '+8613900000001', to: '+861012345', body: '（演示短信）村干部优亲厚友，把低保名额给了亲戚。' });
  const mail = (headers: string, body: string) => Buffer.from(`${headers}\r\nMessage-ID: <${randomUUID()}@demo.invalid>\r\nDate: ${new Date().toUTCString()}\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${body}\r\n`);
  await deps.email.receive(mail('From: 张某 <zhang@demo.invalid>\r\nTo: report@localhost\r\nSubject: =?UTF-8?B?5Li+5oql77ya5L2O5L+d5ZCN6aKd?=', '（演示邮件）我们村的低保名额被村干部的亲戚占了。'));
  await deps.email.receive(mail('From: postmaster@demo.invalid\r\nTo: report@localhost\r\nSubject: Auto-Reply: out of office\r\nAuto-Submitted: auto-replied', '（演示）自动回复：我不在办公室。'));
  // A missed call from a number that was shown: the caller is owed a call-back.
  const call = { sid: `CAdemo${randomBytes(8).toString('hex')}`, from: '+8613900000002', to: '+861012345' };
  await deps.hotline.calls.start(call);
  await deps.hotline.calls.callStatus(call, 'no-answer');

  lines.push(
    '演示线索：网站、电话、短信、邮件、来信、来访各一条，一个待回电，一封隔离邮件 / demo clues: one per channel (web, phone, SMS, email, letter, visit), a call-back owed, a quarantined automatic reply',
    `网站举报的查询码 / tracking code of the web report: ${web.trackingCode}  密钥 / secret: ${web.secret}`,
  );
  return lines.join('\n');
}
