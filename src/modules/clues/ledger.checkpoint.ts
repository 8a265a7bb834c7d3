import { createHash, type KeyObject, sign, verify } from 'node:crypto';
import type { Clock } from '../../app/clock.ts';
import { type Em, type Orm, sql } from '../../app/db.ts';
import type { LedgerKeys } from '../../app/keys.ts';
import type { Logger } from '../../app/logger.ts';
import { GENESIS_HASH } from './ledger.ts';

/** A sealed event: on a clue's chain (`clue_id`), a quarantined mail's (`quarantine_id`) or an audit chain (`audit_id`). */
export interface SealedEvent {
  id: number | string;
  clue_id: string | null;
  quarantine_id: string | null;
  audit_id?: string | null;
  seq: number;
  hash: string;
}

/**
 * The chain an event is on, as the batch hash names it: the clue id (as it always was, so existing
 * checkpoints verify unchanged), or `quarantine:<id>` / `audit:<id>`, which no clue id can be.
 */
export function chainOf(e: Pick<SealedEvent, 'clue_id' | 'quarantine_id' | 'audit_id'>): string {
  return e.clue_id ?? (e.quarantine_id ? `quarantine:${e.quarantine_id}` : `audit:${e.audit_id}`);
}

/** The batch hash: every sealed event's id, chain, seq and hash, in id order. */
export function batchHash(events: SealedEvent[]): string {
  const h = createHash('sha256');
  for (const e of events) h.update(`${e.id}|${chainOf(e)}|${e.seq}|${e.hash}\n`);
  return h.digest('hex');
}

export function checkpointHash(c: { prevHash: string; batchHash: string; fromXid: string; toXid: string; eventCount: number }) {
  return createHash('sha256')
    .update(`${c.prevHash}\n${c.batchHash}\n${c.fromXid}\n${c.toXid}\n${c.eventCount}`)
    .digest('hex');
}

/**
 * What a checkpoint's signature covers: its hash, which chains the previous checkpoint, the batch of
 * sealed events, the transaction range and the count. Prefixed so the signature cannot be reused as
 * anything else signed with the key.
 */
const signedText = (hash: string) => Buffer.from(`dibao-ledger-checkpoint:v1:${hash}`);

export function signCheckpoint(keys: Pick<LedgerKeys, 'signingKey' | 'keyId'>, hash: string): { signature: string; keyId: string } {
  return { signature: sign(null, signedText(hash), keys.signingKey).toString('base64'), keyId: keys.keyId };
}

export function checkpointSignatureValid(publicKey: KeyObject, hash: string, signature: string): boolean {
  try {
    return verify(null, signedText(hash), publicKey, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}

export function eventsInRange(em: Em, fromXid: string, toXid: string): Promise<SealedEvent[]> {
  return sql<SealedEvent>(
    em,
    'select id, clue_id, quarantine_id, audit_id, seq, hash from ledger_event where txid >= ?::xid8 and txid < ?::xid8 order by id',
    [fromXid, toXid],
  );
}

/**
 * Seals every event written by a transaction that has finished since the last checkpoint.
 * Transactions with an id below the snapshot's xmin are all finished, so the range
 * [previous toXid, xmin) is final: no lock is taken on the write path and no late commit is missed.
 */
export function createCheckpointer({ orm, clock, logger, keys }: { orm: Orm; clock: Clock; logger: Logger; keys: Pick<LedgerKeys, 'signingKey' | 'keyId'> }) {
  return async function sealCheckpoint() {
    return orm.em.fork().transactional(async (tx) => {
      const [lock] = await sql<{ ok: boolean }>(tx, "select pg_try_advisory_xact_lock(hashtext('ledger_checkpoint')) as ok");
      if (!lock?.ok) return null;
      const [last] = await sql<{ to_xid: string; hash: string }>(
        tx,
        'select to_xid::text as to_xid, hash from ledger_checkpoint order by id desc limit 1',
      );
      const [snap] = await sql<{ xmin: string }>(tx, 'select pg_snapshot_xmin(pg_current_snapshot())::text as xmin');
      const fromXid = last?.to_xid ?? '0';
      const toXid = snap!.xmin;
      const events = await eventsInRange(tx, fromXid, toXid);
      if (events.length === 0) return null;
      const clues: Record<string, [number, number]> = {};
      const quarantines: Record<string, [number, number]> = {};
      const audits: Record<string, [number, number]> = {};
      for (const e of events) {
        const [ranges, id] = e.clue_id ? [clues, e.clue_id] : e.quarantine_id ? [quarantines, e.quarantine_id] : [audits, e.audit_id!];
        const r = ranges[id];
        ranges[id] = r ? [Math.min(r[0], e.seq), Math.max(r[1], e.seq)] : [e.seq, e.seq];
      }
      const row = {
        prevHash: last?.hash ?? GENESIS_HASH,
        batchHash: batchHash(events),
        fromXid,
        toXid,
        eventCount: events.length,
      };
      const hash = checkpointHash(row);
      const { signature, keyId } = signCheckpoint(keys, hash);
      const [inserted] = await sql<{ id: number }>(
        tx,
        `insert into ledger_checkpoint (sealed_at, from_xid, to_xid, event_count, clues, quarantines, audits, batch_hash, prev_hash, hash, signature, key_id)
         values (?, ?::xid8, ?::xid8, ?, ?::jsonb, ?::jsonb, ?::jsonb, ?, ?, ?, ?, ?) returning id`,
        [clock.now(), fromXid, toXid, events.length, JSON.stringify(clues), JSON.stringify(quarantines), JSON.stringify(audits), row.batchHash, row.prevHash, hash, signature, keyId],
      );
      // The log line is a witness outside the database: an attacker who rewrites tables cannot unsay it.
      logger.info({ checkpointId: inserted!.id, checkpointHash: hash, events: events.length, toXid, keyId }, 'ledger checkpoint sealed');
      return { id: inserted!.id, hash, eventCount: events.length, fromXid, toXid, signature, keyId };
    });
  };
}
