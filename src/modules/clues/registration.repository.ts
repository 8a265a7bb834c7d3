/**
 * The rows a clue's registration writes, and the one statement that writes the rows of one or
 * many registrations (data-modifying CTEs: atomic like a transaction, one round trip). Used by
 * the group commit in clues.usecases.ts.
 */
import { valuesList } from '../../app/db.ts';
import { freshExclusionsInsert } from '../visibility/visibility.ts';

/** Values in the column order of the table specs below. */
export type Row = unknown[];

export interface RegistrationRows {
  clue: Row;
  events: Row[];
  outbox: Row[];
  accused: Row[];
  deadlines: Row[];
  intakeKeys: Row[];
  reporters: Row[];
  attachments: Row[];
  /** Per accused: (accused id, clue id, role, unit id, name key, the clue's unit id), for the excluded set. */
  exclusionSources: Row[];
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
export function registrationStatement(batch: RegistrationRows[]): { text: string; params: unknown[] } {
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
  // write are not visible to the other parts of the same statement. One array per column, so the
  // function computing it keeps one plan whatever the size of the group.
  const sources = batch.flatMap((r) => r.exclusionSources);
  if (sources.length) {
    const placeholders = Array.from({ length: 6 }, (_, column) => {
      params.push(sources.map((row) => row[column]));
      return `$${params.length}`;
    });
    ctes.push(`exclusions as (${freshExclusionsInsert(placeholders)})`);
  }
  return { text: `with ${ctes.join(',\n')} select 1`, params };
}
