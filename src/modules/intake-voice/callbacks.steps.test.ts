import { describe, expect, it } from 'vitest';
import { dueSteps, nextStepAt } from './callbacks.steps.ts';

const due = new Date('2026-03-02T03:20:00Z');
const min = (n: number) => new Date(due.getTime() + n * 60_000);
const fresh = { dueAt: due, remindersSent: 0, overdueNotifiedAt: null, escalationLevel: 0 };
const rules = { reminders: ['-PT60M', '-PT15M'], escalateEvery: 'PT2H' };

describe('call-back steps', () => {
  it('walks reminders, the miss and escalations in order, up to the root', () => {
    expect(nextStepAt(fresh, rules, 2)).toEqual(min(-60));
    expect(dueSteps(fresh, rules, min(-61), 2)).toEqual({ remind: false, remindersSent: 0, overdue: false, escalateTo: [] });
    expect(dueSteps(fresh, rules, min(-60), 2)).toEqual({ remind: true, remindersSent: 1, overdue: false, escalateTo: [] });
    const one = { ...fresh, remindersSent: 1 };
    expect(nextStepAt(one, rules, 2)).toEqual(min(-15));
    const two = { ...fresh, remindersSent: 2 };
    expect(nextStepAt(two, rules, 2)).toEqual(due);
    expect(dueSteps(two, rules, due, 2)).toEqual({ remind: false, remindersSent: 2, overdue: true, escalateTo: [] });
    const missed = { ...two, overdueNotifiedAt: due };
    expect(nextStepAt(missed, rules, 2)).toEqual(min(120));
    expect(dueSteps(missed, rules, min(125), 2).escalateTo).toEqual([1]);
    expect(nextStepAt({ ...missed, escalationLevel: 1 }, rules, 2)).toEqual(min(240));
    expect(nextStepAt({ ...missed, escalationLevel: 2 }, rules, 2)).toBeNull();
    expect(dueSteps({ ...missed, escalationLevel: 2 }, rules, min(10_000), 2).escalateTo).toEqual([]);
  });

  it('a late run takes what was missed at once: one reminder for several, none once due; the miss and every level reached', () => {
    expect(dueSteps(fresh, rules, min(-5), 3)).toEqual({ remind: true, remindersSent: 2, overdue: false, escalateTo: [] });
    expect(dueSteps(fresh, rules, min(250), 3)).toEqual({ remind: false, remindersSent: 2, overdue: true, escalateTo: [1, 2] });
    expect(dueSteps(fresh, rules, min(250), 1)).toEqual({ remind: false, remindersSent: 2, overdue: true, escalateTo: [1] });
  });

  it('repeats nothing the row records, whatever the policy now says', () => {
    const taken = { ...fresh, remindersSent: 2, overdueNotifiedAt: due, escalationLevel: 1 };
    expect(dueSteps(taken, { reminders: ['-PT5M'], escalateEvery: 'PT4H' }, min(200), 3)).toEqual({ remind: false, remindersSent: 2, overdue: false, escalateTo: [] });
    expect(dueSteps(taken, { reminders: [], escalateEvery: 'PT1H' }, min(200), 3).escalateTo).toEqual([2, 3]);
  });
});
