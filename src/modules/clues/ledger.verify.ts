import { type Orm, sql } from '../../app/db.ts';
import type { KeyObject } from 'node:crypto';
import { batchHash, chainOf, checkpointHash, checkpointSignatureValid, eventsInRange, type SealedEvent } from './ledger.checkpoint.ts';
import { eventHash, GENESIS_HASH } from './ledger.ts';
import { type ClueRowForCheck, compareClueRow, replayClue, type RowDifference } from './ledger.replay.ts';
import { checkWitnesses, type Digest, type WitnessProblem } from './ledger.witness.ts';

/** The chain a problem is on: a clue's (named by its tracking code), a quarantined mail's or an audit chain (by id). */
export type ChainRef = { clueId: string; trackingCode: string } | { quarantineId: string } | { auditChain: string };

export type LedgerProblem =
  | ({ kind: 'event_altered'; eventId: string; seq: number } & ChainRef)
  | ({ kind: 'event_missing'; seq: number } & ChainRef)
  | ({ kind: 'chain_head_mismatch'; expectedSeq: number; foundSeq: number } & ChainRef)
  | { kind: 'clue_row_mismatch'; clueId: string; trackingCode: string; differences: RowDifference[] }
  | { kind: 'checkpoint_mismatch'; checkpointId: number; reason: string; clueId?: string; quarantineId?: string; auditChain?: string; seq?: number }
  | { kind: 'checkpoint_signature'; checkpointId: number; reason: 'unsigned' | 'unknown_key' | 'invalid'; keyId?: string | null }
  | WitnessProblem;

export interface VerifyReport {
  ok: boolean;
  clues: number;
  /** Quarantined mail, each with its own chain. */
  quarantinedMail: number;
  /** Audit chains (the system chain: staff accounts, 2FA, exports, policy). */
  auditChains: number;
  events: number;
  checkpoints: number;
  /** Whether checkpoint signatures were checked (false: no public key was given). */
  signaturesChecked: boolean;
  problems: LedgerProblem[];
}

interface EventRow {
  id: string;
  chain_id: string;
  seq: number;
  type: string;
  actor: string;
  at: Date;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

const chainName = (p: ChainRef) =>
  'quarantineId' in p ? `quarantined mail ${p.quarantineId}` : 'auditChain' in p ? `audit chain ${p.auditChain}` : `clue ${p.trackingCode}`;

export function describeProblem(p: LedgerProblem): string {
  switch (p.kind) {
    case 'event_altered':
      return `event #${p.eventId} (${chainName(p)}, seq ${p.seq}) does not match its hash`;
    case 'event_missing':
      return `event seq ${p.seq} of ${chainName(p)} is missing`;
    case 'chain_head_mismatch':
      return `${chainName(p)} should end at seq ${p.expectedSeq} but its events end at seq ${p.foundSeq}`;
    case 'clue_row_mismatch':
      return `clue ${p.trackingCode}: its row disagrees with its ledger: ${p.differences
        .map((d) => `${d.field} is ${d.row} in the row but ${d.ledger} on the ledger`)
        .join('; ')}`;
    case 'witness_mismatch':
      return `witnessed checkpoint #${p.checkpointId}: ${p.reason}`;
    case 'checkpoint_signature':
      return p.reason === 'unsigned'
        ? `checkpoint #${p.checkpointId} is not signed`
        : p.reason === 'unknown_key'
          ? `checkpoint #${p.checkpointId} is signed by an unknown key (${p.keyId ?? 'none named'})`
          : `checkpoint #${p.checkpointId} has a signature that does not match it (key ${p.keyId})`;
    case 'checkpoint_mismatch': {
      const where = p.quarantineId
        ? `quarantined mail ${p.quarantineId}`
        : p.auditChain
          ? `audit chain ${p.auditChain}`
          : p.clueId
            ? `clue ${p.clueId}`
            : null;
      return `checkpoint #${p.checkpointId}: ${p.reason}${where ? ` (${where}${p.seq ? `, seq ${p.seq}` : ''})` : ''}`;
    }
  }
}

const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** The three kinds of chain: per clue, per quarantined mail (mail not, or not yet, a clue), and audit chains. */
const chainKinds = [
  {
    table: 'clue',
    column: 'clue_id',
    select:
      'id, tracking_code, head_seq, head_hash, channel, received_at, named, narrative, status, finding, unit_id, assigned_unit_id, merged_into, categories, priority, supervisor, flags, summary',
    start: NIL_UUID,
    ref: (row: ChainRow): ChainRef => ({ clueId: row.id, trackingCode: row.tracking_code! }),
    hashed: (id: string) => ({ clue: id }),
  },
  {
    table: 'quarantined_mail',
    column: 'quarantine_id',
    select: 'id, null as tracking_code, head_seq, head_hash',
    start: NIL_UUID,
    ref: (row: ChainRow): ChainRef => ({ quarantineId: row.id }),
    hashed: (id: string) => ({ quarantine: id }),
  },
  {
    table: 'audit_chain',
    column: 'audit_id',
    select: 'id, null as tracking_code, head_seq, head_hash',
    start: '',
    ref: (row: ChainRow): ChainRef => ({ auditChain: row.id }),
    hashed: (id: string) => ({ audit: id }),
  },
] as const;

interface ChainRow {
  id: string;
  tracking_code: string | null;
  head_seq: number;
  head_hash: string;
}

/**
 * Recomputes every clue's hash chain and every quarantined mail's, then every checkpoint's batch.
 * Problems are listed in order; the first names the first event that does not match (or went missing).
 */
export async function verifyLedger(
  orm: Orm,
  opts: {
    batchSize?: number;
    onProgress?: (done: number) => void;
    /** Public keys by key id; empty or absent: signatures are not checked (the report says so). */
    publicKeys?: Map<string, KeyObject>;
    /** Digests kept by witnesses: the stored checkpoints must agree with every one. */
    witnesses?: Digest[];
  } = {},
): Promise<VerifyReport> {
  const em = orm.em.fork();
  const batchSize = opts.batchSize ?? 500;
  const problems: LedgerProblem[] = [];
  const counts = { clue: 0, quarantined_mail: 0, audit_chain: 0 };
  let events = 0;
  for (const kind of chainKinds) {
    let after: string = kind.start;
    for (;;) {
      const batch = await sql<ChainRow>(em, `select ${kind.select} from ${kind.table} where id > ? order by id limit ?`, [after, batchSize]);
      if (batch.length === 0) break;
      after = batch.at(-1)!.id;
      const rows = await sql<EventRow>(
        em,
        `select id::text as id, ${kind.column} as chain_id, seq, type, actor, at, data, prev_hash, hash from ledger_event
         where ${kind.column} in (?) order by ${kind.column}, seq`,
        [batch.map((c) => c.id)],
      );
      const byChain = new Map<string, EventRow[]>();
      for (const r of rows) {
        const list = byChain.get(r.chain_id) ?? [];
        list.push(r);
        byChain.set(r.chain_id, list);
      }
      const related = kind.table === 'clue' ? await relatedRows(em, batch.map((c) => c.id)) : null;
      for (const c of batch) {
        const ref = kind.ref(c);
        const chain = byChain.get(c.id) ?? [];
        let prev = GENESIS_HASH;
        let expected = 1;
        for (const e of chain) {
          if (e.seq !== expected) {
            problems.push({ kind: 'event_missing', ...ref, seq: expected });
            expected = e.seq;
          }
          const recomputed = eventHash({
            ...kind.hashed(c.id),
            seq: e.seq,
            type: e.type,
            actor: e.actor,
            at: new Date(e.at),
            data: e.data,
            prevHash: prev,
          });
          if (e.prev_hash !== prev || e.hash !== recomputed) {
            problems.push({ kind: 'event_altered', eventId: e.id, ...ref, seq: e.seq });
          }
          prev = e.hash;
          expected++;
        }
        const lastSeq = chain.at(-1)?.seq ?? 0;
        if (lastSeq !== c.head_seq) {
          problems.push({ kind: 'chain_head_mismatch', ...ref, expectedSeq: c.head_seq, foundSeq: lastSeq });
        } else if (related) {
          // The row against what its events say (only once the chain itself is whole: a broken
          // chain is already the problem to report).
          const differences = compareClueRow(c as unknown as ClueRowForCheck, replayClue(chain), {
            lastEventHash: chain.at(-1)?.hash ?? null,
            reporterBox: related.boxes.get(c.id) ?? null,
            attachments: related.attachments.get(c.id) ?? [],
            messages: related.messages.get(c.id) ?? [],
          });
          if (differences.length) problems.push({ kind: 'clue_row_mismatch', clueId: c.id, trackingCode: c.tracking_code!, differences });
        }
        events += chain.length;
      }
      counts[kind.table] += batch.length;
      if (kind.table === 'clue') opts.onProgress?.(counts.clue);
    }
  }

  const checkpoints = await sql<{
    id: number;
    from_xid: string;
    to_xid: string;
    event_count: number;
    clues: Record<string, [number, number]>;
    quarantines: Record<string, [number, number]>;
    audits: Record<string, [number, number]>;
    batch_hash: string;
    prev_hash: string;
    hash: string;
    signature: string | null;
    key_id: string | null;
  }>(
    em,
    'select id, from_xid::text as from_xid, to_xid::text as to_xid, event_count, clues, quarantines, audits, batch_hash, prev_hash, hash, signature, key_id from ledger_checkpoint order by id',
  );
  const signaturesChecked = (opts.publicKeys?.size ?? 0) > 0;
  let prevHash = GENESIS_HASH;
  for (const cp of checkpoints) {
    const sealed = await eventsInRange(em, cp.from_xid, cp.to_xid);
    const recomputed = checkpointHash({
      prevHash: cp.prev_hash,
      batchHash: cp.batch_hash,
      fromXid: cp.from_xid,
      toXid: cp.to_xid,
      eventCount: cp.event_count,
    });
    if (cp.prev_hash !== prevHash || cp.hash !== recomputed) {
      problems.push({ kind: 'checkpoint_mismatch', checkpointId: cp.id, reason: 'the checkpoint chain itself was altered' });
    } else if (sealed.length !== cp.event_count || batchHash(sealed) !== cp.batch_hash) {
      problems.push(locateCheckpointDamage(cp, sealed));
    }
    if (signaturesChecked) {
      const key = cp.key_id ? opts.publicKeys!.get(cp.key_id) : undefined;
      if (!cp.signature) problems.push({ kind: 'checkpoint_signature', checkpointId: cp.id, reason: 'unsigned' });
      else if (!key) problems.push({ kind: 'checkpoint_signature', checkpointId: cp.id, reason: 'unknown_key', keyId: cp.key_id });
      else if (!checkpointSignatureValid(key, cp.hash, cp.signature)) {
        problems.push({ kind: 'checkpoint_signature', checkpointId: cp.id, reason: 'invalid', keyId: cp.key_id });
      }
    }
    prevHash = cp.hash;
  }
  problems.push(...(await checkWitnesses(em, opts.witnesses ?? [], opts.publicKeys ?? new Map())));
  return {
    ok: problems.length === 0,
    clues: counts.clue,
    quarantinedMail: counts.quarantined_mail,
    auditChains: counts.audit_chain,
    events,
    checkpoints: checkpoints.length,
    signaturesChecked,
    problems,
  };
}

/** The sealed reporter boxes, attachments and message bodies of a batch of clues, by clue id. */
async function relatedRows(em: ReturnType<Orm['em']['fork']>, ids: string[]) {
  const [boxes, attachments, messages] = await Promise.all([
    sql<{ clue_id: string; box: Buffer }>(em, 'select clue_id, box from sealed_reporter where clue_id in (?)', [ids]),
    sql<{ clue_id: string; id: string; sha256: string; size: string }>(em, 'select clue_id, id, sha256, size from attachment where clue_id in (?)', [ids]),
    sql<{ clue_id: string; id: string; body: string }>(em, 'select clue_id, id, body from message where clue_id in (?)', [ids]),
  ]);
  const group = <T extends { clue_id: string }>(rows: T[]) => Map.groupBy(rows, (r) => r.clue_id);
  return { boxes: new Map(boxes.map((b) => [b.clue_id, Buffer.from(b.box)])), attachments: group(attachments), messages: group(messages) };
}

function locateCheckpointDamage(
  cp: {
    id: number;
    event_count: number;
    clues: Record<string, [number, number]>;
    quarantines: Record<string, [number, number]>;
    audits: Record<string, [number, number]>;
  },
  sealed: SealedEvent[],
): LedgerProblem {
  const present = new Set(sealed.map((e) => `${chainOf(e)}:${e.seq}`));
  const sealedRanges = [
    { ranges: cp.clues, chain: (id: string) => ({ clue_id: id, quarantine_id: null }), ref: (id: string) => ({ clueId: id }) },
    { ranges: cp.quarantines, chain: (id: string) => ({ clue_id: null, quarantine_id: id }), ref: (id: string) => ({ quarantineId: id }) },
    { ranges: cp.audits, chain: (id: string) => ({ clue_id: null, quarantine_id: null, audit_id: id }), ref: (id: string) => ({ auditChain: id }) },
  ];
  for (const { ranges, chain, ref } of sealedRanges) {
    for (const [id, [first, last]] of Object.entries(ranges)) {
      for (let seq = first; seq <= last; seq++) {
        if (!present.has(`${chainOf(chain(id))}:${seq}`)) {
          return { kind: 'checkpoint_mismatch', checkpointId: cp.id, reason: 'a sealed event is missing', ...ref(id), seq };
        }
      }
    }
  }
  return {
    kind: 'checkpoint_mismatch',
    checkpointId: cp.id,
    reason: `sealed ${cp.event_count} events, found ${sealed.length} with a different batch hash`,
  };
}
