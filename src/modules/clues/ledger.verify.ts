import { type Orm, sql } from '../../app/db.ts';
import { batchHash, checkpointHash, eventsInRange } from './ledger.checkpoint.ts';
import { eventHash, GENESIS_HASH } from './ledger.ts';

export type LedgerProblem =
  | { kind: 'event_altered'; eventId: string; clueId: string; trackingCode: string; seq: number }
  | { kind: 'event_missing'; clueId: string; trackingCode: string; seq: number }
  | { kind: 'chain_head_mismatch'; clueId: string; trackingCode: string; expectedSeq: number; foundSeq: number }
  | { kind: 'checkpoint_mismatch'; checkpointId: number; reason: string; clueId?: string; seq?: number };

export interface VerifyReport {
  ok: boolean;
  clues: number;
  events: number;
  checkpoints: number;
  problems: LedgerProblem[];
}

interface EventRow {
  id: string;
  clue_id: string;
  seq: number;
  type: string;
  actor: string;
  at: Date;
  data: Record<string, unknown>;
  prev_hash: string;
  hash: string;
}

export function describeProblem(p: LedgerProblem): string {
  switch (p.kind) {
    case 'event_altered':
      return `event #${p.eventId} (clue ${p.trackingCode}, seq ${p.seq}) does not match its hash`;
    case 'event_missing':
      return `event seq ${p.seq} of clue ${p.trackingCode} is missing`;
    case 'chain_head_mismatch':
      return `clue ${p.trackingCode} should end at seq ${p.expectedSeq} but its events end at seq ${p.foundSeq}`;
    case 'checkpoint_mismatch':
      return `checkpoint #${p.checkpointId}: ${p.reason}${p.clueId ? ` (clue ${p.clueId}${p.seq ? `, seq ${p.seq}` : ''})` : ''}`;
  }
}

/**
 * Recomputes every clue's hash chain, then every checkpoint's batch. Problems are listed in
 * order; the first names the first event that does not match (or went missing).
 */
export async function verifyLedger(
  orm: Orm,
  opts: { batchSize?: number; onProgress?: (done: number) => void } = {},
): Promise<VerifyReport> {
  const em = orm.em.fork();
  const batchSize = opts.batchSize ?? 500;
  const problems: LedgerProblem[] = [];
  let clues = 0;
  let events = 0;
  let after = '00000000-0000-0000-0000-000000000000';
  for (;;) {
    const batch = await sql<{ id: string; tracking_code: string; head_seq: number; head_hash: string }>(
      em,
      'select id, tracking_code, head_seq, head_hash from clue where id > ? order by id limit ?',
      [after, batchSize],
    );
    if (batch.length === 0) break;
    after = batch.at(-1)!.id;
    const rows = await sql<EventRow>(
      em,
      `select id::text as id, clue_id, seq, type, actor, at, data, prev_hash, hash from ledger_event
       where clue_id in (?) order by clue_id, seq`,
      [batch.map((c) => c.id)],
    );
    const byClue = new Map<string, EventRow[]>();
    for (const r of rows) {
      const list = byClue.get(r.clue_id) ?? [];
      list.push(r);
      byClue.set(r.clue_id, list);
    }
    for (const c of batch) {
      const chain = byClue.get(c.id) ?? [];
      let prev = GENESIS_HASH;
      let expected = 1;
      for (const e of chain) {
        if (e.seq !== expected) {
          problems.push({ kind: 'event_missing', clueId: c.id, trackingCode: c.tracking_code, seq: expected });
          expected = e.seq;
        }
        const recomputed = eventHash({
          clue: e.clue_id,
          seq: e.seq,
          type: e.type,
          actor: e.actor,
          at: new Date(e.at),
          data: e.data,
          prevHash: prev,
        });
        if (e.prev_hash !== prev || e.hash !== recomputed) {
          problems.push({ kind: 'event_altered', eventId: e.id, clueId: c.id, trackingCode: c.tracking_code, seq: e.seq });
        }
        prev = e.hash;
        expected++;
      }
      const lastSeq = chain.at(-1)?.seq ?? 0;
      if (lastSeq !== c.head_seq) {
        problems.push({
          kind: 'chain_head_mismatch',
          clueId: c.id,
          trackingCode: c.tracking_code,
          expectedSeq: c.head_seq,
          foundSeq: lastSeq,
        });
      }
      events += chain.length;
    }
    clues += batch.length;
    opts.onProgress?.(clues);
  }

  const checkpoints = await sql<{
    id: number;
    from_xid: string;
    to_xid: string;
    event_count: number;
    clues: Record<string, [number, number]>;
    batch_hash: string;
    prev_hash: string;
    hash: string;
  }>(
    em,
    'select id, from_xid::text as from_xid, to_xid::text as to_xid, event_count, clues, batch_hash, prev_hash, hash from ledger_checkpoint order by id',
  );
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
    prevHash = cp.hash;
  }
  return { ok: problems.length === 0, clues, events, checkpoints: checkpoints.length, problems };
}

function locateCheckpointDamage(
  cp: { id: number; event_count: number; clues: Record<string, [number, number]> },
  sealed: { clue_id: string; seq: number }[],
): LedgerProblem {
  const present = new Set(sealed.map((e) => `${e.clue_id}:${e.seq}`));
  for (const [clueId, [first, last]] of Object.entries(cp.clues)) {
    for (let seq = first; seq <= last; seq++) {
      if (!present.has(`${clueId}:${seq}`)) {
        return { kind: 'checkpoint_mismatch', checkpointId: cp.id, reason: 'a sealed event is missing', clueId, seq };
      }
    }
  }
  return {
    kind: 'checkpoint_mismatch',
    checkpointId: cp.id,
    reason: `sealed ${cp.event_count} events, found ${sealed.length} with a different batch hash`,
  };
}
