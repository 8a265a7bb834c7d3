import { defineEntity, p } from '@mikro-orm/core';
import { QuarantinedMail } from '../intake-email/email.entity.ts';
import { Clue } from './clue.entity.ts';

/**
 * A chain for what is not a clue (staff accounts, 2FA resets, exports, policy and calendar changes):
 * the system audit chain `system`. Its head is this row, locked while appending, as a clue's head is
 * the clue row. These events are rare (administration), so one lock per chain costs nothing.
 */
const AuditChainSchema = defineEntity({
  name: 'AuditChain',
  tableName: 'audit_chain',
  properties: {
    id: p.string().length(32).primary(),
    headSeq: p.integer(),
    headHash: p.string().length(64),
  },
});
export class AuditChain extends AuditChainSchema.class {}
AuditChainSchema.setClass(AuditChain);

/**
 * One append-only ledger event. `hash = sha256(prevHash || canonical(event))`, chained per clue, or,
 * for mail held in quarantine (which has no clue, or not yet), per quarantined mail, or on an audit
 * chain (`audit`, for what is not a clue): exactly one of `clue`, `quarantine` and `audit` is set.
 * The column `txid` (xid8, default pg_current_xact_id(), added by the migration and not mapped
 * here) names the writing transaction, so checkpoints seal exactly the events of finished
 * transactions without any lock on the write path.
 */
const LedgerEventSchema = defineEntity({
  name: 'LedgerEvent',
  tableName: 'ledger_event',
  uniques: [{ properties: ['clue', 'seq'] }, { properties: ['quarantine', 'seq'] }, { properties: ['audit', 'seq'] }],
  checks: [{ name: 'ledger_event_one_chain_check', expression: 'num_nonnulls(clue_id, quarantine_id, audit_id) = 1' }],
  properties: {
    id: p.bigint('number').primary().autoincrement(),
    clue: () => p.manyToOne(Clue).mapToPk().nullable().deleteRule('no action'),
    quarantine: () => p.manyToOne(QuarantinedMail).mapToPk().nullable().deleteRule('no action'),
    audit: () => p.manyToOne(AuditChain).mapToPk().nullable().deleteRule('no action'),
    seq: p.integer(),
    type: p.string().length(64),
    actor: p.string().length(128),
    at: p.datetime(),
    data: p.json<Record<string, unknown>>(),
    prevHash: p.string().length(64),
    hash: p.string().length(64),
  },
});
export class LedgerEvent extends LedgerEventSchema.class {}
LedgerEventSchema.setClass(LedgerEvent);

/** A seal over every event written by transactions with txid in [fromXid, toXid). */
const LedgerCheckpointSchema = defineEntity({
  name: 'LedgerCheckpoint',
  tableName: 'ledger_checkpoint',
  properties: {
    id: p.integer().primary().autoincrement(),
    sealedAt: p.datetime(),
    fromXid: p.string().columnType('xid8'),
    toXid: p.string().columnType('xid8'),
    eventCount: p.integer(),
    /** clue id → [first seq, last seq] sealed here, so a verifier can name what went missing. */
    clues: p.json<Record<string, [number, number]>>(),
    /** The same for quarantined mail: quarantined mail id → [first seq, last seq]. */
    quarantines: p.json<Record<string, [number, number]>>(),
    /** The same for audit chains: chain id → [first seq, last seq]. */
    audits: p.json<Record<string, [number, number]>>(),
    batchHash: p.string().length(64),
    prevHash: p.string().length(64),
    hash: p.string().length(64).unique(),
    /** Ed25519 signature (base64) of the hash, by the key named `keyId`: a key outside the database. */
    signature: p.text().nullable(),
    keyId: p.string().length(16).nullable(),
  },
});
export class LedgerCheckpoint extends LedgerCheckpointSchema.class {}
LedgerCheckpointSchema.setClass(LedgerCheckpoint);

/** A stalled checkpoint job was reported to supervisors after checkpoint `afterCheckpointId` (once per stall). */
const LedgerAlertSchema = defineEntity({
  name: 'LedgerAlert',
  tableName: 'ledger_alert',
  properties: {
    afterCheckpointId: p.integer().primary().autoincrement(false),
    raisedAt: p.datetime(),
  },
});
export class LedgerAlert extends LedgerAlertSchema.class {}
LedgerAlertSchema.setClass(LedgerAlert);
