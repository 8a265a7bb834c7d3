import type { Deadline, PolicySnapshot } from './deadline.entity.ts';
import { type DeadlinePolicy, durationMs, type KindPolicy, parseDuration } from './policy.ts';

/** What the deadline engine needs of the working-day calendar (src/modules/deadlines/calendar). */
export interface WorkCalendar {
  addWorkingDays(start: Date, n: number): Date;
  addCalendarDays(start: Date, n: number, opts?: { extendOverHolidays?: boolean }): Date;
  nextWorkingHour(at: Date, hours: { start: string; end: string }): Date;
}

/** The due moment of a period of `duration` (policy basis) starting at `start`. */
export function addPeriod(cal: WorkCalendar, snapshot: PolicySnapshot, start: Date, duration: string): Date {
  const d = parseDuration(duration);
  const days = d.weeks * 7 + d.days;
  switch (snapshot.kind.basis) {
    case 'calendar_days':
      return cal.addCalendarDays(start, days);
    case 'working_days':
      return cal.addWorkingDays(start, days);
    case 'hours':
      return new Date(start.getTime() + durationMs(duration));
    case 'working_hours': {
      let at = start;
      for (let h = 0; h < Math.max(1, days * 24 + d.hours); h++) at = cal.nextWorkingHour(at, snapshot.officeHours);
      return at;
    }
  }
}

export function snapshotOf(policy: DeadlinePolicy, kind: KindPolicy): PolicySnapshot {
  return { version: policy.version, officeHours: policy.officeHours, kind };
}

export type StepKind = 'reminder' | 'due' | 'escalation';

/**
 * A deadline's steps in order: its reminders (before due), the due moment, then one escalation
 * per interval. Step `seq` of a row is when it fires; escalations go on until the unit tree's root.
 */
export function stepOf(row: Pick<Deadline, 'dueAt' | 'policy'>, seq: number): { kind: StepKind; at: Date } {
  const reminders = row.policy.kind.reminders;
  const due = row.dueAt.getTime();
  if (seq < reminders.length) return { kind: 'reminder', at: new Date(due + durationMs(reminders[seq]!)) };
  if (seq === reminders.length) return { kind: 'due', at: new Date(due) };
  const level = seq - reminders.length;
  return { kind: 'escalation', at: new Date(due + level * durationMs(row.policy.kind.escalateEvery)) };
}

/** The first step at or after `fromSeq` that is not before `notBefore` (reminders already past are skipped). */
export function firstStepFrom(row: Pick<Deadline, 'dueAt' | 'policy'>, fromSeq: number, notBefore: Date): { seq: number; at: Date } {
  let seq = fromSeq;
  for (;;) {
    const step = stepOf(row, seq);
    if (step.kind !== 'reminder' || step.at >= notBefore) return { seq, at: step.at };
    seq++;
  }
}

export function jobIdFor(row: Pick<Deadline, 'id' | 'fireSeq' | 'nextFireAt'>): string {
  return `dl-${row.id}-${row.fireSeq}-${row.nextFireAt?.getTime() ?? 0}`;
}
