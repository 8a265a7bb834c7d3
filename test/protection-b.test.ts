import { createHash } from 'node:crypto';
import { simpleParser } from 'mailparser';
import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../src/roots/worker.ts';
import { openName } from '../src/modules/attachments/attachments.names.ts';
import { createHotlineUnit } from '../src/modules/staff/hotline-unit.ts';
import { startSmtpIntake } from '../src/modules/intake-email/email.smtp.ts';
import { base64Lines, encodedWord, fakeExe, rawMessage, tinyPdf } from './email/mime.ts';
import { migrate } from '../src/app/db.ts';
import { createOrm } from '../src/roots/orm.ts';
import { createLogger } from '../src/app/logger.ts';
import { createTestApp, createTestDatabase, seedTree, type TestEnv, until } from './helpers.ts';
import { startSmtpSink } from './smtp-sink.ts';
import { type FakeTwilio, startFakeTwilio } from './voice/fake-twilio.ts';
import { ACCOUNT_SID, AUTH_TOKEN, SimCall, twilioEnv } from './voice/twilio-sim.ts';

/**
 * Issue 11 "Reporter protection", part B: quarantine and call-back numbers stay with the hotline
 * unit (here the district, the root: HOTLINE_UNIT_CODE unset); attachment names are sealed;
 * referrals go only to a body with authority over the accused; the packet link is signed-in,
 * short-lived, revocable, on the ledger and unframeable; Message-IDs are keyed hashes.
 * A canary (a name, addresses, an attachment name, a Message-ID) must not appear where it must not.
 */

// Monday 2 March 2026 in Shanghai, office hours.
const at = (local: string) => new Date(`${local}+08:00`);
const HOTLINE = '+861012345';

const CANARY_NAME = '张秘密';
const CANARY_PHONE = '13900001111';
const CANARY_FILE_EXE = `${CANARY_NAME}_${CANARY_PHONE}.exe`;
const CANARY_FILE_PDF = `${CANARY_NAME}_${CANARY_PHONE}.pdf`;
const CANARY_MAIL = 'canary.7731@example.cn';
const CANARY_MSGID = `<k7731.${CANARY_MAIL}>`;
const CANARY_WEB_MAIL = 'canary.web.5512@example.cn';
const CANARY_CALLER = '+8613822223333';
const CANARIES = [CANARY_NAME, CANARY_PHONE, CANARY_MAIL, 'k7731', CANARY_WEB_MAIL, '13822223333'];

let t: TestEnv;
let fake: FakeTwilio;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let intake: Awaited<ReturnType<typeof startSmtpIntake>>;
let stopWorkers: () => Promise<void>;
let send: (raw: Buffer) => Promise<unknown>;
let tree: Awaited<ReturnType<typeof seedTree>>;
const tok: Record<string, string> = {};
const body: Record<string, string> = {};

beforeAll(async () => {
  fake = await startFakeTwilio(ACCOUNT_SID, AUTH_TOKEN);
  sink = await startSmtpSink();
  t = await createTestApp(twilioEnv(fake, { MAIL_URL: sink.url, TRUST_PROXY: 'true', SMS_CALLBACK_NOTICE: 'false', PUBLIC_BASE_URL: 'http://hotline.test' }));
  t.clock.set(at('2026-03-02T10:20:00'));
  tree = await seedTree(t); // district d → streets a, b → committees a1, b1
  tok.opD = (await t.staffMember('opD', 'operator', tree.district.id)).token;
  tok.supD = (await t.staffMember('supD', 'supervisor', tree.district.id)).token;
  tok.admin = (await t.staffMember('adm', 'admin', tree.district.id)).token;
  tok.opA = (await t.staffMember('opA', 'operator', tree.streetA.id)).token;
  tok.supA = (await t.staffMember('supA', 'supervisor', tree.streetA.id)).token;
  tok.opC = (await t.staffMember('opC', 'operator', tree.committeeA.id)).token;
  tok.cwA = (await t.staffMember('cwA', 'caseworker', tree.streetA.id)).token;
  const mk = async (b: unknown) => {
    const res = await t.call('POST', '/api/v1/staff/discipline-bodies', { token: tok.admin, body: b });
    expect(res.status).toBe(201);
    return res.json.id as string;
  };
  // Street A's commission has officers who sign in; street B's has none (the link alone, a few days).
  body.a = await mk({ name: '长风街道纪工委', kind: 'town_commission', email: 'jgw-a@jw.example.cn', authority: { accusedRoles: ['cadre'], unitIds: [tree.streetA.id] } });
  body.b = await mk({ name: '曹杨街道纪工委', kind: 'town_commission', email: 'jgw-b@jw.example.cn', authority: { accusedRoles: ['cadre'], unitIds: [tree.streetB.id] } });
  await t.deps.staff.seedStaff({ username: 'officerA', displayName: '街道纪工委干部', password: 'officer-a-password', role: 'discipline_officer', unitId: tree.streetA.id, disciplineBodyId: body.a });
  tok.officerA = (await t.deps.staff.login({ username: 'officerA', password: 'officer-a-password' })).token;
  await t.deps.staff.seedStaff({ username: 'officerX', displayName: '他处纪检干部', password: 'officer-x-password', role: 'discipline_officer', unitId: tree.streetB.id, disciplineBodyId: body.b });
  tok.officerB = (await t.deps.staff.login({ username: 'officerX', password: 'officer-x-password' })).token;
  // Body B must be "without accounts" for the link rule: its officer is deactivated again.
  await t.db.query(`update staff set active = false where username = 'officerX'`);

  intake = await startSmtpIntake({
    port: 0,
    host: '127.0.0.1',
    acceptRecipients: ['jubao@minzheng.example.cn'],
    maxBytes: t.config.EMAIL_MAX_BYTES,
    onMessage: async (raw, meta) => {
      await t.deps.email.receive(raw, meta);
    },
  });
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: intake.port, secure: false, ignoreTLS: true });
  send = (raw) => transport.sendMail({ envelope: { from: 'someone@example.cn', to: 'jubao@minzheng.example.cn' }, raw });
  stopWorkers = await startWorkers(t.deps);
});
afterAll(async () => {
  await stopWorkers?.();
  await intake?.close();
  await t?.close();
  await sink?.close();
  await fake?.close();
});

/** Mail from the canary with an executable named after them: quarantined as `forbidden_attachment`. */
function canaryMail(messageId: string, attachment: { name: string; bytes: Buffer; type: string }) {
  return rawMessage(
    [`From: "${encodedWord(CANARY_NAME, 'UTF-8')}" <${CANARY_MAIL}>`, 'To: jubao@minzheng.example.cn', `Subject: ${encodedWord('反映低保问题', 'UTF-8')}`, `Message-ID: ${messageId}`, 'MIME-Version: 1.0', 'Content-Type: multipart/mixed; boundary="b"'],
    '--b\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\n',
    Buffer.from('村里低保评议走过场，材料见附件。', 'utf8'),
    `\r\n--b\r\nContent-Type: ${attachment.type}\r\nContent-Disposition: attachment; filename="${encodedWord(attachment.name, 'UTF-8')}"\r\nContent-Transfer-Encoding: base64\r\n\r\n`,
    base64Lines(attachment.bytes),
    '\r\n--b--\r\n',
  );
}

/** Every row of the tables that must not hold the canary, as text. */
async function rowsText(): Promise<string> {
  const parts: string[] = [];
  for (const table of ['quarantined_mail', 'intake_key', 'ledger_event', 'attachment', 'referral', 'staff_notice', 'clue', 'callback', 'message']) {
    const rows = await t.db.query(`select row_to_json(x)::text as j from "${table}" x`);
    parts.push(...rows.map((r) => String((r as { j: string }).j)));
  }
  return parts.join('\n');
}
const noCanary = (text: string) => {
  for (const c of CANARIES) expect(text, `canary ${c}`).not.toContain(c);
};

let quarantineId: string;

describe('3, 9: quarantined mail belongs to the hotline unit; Message-IDs are keyed hashes', () => {
  it('only the hotline unit’s operators and supervisors (and admins) list and open it; the list names no sender, address or file', async () => {
    await send(canaryMail(CANARY_MSGID, { name: CANARY_FILE_EXE, bytes: fakeExe(), type: 'application/octet-stream' }));
    const [row] = await t.db.query<{ id: string; message_id: string; detail: string }>('select id, message_id, detail from quarantined_mail');
    quarantineId = row!.id;
    // The Message-ID (it holds the sender's address) is kept only as a keyed hash.
    expect(row!.message_id).toMatch(/^[0-9a-f]{64}$/);
    expect(row!.message_id).toBe(t.deps.email.mailKey(CANARY_MSGID));
    expect(row!.detail).toBe('附件 1 被拒绝：不支持此文件类型 / Attachment 1 was refused: This file type is not allowed.');

    for (const who of ['opA', 'supA', 'opC', 'cwA']) {
      expect((await t.call('GET', '/api/v1/staff/quarantine', { token: tok[who] })).status, who).toBe(403);
      expect((await t.call('GET', `/api/v1/staff/quarantine/${quarantineId}`, { token: tok[who] })).status, who).toBe(403);
      expect((await t.call('POST', `/api/v1/staff/quarantine/${quarantineId}/discard`, { token: tok[who], body: { reason: '无关' } })).status, who).toBe(403);
      expect((await t.call('POST', `/api/v1/staff/quarantine/${quarantineId}/release`, { token: tok[who], body: { narrative: '反映低保评议问题。' } })).status, who).toBe(403);
    }
    for (const who of ['opD', 'supD', 'admin']) {
      const list = await t.call('GET', '/api/v1/staff/quarantine', { token: tok[who] });
      expect(list.status, who).toBe(200);
      expect(list.json.items.map((i: { id: string }) => i.id)).toEqual([quarantineId]);
      noCanary(list.text);
    }
    // Opening it (the hotline unit's operator) shows the file's name, and is on the mail's chain.
    const opened = await t.call('GET', `/api/v1/staff/quarantine/${quarantineId}`, { token: tok.opD });
    expect(opened.status).toBe(200);
    expect(opened.json.mail.attachments[0].filename).toBe(CANARY_FILE_EXE);
    const events = await t.db.query<{ type: string }>('select type from ledger_event where quarantine_id = $1 order by seq', [quarantineId]);
    expect(events.map((e) => e.type)).toEqual(['quarantine.held', 'quarantine.viewed']);
    // The held event and the log lines name the mail by the keyed hash, not by one anyone who knows the Message-ID can compute.
    const [held] = await t.db.query<{ data: { mail: string } }>(`select data from ledger_event where quarantine_id = $1 and type = 'quarantine.held'`, [quarantineId]);
    expect(held!.data.mail).toBe(t.deps.email.mailKey(CANARY_MSGID).slice(0, 16));
    expect(held!.data.mail).not.toBe(createHash('sha256').update(CANARY_MSGID).digest('hex').slice(0, 16));
    // The same mail again is recognised by its hashed Message-ID.
    await send(canaryMail(CANARY_MSGID, { name: CANARY_FILE_EXE, bytes: fakeExe(), type: 'application/octet-stream' }));
    expect(await t.db.query('select 1 from quarantined_mail')).toHaveLength(1);
  });

  it('a mail that becomes a clue is keyed by the hashed Message-ID; clear keys from before are rewritten at start, idempotently', async () => {
    const msgId = `<clue.k7731.${CANARY_MAIL}>`;
    await send(canaryMail(msgId, { name: CANARY_FILE_PDF, bytes: tinyPdf(), type: 'application/pdf' }));
    const key = `email:${t.deps.email.mailKey(msgId)}`;
    const [k] = await t.db.query<{ key: string; clue_id: string }>('select key, clue_id from intake_key where key like $1', ['email:%']);
    expect(k!.key).toBe(key);

    // Rows as an earlier version wrote them: the Message-ID in clear.
    await t.db.query('update intake_key set key = $1 where key = $2', [`email:${msgId}`, key]);
    await t.db.query('update quarantined_mail set message_id = $1 where id = $2', [CANARY_MSGID, quarantineId]);
    expect(await t.deps.email.rekeyClearMessageIds()).toEqual({ quarantined: 1, intakeKeys: 1 });
    expect(await t.deps.email.rekeyClearMessageIds()).toEqual({ quarantined: 0, intakeKeys: 0 });
    expect((await t.db.query<{ key: string }>('select key from intake_key where clue_id = $1', [k!.clue_id]))[0]!.key).toBe(key);
    expect((await t.db.query<{ message_id: string }>('select message_id from quarantined_mail'))[0]!.message_id).toBe(t.deps.email.mailKey(CANARY_MSGID));
    // Delivered again: still one clue.
    await send(canaryMail(msgId, { name: CANARY_FILE_PDF, bytes: tinyPdf(), type: 'application/pdf' }));
    expect(await t.db.query(`select 1 from clue where channel = 'email'`)).toHaveLength(1);
    // The clue's attachment name is sealed like the sender's identity.
    const [att] = await t.db.query<{ id: string; filename: string | null; filename_box: Buffer }>('select a.id, a.filename, a.filename_box from attachment a where a.clue_id = $1', [k!.clue_id]);
    expect(att!.filename).toBeNull();
    expect(openName(t.deps.keys.reporterKey, { id: att!.id, filenameBox: att!.filename_box })).toBe(CANARY_FILE_PDF);
  });
});

describe('HOTLINE_UNIT_CODE', () => {
  it('names the hotline unit: its own operators and supervisors (not the units above or below it), and admins', async () => {
    const unit = createHotlineUnit(() => t.deps.orm.em.fork(), 'a');
    const may = async (who: string) => unit.mayHandle(await t.deps.staff.authenticate(tok[who]));
    expect({ opA: await may('opA'), supA: await may('supA'), admin: await may('admin'), opD: await may('opD'), supD: await may('supD'), opC: await may('opC'), cwA: await may('cwA') }).toEqual({
      opA: true, supA: true, admin: true, opD: false, supD: false, opC: false, cwA: false,
    });
    expect((await unit.units()).map((u) => u.id)).toEqual([tree.streetA.id]);
    // Unset: the root unit.
    const root = createHotlineUnit(() => t.deps.orm.em.fork(), undefined);
    expect((await root.units()).map((u) => u.id)).toEqual([tree.district.id]);
  });
});

describe('4: call-back numbers belong to the hotline unit', () => {
  it('only its operators, supervisors and admins see call-backs and numbers; reminders go to it alone', async () => {
    const call = new SimCall(t, CANARY_CALLER, HOTLINE);
    await call.dial();
    await call.hangup('completed');
    const [cb] = await t.db.query<{ id: string }>('select id from callback');
    for (const who of ['opA', 'supA', 'opC', 'cwA']) {
      expect((await t.call('POST', `/api/v1/staff/callbacks/${cb!.id}/number`, { token: tok[who] })).status, who).toBe(403);
      expect((await t.call('GET', '/api/v1/staff/callbacks', { token: tok[who] })).status, who).toBe(403);
      expect((await t.call('GET', `/api/v1/staff/callbacks/${cb!.id}`, { token: tok[who] })).status, who).toBe(403);
    }
    for (const who of ['opD', 'supD', 'admin']) {
      const n = await t.call('POST', `/api/v1/staff/callbacks/${cb!.id}/number`, { token: tok[who] });
      expect(n.status, who).toBe(200);
      expect(n.json.number).toBe(CANARY_CALLER);
    }
    expect(await t.db.query(`select 1 from callback_event where callback_id = $1 and action = 'number_viewed'`, [cb!.id])).toHaveLength(3);

    // The reminder goes to the hotline unit's operators, not to street A's (where an operator also works).
    t.clock.set(at('2026-03-02T11:06:00'));
    expect((await t.deps.hotline.callbacks.sendDueNotices()).notices).toBe(1);
    const rows = await t.db.query<{ unit_id: string; role: string; kind: string }>('select unit_id, role, kind from staff_notice where callback_id = $1', [cb!.id]);
    expect(rows).toEqual([{ unit_id: tree.district.id, role: 'operator', kind: 'reminder' }]);
    expect((await t.call('GET', '/api/v1/staff/notices', { token: tok.opA })).json.items).toEqual([]);
    expect((await t.call('GET', '/api/v1/staff/notices', { token: tok.opD })).json.items).toHaveLength(1);
    t.clock.set(at('2026-03-02T10:20:00'));
  });
});

let ip = 0;
/** A web report about a committee A cadre, with a file named after the reporter; accepted by the hotline operator. */
async function acceptedReport(opts: { consent: boolean; accused?: string[] }) {
  const res = await t.call('POST', '/api/v1/reports', {
    headers: { 'x-forwarded-for': `10.9.0.${++ip}` },
    body: {
      narrative: '长风一村居委会主任把不符合条件的亲属纳入低保。',
      unitId: tree.committeeA.id,
      accused: (opts.accused ?? ['赵主任']).map((name) => ({ name, role: 'cadre', unitId: tree.committeeA.id })),
      reporter: { name: CANARY_NAME, email: CANARY_WEB_MAIL, consentToShare: opts.consent },
      attachments: [{ filename: CANARY_FILE_PDF, contentBase64: tinyPdf().toString('base64') }],
    },
  });
  expect(res.status).toBe(201);
  const [clue] = await t.db.query<{ id: string }>('select id from clue where tracking_code = $1', [res.json.trackingCode]);
  expect((await t.call('POST', `/api/v1/staff/clues/${clue!.id}/transitions`, { token: tok.opD, body: { action: 'accept' } })).status).toBe(200);
  return clue!.id;
}

const packetsTo = (address: string) => sink.received.filter((m) => m.to.includes(address));
const linkIn = async (raw: string) => /http:\/\/hotline\.test(\/referrals\/[^\s"]+)/.exec((await simpleParser(raw)).text ?? '')![1]!;

let clueA: string;

describe('5: attachment names are sealed like the reporter', () => {
  it('staff see "附件 1 (PDF, …)"; the name only through the reveal path; new events carry hash and type only', async () => {
    clueA = await acceptedReport({ consent: false });
    const view = await t.call('GET', `/api/v1/staff/clues/${clueA}`, { token: tok.opD });
    expect(view.status).toBe(200);
    expect(view.json.attachments).toHaveLength(1);
    const size = view.json.attachments[0].size as number;
    expect(view.json.attachments[0]).toMatchObject({ label: `附件 1 (PDF, ${size} B)`, labelEn: `Attachment 1 (PDF, ${size} B)`, contentType: 'application/pdf' });
    expect(view.json.attachments[0].filename).toBeUndefined();
    noCanary(view.text);
    const registered = view.json.events.find((e: { type: string }) => e.type === 'clue.registered');
    expect(registered.data.attachments[0]).toEqual({ id: view.json.attachments[0].id, contentType: 'application/pdf', size, sha256: view.json.attachments[0].sha256 });

    const revealed = await t.call('POST', `/api/v1/staff/clues/${clueA}/reporter/reveal`, { token: tok.opD, body: { purpose: '核实附件来源' } });
    expect(revealed.status).toBe(200);
    expect(revealed.json.attachments[0].filename).toBe(CANARY_FILE_PDF);
    noCanary(await rowsText());
  });

  it('event views never show a name from events written before names were sealed', async () => {
    const [e] = await t.db.query<{ id: string; data: { attachments: Record<string, unknown>[] } }>(`select id::text as id, data from ledger_event where clue_id = $1 and type = 'clue.registered'`, [clueA]);
    // An older event as it was written (its bytes are its own; the view must not show the name).
    const older = { ...e!.data, attachments: e!.data.attachments.map((a) => ({ ...a, filename: CANARY_FILE_PDF })) };
    const { withoutNames } = await import('../src/modules/attachments/attachments.names.ts');
    expect(JSON.stringify(withoutNames(older))).not.toContain(CANARY_NAME);
    expect(withoutNames(older)).toEqual(e!.data);
  });

  it('clear names from before are sealed by the start-up step', async () => {
    const [a] = await t.db.query<{ id: string }>('select id from attachment where clue_id = $1', [clueA]);
    const { sealClearNames } = await import('../src/modules/attachments/attachments.names.ts');
    await t.db.query('update attachment set filename = $1, filename_box = null where id = $2', [CANARY_FILE_PDF, a!.id]);
    expect(await sealClearNames(t.deps.orm, t.deps.keys.reporterKey, t.deps.logger)).toBe(1);
    expect(await sealClearNames(t.deps.orm, t.deps.keys.reporterKey, t.deps.logger)).toBe(0);
    const [row] = await t.db.query<{ filename: string | null; filename_box: Buffer }>('select filename, filename_box from attachment where id = $1', [a!.id]);
    expect(row!.filename).toBeNull();
    expect(openName(t.deps.keys.reporterKey, { id: a!.id, filenameBox: row!.filename_box })).toBe(CANARY_FILE_PDF);
  });
});

describe('6, 7: referrals only within authority; the packet link', () => {
  let referralA: string;

  it('a body whose authority does not cover the accused is refused; an override needs a supervisor and a reason, on the ledger', async () => {
    const clue = await acceptedReport({ consent: false });
    const wrong = await t.call('POST', `/api/v1/staff/clues/${clue}/referrals`, { token: tok.supD, body: { bodyId: body.b } });
    expect(wrong.status).toBe(422);
    expect(wrong.json.error.code).toBe('referral.body_lacks_authority');
    const byAdmin = await t.call('POST', `/api/v1/staff/clues/${clue}/referrals`, { token: tok.admin, body: { bodyId: body.b, override: { reason: '街道纪工委回避，改由曹杨街道纪工委办理' } } });
    expect(byAdmin.status).toBe(403);
    const overridden = await t.call('POST', `/api/v1/staff/clues/${clue}/referrals`, { token: tok.supD, body: { bodyId: body.b, override: { reason: '街道纪工委回避，改由曹杨街道纪工委办理' } } });
    expect(overridden.status).toBe(201);
    const [sent] = await t.db.query<{ data: Record<string, any> }>(`select data from ledger_event where clue_id = $1 and type = 'referral.sent'`, [clue]);
    expect(sent!.data).toMatchObject({ bodyId: body.b, authorityOverride: { reason: '街道纪工委回避，改由曹杨街道纪工委办理' } });

    // Body B has no officer accounts: the link alone opens it, for REFERRAL_LINK_DAYS (3) days; every view is an event; a supervisor revokes it.
    const [mail] = await until(async () => packetsTo('jgw-b@jw.example.cn'), (m) => m.length === 1);
    const link = await linkIn(mail!.raw);
    expect((await t.app.request(link)).status).toBe(200);
    expect((await t.app.request(link)).status).toBe(200);
    const views = await t.db.query<{ actor: string }>(`select actor from ledger_event where clue_id = $1 and type = 'referral.viewed'`, [clue]);
    expect(views.map((v) => v.actor)).toEqual([`discipline:${body.b}`, `discipline:${body.b}`]);
    const [ref] = await t.db.query<{ id: string; link_expires_at: Date; created_at: Date }>('select id, link_expires_at, created_at from referral where clue_id = $1', [clue]);
    expect(ref!.link_expires_at.getTime() - ref!.created_at.getTime()).toBe(3 * 86_400_000);
    t.clock.advanceBy(3 * 86_400_000 + 60_000);
    expect((await t.app.request(link)).status).toBe(403);
    t.clock.set(at('2026-03-02T10:20:00'));
    expect((await t.app.request(link)).status).toBe(200);
    expect((await t.call('POST', `/api/v1/staff/referrals/${ref!.id}/revoke-link`, { token: tok.opD })).status).toBe(403);
    const revoked = await t.call('POST', `/api/v1/staff/referrals/${ref!.id}/revoke-link`, { token: tok.supD });
    expect(revoked.status).toBe(200);
    expect(revoked.json.linkRevokedAt).not.toBeNull();
    expect((await t.app.request(link)).status).toBe(403);
    expect(await t.db.query(`select 1 from ledger_event where clue_id = $1 and type = 'referral.link_revoked'`, [clue])).toHaveLength(1);
  });

  it('the proposed body with officers: the link opens only for its signed-in officer, unframeable, no inline style; the packet names no file without consent', async () => {
    const referred = await t.call('POST', `/api/v1/staff/clues/${clueA}/referrals`, { token: tok.supD, body: {} });
    expect(referred.status).toBe(201);
    expect(referred.json.bodyId).toBe(body.a);
    referralA = referred.json.id;
    const [mail] = await until(async () => packetsTo('jgw-a@jw.example.cn'), (m) => m.length === 1);
    const text = (await simpleParser(mail!.raw)).text ?? '';
    expect(text).toMatch(/附件 1 \(PDF, \d+ B\) \/ Attachment 1 \(PDF, \d+ B\), sha256 [0-9a-f]{64}/);
    noCanary(mail!.raw + text);
    const link = await linkIn(mail!.raw);

    expect((await t.app.request(link)).status).toBe(403);
    expect((await t.app.request(link, { headers: { authorization: `Bearer ${tok.supD}` } })).status).toBe(403);
    expect((await t.app.request(link, { headers: { authorization: `Bearer ${tok.officerB}` } })).status).toBe(403);
    const page = await t.app.request(link, { headers: { authorization: `Bearer ${tok.officerA}` } });
    expect(page.status).toBe(200);
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('content-security-policy')).not.toContain('unsafe-inline');
    const html = await page.text();
    expect(html).not.toContain('<style');
    noCanary(html);
    const css = /href="(\/referrals\/assets\/[^"]+\.css)"/.exec(html)![1]!;
    const sheet = await t.app.request(css);
    expect(sheet.status).toBe(200);
    expect(sheet.headers.get('content-type')).toContain('text/css');
    const views = await t.db.query<{ actor: string; data: Record<string, unknown> }>(`select actor, data from ledger_event where clue_id = $1 and type = 'referral.viewed'`, [clueA]);
    expect(views).toHaveLength(1);
    expect(views[0]!.data).toMatchObject({ referralId: referralA, signedIn: true });
    // In the staff API the officer reads it without the link; others do not; each opening is recorded.
    expect((await t.call('GET', `/api/v1/staff/referrals/${referralA}/packet`, { token: tok.supD })).status).toBe(404);
    const api = await t.call('GET', `/api/v1/staff/referrals/${referralA}/packet`, { token: tok.officerA });
    expect(api.status).toBe(200);
    expect(api.json.packet.bodyName).toBe('长风街道纪工委');
    expect(api.json.packet.link).toBeUndefined();
    noCanary(api.text);
    expect(await t.db.query(`select 1 from ledger_event where clue_id = $1 and type = 'referral.viewed'`, [clueA])).toHaveLength(2);
    // Its actions need the officer too.
    const url = new URL(`http://x${link}`);
    const act = (headers: Record<string, string>) =>
      t.app.request(`${url.pathname}/actions`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ kind: 'acknowledge', exp: url.searchParams.get('exp'), sig: url.searchParams.get('sig') }) });
    expect((await act({})).status).toBe(403);
    expect((await act({ authorization: `Bearer ${tok.officerA}` })).status).toBe(200);
  });

  it('with consent the packet carries the reporter and the file names', async () => {
    const clue = await acceptedReport({ consent: true });
    expect((await t.call('POST', `/api/v1/staff/clues/${clue}/referrals`, { token: tok.supD, body: {} })).status).toBe(201);
    const mails = await until(async () => packetsTo('jgw-a@jw.example.cn'), (m) => m.length === 2);
    expect((await simpleParser(mails[1]!.raw)).text).toContain(CANARY_FILE_PDF);
  });

  it('an officer who is an accused of the clue never opens its packet; a body whose every officer is accused is refused', async () => {
    const res = await t.call('POST', '/api/v1/staff/discipline-bodies', { token: tok.admin, body: { name: '长风街道纪工委第二组', kind: 'town_commission', email: 'jgw-c@jw.example.cn', authority: { accusedRoles: ['cadre'], unitIds: [tree.streetA.id] } } });
    expect(res.status).toBe(201);
    const bodyC = res.json.id as string;
    await t.deps.staff.seedStaff({ username: 'officerC1', displayName: '钱纪检', password: 'officer-c1-password', role: 'discipline_officer', unitId: tree.streetA.id, disciplineBodyId: bodyC });
    await t.deps.staff.seedStaff({ username: 'officerC2', displayName: '孙纪检', password: 'officer-c2-password', role: 'discipline_officer', unitId: tree.streetA.id, disciplineBodyId: bodyC });
    const c1 = (await t.deps.staff.login({ username: 'officerC1', password: 'officer-c1-password' })).token;
    const c2 = (await t.deps.staff.login({ username: 'officerC2', password: 'officer-c2-password' })).token;

    // Both officers accused: the packet would reach only the persons it is about.
    const both = await acceptedReport({ consent: false, accused: ['钱纪检', '孙纪检'] });
    const refused = await t.call('POST', `/api/v1/staff/clues/${both}/referrals`, { token: tok.supD, body: { bodyId: bodyC } });
    expect(refused.status).toBe(422);
    expect(refused.json.error.code).toBe('referral.body_recused');
    expect(await t.db.query('select 1 from referral where clue_id = $1', [both])).toHaveLength(0);

    // One accused: sent; the accused officer gets what an officer of another body gets, the other reads it.
    const one = await acceptedReport({ consent: false, accused: ['钱纪检'] });
    const sent = await t.call('POST', `/api/v1/staff/clues/${one}/referrals`, { token: tok.supD, body: { bodyId: bodyC } });
    expect(sent.status).toBe(201);
    const [mail] = await until(async () => packetsTo('jgw-c@jw.example.cn'), (m) => m.length === 1);
    const link = await linkIn(mail!.raw);
    expect((await t.app.request(link, { headers: { authorization: `Bearer ${c1}` } })).status).toBe(403);
    expect((await t.call('GET', `/api/v1/staff/referrals/${sent.json.id}/packet`, { token: c1 })).status).toBe(404);
    expect((await t.app.request(link, { headers: { authorization: `Bearer ${c2}` } })).status).toBe(200);
    expect((await t.call('GET', `/api/v1/staff/referrals/${sent.json.id}/packet`, { token: c2 })).status).toBe(200);
    const views = await t.db.query<{ actor: string }>(`select actor from ledger_event where clue_id = $1 and type = 'referral.viewed'`, [one]);
    expect(views).toHaveLength(2);
  });

  it('nothing of the canary reached the logs', () => {
    noCanary(t.logs.text());
  });
});

describe('the migration on a database from before', () => {
  it('cuts refused attachments’ names out of quarantine details; attachment names get their sealed column', async () => {
    const db = await createTestDatabase();
    const logger = createLogger('silent');
    const own = !db.orm;
    const orm = db.orm ?? (await createOrm({ ...t.config, DATABASE_URL: db.url, DATABASE_POOL_MAX: 2 }, logger));
    try {
      await orm.migrator.up({ to: 'Migration20261122070000_email' });
      // As the earlier parser wrote it: the refused file's name (the reporter's text) in the detail.
      await db.query(
        `insert into quarantined_mail (id, message_id, reason, detail, storage_key, size, status, received_at)
         values ('00000000-0000-4000-8000-000000000011', '<old@example.cn>', 'forbidden_attachment', $1, 'ab/cd', 10, 'held', now())`,
        [`附件“${CANARY_FILE_EXE}”被拒绝：不支持此文件类型 / Attachment "${CANARY_FILE_EXE}" was refused: This file type is not allowed.`],
      );
      await migrate(orm, logger);
      const [row] = await db.query<{ detail: string }>('select detail from quarantined_mail');
      expect(row!.detail).toBe('附件被拒绝：不支持此文件类型 / Attachment was refused: This file type is not allowed.');
      const cols = await db.query<{ column_name: string; is_nullable: string }>(`select column_name, is_nullable from information_schema.columns where table_name = 'attachment' and column_name in ('filename', 'filename_box') order by column_name`);
      expect(cols).toEqual([{ column_name: 'filename', is_nullable: 'YES' }, { column_name: 'filename_box', is_nullable: 'YES' }]);
    } finally {
      if (own) await orm.close(true);
      await db.drop();
    }
  });
});
