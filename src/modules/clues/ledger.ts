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

export interface HashedFields {
  clue: string;
  seq: number;
  type: string;
  actor: string;
  at: Date;
  data: Record<string, unknown>;
  prevHash: string;
}

export function eventHash(e: HashedFields): string {
  return hashWithCanonicalData(e, canonicalJson(e.data));
}

/** The same hash when the canonical JSON of `data` is already at hand (the write path has it). */
function hashWithCanonicalData(e: HashedFields, canonicalData: string): string {
  const head = canonicalJson({ clue: e.clue, seq: e.seq, type: e.type, actor: e.actor, at: e.at, data: null });
  // Splice the data in place of `null`: keys are sorted, and "data" sorts before "seq" and "type".
  // (A function, so `$&` and friends in reporters' words are not replacement patterns.)
  const body = head.replace('"data":null', () => `"data":${canonicalData}`);
  return createHash('sha256').update(e.prevHash).update('\n').update(body).digest('hex');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** What appending needs of a clue: its chain head (a locked Clue, or the row being inserted). */
export type ChainHead = { id: string; headSeq: number; headHash: string; updatedAt: Date };

/** The next event of a clue's chain, hashed, and the clue's head moved to it. */
export function nextEvent(
  clue: ChainHead,
  event: { type: string; actor: Actor; data?: Record<string, unknown> },
  at: Date,
): HashedFields & { hash: string; dataJson: string } {
  const dataJson = canonicalJson(event.data ?? {});
  const fields: HashedFields = {
    clue: clue.id,
    seq: clue.headSeq + 1,
    type: event.type,
    actor: event.actor,
    at,
    data: JSON.parse(dataJson),
    prevHash: clue.headHash,
  };
  const hash = hashWithCanonicalData(fields, dataJson);
  clue.headSeq = fields.seq;
  clue.headHash = hash;
  clue.updatedAt = at;
  return { ...fields, hash, dataJson };
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
