import { readFileSync } from 'node:fs';
import type { Config } from '../app/config.ts';
import { sql } from '../app/db.ts';
import { createOrm } from './orm.ts';
import { exportPublicKey, generateLedgerSigningKey, keyIdOf, resolveKeys, verificationKeys } from '../app/keys.ts';
import type { Logger } from '../app/logger.ts';
import { createPrivateKey, createPublicKey } from 'node:crypto';
import { signCheckpoint } from '../modules/clues/ledger.checkpoint.ts';
import { appendAuditEvent } from '../modules/clues/ledger.ts';
import { describeProblem, verifyLedger } from '../modules/clues/ledger.verify.ts';
import { formatDigest, latestDigest, parseDigests } from '../modules/clues/ledger.witness.ts';

export const ledgerCommands = ['verify-ledger', 'ledger-digest', 'ledger-keygen', 'ledger-sign-legacy'] as const;
export type LedgerCommand = (typeof ledgerCommands)[number];

/** `verify-ledger [--witness FILE]…`, `ledger-digest`, `ledger-keygen`, `ledger-sign-legacy`: README "The ledger". */
export async function runLedgerCommand(command: LedgerCommand, args: string[], config: Config, logger: Logger): Promise<number> {
  if (command === 'ledger-keygen') {
    const key = generateLedgerSigningKey();
    const pub = createPublicKey(createPrivateKey({ key: Buffer.from(key, 'base64'), format: 'der', type: 'pkcs8' }));
    console.log(`LEDGER_SIGNING_KEY=${key}`);
    console.log(`# public key ${keyIdOf(pub)} (give it to verifiers; keep it in LEDGER_VERIFY_KEYS after a rotation):`);
    console.log(`# ${exportPublicKey(pub)}`);
    return 0;
  }
  const orm = await createOrm(config, logger);
  try {
    if (command === 'ledger-digest') {
      const digest = await latestDigest(orm.em.fork());
      console.log(digest ? formatDigest(digest) : '尚无封存点 / no checkpoint yet');
      return digest ? 0 : 1;
    }
    if (command === 'ledger-sign-legacy') return await signLegacy(orm, config, logger);
    return await verify(orm, args, config);
  } finally {
    await orm.close();
  }
}

async function verify(orm: Awaited<ReturnType<typeof createOrm>>, args: string[], config: Config): Promise<number> {
  const witnessFiles = args.flatMap((a, i) => (a === '--witness' && args[i + 1] ? [args[i + 1]!] : []));
  const witnesses = witnessFiles.flatMap((f) => parseDigests(readFileSync(f, 'utf8')));
  if (witnessFiles.length && witnesses.length === 0) {
    console.log(`见证文件中没有摘要行 / no digest line found in ${witnessFiles.join(', ')}`);
    return 2;
  }
  const publicKeys = verificationKeys(config);
  const report = await verifyLedger(orm, {
    publicKeys,
    witnesses,
    onProgress: (n) => n % 10_000 === 0 && process.stderr.write(`checked ${n} clues…\n`),
  });
  console.log(
    `clues ${report.clues}, quarantined mail ${report.quarantinedMail}, audit chains ${report.auditChains}, events ${report.events}, checkpoints ${report.checkpoints}` +
      (witnesses.length ? `, witnessed digests ${witnesses.length}` : ''),
  );
  console.log(
    report.signaturesChecked
      ? `签名已核验 / signatures checked with ${publicKeys.size} key(s): ${[...publicKeys.keys()].join(', ')}`
      : '签名未核验 / signatures NOT checked: no public key given (LEDGER_VERIFY_KEYS, or LEDGER_SIGNING_KEY / DATA_DIR/keys.json)',
  );
  if (report.ok) {
    console.log('台账完整 / ledger verified: every event, clue row and checkpoint matches');
    return 0;
  }
  console.log(`台账被篡改 / LEDGER DAMAGED: ${report.problems.length} problem(s); first: ${describeProblem(report.problems[0]!)}`);
  for (const p of report.problems.slice(1, 20)) console.log(`  also: ${describeProblem(p)}`);
  return 1;
}

/**
 * Signs, once, the checkpoints sealed before checkpoints were signed. Only an unbroken run of
 * unsigned checkpoints before the first signed one qualifies: an unsigned checkpoint after a signed
 * one is never signed here (its signature may have been removed), so it stays a verify-ledger problem.
 */
async function signLegacy(orm: Awaited<ReturnType<typeof createOrm>>, config: Config, logger: Logger): Promise<number> {
  const keys = resolveKeys(config, logger).ledger;
  return orm.em.fork().transactional(async (tx) => {
    const [first] = await sql<{ id: number | null }>(tx, 'select min(id) as id from ledger_checkpoint where signature is not null');
    const until = first?.id ?? null;
    const rows = await sql<{ id: number; hash: string }>(
      tx,
      `select id, hash from ledger_checkpoint where signature is null ${until === null ? '' : 'and id < ?'} order by id for update`,
      until === null ? [] : [until],
    );
    for (const r of rows) {
      const { signature, keyId } = signCheckpoint(keys, r.hash);
      await sql(tx, 'update ledger_checkpoint set signature = ?, key_id = ? where id = ?', [signature, keyId, r.id]);
    }
    if (rows.length) {
      await appendAuditEvent(tx, { type: 'ledger.legacy_signed', actor: 'system:cli', data: { fromCheckpoint: rows[0]!.id, toCheckpoint: rows.at(-1)!.id, count: rows.length, keyId: keys.keyId } }, new Date());
    }
    console.log(rows.length ? `已签署 ${rows.length} 个旧封存点 / signed ${rows.length} legacy checkpoint(s) with key ${keys.keyId}` : '没有需要签署的旧封存点 / no legacy checkpoint to sign');
    return 0;
  });
}
