import { createHash } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { sql, sqlBound } from '../../app/db.ts';
import { LedgerEvent } from './ledger.entity.ts';

export const GENESIS_HASH = '0'.repeat(64);

/** Who did it (src/app/usecase.ts): named here too, where the ledger's writers look for it. */
export type { Actor } from '../../app/usecase.ts';
import type { Actor } from '../../app/usecase.ts';

/** JSON with sorted keys and no undefined: the same bytes before and after a jsonb round trip. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + canonicalJson(value[i] === undefined ? null : value[i]);
    return `${out}]`;
  }
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  const record = value as Record<string, unknown>;
  // Default sort: UTF-16 code unit order, as the comparison `a < b` gives.
  const keys = Object.keys(record).sort();
  let out = '{';
  for (const k of keys) {
    const v = record[k];
    if (v === undefined) continue;
    out += `${out.length > 1 ? ',' : ''}${JSON.stringify(k)}:${canonicalJson(v)}`;
  }
  return `${out}}`;
}

interface EventFields {
  seq: number;
  type: string;
  actor: string;
  at: Date;
  data: Record<string, unknown>;
  prevHash: string;
}

/** What a clue event's hash covers. */
export interface HashedFields extends EventFields {
  clue: string;
}

/**
 * What a quarantined mail's event hash covers: the chain is named by the key `quarantine` instead
 * of `clue`, so an event of one kind of chain can never pass for an event of the other.
 */
export interface QuarantineHashedFields extends EventFields {
  quarantine: string;
}

/**
 * What an audit chain's event hash covers: the chain is named by the key `audit` (the chain id,
 * e.g. `system`), so its events can never pass for a clue's or a quarantined mail's.
 */
export interface AuditHashedFields extends EventFields {
  audit: string;
}

type AnyHashedFields = HashedFields | QuarantineHashedFields | AuditHashedFields;

export function eventHash(e: AnyHashedFields): string {
  return hashWithCanonicalData(e, canonicalJson(e.data));
}

/**
 * The same hash when the canonical JSON of `data` is already at hand (the write path has it):
 * `sha256(prevHash ‖ "\n" ‖ canonicalJson({ actor, at, audit | clue | quarantine, data, seq, type }))`,
 * with the object's text written out directly in its sorted key order (the unit tests hold it to
 * `canonicalJson` of the whole object).
 */
function hashWithCanonicalData(e: AnyHashedFields, canonicalData: string): string {
  const start = `{"actor":${JSON.stringify(e.actor)},"at":${JSON.stringify(e.at.toISOString())},`;
  const end = `"seq":${JSON.stringify(e.seq)},"type":${JSON.stringify(e.type)}}`;
  const body =
    'clue' in e
      ? `${start}"clue":${JSON.stringify(e.clue)},"data":${canonicalData},${end}`
      : 'audit' in e
        ? `${start}"audit":${JSON.stringify(e.audit)},"data":${canonicalData},${end}`
        : `${start}"data":${canonicalData},"quarantine":${JSON.stringify(e.quarantine)},${end}`;
  return createHash('sha256').update(e.prevHash).update('\n').update(body).digest('hex');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** What appending needs of a clue: its chain head (a locked Clue, or the row being inserted). */
export type ChainHead = { id: string; headSeq: number; headHash: string; updatedAt: Date };

/** What appending needs of a quarantined mail: its chain head (a locked row, or the row being inserted). */
export type QuarantineChainHead = { id: string; headSeq: number; headHash: string };

type NewEvent = { type: string; actor: Actor; data?: Record<string, unknown> };

/** The next event of a chain, hashed, and the chain's head moved to it. */
function advance(
  head: { headSeq: number; headHash: string },
  chain: { clue: string } | { quarantine: string } | { audit: string },
  event: NewEvent,
  at: Date,
): EventFields & { hash: string; dataJson: string } {
  const dataJson = canonicalJson(event.data ?? {});
  const seq = head.headSeq + 1;
  const hash = hashWithCanonicalData({ ...chain, seq, type: event.type, actor: event.actor, at, data: {}, prevHash: head.headHash }, dataJson);
  const next = { seq, type: event.type, actor: event.actor, at, prevHash: head.headHash, hash, dataJson } as EventFields & { hash: string; dataJson: string };
  // `data` as stored (the canonical form: no undefined), parsed only if someone reads it; the
  // registration path writes `dataJson` and never does.
  let data: Record<string, unknown> | undefined;
  Object.defineProperty(next, 'data', { enumerable: true, get: () => (data ??= JSON.parse(dataJson) as Record<string, unknown>) });
  head.headSeq = seq;
  head.headHash = hash;
  return next;
}

/** The next event of a clue's chain, hashed, and the clue's head moved to it. */
export function nextEvent(clue: ChainHead, event: NewEvent, at: Date): HashedFields & { hash: string; dataJson: string } {
  // Object.assign, not a spread: a spread would read the lazy `data` and parse it after all.
  const next = Object.assign(advance(clue, { clue: clue.id }, event, at), { clue: clue.id });
  clue.updatedAt = at;
  return next;
}

/** The next event of a quarantined mail's chain, hashed, and the mail's head moved to it. */
export function nextQuarantineEvent(
  mail: QuarantineChainHead,
  event: NewEvent,
  at: Date,
): QuarantineHashedFields & { hash: string; dataJson: string } {
  return Object.assign(advance(mail, { quarantine: mail.id }, event, at), { quarantine: mail.id });
}

/** A PostgreSQL text[] literal for identifier-like values (category codes). */
export function pgTextArray(values: readonly string[]): string {
  for (const v of values) if (!/^[a-z0-9_]+$/.test(v)) throw new Error(`not an identifier: ${v}`);
  return `{${values.join(',')}}`;
}

/**
 * Runs inside the transaction of every event appended to a clue's chain (`appendEvent`), after the
 * event is hashed: a module that keeps rows of its own about clue events (special supervision's
 * notices, src/modules/deadlines/supervision.ts) subscribes here instead of the ledger writing them.
 * Registered by the roots (src/roots/ledger-hooks.ts); synchronous, it adds entities to `em` only.
 */
export type ClueEventHook = (em: EntityManager, clue: ChainHead, event: NewEvent, at: Date) => void;
const clueEventHooks = new Set<ClueEventHook>();

/** Subscribes `hook` to every clue event from now on (once, however often it is called); returns the unsubscribe. */
export function onClueEvent(hook: ClueEventHook): () => void {
  clueEventHooks.add(hook);
  return () => clueEventHooks.delete(hook);
}

/**
 * Appends one event to a clue's chain and moves the clue's head. The caller runs inside the
 * transaction that makes the change and holds the clue's row lock (or is creating the clue).
 */
export function appendEvent(
  em: EntityManager,
  clue: ChainHead,
  event: { type: string; actor: Actor; data?: Record<string, unknown> },
  at: Date,
): LedgerEvent {
  const { dataJson: _json, ...fields } = nextEvent(clue, event, at);
  for (const hook of clueEventHooks) hook(em, clue, event, at);
  return em.create(LedgerEvent, fields);
}

/**
 * Appends one event to a quarantined mail's chain and moves its head. The caller runs inside the
 * transaction that makes the change and holds the row's lock (or is inserting the row). No reporter
 * data in `data`: ids, reason codes, sizes and hashes (the sender may be a reporter).
 */
export function appendQuarantineEvent(em: EntityManager, mail: QuarantineChainHead, event: NewEvent, at: Date): LedgerEvent {
  const { dataJson: _json, ...fields } = nextQuarantineEvent(mail, event, at);
  return em.create(LedgerEvent, fields);
}

/** The system audit chain: staff accounts, 2FA resets, exports, policy and calendar changes. */
export const SYSTEM_CHAIN = 'system';

/**
 * Appends one event to an audit chain (default: the system chain) inside the caller's transaction:
 * the chain's head row is locked, so appends are serialised and the chain has no gaps. Written
 * straight away (not at flush), so it commits or rolls back with the change it records. No reporter
 * data in `data`: ids, roles, codes, counts and hashes.
 */
export async function appendAuditEvent(em: EntityManager, event: NewEvent, at: Date, chain = SYSTEM_CHAIN): Promise<{ seq: number; hash: string }> {
  if (!em.isInTransaction()) throw new Error('appendAuditEvent needs the transaction of the change it records');
  const [head] = await sql<{ head_seq: number; head_hash: string }>(em, 'select head_seq, head_hash from audit_chain where id = ? for update', [chain]);
  if (!head) throw new Error(`no audit chain ${chain}`);
  const cursor = { headSeq: head.head_seq, headHash: head.head_hash };
  const e = advance(cursor, { audit: chain }, event, at);
  await sqlBound(
    em,
    `with moved as (update audit_chain set head_seq = $1, head_hash = $2 where id = $3)
     insert into ledger_event (audit_id, seq, type, actor, at, data, prev_hash, hash) values ($3, $1, $4, $5, $6, $7::jsonb, $8, $2)`,
    [e.seq, e.hash, chain, e.type, e.actor, at, e.dataJson, e.prevHash],
  );
  return { seq: e.seq, hash: e.hash };
}
