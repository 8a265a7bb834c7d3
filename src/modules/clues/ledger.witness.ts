import type { KeyObject } from 'node:crypto';
import type { Clock } from '../../app/clock.ts';
import { type Em, type Orm, sql } from '../../app/db.ts';
import { forbidden } from '../../app/errors.ts';
import type { Logger } from '../../app/logger.ts';
import { renderBilingual } from '../../app/templates.ts';
import { checkpointSignatureValid } from './ledger.checkpoint.ts';
import { type Actor, appendAuditEvent } from './ledger.ts';
import type { Principal, StaffCall } from '../staff/access.ts';

/** Who reads the digest: those who file or check reports. */
const mayReadDigest = (p: Principal) => p.role === 'supervisor' || p.role === 'admin' || p.role === 'discipline_officer';

/**
 * A ledger digest: the latest checkpoint's number, hash and signature as one line of plain text,
 * mailed to witnesses outside the bureau each day and printed under every statistics table and
 * export. Whoever keeps the lines can later prove the stored chain is the one they were shown:
 * `verify-ledger --witness FILE` fails if the chain disagrees with any of them.
 */
export interface Digest {
  checkpointId: number;
  sealedAt: string;
  events: number;
  hash: string;
  keyId: string | null;
  signature: string | null;
}

const PREFIX = 'DIBAO-LEDGER-DIGEST v1';

export function formatDigest(d: Digest): string {
  return `${PREFIX} checkpoint=${d.checkpointId} sealed=${d.sealedAt} events=${d.events} hash=${d.hash} key=${d.keyId ?? '-'} sig=${d.signature ?? '-'}`;
}

const LINE = /DIBAO-LEDGER-DIGEST v1 checkpoint=(\d+) sealed=(\S+) events=(\d+) hash=([0-9a-f]{64}) key=(\S+) sig=(\S+)/g;

/** Every digest line in a text (a saved mail, a file of lines), wherever it stands in its line. */
export function parseDigests(text: string): Digest[] {
  const seen = new Set<string>();
  // A mail holds the line twice (Chinese and English text): the same line counts once.
  const lines = [...text.matchAll(LINE)].filter((m) => !seen.has(m[0]) && seen.add(m[0]));
  return lines.map((m) => ({
    checkpointId: Number(m[1]),
    sealedAt: m[2]!,
    events: Number(m[3]),
    hash: m[4]!,
    keyId: m[5] === '-' ? null : m[5]!,
    signature: m[6] === '-' ? null : m[6]!,
  }));
}

type CheckpointRow = { id: number; sealed_at: Date; event_count: number; hash: string; key_id: string | null; signature: string | null };

const toDigest = (r: CheckpointRow): Digest => ({
  checkpointId: r.id,
  sealedAt: new Date(r.sealed_at).toISOString(),
  events: r.event_count,
  hash: r.hash,
  keyId: r.key_id,
  signature: r.signature,
});

/** The digest of the newest checkpoint, or null before the first one. */
export async function latestDigest(em: Em): Promise<Digest | null> {
  const [row] = await sql<CheckpointRow>(em, 'select id, sealed_at, event_count, hash, key_id, signature from ledger_checkpoint order by id desc limit 1');
  return row ? toDigest(row) : null;
}

export type WitnessProblem = { kind: 'witness_mismatch'; checkpointId: number; reason: string };

/**
 * Checks the stored checkpoints against digests kept by witnesses: each must still exist with the
 * same hash. A digest whose own signature does not verify with a known key is reported too (a
 * forged line proves nothing either way).
 */
export async function checkWitnesses(em: Em, digests: Digest[], publicKeys: Map<string, KeyObject>): Promise<WitnessProblem[]> {
  const problems: WitnessProblem[] = [];
  if (digests.length === 0) return problems;
  const ids = [...new Set(digests.map((d) => d.checkpointId))];
  const rows = await sql<CheckpointRow>(em, 'select id, sealed_at, event_count, hash, key_id, signature from ledger_checkpoint where id in (?)', [ids]);
  const byId = new Map(rows.map((r) => [r.id, r]));
  for (const d of digests) {
    const stored = byId.get(d.checkpointId);
    if (publicKeys.size > 0) {
      const key = d.keyId ? publicKeys.get(d.keyId) : undefined;
      if (!key || !d.signature || !checkpointSignatureValid(key, d.hash, d.signature)) {
        problems.push({ kind: 'witness_mismatch', checkpointId: d.checkpointId, reason: 'the digest line’s own signature does not verify with a known key' });
        continue;
      }
    }
    if (!stored) problems.push({ kind: 'witness_mismatch', checkpointId: d.checkpointId, reason: 'a witnessed checkpoint is missing from the ledger' });
    else if (stored.hash !== d.hash) {
      problems.push({ kind: 'witness_mismatch', checkpointId: d.checkpointId, reason: `the witness holds hash ${d.hash.slice(0, 16)}…, the ledger ${stored.hash.slice(0, 16)}…` });
    } else if (stored.event_count !== d.events) {
      problems.push({ kind: 'witness_mismatch', checkpointId: d.checkpointId, reason: `the witness saw ${d.events} events sealed, the ledger says ${stored.event_count}` });
    }
  }
  return problems;
}

export interface WitnessDeps {
  orm: Orm;
  clock: Clock;
  logger: Logger;
  witnesses: string[];
  mailFrom: string;
  send: (mail: { from: string; to: string; subject: string; text: string }) => Promise<unknown>;
  /** Seals a checkpoint now, so the digest covers everything written until it is sent. */
  sealCheckpoint: () => Promise<unknown>;
}

export function createLedgerWitness(deps: WitnessDeps) {
  /**
   * Seals, then mails the latest digest to every witness (one mail each, so one bad address does not
   * stop the others) and records the sending on the system audit chain. Returns the digest line.
   */
  async function sendDigest(actor: Actor) {
    await deps.sealCheckpoint();
    const em = deps.orm.em.fork();
    const digest = await latestDigest(em);
    if (!digest) return { digest: null, sent: 0, failed: 0 };
    const line = formatDigest(digest);
    const vars = { checkpointId: String(digest.checkpointId), sealedAt: digest.sealedAt, events: String(digest.events), digest: line };
    const subject = renderBilingual('email/ledger-digest.subject.txt', vars, ' / ').replace(/\n/g, '');
    const text = renderBilingual('email/ledger-digest.txt', vars, '\n\n----\n\n');
    let sent = 0;
    for (const to of deps.witnesses) {
      try {
        await deps.send({ from: deps.mailFrom, to, subject, text });
        sent++;
      } catch (err) {
        deps.logger.warn({ checkpointId: digest.checkpointId, code: (err as { responseCode?: number }).responseCode ?? 'error' }, 'ledger digest not delivered to a witness');
      }
    }
    await em.transactional((tx) =>
      appendAuditEvent(
        tx,
        { type: 'ledger.digest_sent', actor, data: { checkpointId: digest.checkpointId, hash: digest.hash, witnesses: deps.witnesses.length, delivered: sent } },
        deps.clock.now(),
      ),
    );
    deps.logger.info({ checkpointId: digest.checkpointId, witnesses: deps.witnesses.length, delivered: sent }, 'ledger digest sent');
    return { digest: line, sent, failed: deps.witnesses.length - sent };
  }

  /** The latest checkpoint's digest as one line, for supervisors, admins and discipline officers. */
  async function readDigest({ ctx }: StaffCall<object>) {
    if (!mayReadDigest(ctx.principal)) throw forbidden();
    const digest = await latestDigest(ctx.em);
    return { digest: digest ? formatDigest(digest) : null, checkpoint: digest };
  }

  /** An admin seals a checkpoint now and mails its digest to the witnesses. */
  async function sendDigestNow({ ctx }: StaffCall<object>) {
    if (ctx.principal.role !== 'admin') throw forbidden();
    return sendDigest(ctx.actor);
  }

  return { sendDigest, readDigest, sendDigestNow };
}

export type LedgerWitness = ReturnType<typeof createLedgerWitness>;
