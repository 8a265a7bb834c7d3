import { sha256Hex } from './ledger.ts';

/**
 * What a clue's row must say, replayed from its ledger events alone. `verify-ledger` compares it with
 * the row, so an UPDATE of the clue (status, finding, unit, narrative, a sealed reporter record, an
 * attachment's hash, a message) that no event records is found even though no event was touched.
 *
 * Events of kinds this does not know change nothing here; a change to one of these fields must come
 * with an event that says so, or the ledger will not verify.
 */
export interface ClueLedgerState {
  registered: boolean;
  trackingCode?: string;
  channel?: string;
  receivedAt?: string;
  named?: boolean;
  narrativeSha256?: string;
  /** SHA-256 of the sealed reporter box, when the registration carried one. */
  reporterSealSha256?: string | null;
  status?: string;
  finding: string | null;
  unit: string | null;
  assignedUnit: string | null;
  mergedInto: string | null;
  categories: string[];
  priority: string;
  supervisor: string | null;
  summary?: string | null;
  flags: Set<string>;
  /** Attachment id → SHA-256 and size, from the registration, messages and attachment.added events. */
  attachments: Map<string, { sha256: string; size: number }>;
  /** Message id → SHA-256 of its body (null where the posting event carries none: decision notices). */
  messageBodies: Map<string, string | null>;
}

type Data = Record<string, unknown>;
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

function addAttachments(state: ClueLedgerState, list: unknown) {
  if (!Array.isArray(list)) return;
  for (const a of list as Data[]) {
    const id = str(a.id) ?? str(a.attachmentId);
    if (id && typeof a.sha256 === 'string') state.attachments.set(id, { sha256: a.sha256, size: Number(a.size) });
  }
}

export function replayClue(events: { type: string; data: Data }[]): ClueLedgerState {
  const state: ClueLedgerState = {
    registered: false,
    finding: null,
    unit: null,
    assignedUnit: null,
    mergedInto: null,
    categories: [],
    priority: 'normal',
    supervisor: null,
    flags: new Set(),
    attachments: new Map(),
    messageBodies: new Map(),
  };
  for (const { type, data } of events) {
    switch (type) {
      case 'clue.registered':
        state.registered = true;
        state.trackingCode = str(data.trackingCode) ?? undefined;
        state.channel = str(data.channel) ?? undefined;
        state.receivedAt = str(data.receivedAt) ?? undefined;
        state.named = data.named === true;
        state.narrativeSha256 = str(data.narrativeSha256) ?? undefined;
        state.reporterSealSha256 = str(data.reporterSealSha256);
        state.status = 'registered';
        state.unit = str(data.unitId);
        state.categories = Array.isArray(data.categories) ? (data.categories as string[]) : [];
        addAttachments(state, data.attachments);
        break;
      case 'clue.status_changed':
        if (typeof data.to === 'string') state.status = data.to;
        if (typeof data.finding === 'string') state.finding = data.finding;
        if (typeof data.mergedInto === 'string') state.mergedInto = data.mergedInto;
        break;
      case 'clue.summary_set':
        state.summary = str(data.summary);
        break;
      case 'clue.assigned':
        state.assignedUnit = str(data.unitId);
        break;
      case 'clue.triaged':
        if (Array.isArray(data.categories)) state.categories = data.categories as string[];
        if (typeof data.priority === 'string') state.priority = data.priority;
        break;
      case 'clue.priority_changed':
        if (typeof data.priority === 'string') state.priority = data.priority;
        break;
      case 'clue.supervised':
        state.supervisor = str(data.supervisorId);
        break;
      case 'clue.flagged':
        if (typeof data.flag === 'string') state.flags.add(data.flag);
        break;
      case 'clue.flag_cleared':
        if (typeof data.flag === 'string') state.flags.delete(data.flag);
        break;
      case 'registry.matched':
        state.flags.add('near_relative_match');
        break;
      case 'attachment.added':
        addAttachments(state, [data]);
        break;
      case 'message.posted': {
        const id = str(data.message) ?? str(data.messageId);
        if (id) state.messageBodies.set(id, str(data.bodySha256));
        addAttachments(state, data.attachments);
        break;
      }
    }
  }
  return state;
}

/** The clue row as `verify-ledger` reads it (snake_case, as PostgreSQL returns it). */
export interface ClueRowForCheck {
  id: string;
  tracking_code: string;
  channel: string;
  received_at: Date | string;
  named: boolean;
  narrative: string;
  status: string;
  finding: string | null;
  unit_id: string | null;
  assigned_unit_id: string | null;
  merged_into: string | null;
  categories: string[];
  priority: string;
  supervisor: string | null;
  flags: string[];
  head_hash: string;
  /** Absent when read from a database migrated before the summary existed. */
  summary?: string | null;
}

/** One field where the row and its ledger disagree. Narrative and sealed fields are named by hash only. */
export interface RowDifference {
  field: string;
  ledger: string;
  row: string;
}

const show = (v: unknown) => (v === null || v === undefined ? '∅' : Array.isArray(v) ? `[${v.join(',')}]` : String(v));
const sameSet = (a: Iterable<string>, b: Iterable<string>) => [...a].sort().join('\u0000') === [...b].sort().join('\u0000');

/**
 * Every difference between a clue's row (with its sealed reporter box, attachments and messages)
 * and what its events say, in a fixed order; empty when they agree.
 */
export function compareClueRow(
  row: ClueRowForCheck,
  state: ClueLedgerState,
  related: {
    lastEventHash: string | null;
    reporterBox: Buffer | null;
    attachments: { id: string; sha256: string; size: number | string }[];
    messages: { id: string; body: string }[];
  },
): RowDifference[] {
  const out: RowDifference[] = [];
  const check = (field: string, ledger: unknown, found: unknown) => {
    if (show(ledger) !== show(found)) out.push({ field, ledger: show(ledger), row: show(found) });
  };
  if (!state.registered) return [{ field: 'clue.registered', ledger: 'no registration event', row: row.tracking_code }];
  check('head_hash', related.lastEventHash, row.head_hash);
  check('tracking_code', state.trackingCode, row.tracking_code);
  check('channel', state.channel, row.channel);
  check('received_at', state.receivedAt, new Date(row.received_at).toISOString());
  check('named', state.named, row.named);
  check('narrative (sha256)', state.narrativeSha256, sha256Hex(row.narrative));
  check('status', state.status, row.status);
  check('finding', state.finding, row.finding);
  check('unit_id', state.unit, row.unit_id);
  check('summary', state.summary ?? null, row.summary ?? null);
  check('assigned_unit_id', state.assignedUnit, row.assigned_unit_id);
  check('merged_into', state.mergedInto, row.merged_into);
  if (!sameSet(state.categories, row.categories)) check('categories', state.categories, row.categories);
  check('priority', state.priority, row.priority);
  check('supervisor', state.supervisor, row.supervisor);
  if (!sameSet(state.flags, row.flags)) check('flags', [...state.flags].sort(), [...row.flags].sort());
  check('sealed_reporter (sha256)', state.reporterSealSha256 ?? null, related.reporterBox ? sha256Hex(related.reporterBox) : null);
  for (const a of related.attachments) {
    const recorded = state.attachments.get(a.id);
    check(`attachment ${a.id} (sha256)`, recorded?.sha256 ?? null, a.sha256);
    if (recorded && Number.isFinite(recorded.size)) check(`attachment ${a.id} (size)`, recorded.size, Number(a.size));
  }
  const rowAttachments = new Set(related.attachments.map((a) => a.id));
  for (const id of state.attachments.keys()) if (!rowAttachments.has(id)) check(`attachment ${id}`, 'recorded', null);
  const rowMessages = new Map(related.messages.map((m) => [m.id, m.body]));
  for (const [id, bodySha256] of state.messageBodies) {
    const body = rowMessages.get(id);
    if (body === undefined) check(`message ${id}`, 'posted', null);
    else if (bodySha256) check(`message ${id} (sha256)`, bodySha256, sha256Hex(body));
  }
  for (const id of rowMessages.keys()) if (!state.messageBodies.has(id)) check(`message ${id}`, null, 'present');
  return out;
}
