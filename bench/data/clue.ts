/**
 * A clue's whole life up to the anchor: registration (as registerClue writes it), the triage job,
 * the decision, assignment, verification tasks, referral, conclusion with its figures, the reply,
 * closing, and what happens meanwhile (deadlines firing, reporter messages, views of the sealed
 * reporter). Probabilities are in shape.ts.
 */
import { createHash, createHmac } from 'node:crypto';
import { seal } from '../../src/app/seal.ts';
import type { Category, Channel } from '../../src/modules/clues/clue.entity.ts';
import { sha256Hex } from '../../src/modules/clues/ledger.ts';
import { generateWebSecret, hashSecret } from '../../src/modules/clues/secrets.ts';
import { declineReasons } from '../../src/modules/clues/status-machine.ts';
import { dammDigit } from '../../src/modules/clues/tracking-code.ts';
import { nameKey } from '../../src/modules/registry/vocabulary.ts';
import { checklists, type TaskType } from '../../src/modules/verification/task.entity.ts';
import type { Unit } from './district.ts';
import { ClueLedger, DAY, HOUR, Life, level2Of, MINUTE, officeTime } from './life.ts';
import { CATEGORIES, LIFE } from './shape.ts';
import type { AccusedRow, ClueRow } from './tables.ts';
import { narrative, OCCURRED, personName, POSITIONS } from './words.ts';
import { Rng, type World } from './world.ts';

/** An attachment's name sealed as `sealName` does, with the IV from the row id (reproducible, never repeated). */
const sealedName = (world: World, attachmentId: string, name: string) =>
  seal(world.keys.reporterKey, name, `attachment:${attachmentId}`, createHash('sha256').update(`attachment-name-iv:${attachmentId}`).digest().subarray(0, 12));

/** Who registers a clue of each channel (the actor of `clue.registered`). */
const REGISTERED_BY: Partial<Record<Channel, string>> = { web: 'reporter', email: 'email', phone: 'twilio', sms: 'twilio' };
const REFERABLE = new Set(['official', 'caseworker', 'cadre']);
const TASK_TYPES: Record<TaskType, number> = { home_visit: 45, data_cross_check: 25, community_review: 10, payment_check: 12, interview: 8 };

/** The secret of clue `index`: benchmarks of the reporter's follow-up can recompute it. */
export function clueSecret(seed: number, index: number, kind: 'web' | 'pin'): string {
  const rng = new Rng(seed, `secret:${index}`);
  return kind === 'pin' ? rng.digits(6) : generateWebSecret(rng.bytes(20));
}

/**
 * Clue `index`'s id: any clue's, from anywhere (a merge names an earlier clue). Time-ordered as the
 * app's (src/app/ids.ts `timeOrderedUuid`), with the clue's number in place of its millisecond
 * (clues are numbered in the order they arrive, and a merge knows only the number): the ids sort
 * as the app's would, so the indexes kept by clue have the app's locality.
 */
export function clueIdOf(seed: number, index: number): string {
  return new Rng(seed, `clue-id:${index}`).uuid7(CLUE_ID_EPOCH + index);
}

/** The first clue's id "time" (2020-01-01): before every id the app gives (its clock is past it). */
const CLUE_ID_EPOCH = Date.UTC(2020, 0, 1);

/**
 * The 11 digits before the check digit: index × A + B modulo 10¹¹, a permutation (A is odd and not
 * a multiple of 5, so coprime to 10¹¹), so codes look random yet never repeat, with no set of the
 * codes given out so far.
 */
function trackingBody(world: World, index: number): string {
  const m = 10n ** 11n;
  const v = (BigInt(index) * world.trackingMultiplier + world.trackingOffset) % m;
  return v.toString().padStart(11, '0');
}

export interface Arrival {
  index: number;
  receivedAt: number;
  channel: Channel;
}

/** The figures the self-inspection table needs, by what was alleged (Putuo 2024 annex). */
function outcomeFor(rng: Rng, categories: readonly Category[], finding: string) {
  if (finding === 'unsubstantiated') return { householdsRemoved: 0, peopleRemoved: 0, fundsRecoveredYuan: 0, householdsEnrolled: 0, cardCustodyCases: 0, enrolledAfterSingleFix: 0, byType: {} };
  const removes = categories.some((c) => ['favor_enrolment', 'connection_enrolment', 'stability_enrolment', 'policy_stretch_enrolment', 'wrongful_enrolment', 'false_claim', 'favouring_relatives'].includes(c));
  const households = removes ? rng.int(1, finding === 'substantiated' ? 3 : 1) : 0;
  const funds = categories.some((c) => ['embezzlement', 'false_claim', 'withholding_funds', 'payment_irregularity', 'wrongful_enrolment'].includes(c)) ? rng.int(5, 400) * 100 : 0;
  const people = households ? households + rng.int(0, 3) : 0;
  // The removals go to the problem type alleged first (人情保, 关系保, 政策保; other wrongful
  // enrolments of extreme-poverty support to 三无).
  const type = categories.includes('favor_enrolment')
    ? 'renqing'
    : categories.includes('connection_enrolment') || categories.includes('favouring_relatives')
      ? 'guanxi'
      : categories.includes('policy_stretch_enrolment') || categories.includes('stability_enrolment')
        ? 'zhengce'
        : 'sanwu';
  return {
    householdsRemoved: households,
    peopleRemoved: people,
    fundsRecoveredYuan: people || funds ? funds : 0,
    householdsEnrolled: categories.includes('missed_enrolment') || categories.includes('single_instead_of_household') ? 1 : 0,
    cardCustodyCases: categories.includes('card_custody_abuse') ? 1 : 0,
    enrolledAfterSingleFix: categories.includes('single_instead_of_household') ? rng.int(1, 3) : 0,
    byType: people || funds ? { [type]: { people, fundsYuan: funds } } : {},
  };
}

export function clueLife(world: World, a: Arrival): { life: Life; id: string; status: string } {
  const { district, anchor } = world;
  const rng = new Rng(world.seed, `clue:${a.index}`);
  const life = new Life();
  const id = clueIdOf(world.seed, a.index);
  const channel = a.channel;
  const operators = district.byRole(district.root, 'operator');
  const supervisors = district.byRole(district.root, 'supervisor');

  // Where and what.
  const where = rng.weighted(LIFE.unit);
  const unit: Unit | null = where === 'none' ? null : where === 'committee' ? rng.pick(district.committees) : rng.pick(district.level2);
  const categories = [...new Set([rng.weighted(CATEGORIES), ...(rng.chance(0.25) ? [rng.weighted(CATEGORIES)] : [])])];
  const accused: AccusedRow[] = [];
  for (let i = Number(rng.weighted(LIFE.accusedCount)); i > 0; i--) {
    const role = rng.weighted(LIFE.accusedRole);
    const accusedUnit = unit && role !== 'official' ? unit.id : (level2Of(world, unit?.id ?? null)?.id ?? unit?.id ?? null);
    const name = personName(rng);
    accused.push({ id: rng.uuid(), clue_id: id, name, name_key: nameKey(name), role, unit_id: accusedUnit, position: rng.chance(0.8) ? rng.pick(POSITIONS[role]!) : null });
  }
  const named = rng.chance(LIFE.named);
  const secretKind = channel === 'phone' || channel === 'sms' ? 'pin' : 'web';
  const body = trackingBody(world, a.index);
  const trackingCode = body + String(dammDigit(body));
  const text = narrative(rng, categories, accused[0] ? `${accused[0].position ?? ''}${accused[0].name}` : null, unit?.name ?? '本区');
  const occurredWhen = rng.chance(0.4) ? rng.pick(OCCURRED) : null;

  // Staff take letters and visits in office hours, some days after a letter arrived.
  const registeredBy = REGISTERED_BY[channel] ?? `staff:${rng.pick(operators).id}`;
  // A phone report arrives as a call: registered when its recording comes, minutes later.
  const callStarted = a.receivedAt;
  const received = channel === 'phone' ? a.receivedAt + rng.int(90, 400) * 1000 : a.receivedAt;
  const created = Math.min(
    channel === 'letter' ? officeTime(world, rng, received, rng.int(0, 2)) : received + (REGISTERED_BY[channel] ? 0 : rng.int(1, 20) * MINUTE),
    Math.max(received, anchor - 1),
  );
  const identity = named ? { name: personName(rng), phone: `13${rng.digits(9)}`, ...(channel === 'web' || channel === 'email' || rng.chance(0.2) ? { email: `reporter${a.index}@bench.invalid` } : {}), consentToShare: rng.chance(0.3) } : null;
  const box = identity ? seal(world.keys.reporterKey, JSON.stringify(identity), id, rng.bytes(12)) : null;

  const row: ClueRow = {
    id,
    tracking_code: trackingCode,
    channel,
    received_at: new Date(received),
    categories,
    narrative: text,
    occurred_when: occurredWhen,
    unit_id: unit?.id ?? null,
    status: 'registered',
    priority: 'normal',
    named,
    secret_kind: secretKind,
    secret_hash: hashSecret(world.keys.secretHmacKey, trackingCode, clueSecret(world.seed, a.index, secretKind)),
    head_seq: 0,
    head_hash: '',
    merged_into: null,
    assigned_unit_id: null,
    supervisor: null,
    finding: null,
    outcome: null,
    flags: [],
    created_at: new Date(created),
    updated_at: new Date(created),
  };
  const ledger = new ClueLedger(world, rng, life, { id, named, unit: row.unit_id });
  const ts = (t: number) => new Date(t);

  // Registration: one statement in the app (registration.repository.ts).
  const files: { id: string; filename: string; contentType: string; size: number; sha256: string }[] = [];
  const attachmentChance = LIFE.attachments[channel] ?? 0;
  if (rng.chance(attachmentChance)) {
    for (let i = rng.int(1, 2); i > 0; i--) {
      const sha = sha256Hex(`${id}:${i}`);
      files.push({ id: rng.uuid(), filename: rng.pick(['照片.jpg', '转账记录.png', '情况说明.pdf', 'IMG_2031.jpg']), contentType: rng.pick(['image/jpeg', 'image/png', 'application/pdf']), size: rng.int(40_000, 3_000_000), sha256: sha });
    }
  }
  // Names sealed as the app seals them (attachments.names.ts), with an IV derived from the row id (never twice under one key).
  for (const f of files) life.row('attachment', created, { id: f.id, size: f.size, sha256: f.sha256, filename: null, filename_box: sealedName(world, f.id, f.filename), clue_id: id, message_id: null, content_type: f.contentType, storage_key: `${f.sha256.slice(0, 2)}/${f.sha256}`, source: registeredBy === 'reporter' ? 'reporter' : registeredBy, created_at: ts(created) });
  ledger.append(created, 'clue.registered', registeredBy, {
    trackingCode,
    channel,
    receivedAt: new Date(received).toISOString(),
    categories,
    unitId: row.unit_id,
    accused: accused.map((x) => ({ id: x.id, name: x.name, role: x.role, unitId: x.unit_id, position: x.position })),
    narrativeSha256: sha256Hex(text),
    occurredWhen,
    named,
    reporterSealSha256: box ? sha256Hex(box) : undefined,
    secretKind,
    attachments: files.map((f) => ({ id: f.id, contentType: f.contentType, size: f.size, sha256: f.sha256 })),
  });
  ledger.onEvent(created, 'clue.registered');
  for (const x of accused) life.row('accused', created, x);
  if (box) life.row('sealedReporter', created, { clue_id: id, box, created_at: ts(created) });

  // The agenda: what happens after registration, in time order, each firing the deadline steps due before it.
  const agenda: { at: number; run: () => void }[] = [];
  const plan = (at: number, run: () => void) => agenda.push({ at, run });
  let agendaNow = created;
  // Channel specifics: the call or SMS it came by, its intake key, the recording, the triage job.
  plan(created + rng.int(1, 5) * 1000, () => ledger.append(agendaNow, 'triage.checked', 'system:job:triage', { possibleRepeats: [] }));
  if (channel === 'phone') {
    const sid = world.hotline.sidHash('call', `CA${rng.bytes(16).toString('hex')}`);
    life.row('intakeKey', created, { key: `phone:${sid}`, clue_id: id, created_at: ts(created) });
    const recording = rng.uuid();
    const started = callStarted;
    const storedAt = created + rng.int(25, 90) * 1000;
    const sha = sha256Hex(`recording:${id}`);
    const size = rng.int(100_000, 2_000_000);
    plan(created + 20_000, () => ledger.append(agendaNow, 'reporter.pin_set', 'twilio', { channel: 'phone', length: 6 }));
    plan(storedAt, () => {
      life.row('attachment', storedAt, { id: recording, clue_id: id, message_id: null, filename: null, filename_box: sealedName(world, recording, 'phone-recording.mp3'), content_type: 'audio/mpeg', size, sha256: sha, storage_key: `${sha.slice(0, 2)}/${sha}`, source: 'twilio', created_at: ts(storedAt) });
      ledger.append(storedAt, 'attachment.added', 'system:job:hotline', { attachmentId: recording, contentType: 'audio/mpeg', size, sha256: sha, source: 'phone_recording' });
    });
    life.row('call', started, {
      id: rng.uuid(), sid_hash: sid, started_at: ts(started), ended_at: ts(created + 30_000), provider_status: 'completed', outcome: 'report', hotline_number: '+861012345',
      withheld: !named && rng.chance(0.3), chose_anonymous: !named, ivr: JSON.stringify({ named, category: categories[0], unitId: row.unit_id, recordingIssued: true }), clue_id: id,
      pin_set_at: ts(created + 20_000), status_answered_at: null, operator_reached_at: null, callback_id: null, recording_attachment_id: recording, created_at: ts(started), updated_at: ts(storedAt),
    });
  } else if (channel === 'sms') {
    const sid = world.hotline.sidHash('sms', `SM${rng.bytes(16).toString('hex')}`);
    life.row('intakeKey', created, { key: `sms:${sid}`, clue_id: id, created_at: ts(created) });
    life.row('sms', created, { id: rng.uuid(), direction: 'in', sid_hash: sid, purpose: 'report', hotline_number: '+861012345', clue_id: id, callback_id: null, status: 'received', created_at: ts(created), sent_at: null });
    life.row('sms', created, { id: rng.uuid(), direction: 'out', sid_hash: null, purpose: 'report_ack', hotline_number: '+861012345', clue_id: id, callback_id: null, status: 'sent', created_at: ts(created), sent_at: ts(created + 6000) });
    plan(created + 6000, () => ledger.append(agendaNow, 'reporter.notified', 'system:job:hotline', { channel: 'sms', template: 'sms/report_ack' }));
  } else if (channel === 'email') {
    // As the app keys it: the keyed hash of the Message-ID (email.usecases.ts `mailKey`).
    life.row('intakeKey', created, { key: `email:${createHmac('sha256', world.keys.secretHmacKey).update(`email-message-id:<${rng.bytes(12).toString('hex')}@mail.bench.invalid>`).digest('hex')}`, clue_id: id, created_at: ts(created) });
  }
  if (identity?.email) {
    const template = channel === 'email' ? 'email/reporter-ack-email' : 'email/reporter-ack';
    plan(created + rng.int(30, 60) * 1000, () => {
      if (channel === 'email') ledger.append(agendaNow, 'secret.issued', 'system:job:notifications', { channel: 'email' });
      ledger.append(agendaNow, 'reporter.notified', 'system:job:notifications', { channel: 'email', template });
      life.row('notification', agendaNow, { id: rng.uuid(), idempotency_key: `email:reporter-ack:${id}`, channel: 'email', template, recipient: 'reporter', clue_id: id, status: 'sent', detail: null, created_at: ts(agendaNow) });
    });
  }

  const setStatus = (at: number, actor: string, action: string, to: string, extra: Record<string, unknown> = {}) => {
    const from = row.status;
    row.status = to;
    ledger.append(at, 'clue.status_changed', actor, { action, from, to, ...extra });
    ledger.onEvent(at, `clue.${action}`);
  };
  const staffMessage = (at: number, staffId: string, body: string, reason: string | null) => {
    const mid = rng.uuid();
    life.row('message', at, { id: mid, clue_id: id, author: 'staff', staff_id: staffId, body, created_at: ts(at) });
    if (reason) ledger.append(at, 'message.posted', `staff:${staffId}`, { messageId: mid, author: 'staff', reason });
    else ledger.append(at, 'message.posted', `staff:${staffId}`, { message: mid, author: 'staff', bodySha256: sha256Hex(body), attachments: [] });
  };

  const handling = () => level2Of(world, row.assigned_unit_id ?? row.unit_id) ?? district.root;
  const staffOf = (u: Unit, role: string) => {
    const list = district.byRole(u, role);
    return list.length ? rng.pick(list) : rng.pick(role === 'supervisor' ? supervisors : operators);
  };

  if (rng.chance(LIFE.triagedByOperator)) {
    plan(officeTime(world, rng, created, rng.chance(0.6) ? 0 : 1), () => {
      const major = rng.chance(LIFE.major);
      if (major) row.priority = 'major';
      ledger.append(agendaNow, 'clue.triaged', `staff:${rng.pick(operators).id}`, { categories, priority: major ? 'major' : undefined, majorReasons: major ? [rng.pick(['media_exposure', 'leader_instruction', 'several_reporters'])] : undefined });
    });
  }

  const decisionAt = officeTime(world, rng, created, rng.chance(LIFE.lateDecision) ? rng.int(16, 30) : rng.int(1, 12));
  const decision = rng.float();
  const decider = () => (rng.chance(0.7) ? rng.pick(operators) : rng.pick(supervisors));

  if (decision < LIFE.merge && a.index > 0) {
    // A repeat of a clue that came in shortly before.
    const target = clueIdOf(world.seed, Math.max(0, a.index - rng.int(1, 300)));
    plan(decisionAt, () => {
      row.merged_into = target;
      setStatus(agendaNow, `staff:${decider().id}`, 'merge', 'merged', { mergedInto: target });
    });
  } else if (decision < LIFE.merge + LIFE.decline) {
    plan(decisionAt, () => {
      const staff = decider();
      const code = rng.pick(Object.keys(declineReasons)) as keyof typeof declineReasons;
      const reason = '经审查，该反映不符合受理条件。';
      setStatus(agendaNow, `staff:${staff.id}`, 'decline', 'declined', { reason, reasonCode: code });
      const r = declineReasons[code];
      staffMessage(agendaNow, staff.id, `您的举报不予受理。理由：${r.zh}。${reason}\n/ Your report was not accepted. Reason: ${r.en}. ${reason}`, 'decision:decline');
      if (rng.chance(LIFE.closeDeclined)) plan(officeTime(world, rng, agendaNow, rng.int(3, 30)), () => setStatus(agendaNow, `staff:${staff.id}`, 'close', 'closed'));
    });
  } else {
    plan(decisionAt, () => accept());
  }

  function accept() {
    const staff = decider();
    const acceptedAt = agendaNow;
    setStatus(acceptedAt, `staff:${staff.id}`, 'accept', 'accepted');
    staffMessage(acceptedAt, staff.id, '您的举报已受理，我们将进行核实，并在规定时限内告知结果。/ Your report has been accepted; we will verify it and tell you the result within the time limits.', 'decision:accept');
    if (rng.chance(LIFE.assign) && row.unit_id) {
      plan(officeTime(world, rng, acceptedAt, rng.int(0, 2)), () => {
        const target = level2Of(world, row.unit_id)!;
        const accusedUnits = new Set(accused.map((x) => x.unit_id));
        const to = accusedUnits.has(target.id) ? district.root : target;
        row.assigned_unit_id = to.id;
        ledger.append(agendaNow, 'clue.assigned', `staff:${staff.id}`, { unitId: to.id });
      });
    }
    if ((row.priority === 'major' || rng.chance(LIFE.supervise)) && row.unit_id) {
      plan(officeTime(world, rng, acceptedAt, rng.int(0, 3)), () => {
        const sup = rng.pick(supervisors);
        row.supervisor = sup.id;
        ledger.append(agendaNow, 'clue.supervised', `staff:${sup.id}`, { supervisorId: sup.id });
        ledger.supervisor = sup.id;
      });
    }
    const stuck = rng.chance(LIFE.stuck);
    const tasks = Number(rng.weighted(LIFE.tasks));
    let lastDone = acceptedAt;
    let referralDone: number | null = null;
    const canRefer = accused.some((x) => REFERABLE.has(x.role)) && rng.chance(LIFE.refer);
    for (let i = 0; i < tasks; i++) {
      const createdAt = officeTime(world, rng, acceptedAt, rng.int(1, 6) + i);
      const doneAt = officeTime(world, rng, createdAt, rng.chance(LIFE.lateTask) ? rng.int(16, 40) : rng.int(3, 13)) + (stuck ? rng.int(30, 500) * DAY : 0);
      lastDone = Math.max(lastDone, doneAt);
      const taskId = rng.uuid();
      const type = rng.weighted(TASK_TYPES);
      const task = {
        id: taskId, clue_id: id, type, assignee_unit_id: '', assignee_staff: null as string | null, status: 'open', due_at: null as Date | null,
        checklist: '', findings: null as string | null, outcome: null as string | null, automatic: false, created_by: '', created_at: ts(createdAt), completed_at: null as Date | null,
      };
      plan(createdAt, () => {
        const unitForTask = handling();
        const assignee = rng.chance(0.5) ? staffOf(unitForTask, 'caseworker') : null;
        const creator = rng.pick(operators);
        task.assignee_unit_id = unitForTask.id;
        task.assignee_staff = assignee?.id ?? null;
        task.created_by = `staff:${creator.id}`;
        task.checklist = JSON.stringify(checklists[type].map((c) => ({ ...c, done: false })));
        if (row.status === 'accepted') setStatus(agendaNow, `staff:${creator.id}`, 'start_verification', 'verifying');
        ledger.append(agendaNow, 'task.created', `staff:${creator.id}`, { taskId, type, unitId: unitForTask.id, staffId: assignee?.id, automatic: false });
        ledger.onEvent(agendaNow, 'task.created', taskId);
        task.due_at = ledger.deadlines.find((d) => d.row.subject_id === taskId)?.row.due_at ?? null;
        const noticeAt = agendaNow + rng.int(1, 20) * 1000;
        ledger.notice(noticeAt, { unit_id: unitForTask.id, role: null, staff_id: assignee?.id ?? null, deadline_id: null, kind: 'task_assigned', text_zh: `新的核实任务：${type}`, text_en: `New verification task: ${type}` });
        life.row('notification', noticeAt, { id: rng.uuid(), idempotency_key: `notice:task-assigned:${taskId}`, channel: 'inbox', template: 'notice/task-assigned', recipient: `unit:${unitForTask.id}`, clue_id: id, status: 'sent', detail: null, created_at: ts(noticeAt) });
        // The task row as it stands at the anchor, written when it was created.
        agenda.push({ at: Number.POSITIVE_INFINITY, run: () => life.row('task', createdAt, task) });
      });
      plan(doneAt, () => {
        const worker = task.assignee_staff ?? staffOf(handling(), 'caseworker').id;
        const finding = rng.weighted(LIFE.finding);
        const outcome = outcomeFor(rng, categories, finding);
        const done = checklists[type].map((c) => c.item);
        task.status = 'completed';
        task.findings = '已入户核查，情况属实与否见结论。';
        task.checklist = JSON.stringify(checklists[type].map((c) => ({ ...c, done: true })));
        task.outcome = JSON.stringify({ finding, ...outcome });
        task.completed_at = ts(agendaNow);
        ledger.append(agendaNow, 'task.completed', `staff:${worker}`, { taskId, finding, outcome, checklistDone: done });
        ledger.onEvent(agendaNow, 'task.completed', taskId);
        if (i === tasks - 1) ledger.append(agendaNow, 'verification.completed', 'system:workflow', { suggestedFinding: finding, totals: outcome, tasks });
      });
    }
    if (canRefer) {
      const referAt = officeTime(world, rng, acceptedAt, rng.int(3, 15));
      const referralId = rng.uuid();
      const body = rng.pick(district.bodies);
      const sup = rng.pick(supervisors);
      const ref = { id: referralId, clue_id: id, body_id: body.id, status: 'sent', includes_reporter: !!identity?.consentToShare, disposition: null as string | null, result: null as string | null, confirmed_by: sup.id, link_expires_at: ts(referAt + 30 * DAY), created_at: ts(referAt) };
      const ackAt = officeTime(world, rng, referAt, rng.int(1, 8));
      const resultAt = officeTime(world, rng, ackAt, rng.int(15, 80));
      referralDone = resultAt;
      plan(referAt, () => {
        if (row.status !== 'accepted' && row.status !== 'verifying') return;
        setStatus(agendaNow, `staff:${sup.id}`, 'refer', 'referred');
        ledger.append(agendaNow, 'referral.sent', `staff:${sup.id}`, { referralId, bodyId: body.id, proposedBodyId: body.id, includesReporter: ref.includes_reporter });
        ledger.onEvent(agendaNow, 'referral.sent', referralId);
        ledger.append(agendaNow + 5000, 'referral.packet_sent', 'system:job:notifications', { referralId, bodyId: body.id, includesReporter: ref.includes_reporter });
        agenda.push({ at: Number.POSITIVE_INFINITY, run: () => life.row('referral', referAt, ref) });
      });
      plan(ackAt, () => {
        if (ref.status !== 'sent') return;
        ref.status = 'acknowledged';
        ledger.append(agendaNow, 'referral.acknowledged', `discipline:${body.id}`, { referralId });
        ledger.onEvent(agendaNow, 'referral.acknowledged', referralId);
      });
      plan(resultAt, () => {
        if (ref.status !== 'acknowledged') return;
        const disposition = rng.pick(['talk_and_inquiry', 'preliminary_verification', 'shelved_pending', 'closed_no_action', 'case_opened']);
        ref.status = 'result_reported';
        ref.disposition = disposition;
        ref.result = '已按规定处置。';
        ledger.append(agendaNow, 'referral.result_reported', `discipline:${body.id}`, { referralId, disposition, result: ref.result });
        ledger.onEvent(agendaNow, 'referral.result_reported', referralId);
      });
    }
    // A supervisor extends the conclusion deadline of some slow clues before it falls due.
    if (rng.chance(LIFE.extension) || stuck) {
      const conclusion = () => ledger.openDeadline('conclusion');
      plan(acceptedAt + 50 * DAY + rng.int(0, 8) * DAY, () => {
        if (conclusion()) ledger.extend(agendaNow, 'conclusion', staffOf(handling(), 'supervisor').id);
      });
    }
    const concludeAt = officeTime(world, rng, Math.max(lastDone, referralDone ?? 0, acceptedAt + rng.int(5, 20) * DAY), rng.int(1, 10)) + (stuck && tasks === 0 ? rng.int(60, 500) * DAY : 0);
    plan(concludeAt, () => conclude());
  }

  function conclude() {
    if (row.status !== 'verifying' && row.status !== 'referred' && row.status !== 'accepted') return;
    const worker = staffOf(handling(), 'caseworker');
    if (row.status === 'accepted') setStatus(agendaNow, `staff:${worker.id}`, 'start_verification', 'verifying');
    const finding = rng.weighted(LIFE.finding);
    const outcome = outcomeFor(rng, categories, finding);
    row.finding = finding;
    row.outcome = JSON.stringify(outcome);
    setStatus(agendaNow, `staff:${worker.id}`, 'conclude', 'concluded', { finding, outcome });
    const replyAt = officeTime(world, rng, agendaNow, rng.chance(0.07) ? rng.int(22, 40) : rng.int(1, 14));
    plan(replyAt, () => {
      setStatus(agendaNow, `staff:${worker.id}`, 'reply', 'replied');
      staffMessage(agendaNow, worker.id, `经核查，您反映的问题${finding === 'unsubstantiated' ? '不属实' : finding === 'substantiated' ? '属实，已依规处理' : '部分属实，已依规处理'}。感谢您的监督。/ We checked the matter you reported; thank you.`, null);
      if (rng.chance(LIFE.closeReplied)) {
        plan(officeTime(world, rng, agendaNow, rng.int(2, 30)), () => {
          setStatus(agendaNow, `staff:${worker.id}`, 'close', 'closed');
          if (rng.chance(LIFE.review)) {
            plan(officeTime(world, rng, agendaNow, rng.int(10, 60)), () => {
              setStatus(agendaNow, `staff:${worker.id}`, 'review', 'verifying', { reason: '举报人对处理结果不满意，申请复查。' });
              plan(officeTime(world, rng, agendaNow, rng.int(10, 40)), () => conclude());
            });
          }
        });
      }
    });
  }

  // Meanwhile: the reporter writes on the thread; operators open the sealed reporter record.
  if (rng.chance(LIFE.reporterMessage)) {
    const at = created + rng.int(1, 60) * DAY + rng.int(0, 23) * HOUR;
    plan(at, () => {
      const mid = rng.uuid();
      const body = '请问我反映的问题现在处理到哪一步了？';
      life.row('message', agendaNow, { id: mid, clue_id: id, author: 'reporter', staff_id: null, body, created_at: ts(agendaNow) });
      ledger.append(agendaNow, 'message.posted', 'reporter', { message: mid, author: 'reporter', bodySha256: sha256Hex(body), attachments: [] });
    });
  }
  if (named && rng.chance(LIFE.revealReporter)) {
    plan(officeTime(world, rng, created, rng.int(1, 20)), () => {
      ledger.append(agendaNow, 'reporter.viewed', `staff:${rng.pick(operators).id}`, { purpose: '核实需要联系举报人' });
    });
  }

  // Run the agenda in time order up to the anchor; what falls after it has not happened yet.
  for (;;) {
    let k = -1;
    for (let i = 0; i < agenda.length; i++) if (k < 0 || agenda[i]!.at < agenda[k]!.at) k = i;
    if (k < 0 || agenda[k]!.at >= anchor) break;
    const [item] = agenda.splice(k, 1);
    agendaNow = item!.at;
    ledger.fireUntil(agendaNow);
    item!.run();
  }
  for (const item of agenda) if (item.at === Number.POSITIVE_INFINITY) item.run();
  ledger.finish(anchor, row.assigned_unit_id);

  row.head_seq = ledger.head.headSeq;
  row.head_hash = ledger.head.headHash;
  row.updated_at = ledger.head.updatedAt;
  life.row('clue', created, row);
  return { life: life.seal(), id, status: row.status };
}
