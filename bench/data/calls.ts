/**
 * Hotline calls that are not a report (phone reports come with their clue, clue.ts): status
 * queries, calls put through to an operator, call-backs asked for, and unanswered calls, which owe
 * a call-back (callbacks.rules.ts `owedCallback`) with its reminder, overdue and escalation notices
 * as the `hotline.sweep` job sends them (callbacks.steps.ts).
 */
import { seal } from '../../src/app/seal.ts';
import { addPeriod, snapshotOf } from '../../src/modules/deadlines/deadlines.engine.ts';
import { dueSteps, nextStepAt } from '../../src/modules/intake-voice/callbacks.steps.ts';
import { Life, MINUTE, officeTime } from './life.ts';
import { OTHER_CALLS } from './shape.ts';
import type { CallbackRow } from './tables.ts';
import { Rng, type World } from './world.ts';

const PROVIDER_STATUS: Record<string, string> = { status: 'completed', operator: 'completed', callback: 'completed', abandoned: 'completed', no_answer: 'no-answer', busy: 'busy', failed: 'failed' };
const SWEEP_MS = 60_000;

export function callLife(world: World, index: number, startedAt: number): Life {
  const rng = new Rng(world.seed, `call:${index}`);
  const life = new Life();
  const { district, anchor } = world;
  const operators = district.byRole(district.root, 'operator');
  const callbackKind = world.policy.kinds.find((k) => k.kind === 'callback')!;
  const rules = { reminders: callbackKind.reminders, escalateEvery: callbackKind.escalateEvery };
  // The operators' units (hotline.sweep's operatorChains): here only the district has operators.
  const chains = [...new Set(district.staff.filter((s) => s.role === 'operator').map((s) => s.unit_id))].map((u) => district.units.get(u)!.chain);
  const maxLevel = Math.max(0, ...chains.map((c) => c.length - 1));

  let outcome = rng.weighted(OTHER_CALLS.outcome);
  const withheld = rng.chance(0.15);
  const duration = outcome === 'operator' ? rng.int(120, 900) : outcome === 'status' ? rng.int(40, 120) : rng.int(5, 60);
  const endedAt = Math.min(startedAt + duration * 1000, anchor - 1);
  const callId = rng.uuid();
  const ts = (t: number) => new Date(t);
  if (outcome === 'operator' && !world.calendar.isWorkingDay(world.calendar.localDate(ts(startedAt)))) outcome = 'callback';
  const owes = outcome === 'callback' || (outcome !== 'status' && outcome !== 'operator' && !withheld);
  let callbackId: string | null = null;

  if (owes) {
    callbackId = rng.uuid();
    const number = `13${rng.digits(9)}`;
    const dueAt = addPeriod(world.calendar, snapshotOf(world.policy, callbackKind), ts(endedAt), callbackKind.duration).getTime();
    const doneAt = rng.chance(0.72) ? dueAt - rng.int(1, 50) * MINUTE : officeTime(world, rng, dueAt, rng.int(0, 2));
    const done = doneAt < anchor;
    const cb: CallbackRow = {
      id: callbackId, call_id: callId, caller_hash: world.hotline.callerHash(number), number_box: null, reason: outcome === 'callback' ? 'requested' : outcome, calls: 1,
      due_at: ts(dueAt), state: 'open', created_at: ts(endedAt), done_at: null, done_by: null, result: null, note: null, reminders_sent: 0,
      overdue_notified_at: null, escalation_level: 0, next_notice_at: null,
    };
    // The sweep's steps, each taken at the first sweep after it falls due, until the call-back is done.
    const until = done ? doneAt : anchor;
    for (let step = nextStepAt({ dueAt: ts(dueAt), remindersSent: 0, overdueNotifiedAt: null, escalationLevel: 0 }, rules, maxLevel); step; ) {
      const at = step.getTime() + rng.int(0, SWEEP_MS);
      if (at >= until) break;
      const s = dueSteps({ dueAt: ts(dueAt), remindersSent: cb.reminders_sent, overdueNotifiedAt: cb.overdue_notified_at, escalationLevel: cb.escalation_level }, rules, ts(at), maxLevel);
      const notice = (unit: string, role: string, kind: string, zh: string, en: string) =>
        life.row('staffNotice', at, { id: rng.uuid(), unit_id: unit, role, staff_id: null, clue_id: null, deadline_id: null, callback_id: cb.id, kind, text_zh: zh, text_en: en, created_at: ts(at) });
      if (s.remind) for (const c of chains) notice(c[0]!, 'operator', 'reminder', '提醒：回电任务即将到期', 'Reminder: a call-back is due soon');
      cb.reminders_sent = s.remindersSent;
      if (s.overdue) {
        for (const c of chains) notice(c[0]!, 'supervisor', 'missed', '超期：回电任务已到期，仍未回电', 'Overdue: a call-back is due and the caller has not been called back');
        cb.overdue_notified_at = ts(at);
      }
      for (const level of s.escalateTo) {
        for (const u of new Set(chains.map((c) => c[level]).filter((x): x is string => !!x))) notice(u, 'supervisor', 'escalated', '督办：回电任务超期未办，已上报至本级', 'Escalated: an overdue call-back is now with your unit');
        cb.escalation_level = level;
      }
      step = nextStepAt({ dueAt: ts(dueAt), remindersSent: cb.reminders_sent, overdueNotifiedAt: cb.overdue_notified_at, escalationLevel: cb.escalation_level }, rules, maxLevel);
    }
    if (done) {
      const staff = rng.pick(operators);
      cb.state = 'done';
      cb.done_at = ts(doneAt);
      cb.done_by = staff.id;
      cb.result = rng.weighted({ reached: 70, no_answer: 18, wrong_number: 4, declined: 3, other: 5 });
      life.row('callbackEvent', doneAt - 60_000, { id: rng.uuid(), callback_id: cb.id, staff_id: staff.id, action: 'number_viewed', at: ts(doneAt - 60_000) });
      life.row('callbackEvent', doneAt, { id: rng.uuid(), callback_id: cb.id, staff_id: staff.id, action: 'done', at: ts(doneAt) });
    } else {
      cb.number_box = seal(world.keys.reporterKey, number, cb.id, rng.bytes(12));
      cb.next_notice_at = nextStepAt({ dueAt: ts(dueAt), remindersSent: cb.reminders_sent, overdueNotifiedAt: cb.overdue_notified_at, escalationLevel: cb.escalation_level }, rules, maxLevel);
    }
    life.row('callback', endedAt, cb);
    life.row('sms', endedAt, { id: rng.uuid(), direction: 'out', sid_hash: null, purpose: 'callback_notice', hotline_number: '+861012345', clue_id: null, callback_id: cb.id, status: 'sent', created_at: ts(endedAt), sent_at: ts(endedAt + 3000) });
  }

  life.row('call', startedAt, {
    id: callId, sid_hash: world.hotline.sidHash('call', `CA${rng.bytes(16).toString('hex')}`), started_at: ts(startedAt), ended_at: ts(endedAt), provider_status: PROVIDER_STATUS[outcome]!,
    outcome, hotline_number: '+861012345', withheld, chose_anonymous: false, ivr: '{}', clue_id: null, pin_set_at: null,
    status_answered_at: outcome === 'status' ? ts(endedAt - 10_000) : null, operator_reached_at: outcome === 'operator' ? ts(startedAt + 30_000) : null,
    callback_id: callbackId, recording_attachment_id: null, created_at: ts(startedAt), updated_at: ts(endedAt),
  });
  return life.seal();
}
