import { createHash, randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/core';
import { StaffNotice } from '../deadlines/deadline.entity.ts';
import { LedgerEvent } from './ledger.entity.ts';

export const GENESIS_HASH = '0'.repeat(64);

/** Who did it: a staff user, the reporter, a webhook or a job. */
export type Actor = `staff:${string}` | 'reporter' | 'twilio' | 'email' | `system:${string}` | `discipline:${string}`;

/** JSON with sorted keys and no undefined: the same bytes before and after a jsonb round trip. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
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

export function eventHash(e: HashedFields | QuarantineHashedFields): string {
  return hashWithCanonicalData(e, canonicalJson(e.data));
}

/** The same hash when the canonical JSON of `data` is already at hand (the write path has it). */
function hashWithCanonicalData(e: HashedFields | QuarantineHashedFields, canonicalData: string): string {
  const chain = 'clue' in e ? { clue: e.clue } : { quarantine: e.quarantine };
  const head = canonicalJson({ ...chain, seq: e.seq, type: e.type, actor: e.actor, at: e.at, data: null });
  // Splice the data in place of `null`: keys are sorted, and only "actor", "at" and "clue" (JSON
  // strings, whose quotes are escaped) come before "data". (A function, so `$&` and friends in
  // reporters' words are not replacement patterns.)
  const body = head.replace('"data":null', () => `"data":${canonicalData}`);
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
  chain: { clue: string } | { quarantine: string },
  event: NewEvent,
  at: Date,
): EventFields & { hash: string; dataJson: string } {
  const dataJson = canonicalJson(event.data ?? {});
  const fields: EventFields = {
    seq: head.headSeq + 1,
    type: event.type,
    actor: event.actor,
    at,
    data: JSON.parse(dataJson) as Record<string, unknown>,
    prevHash: head.headHash,
  };
  const hash = hashWithCanonicalData({ ...chain, ...fields }, dataJson);
  head.headSeq = fields.seq;
  head.headHash = hash;
  return { ...fields, hash, dataJson };
}

/** The next event of a clue's chain, hashed, and the clue's head moved to it. */
export function nextEvent(clue: ChainHead, event: NewEvent, at: Date): HashedFields & { hash: string; dataJson: string } {
  const next = { clue: clue.id, ...advance(clue, { clue: clue.id }, event, at) };
  clue.updatedAt = at;
  return next;
}

/** The next event of a quarantined mail's chain, hashed, and the mail's head moved to it. */
export function nextQuarantineEvent(
  mail: QuarantineChainHead,
  event: NewEvent,
  at: Date,
): QuarantineHashedFields & { hash: string; dataJson: string } {
  return { quarantine: mail.id, ...advance(mail, { quarantine: mail.id }, event, at) };
}

/** A PostgreSQL text[] literal for identifier-like values (category codes). */
export function pgTextArray(values: readonly string[]): string {
  for (const v of values) if (!/^[a-z0-9_]+$/.test(v)) throw new Error(`not an identifier: ${v}`);
  return `{${values.join(',')}}`;
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
  // Special supervision (督办): the attached supervisor hears of every event on the clue.
  const supervisor = (clue as { supervisor?: string | null }).supervisor;
  const unit = (clue as { unit?: string | null }).unit;
  if (supervisor && unit) {
    em.create(StaffNotice, {
      id: randomUUID(),
      unit,
      role: null,
      staffId: supervisor,
      clue: clue.id,
      deadline: null,
      kind: 'supervised',
      textZh: `督办线索有新动态：${event.type}`,
      textEn: `Supervised clue: ${event.type}`,
      createdAt: at,
    });
  }
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
