/**
 * A clue's registration as typed objects, and the one statement that writes the rows of one or
 * many registrations (data-modifying CTEs: atomic like a transaction, one round trip). The
 * statement builds its own rows (column order, array and JSON literals, name keys). Used by the
 * group commit in clues.usecases.ts.
 */
import type { QueueName } from '../../../queues/names.ts';
import { type Em, sqlBound, valuesList } from '../../app/db.ts';
import { nameKey } from '../../app/text.ts';
import { freshExclusionsInsert, freshUnitMembers } from '../visibility/visibility.ts';
import type { AccusedRole, Category, Channel, SecretKind } from './clue.entity.ts';
import { pgTextArray } from './ledger.ts';

/** Everything one registration writes. The clue's own id is the foreign key of every other row. */
export interface Registration {
  clue: {
    id: string;
    trackingCode: string;
    channel: Channel;
    receivedAt: Date;
    categories: Category[];
    narrative: string;
    occurredWhen: string | null;
    unitId: string | null;
    named: boolean;
    secretKind: SecretKind;
    secretHash: string;
    headSeq: number;
    headHash: string;
    locale: string;
    notifyProgress: boolean;
    /** created_at and updated_at of the clue, and the time of every other row. */
    at: Date;
  };
  /** The first ledger events, hashed (`dataJson` is what the hash covers). */
  events: { seq: number; type: string; actor: string; dataJson: string; prevHash: string; hash: string }[];
  /** Outbox rows; the payload is `{ clueId }`. */
  jobs: { queue: QueueName; name: string; jobId: string }[];
  accused: { id: string; name: string; role: AccusedRole; unitId: string | null; position: string | null }[];
  deadlines: { id: string; kind: string; unitId: string | null; startsAt: Date; dueAt: Date; policy: unknown; fireSeq: number; nextFireAt: Date | null; syncNeeded: boolean }[];
  /** What an outside delivery is known by (a repeat fails `intake_key_pkey`). */
  intakeKey: string | null;
  /** The sealed reporter identity, if any. */
  reporterBox: Buffer | null;
  attachments: { id: string; filenameBox: Buffer; contentType: string; size: number; sha256: string; storageKey: string; source: string }[];
}

/** Values in the column order of the table specs below. */
type Row = unknown[];

interface RegistrationRows {
  clue: Row;
  events: Row[];
  outbox: Row[];
  accused: Row[];
  deadlines: Row[];
  intakeKeys: Row[];
  reporters: Row[];
  attachments: Row[];
  /** Per accused: (accused id, clue id, role, unit id, name key, the clue's unit id), for the excluded set. */
  exclusionSources: [string, string, string, string | null, string, string | null][];
}

/** The rows of one registration, in the column order of `tables`. */
function rowsOf({ clue: c, events, jobs, accused, deadlines, intakeKey, reporterBox, attachments }: Registration): RegistrationRows {
  const id = c.id;
  const now = c.at;
  const key = (name: string) => nameKey(name).slice(0, 200);
  return {
    clue: [
      id, c.trackingCode, c.channel, c.receivedAt, pgTextArray(c.categories), c.narrative, c.occurredWhen, c.unitId,
      c.named, c.secretKind, c.secretHash, c.headSeq, c.headHash, c.locale, c.notifyProgress, now, now,
    ],
    events: events.map((e) => [id, e.seq, e.type, e.actor, now, e.dataJson, e.prevHash, e.hash]),
    outbox: jobs.map((j) => [j.queue, j.name, j.jobId, JSON.stringify({ clueId: id }), now]),
    accused: accused.map((a) => [a.id, id, a.name, key(a.name), a.role, a.unitId, a.position]),
    exclusionSources: accused.map((a) => [a.id, id, a.role, a.unitId, key(a.name), c.unitId]),
    deadlines: deadlines.map((d) => [d.id, id, d.kind, d.unitId, d.startsAt, d.dueAt, d.dueAt, JSON.stringify(d.policy), d.fireSeq, d.nextFireAt, d.syncNeeded, now]),
    intakeKeys: intakeKey ? [[intakeKey, id, now]] : [],
    reporters: reporterBox ? [[id, reporterBox, now]] : [],
    attachments: attachments.map((f) => [f.id, id, f.filenameBox, f.contentType, f.size, f.sha256, f.storageKey, f.source, now]),
  };
}

interface TableSpec {
  table: string;
  /** Column name, and an SQL cast for its parameter where the type must be spelled out. */
  columns: [string, string?][];
  /** Columns with the same value on every row, written as SQL literals. */
  constants?: [string, string][];
}

const tables: Record<Exclude<keyof RegistrationRows, 'exclusionSources'>, TableSpec> = {
  clue: {
    table: 'clue',
    columns: [
      ['id'], ['tracking_code'], ['channel'], ['received_at'], ['categories', '::text[]'], ['narrative'], ['occurred_when'],
      ['unit_id', '::uuid'], ['named'], ['secret_kind'], ['secret_hash'], ['head_seq'], ['head_hash'], ['locale'], ['notify_progress'],
      ['created_at'], ['updated_at'],
    ],
    constants: [['status', `'registered'`], ['priority', `'normal'`], ['failed_attempts', '0'], ['flags', `'{}'`]],
  },
  events: {
    table: 'ledger_event',
    columns: [['clue_id'], ['seq'], ['type'], ['actor'], ['at'], ['data', '::jsonb'], ['prev_hash'], ['hash']],
  },
  outbox: {
    table: 'outbox_message',
    columns: [['queue'], ['job_name'], ['job_id'], ['payload', '::jsonb'], ['created_at']],
    constants: [['delay_ms', '0'], ['attempts', '0']],
  },
  accused: {
    table: 'accused',
    columns: [['id'], ['clue_id'], ['name'], ['name_key'], ['role'], ['unit_id', '::uuid'], ['position']],
  },
  deadlines: {
    table: 'deadline',
    columns: [
      ['id'], ['clue_id'], ['kind'], ['unit_id', '::uuid'], ['starts_at'], ['due_at'], ['original_due_at'], ['policy', '::jsonb'],
      ['fire_seq'], ['next_fire_at'], ['sync_needed'], ['created_at'],
    ],
    constants: [['state', `'open'`]],
  },
  intakeKeys: { table: 'intake_key', columns: [['key'], ['clue_id'], ['created_at']] },
  reporters: { table: 'sealed_reporter', columns: [['clue_id'], ['box'], ['created_at']] },
  attachments: {
    table: 'attachment',
    columns: [['id'], ['clue_id'], ['filename_box', '::bytea'], ['content_type'], ['size'], ['sha256'], ['storage_key'], ['source'], ['created_at']],
    constants: [['message_id', 'null'], ['filename', 'null']],
  },
};

/** Insert order: the clue first so that the others' foreign keys find it. */
const order: (keyof typeof tables)[] = ['clue', 'events', 'outbox', 'accused', 'deadlines', 'intakeKeys', 'reporters', 'attachments'];

/** One statement writing every row of the given registrations, with bound parameters. */
export function registrationStatement(registrations: Registration[]): { text: string; params: unknown[] } {
  const batch = registrations.map(rowsOf);
  const params: unknown[] = [];
  const ctes: string[] = [];
  for (const key of order) {
    const spec = tables[key];
    const rows = key === 'clue' ? batch.map((r) => r.clue) : batch.flatMap((r) => r[key] as Row[]);
    if (rows.length === 0) continue;
    const constants = spec.constants ?? [];
    const names = [...spec.columns.map(([name]) => name), ...constants.map(([name]) => name)].join(', ');
    const values = valuesList(params, rows, spec.columns.map(([, cast]) => cast), constants.map(([, literal]) => literal));
    ctes.push(`${key} as (insert into ${spec.table} (${names}) values ${values})`);
  }
  // The clue's excluded set (visibility module), from the accused as given: the rows the CTEs above
  // write are not visible to the other parts of the same statement. Its unit members are plain
  // rows; the members found by name come from a function given one array per column, so that it
  // keeps one plan whatever the size of the group, and only for accused with a name to match.
  const units = freshUnitMembers(batch.flatMap((r) => r.exclusionSources.map(([id, clueId, role, unitId]) => ({ id, clueId, role, unitId }))));
  if (units.length) {
    const values = valuesList(params, units, [undefined, undefined, undefined, undefined], ['null', `'accused_unit'`]);
    ctes.push(`unit_exclusions as (insert into clue_exclusion (id, clue_id, accused_id, unit_id, staff_id, reason) values ${values})`);
  }
  const named = batch.flatMap((r) => r.exclusionSources).filter((row) => row[4] !== '');
  if (named.length) {
    const placeholders = Array.from({ length: 6 }, (_, column) => {
      params.push(named.map((row) => row[column]));
      return `$${params.length}`;
    });
    ctes.push(`exclusions as (${freshExclusionsInsert(placeholders)})`);
  }
  return { text: `with ${ctes.join(',\n')} select 1`, params };
}

/** Writes the registrations (one statement, its own implicit transaction): all of them or none. */
export async function writeRegistrations(em: Em, registrations: Registration[]): Promise<void> {
  const { text, params } = registrationStatement(registrations);
  await sqlBound(em, text, params);
}
