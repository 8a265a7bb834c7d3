/**
 * Every table the generator fills, ONE place per table: the row's fields (named as the columns)
 * and the columns written, in COPY order. Columns left out get their database default.
 *
 * Adding a column a migration made NOT NULL without a default: add it to the row type and the list
 * here, and set it where the rows are made (history.ts or district.ts); the build refuses to start
 * until then (checkSchema). Adding a table: a row type and an entry here, then produce its rows.
 */
import type { CopyValue } from './copy.ts';

export interface TableSpec<R> {
  name: string;
  columns: readonly (keyof R & string)[];
}

const table = <R>(name: string, columns: readonly (keyof R & string)[]): TableSpec<R> => ({ name, columns });

type Ts = Date;
type Json = string; // already serialised JSON (jsonb columns)

export interface UnitRow { id: string; code: string; name: string; name_en: string | null; kind: string; parent_id: string | null; path: string; created_at: Ts }
export interface StaffRow { id: string; username: string; display_name: string; password_hash: string; role: string; unit_id: string; active: boolean; discipline_body: string | null; created_at: Ts }
export interface DisciplineBodyRow { id: string; name: string; name_en: string | null; kind: string; email: string; authority: Json; created_at: Ts }
export interface NearRelativeRow {
  id: string; registrant_name: string; registrant_name_key: string; registrant_staff_id: string | null; registrant_unit_id: string; registrant_role: string;
  relative_name: string; relative_name_key: string; relation: string; id_box: Buffer; id_hash: string; programme: string; since: string;
  household_address: string | null; created_at: Ts; created_by: string;
}
export interface ClueRow {
  id: string; tracking_code: string; channel: string; received_at: Ts; categories: readonly string[]; narrative: string; occurred_when: string | null;
  unit_id: string | null; status: string; priority: string; named: boolean; secret_kind: string; secret_hash: string; head_seq: number; head_hash: string;
  merged_into: string | null; assigned_unit_id: string | null; supervisor: string | null; finding: string | null; outcome: Json | null;
  flags: readonly string[]; created_at: Ts; updated_at: Ts;
}
export interface AccusedRow { id: string; clue_id: string; name: string; name_key: string; role: string; unit_id: string | null; position: string | null }
export interface SealedReporterRow { clue_id: string; box: Buffer; created_at: Ts }
export interface AttachmentRow { id: string; clue_id: string; message_id: string | null; filename: string | null; filename_box: Buffer | null; content_type: string; size: number; sha256: string; storage_key: string; source: string; created_at: Ts }
export interface IntakeKeyRow { key: string; clue_id: string; created_at: Ts }
export interface LedgerEventRow { id: number; clue_id: string; seq: number; type: string; actor: string; at: Ts; data: Json; prev_hash: string; hash: string; txid: string }
export interface LedgerCheckpointRow { id: number; sealed_at: Ts; from_xid: string; to_xid: string; event_count: number; clues: Json; quarantines: Json; audits: Json; batch_hash: string; prev_hash: string; hash: string; signature: string; key_id: string }
export interface DeadlineRow {
  id: string; clue_id: string; kind: string; subject_id: string | null; unit_id: string | null; assigned_unit_id: string | null; starts_at: Ts; due_at: Ts; original_due_at: Ts; policy: Json;
  state: string; closed_at: Ts | null; extensions: number; fire_seq: number; next_fire_at: Ts | null; escalation_level: number; escalated_unit: string | null;
  sync_needed: boolean; created_at: Ts;
}
export interface StaffNoticeRow { id: string; unit_id: string; role: string | null; staff_id: string | null; clue_id: string | null; deadline_id: string | null; callback_id: string | null; kind: string; text_zh: string; text_en: string; created_at: Ts }
export interface MessageRow { id: string; clue_id: string; author: string; staff_id: string | null; body: string; created_at: Ts }
export interface TaskRow {
  id: string; clue_id: string; type: string; assignee_unit_id: string; assignee_staff: string | null; status: string; due_at: Ts | null; checklist: Json;
  findings: string | null; outcome: Json | null; automatic: boolean; created_by: string; created_at: Ts; completed_at: Ts | null;
}
export interface ReferralRow { id: string; clue_id: string; body_id: string; status: string; includes_reporter: boolean; disposition: string | null; result: string | null; confirmed_by: string; link_expires_at: Ts; created_at: Ts }
export interface NotificationRow { id: string; idempotency_key: string; channel: string; template: string; recipient: string; clue_id: string | null; status: string; detail: string | null; created_at: Ts }
export interface CallRow {
  id: string; sid_hash: string; started_at: Ts; ended_at: Ts | null; provider_status: string | null; outcome: string | null; hotline_number: string | null; withheld: boolean;
  chose_anonymous: boolean; ivr: Json; clue_id: string | null; pin_set_at: Ts | null; status_answered_at: Ts | null; operator_reached_at: Ts | null;
  callback_id: string | null; recording_attachment_id: string | null; created_at: Ts; updated_at: Ts;
}
export interface CallbackRow {
  id: string; call_id: string; caller_hash: string; number_box: Buffer | null; reason: string; calls: number; due_at: Ts; state: string; created_at: Ts;
  done_at: Ts | null; done_by: string | null; result: string | null; note: string | null; reminders_sent: number; overdue_notified_at: Ts | null;
  escalation_level: number; next_notice_at: Ts | null;
}
export interface CallbackEventRow { id: string; callback_id: string; staff_id: string; action: string; at: Ts }
export interface SmsRow { id: string; direction: string; sid_hash: string | null; purpose: string; hotline_number: string | null; clue_id: string | null; callback_id: string | null; status: string; created_at: Ts; sent_at: Ts | null }

export const tables = {
  unit: table<UnitRow>('unit', ['id', 'code', 'name', 'name_en', 'kind', 'parent_id', 'path', 'created_at']),
  staff: table<StaffRow>('staff', ['id', 'username', 'display_name', 'password_hash', 'role', 'unit_id', 'active', 'discipline_body', 'created_at']),
  disciplineBody: table<DisciplineBodyRow>('discipline_body', ['id', 'name', 'name_en', 'kind', 'email', 'authority', 'created_at']),
  nearRelative: table<NearRelativeRow>('near_relative', [
    'id', 'registrant_name', 'registrant_name_key', 'registrant_staff_id', 'registrant_unit_id', 'registrant_role', 'relative_name', 'relative_name_key',
    'relation', 'id_box', 'id_hash', 'programme', 'since', 'household_address', 'created_at', 'created_by',
  ]),
  clue: table<ClueRow>('clue', [
    'id', 'tracking_code', 'channel', 'received_at', 'categories', 'narrative', 'occurred_when', 'unit_id', 'status', 'priority', 'named', 'secret_kind',
    'secret_hash', 'head_seq', 'head_hash', 'merged_into', 'assigned_unit_id', 'supervisor', 'finding', 'outcome', 'flags', 'created_at', 'updated_at',
  ]),
  accused: table<AccusedRow>('accused', ['id', 'clue_id', 'name', 'name_key', 'role', 'unit_id', 'position']),
  sealedReporter: table<SealedReporterRow>('sealed_reporter', ['clue_id', 'box', 'created_at']),
  attachment: table<AttachmentRow>('attachment', ['id', 'clue_id', 'message_id', 'filename', 'filename_box', 'content_type', 'size', 'sha256', 'storage_key', 'source', 'created_at']),
  intakeKey: table<IntakeKeyRow>('intake_key', ['key', 'clue_id', 'created_at']),
  ledgerEvent: table<LedgerEventRow>('ledger_event', ['id', 'clue_id', 'seq', 'type', 'actor', 'at', 'data', 'prev_hash', 'hash', 'txid']),
  ledgerCheckpoint: table<LedgerCheckpointRow>('ledger_checkpoint', ['id', 'sealed_at', 'from_xid', 'to_xid', 'event_count', 'clues', 'quarantines', 'audits', 'batch_hash', 'prev_hash', 'hash', 'signature', 'key_id']),
  deadline: table<DeadlineRow>('deadline', [
    'id', 'clue_id', 'kind', 'subject_id', 'unit_id', 'assigned_unit_id', 'starts_at', 'due_at', 'original_due_at', 'policy', 'state', 'closed_at', 'extensions', 'fire_seq',
    'next_fire_at', 'escalation_level', 'escalated_unit', 'sync_needed', 'created_at',
  ]),
  staffNotice: table<StaffNoticeRow>('staff_notice', ['id', 'unit_id', 'role', 'staff_id', 'clue_id', 'deadline_id', 'callback_id', 'kind', 'text_zh', 'text_en', 'created_at']),
  message: table<MessageRow>('message', ['id', 'clue_id', 'author', 'staff_id', 'body', 'created_at']),
  task: table<TaskRow>('verification_task', [
    'id', 'clue_id', 'type', 'assignee_unit_id', 'assignee_staff', 'status', 'due_at', 'checklist', 'findings', 'outcome', 'automatic', 'created_by', 'created_at', 'completed_at',
  ]),
  referral: table<ReferralRow>('referral', ['id', 'clue_id', 'body_id', 'status', 'includes_reporter', 'disposition', 'result', 'confirmed_by', 'link_expires_at', 'created_at']),
  notification: table<NotificationRow>('notification', ['id', 'idempotency_key', 'channel', 'template', 'recipient', 'clue_id', 'status', 'detail', 'created_at']),
  call: table<CallRow>('call', [
    'id', 'sid_hash', 'started_at', 'ended_at', 'provider_status', 'outcome', 'hotline_number', 'withheld', 'chose_anonymous', 'ivr', 'clue_id', 'pin_set_at',
    'status_answered_at', 'operator_reached_at', 'callback_id', 'recording_attachment_id', 'created_at', 'updated_at',
  ]),
  callback: table<CallbackRow>('callback', [
    'id', 'call_id', 'caller_hash', 'number_box', 'reason', 'calls', 'due_at', 'state', 'created_at', 'done_at', 'done_by', 'result', 'note', 'reminders_sent',
    'overdue_notified_at', 'escalation_level', 'next_notice_at',
  ]),
  callbackEvent: table<CallbackEventRow>('callback_event', ['id', 'callback_id', 'staff_id', 'action', 'at']),
  sms: table<SmsRow>('sms_message', ['id', 'direction', 'sid_hash', 'purpose', 'hotline_number', 'clue_id', 'callback_id', 'status', 'created_at', 'sent_at']),
};

export type TableKey = keyof typeof tables;
export const tableKeys = Object.keys(tables) as TableKey[];
export type RowOf<K extends TableKey> = (typeof tables)[K] extends TableSpec<infer R> ? R : never;

/**
 * Tables the generator leaves empty on purpose: work queues that a settled history has drained,
 * admin edits that a fresh policy does not have, sessions (benchmarks sign in), quarantine (mail
 * nobody sent), the migrator's own bookkeeping, and the daily roll-ups of the hotline figures and of
 * the self-inspection table (filled when first read).
 */
export const leftEmpty = [
  'outbox_message', 'deadline_policy_version', 'staff_session', 'quarantined_mail', 'registry_audit', 'mikro_orm_migrations', 'hotline_day',
  'annex_unit_day', 'annex_day', 'annex_rollup',
];

export function encodeFields<K extends TableKey>(key: K, row: RowOf<K>): CopyValue[] {
  const spec = tables[key] as TableSpec<RowOf<K>>;
  return spec.columns.map((c) => row[c] as CopyValue);
}
