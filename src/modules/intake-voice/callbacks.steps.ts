import { durationMs, type KindPolicy } from '../deadlines/policy.ts';

/** What the reminder and escalation steps of a call-back follow: the policy's `callback` kind. */
export type CallbackRules = Pick<KindPolicy, 'reminders' | 'escalateEvery'>;

/** Used when an admin's policy has no `callback` kind: the shipped one's steps. */
export const DEFAULT_CALLBACK_RULES: CallbackRules = { reminders: ['-PT15M'], escalateEvery: 'PT2H' };

/** The steps a call-back row has taken (columns of `callback`). */
export interface CallbackStepState {
  dueAt: Date;
  remindersSent: number;
  overdueNotifiedAt?: Date | null;
  escalationLevel: number;
}

const reminderTimes = (s: Pick<CallbackStepState, 'dueAt'>, rules: CallbackRules) =>
  rules.reminders.map((r) => s.dueAt.getTime() + durationMs(r)).sort((a, b) => a - b);

/**
 * The steps due at `now` that the row has not taken, like a deadline's (reminders before due, the
 * miss at due, one escalation per `escalateEvery` after), but decided from what the row records
 * rather than a step counter, so a repeated run, a late run or a policy change never repeats one.
 * Several reminders past at once make one reminder; a reminder whose due time has passed is
 * dropped (the overdue notice says more). Escalation stops at `maxLevel` (the unit tree's root).
 */
export function dueSteps(s: CallbackStepState, rules: CallbackRules, now: Date, maxLevel: number) {
  const t = now.getTime();
  const due = s.dueAt.getTime();
  const reminders = reminderTimes(s, rules);
  const passed = reminders.filter((at) => at <= t).length;
  const remind = t < due && passed > s.remindersSent;
  const overdue = t >= due && !s.overdueNotifiedAt;
  const every = durationMs(rules.escalateEvery);
  const reached = t >= due ? Math.min(maxLevel, Math.floor((t - due) / every)) : 0;
  const escalateTo = Array.from({ length: Math.max(0, reached - s.escalationLevel) }, (_, i) => s.escalationLevel + i + 1);
  return { remind, remindersSent: Math.max(s.remindersSent, passed), overdue, escalateTo };
}

/** When the next step falls due (null: none left), for the row after the steps were taken. */
export function nextStepAt(s: CallbackStepState, rules: CallbackRules, maxLevel: number): Date | null {
  const reminders = reminderTimes(s, rules);
  const due = s.dueAt.getTime();
  const nextReminder = reminders[s.remindersSent];
  if (nextReminder !== undefined && nextReminder < due) return new Date(nextReminder);
  if (!s.overdueNotifiedAt) return new Date(due);
  if (s.escalationLevel >= maxLevel) return null;
  return new Date(due + (s.escalationLevel + 1) * durationMs(rules.escalateEvery));
}
