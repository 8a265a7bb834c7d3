import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../src/roots/worker.ts';
import { verifyLedger } from '../src/modules/clues/ledger.verify.ts';
import { createTestApp, seedTree, type TestEnv, until } from './helpers.ts';
import { startSmtpSink } from './smtp-sink.ts';

let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
let stopWorkers: () => Promise<void>;
const tok: Record<string, string> = {};

beforeAll(async () => {
  smtp = await startSmtpSink();
  t = await createTestApp({ MAIL_URL: smtp.url });
  tree = await seedTree(t);
  tok.op = (await t.staffMember('op', 'operator', tree.district.id)).token;
  tok.cwA = (await t.staffMember('cw-a', 'caseworker', tree.streetA.id)).token;
  tok.cwB = (await t.staffMember('cw-b', 'caseworker', tree.streetB.id)).token;
  tok.sup = (await t.staffMember('sup', 'supervisor', tree.district.id)).token;
  stopWorkers = await startWorkers(t.deps);
});
afterAll(async () => {
  await stopWorkers?.();
  await t?.close();
  await smtp?.close();
});


const post = (path: string, token: string, body: unknown) => t.call('POST', path, { token, body });

async function register(extra: Record<string, unknown> = {}) {
  const res = await post('/api/v1/staff/clues', tok.op!, {
    channel: 'letter',
    categories: ['favor_enrolment'],
    narrative: '居委会主任把不符合条件的亲戚纳入低保。',
    unitId: tree.committeeA.id,
    accused: [{ name: '钱主任', role: 'cadre', unitId: tree.committeeA.id }],
    ...extra,
  });
  expect(res.status).toBe(201);
  return res.json as { id: string; trackingCode: string; secret: string };
}

describe('from clue to finding', () => {
  it('registered → accepted → assigned → two tasks → findings → concluded, every step on a verifying ledger', async () => {
    const clue = await register();
    expect((await post(`/api/v1/staff/clues/${clue.id}/triage`, tok.op!, { priority: 'major', majorReasons: ['media_exposure'], categories: ['favor_enrolment', 'favouring_relatives'] })).status).toBe(200);
    expect((await post(`/api/v1/staff/clues/${clue.id}/supervise`, tok.sup!, {})).status).toBe(200);
    expect((await post(`/api/v1/staff/clues/${clue.id}/transitions`, tok.op!, { action: 'accept' })).status).toBe(200);
    expect((await post(`/api/v1/staff/clues/${clue.id}/assign`, tok.op!, { unitId: tree.streetA.id })).status).toBe(200);

    const home = await post(`/api/v1/staff/clues/${clue.id}/tasks`, tok.op!, { type: 'home_visit', assigneeUnitId: tree.streetA.id });
    expect(home.status).toBe(201);
    expect(home.json.checklist.map((c: any) => c.item)).toContain('housing_vehicles');
    expect(home.json.dueAt).toBeTruthy();
    const data = await post(`/api/v1/staff/clues/${clue.id}/tasks`, tok.op!, { type: 'data_cross_check', assigneeUnitId: tree.streetA.id });
    expect(data.status).toBe(201);

    // The assignee unit is told by the notifications job.
    const notices = await until(
      () => t.call('GET', '/api/v1/staff/notices', { token: tok.cwA }),
      (r) => r.json.items.filter((n: any) => n.kind === 'task_assigned').length === 2,
    );
    expect(notices.json.items.filter((n: any) => n.kind === 'task_assigned')).toHaveLength(2);
    // Another street sees neither the clue nor its tasks.
    expect((await post(`/api/v1/staff/tasks/${home.json.id}/complete`, tok.cwB!, { findings: '冒充核实' })).status).toBe(404);

    const first = await post(`/api/v1/staff/tasks/${home.json.id}/complete`, tok.cwA!, {
      findings: '入户核查：该户有两套住房、一辆汽车，不符合低保条件。',
      checklistDone: ['household_members', 'housing_vehicles', 'income_employment'],
      finding: 'substantiated',
      outcome: { householdsRemoved: 1, peopleRemoved: 3, fundsRecoveredYuan: 12840 },
    });
    expect(first.status).toBe(200);
    expect(first.json.verificationComplete).toBe(false);
    const second = await post(`/api/v1/staff/tasks/${data.json.id}/complete`, tok.cwA!, {
      findings: '信息比对：车辆登记与入户情况一致。',
      checklistDone: ['vehicles_property'],
      finding: 'substantiated',
    });
    expect(second.json.verificationComplete).toBe(true);
    expect(second.json.summary.suggestedFinding).toBe('substantiated');
    expect(second.json.summary.totals).toMatchObject({ householdsRemoved: 1, peopleRemoved: 3, fundsRecoveredYuan: 12840 });
    expect((await post(`/api/v1/staff/tasks/${data.json.id}/complete`, tok.cwA!, { findings: '再来一次' })).status).toBe(409);

    const concluded = await post(`/api/v1/staff/clues/${clue.id}/transitions`, tok.op!, {
      action: 'conclude',
      finding: 'substantiated',
      outcome: { householdsRemoved: 1, peopleRemoved: 3, fundsRecoveredYuan: 12840, householdsEnrolled: 0, cardCustodyCases: 0 },
    });
    expect(concluded.status).toBe(200);

    const read = await t.call('GET', `/api/v1/staff/clues/${clue.id}`, { token: tok.op });
    const steps = (read.json.events as { type: string; data: any }[])
      .filter((e) => !e.type.startsWith('deadline.') && e.type !== 'message.posted' && e.type !== 'triage.checked')
      .map((e) => (e.type === 'clue.status_changed' ? `status:${e.data.action}` : e.type));
    expect(steps).toEqual([
      'clue.registered',
      'clue.triaged',
      'clue.supervised',
      'status:accept',
      'clue.assigned',
      'status:start_verification',
      'task.created',
      'task.created',
      'task.completed',
      'task.completed',
      'verification.completed',
      'status:conclude',
    ]);
    const deadlineKinds = (read.json.events as { type: string; data: any }[]).filter((e) => e.type === 'deadline.started').map((e) => e.data.kind);
    expect(deadlineKinds).toEqual(expect.arrayContaining(['receipt_notice', 'conclusion', 'verification_task', 'reply_to_reporter']));
    expect((await verifyLedger(t.deps.orm)).ok).toBe(true);
    const [row] = await t.db.query<{ outcome: any; finding: string }>('select outcome, finding from clue where id = $1', [clue.id]);
    expect(row).toMatchObject({ finding: 'substantiated', outcome: { fundsRecoveredYuan: 12840, householdsRemoved: 1 } });

    // The supervisor attached for special supervision heard of the later events.
    const supNotices = await t.call('GET', '/api/v1/staff/notices', { token: tok.sup });
    expect(supNotices.json.items.filter((n: any) => n.kind === 'supervised').length).toBeGreaterThanOrEqual(8);
  });
});

describe('recusal', () => {
  it('refuses the accused’s own unit and offers the next unit up', async () => {
    const clue = await register();
    await post(`/api/v1/staff/clues/${clue.id}/transitions`, tok.op!, { action: 'accept' });
    const assign = await post(`/api/v1/staff/clues/${clue.id}/assign`, tok.op!, { unitId: tree.committeeA.id });
    expect(assign.status).toBe(403);
    expect(assign.json.error.code).toBe('clue.recusal');
    expect(assign.json.error.details).toMatchObject({ reason: 'accused_unit', suggestedUnitId: tree.streetA.id });
    const task = await post(`/api/v1/staff/clues/${clue.id}/tasks`, tok.op!, { type: 'home_visit', assigneeUnitId: tree.committeeA.id });
    expect(task.status).toBe(403);
    expect(task.json.error.details.suggestedUnitId).toBe(tree.streetA.id);
    const events = (await t.db.query<{ type: string }>('select type from ledger_event where clue_id = $1', [clue.id])).map((e) => e.type);
    expect(events).not.toContain('clue.assigned');
    expect(events).not.toContain('task.created');
  });

  it('refuses a caseworker who is the person reported', async () => {
    const clue = await register({ accused: [{ name: '孙大勇', role: 'caseworker', unitId: tree.streetB.id }] });
    await post(`/api/v1/staff/clues/${clue.id}/transitions`, tok.op!, { action: 'accept' });
    await t.deps.staff.seedStaff({ username: 'sun', displayName: '孙大勇', password: 'sun-password-1', role: 'caseworker', unitId: tree.streetA.id });
    const sun = (await t.db.query<{ id: string }>(`select id from staff where username = 'sun'`))[0]!;
    const task = await post(`/api/v1/staff/clues/${clue.id}/tasks`, tok.op!, { type: 'interview', assigneeUnitId: tree.streetA.id, assigneeStaffId: sun.id });
    expect(task.status).toBe(403);
    expect(task.json.error.details.reason).toBe('accused_person');
  });
});

describe('accepting and declining', () => {
  it('declining without a reason is refused; the decline notice reaches the reporter’s thread and email', async () => {
    const res = await t.call('POST', '/api/v1/reports', {
      body: { narrative: '反映邻居家开店却领低保。', unitId: tree.committeeB.id, reporter: { name: '周八', email: 'zhou.ba@example.cn' } },
    });
    expect(res.status).toBe(201);
    const [{ id }] = (await t.db.query<{ id: string }>('select id from clue where tracking_code = $1', [res.json.trackingCode])) as [{ id: string }];
    const bare = await post(`/api/v1/staff/clues/${id}/transitions`, tok.op!, { action: 'decline' });
    expect(bare.status).toBe(400);
    const declined = await post(`/api/v1/staff/clues/${id}/transitions`, tok.op!, {
      action: 'decline',
      reasonCode: 'in_other_procedure',
      reason: '该户低保资格争议已进入行政复议程序。',
    });
    expect(declined.status).toBe(200);

    const view = await t.call('GET', `/api/v1/reports/${res.json.trackingCode}`, { headers: { 'x-report-secret': res.json.secret } });
    expect(view.json.statusText.zh).toBe('不予受理');
    expect(view.json.messages.at(-1).body).toContain('已进入诉讼、仲裁或其他法定程序');
    expect(view.json.messages.at(-1).body).toContain('行政复议');

    const mails = await until(async () => smtp.received.filter((m) => m.to.includes('zhou.ba@example.cn')), (m) => m.length >= 2);
    const decision = mails.find((m) => /decision/i.test(m.raw) || m.raw.includes('Subject: =?'));
    expect(mails.length).toBe(2); // the acknowledgement, then the decision
    expect(decision).toBeDefined();
    const { simpleParser } = await import('mailparser');
    const texts = await Promise.all(mails.map(async (m) => (await simpleParser(m.raw)).text ?? ''));
    expect(texts.some((text) => text.includes('行政复议') && text.includes('不予受理'))).toBe(true);
  });
});

describe('a clue assigned into a street', () => {
  it("shows its open deadlines in that street's deadline views from the assignment on, and in no other street's", async () => {
    // A district-level clue: no street sees it until it is assigned (转办) to one.
    const clue = await register({ unitId: tree.district.id, accused: [{ name: '孙会计', role: 'beneficiary' }] });
    const openOf = async (token: string) =>
      ((await t.call('GET', '/api/v1/staff/deadlines?view=open&limit=200', { token })).json.items as { clueId: string; kind: string }[]).filter((d) => d.clueId === clue.id);
    expect(await openOf(tok.op!)).not.toHaveLength(0);
    expect(await openOf(tok.cwA!)).toHaveLength(0);
    expect((await post(`/api/v1/staff/clues/${clue.id}/transitions`, tok.op!, { action: 'accept' })).status).toBe(200);
    const before = await openOf(tok.op!);
    expect((await post(`/api/v1/staff/clues/${clue.id}/assign`, tok.op!, { unitId: tree.streetA.id })).status).toBe(200);
    // The deadlines open at the assignment, and one started after it (the task's), reach street A.
    expect((await openOf(tok.cwA!)).map((d) => d.kind).sort()).toEqual(before.map((d) => d.kind).sort());
    expect((await post(`/api/v1/staff/clues/${clue.id}/tasks`, tok.op!, { type: 'home_visit', assigneeUnitId: tree.streetA.id })).status).toBe(201);
    const after = await openOf(tok.op!);
    expect(after.length).toBeGreaterThan(before.length);
    expect((await openOf(tok.cwA!)).map((d) => d.kind).sort()).toEqual(after.map((d) => d.kind).sort());
    expect(await openOf(tok.cwB!)).toHaveLength(0);
  });
});
