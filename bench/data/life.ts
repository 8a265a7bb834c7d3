/**
 * One record's life as rows with the time each is written: the rows of one clue (or call) are
 * produced all at once, when it arrives, and handed out in time order by the merge in generate.ts.
 * The ledger follows the app's rules: events are hashed by the project's `nextEvent`, a supervised
 * clue notifies its supervisor of every event (as `appendEvent` does), and the final state of
 * every row is what it is at the anchor.
 */
import { GENESIS_HASH, nextEvent } from '../../src/modules/clues/ledger.ts';
import { activeStates } from '../../src/modules/deadlines/deadline.entity.ts';
import { addPeriod, firstStepFrom, stepOf } from '../../src/modules/deadlines/deadlines.engine.ts';
import { effectsOf } from '../../src/modules/deadlines/policy.ts';
import { encodeRow } from './copy.ts';
import type { Unit } from './district.ts';
import { type DeadlineRow, encodeFields, type RowOf, type StaffNoticeRow, type TableKey } from './tables.ts';
import type { Rng, World } from './world.ts';

/** A ledger event waiting for its id (given in write order) and its day's transaction id. */
export interface PendingEvent {
  clueId: string;
  seq: number;
  hash: string;
  /** The encoded row after the id column and before the txid column. */
  middle: string;
}

export interface Entry {
  at: number;
  table: TableKey | 'ledgerEvent';
  line?: string;
  event?: PendingEvent;
}

/** Rows of one life, appended in any order and handed out sorted by time (stable). */
export class Life {
  entries: Entry[] = [];
  next = 0;

  row<K extends TableKey>(key: K, at: number, row: RowOf<K>) {
    this.entries.push({ at, table: key, line: encodeRow(encodeFields(key, row)) });
  }

  event(at: number, e: PendingEvent) {
    this.entries.push({ at, table: 'ledgerEvent', event: e });
  }

  /** Sorts the entries by time, keeping the order of entries at the same time (a chain's seq order). */
  seal() {
    this.entries.sort((a, b) => a.at - b.at);
    return this;
  }

  get nextAt(): number {
    return this.entries[this.next]?.at ?? Number.POSITIVE_INFINITY;
  }
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const SHANGHAI = 8 * HOUR;

/**
 * A moment during office hours (09:00–17:30 Shanghai) on the first working day at least `days`
 * after `t`, as staff act.
 */
export function officeTime(world: World, rng: Rng, t: number, days: number): number {
  let day = Math.floor((t + SHANGHAI) / DAY) + Math.max(0, Math.round(days));
  for (let i = 0; i < 14 && !world.calendar.isWorkingDay(new Date(day * DAY).toISOString().slice(0, 10)); i++) day++;
  const at = day * DAY - SHANGHAI + 9 * HOUR + rng.int(0, 510) * MINUTE + rng.int(0, 59_999);
  return Math.max(at, t + MINUTE);
}

interface DeadlineSim {
  row: DeadlineRow;
  /** Unit ids from the deadline's unit up, for notices and escalation. */
  chain: string[];
}

/**
 * The ledger and deadline side of a clue: appends events, starts and stops deadlines at the
 * policy's tokens, and fires their reminder, due and escalation steps as time passes, with the
 * rows and notices `fireStep` writes.
 */
export class ClueLedger {
  head: { id: string; headSeq: number; headHash: string; updatedAt: Date };
  deadlines: DeadlineSim[] = [];
  /** Special supervision (督办): the supervisor hears of every later event (notices to the clue's unit). */
  supervisor: string | null = null;

  readonly world: World;
  readonly rng: Rng;
  readonly life: Life;
  readonly clue: { id: string; named: boolean; unit: string | null };

  constructor(world: World, rng: Rng, life: Life, clue: { id: string; named: boolean; unit: string | null }) {
    this.world = world;
    this.rng = rng;
    this.life = life;
    this.clue = clue;
    this.head = { id: clue.id, headSeq: 0, headHash: GENESIS_HASH, updatedAt: new Date(0) };
  }

  append(at: number, type: string, actor: string, data: Record<string, unknown>) {
    const e = nextEvent(this.head, { type, actor: actor as never, data }, new Date(at));
    this.life.event(at, {
      clueId: this.clue.id,
      seq: e.seq,
      hash: e.hash,
      middle: encodeRow([this.clue.id, e.seq, e.type, e.actor, e.at, e.dataJson, e.prevHash, e.hash]).slice(0, -1),
    });
    if (this.supervisor && this.clue.unit) {
      this.notice(at, { unit_id: this.clue.unit, role: null, staff_id: this.supervisor, deadline_id: null, kind: 'supervised', text_zh: `督办线索有新动态：${type}`, text_en: `Supervised clue: ${type}` });
    }
  }

  notice(at: number, n: Omit<StaffNoticeRow, 'id' | 'clue_id' | 'callback_id' | 'created_at'>) {
    this.life.row('staffNotice', at, { id: this.rng.uuid(), clue_id: this.clue.id, callback_id: null, created_at: new Date(at), ...n });
  }

  /** What `deadlines.onEvent` does for `token`: stop the kinds it stops, start those it starts. */
  onEvent(at: number, token: string, subjectId: string | null = null) {
    this.fireUntil(at);
    const { stop } = effectsOf(this.world.policy, token, this.clue);
    for (const d of this.deadlines) {
      const r = d.row;
      if (!stop.includes(r.kind as never) || !activeStates.includes(r.state as never) || r.closed_at) continue;
      if (subjectId && r.subject_id !== subjectId) continue;
      const late = r.state === 'missed';
      r.state = late ? 'missed' : 'met';
      r.closed_at = new Date(at);
      r.next_fire_at = null;
      this.append(at, 'deadline.met', 'system:deadlines', { deadlineId: r.id, kind: r.kind, late });
    }
    for (const { row, event } of this.world.planStarts(this.world.policy, this.clue, token, new Date(at), subjectId)) {
      const id = this.rng.uuid();
      const unit = row.unit ? this.world.district.units.get(row.unit) : undefined;
      const sim: DeadlineSim = {
        chain: unit?.chain ?? [],
        row: {
          id,
          clue_id: this.clue.id,
          kind: row.kind,
          subject_id: row.subjectId,
          unit_id: row.unit,
          assigned_unit_id: null,
          starts_at: row.startsAt,
          due_at: row.dueAt,
          original_due_at: row.originalDueAt,
          policy: JSON.stringify(row.policy),
          state: 'open',
          closed_at: null,
          extensions: 0,
          fire_seq: row.fireSeq,
          next_fire_at: row.nextFireAt,
          escalation_level: 0,
          escalated_unit: null,
          sync_needed: false,
          created_at: row.createdAt,
        },
      };
      this.deadlines.push(sim);
      this.append(at, event.type, event.actor, { ...event.data, deadlineId: id });
    }
  }

  /** A supervisor's approved extension of an open deadline of `kind` (deadlines.extend). */
  extend(at: number, kind: string, staffId: string): boolean {
    this.fireUntil(at);
    const d = this.deadlines.find((x) => x.row.kind === kind && !x.row.closed_at);
    const policy = d && (JSON.parse(d.row.policy) as { kind: { extension?: string; maxExtensions: number } });
    if (!d || !policy?.kind.extension || d.row.extensions >= policy.kind.maxExtensions) return false;
    const r = d.row;
    const previousDue = r.due_at;
    const snapshot = JSON.parse(r.policy);
    r.due_at = addPeriod(this.world.calendar, snapshot, r.due_at, policy.kind.extension);
    r.extensions++;
    r.state = 'extended';
    r.escalation_level = 0;
    r.escalated_unit = null;
    const first = firstStepFrom({ dueAt: r.due_at, policy: snapshot }, 0, new Date(at));
    r.fire_seq = first.seq;
    r.next_fire_at = first.at;
    this.append(at, 'deadline.extended', `staff:${staffId}`, { deadlineId: r.id, kind: r.kind, reason: '情况复杂，需进一步核查 / complex case, more checks needed', previousDue: previousDue.toISOString(), newDue: r.due_at.toISOString() });
    return true;
  }

  /** Fires every deadline step due before `t`, in time order (deadlines.fireStep, step by step). */
  fireUntil(t: number) {
    for (;;) {
      let next: DeadlineSim | null = null;
      for (const d of this.deadlines) {
        const at = d.row.next_fire_at?.getTime();
        if (at !== undefined && !d.row.closed_at && at < t && (!next || at < next.row.next_fire_at!.getTime())) next = d;
      }
      if (!next) return;
      this.fire(next);
    }
  }

  private fire(d: DeadlineSim) {
    const r = d.row;
    const now = r.next_fire_at!.getTime();
    const seq = r.fire_seq;
    const snapshot = JSON.parse(r.policy) as { kind: { zh: string; en: string; reminders: string[]; escalateEvery: string } };
    const row = { dueAt: r.due_at, policy: snapshot as never };
    const step = stepOf(row, seq);
    const chain = d.chain;
    let next: { seq: number; at: Date } | null = { seq: seq + 1, at: stepOf(row, seq + 1).at };
    const due = r.due_at.toISOString();
    const base = { deadline_id: r.id, staff_id: null };
    if (step.kind === 'reminder') {
      this.append(now, 'deadline.reminded', 'system:deadlines', { deadlineId: r.id, kind: r.kind, dueAt: due });
      if (chain[0]) this.notice(now, { ...base, unit_id: chain[0], role: null, kind: 'reminder', text_zh: `提醒：「${snapshot.kind.zh}」将于 ${due.slice(0, 10)} 到期`, text_en: `Reminder: "${snapshot.kind.en}" is due ${due}` });
    } else if (step.kind === 'due') {
      r.state = 'missed';
      this.append(now, 'deadline.missed', 'system:deadlines', { deadlineId: r.id, kind: r.kind, dueAt: due });
      if (chain[0]) this.notice(now, { ...base, unit_id: chain[0], role: 'supervisor', kind: 'missed', text_zh: `超期：「${snapshot.kind.zh}」已于 ${due.slice(0, 10)} 到期未办`, text_en: `Overdue: "${snapshot.kind.en}" was due ${due}` });
      if (!chain[1]) next = null;
    } else {
      const level = r.escalation_level + 1;
      const target = chain[level];
      if (!target) {
        next = null;
      } else {
        r.escalation_level = level;
        r.escalated_unit = target;
        this.append(now, 'deadline.escalated', 'system:deadlines', { deadlineId: r.id, kind: r.kind, level, unitId: target });
        this.notice(now, { ...base, unit_id: target, role: 'supervisor', kind: 'escalated', text_zh: `督办：「${snapshot.kind.zh}」超期未办，已上报至本级`, text_en: `Escalated: "${snapshot.kind.en}" is overdue and now with your unit` });
        if (!chain[level + 1]) next = null;
      }
    }
    r.fire_seq = next ? next.seq : seq + 1;
    r.next_fire_at = next ? next.at : null;
  }

  /**
   * The deadline rows as they stand at `t` (steps before it fired), each written when it started;
   * the open ones carry the clue's assigned unit, as the app keeps it (deadline.entity.ts).
   */
  finish(t: number, assignedUnit: string | null = null) {
    this.fireUntil(t);
    for (const d of this.deadlines) {
      if (!d.row.closed_at) d.row.assigned_unit_id = assignedUnit;
      this.life.row('deadline', d.row.created_at.getTime(), d.row);
    }
  }

  openDeadline(kind: string) {
    return this.deadlines.find((d) => d.row.kind === kind && !d.row.closed_at)?.row ?? null;
  }
}

/** The street or town a unit is in (itself for one), or null for the district. */
export function level2Of(world: World, unitId: string | null): Unit | null {
  if (!unitId) return null;
  const u = world.district.units.get(unitId)!;
  if (u.kind === 'district') return null;
  return u.kind === 'street' || u.kind === 'town' ? u : world.district.units.get(u.parent_id!)!;
}

export { DAY, HOUR, MINUTE };
