import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../src/app/config.ts';
import { exportPublicKey, generateLedgerSigningKey, resolveKeys } from '../src/app/keys.ts';
import { createLogger } from '../src/app/logger.ts';
import { batchHash, checkpointHash, createCheckpointer, signCheckpoint } from '../src/modules/clues/ledger.checkpoint.ts';
import { canonicalJson, eventHash, GENESIS_HASH, sha256Hex } from '../src/modules/clues/ledger.ts';
import { describeProblem, verifyLedger } from '../src/modules/clues/ledger.verify.ts';
import { formatDigest, latestDigest, parseDigests } from '../src/modules/clues/ledger.witness.ts';
import { startSmtpSink } from './smtp-sink.ts';
import { startWorkers } from '../src/roots/worker.ts';
import { createTestApp, seedTree, type TestEnv, tamperWithLedger, until, verifyLedgerCli } from './helpers.ts';

let t: TestEnv;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let operator: string;
let supervisor: string;
let admin: string;
let tree: Awaited<ReturnType<typeof seedTree>>;

const ALERT_MS = 60_000;
// Sealing waits for the cluster's xmin (see sealAll): room for it on a busy machine.
vi.setConfig({ testTimeout: 120_000 });

beforeAll(async () => {
  sink = await startSmtpSink();
});
afterAll(() => sink?.close());

/** Each group of tests damages the ledger on purpose, so each gets a database of its own. */
function freshApp() {
  beforeAll(async () => {
    t = await createTestApp({
      MAIL_URL: sink.url,
      LEDGER_WITNESS_EMAILS: 'jiwei@witness.example.cn,jubao@bureau.example.cn',
      LEDGER_CHECKPOINT_ALERT_MS: String(ALERT_MS),
    });
    t.ledgerDamageExpected(); // these tests alter the ledger on purpose
    tree = await seedTree(t);
    operator = (await t.staffMember('op', 'operator', tree.district.id)).token;
    supervisor = (await t.staffMember('sup', 'supervisor', tree.district.id)).token;
    admin = (await t.staffMember('adm', 'admin', tree.district.id)).token;
  });
  afterAll(() => t?.close());
}

const keys = () => ({ publicKeys: t.deps.keys.ledger.publicKeys });
const verify = () => verifyLedger(t.deps.orm, keys());

async function register(narrative = '村干部把亲戚违规纳入低保，家里有车有房。') {
  const res = await t.call('POST', '/api/v1/staff/clues', {
    token: operator,
    body: {
      channel: 'letter',
      categories: ['favor_enrolment'],
      narrative,
      unitId: tree.committeeA.id,
      accused: [{ name: '王某', role: 'cadre', unitId: tree.committeeA.id }],
      reporter: { name: '李四', phone: '13800000000' },
    },
  });
  expect(res.status).toBe(201);
  return res.json as { id: string; trackingCode: string };
}

const act = async (id: string, action: string, extra: Record<string, unknown> = {}) => {
  const res = await t.call('POST', `/api/v1/staff/clues/${id}/transitions`, { token: operator, body: { action, ...extra } });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
};

/**
 * Seals checkpoints until nothing is left unsealed. A checkpoint seals what transactions below the
 * cluster's xmin wrote, so an open transaction of another test database can hold it back a while.
 */
async function sealAll(deps: Pick<TestEnv['deps'], 'sealCheckpoint' | 'ledgerWatch'> = t.deps) {
  for (let i = 0; i < 600; i++) {
    await deps.sealCheckpoint();
    if (!(await deps.ledgerWatch.state()).oldestUnsealedAt) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('events stayed unsealed for a minute');
}

type EventRow = { id: string; seq: number; type: string; actor: string; at: Date; data: Record<string, unknown>; prev_hash: string; hash: string };
const eventsOf = (clueId: string) =>
  t.db.query<EventRow>('select id::text as id, seq, type, actor, at, data, prev_hash, hash from ledger_event where clue_id = $1 order by seq', [clueId]);

/** The whole ledger re-sealed as someone with write access and this source code would: every checkpoint recomputed. */
async function resealEverything(sign?: (hash: string) => { signature: string; keyId: string }) {
  const cps = await t.db.query<{ id: number; from_xid: string; to_xid: string; event_count: number }>(
    'select id, from_xid::text as from_xid, to_xid::text as to_xid, event_count from ledger_checkpoint order by id',
  );
  let prev = GENESIS_HASH;
  for (const cp of cps) {
    const sealed = await t.db.query<{ id: string; clue_id: string | null; quarantine_id: string | null; audit_id: string | null; seq: number; hash: string }>(
      'select id, clue_id, quarantine_id, audit_id, seq, hash from ledger_event where txid >= $1::xid8 and txid < $2::xid8 order by id',
      [cp.from_xid, cp.to_xid],
    );
    const b = batchHash(sealed);
    const hash = checkpointHash({ prevHash: prev, batchHash: b, fromXid: cp.from_xid, toXid: cp.to_xid, eventCount: sealed.length });
    const signed = sign?.(hash);
    // The hash column is unique: move it aside first.
    await t.db.query(`update ledger_checkpoint set hash = md5(random()::text) || md5(random()::text) where id = $1`, [cp.id]);
    await t.db.query('update ledger_checkpoint set batch_hash = $2, prev_hash = $3, hash = $4, event_count = $5, signature = $6, key_id = $7 where id = $1', [
      cp.id,
      b,
      prev,
      hash,
      sealed.length,
      signed ? signed.signature : null,
      signed ? signed.keyId : null,
    ]);
    prev = hash;
  }
}

/** Rewrites a clue's narrative and its whole chain with the project's own hash functions, so every event verifies. */
async function rewriteClueChain(clueId: string, narrative: string) {
  await t.db.query('update clue set narrative = $2 where id = $1', [clueId, narrative]);
  let prev = GENESIS_HASH;
  for (const e of await eventsOf(clueId)) {
    const data = e.type === 'clue.registered' ? { ...e.data, narrativeSha256: sha256Hex(narrative) } : e.data;
    const hash = eventHash({ clue: clueId, seq: e.seq, type: e.type, actor: e.actor, at: new Date(e.at), data, prevHash: prev });
    await tamperWithLedger(t.db, 'update ledger_event set data = $2::jsonb, prev_hash = $3, hash = $4 where id = $1', [e.id, canonicalJson(data), prev, hash]);
    prev = hash;
  }
  await t.db.query('update clue set head_hash = $2 where id = $1', [clueId, prev]);
}

describe('verify-ledger checks each clue row against its own ledger', () => {
  freshApp();

  it('an UPDATE of the clue row alone (status, finding, narrative, unit, head) is found and named, field by field', async () => {
    const clue = await register();
    await act(clue.id, 'accept');
    await act(clue.id, 'start_verification');
    await act(clue.id, 'conclude', { finding: 'substantiated' });
    await sealAll();
    expect((await verify()).problems).toEqual([]);

    // The application's own account can do this: no trigger protects the clue table.
    const [before] = await t.db.query<Record<string, unknown>>('select status, finding, narrative, assigned_unit_id, head_hash from clue where id = $1', [clue.id]);
    await t.db.query(`update clue set status = 'closed', finding = 'unsubstantiated', narrative = '无问题', assigned_unit_id = $2 where id = $1`, [clue.id, tree.streetB.id]);
    const report = await verify();
    expect(report.ok).toBe(false);
    const problem = report.problems.find((p) => p.kind === 'clue_row_mismatch')!;
    expect(problem).toMatchObject({ kind: 'clue_row_mismatch', clueId: clue.id, trackingCode: clue.trackingCode });
    const fields = (problem as { differences: { field: string; ledger: string; row: string }[] }).differences;
    expect(fields).toEqual(
      expect.arrayContaining([
        { field: 'status', ledger: 'concluded', row: 'closed' },
        { field: 'finding', ledger: 'substantiated', row: 'unsubstantiated' },
        { field: 'assigned_unit_id', ledger: '∅', row: tree.streetB.id },
        expect.objectContaining({ field: 'narrative (sha256)' }),
      ]),
    );
    // Reporter words never appear in what verify-ledger prints: the narrative is named by hash.
    const text = describeProblem(problem);
    expect(text).toContain(`clue ${clue.trackingCode}`);
    expect(text).not.toContain('无问题');
    expect(text).not.toContain('亲戚');

    const cli = await verifyLedgerCli(t.db.url, { dataDir: t.config.DATA_DIR });
    expect(cli.code).toBe(1);
    expect(cli.out).toContain(`first: clue ${clue.trackingCode}: its row disagrees with its ledger: `);
    expect(cli.out).toContain('status is closed in the row but concluded on the ledger');

    await t.db.query('update clue set status = $2, finding = $3, narrative = $4, assigned_unit_id = $5 where id = $1', [
      clue.id,
      before!.status,
      before!.finding,
      before!.narrative,
      before!.assigned_unit_id,
    ]);
    expect((await verify()).ok).toBe(true);
    await t.db.query(`update clue set head_hash = repeat('a', 64) where id = $1`, [clue.id]);
    expect((await verify()).problems).toEqual([
      expect.objectContaining({ kind: 'clue_row_mismatch', differences: [{ field: 'head_hash', ledger: (await eventsOf(clue.id)).at(-1)!.hash, row: 'a'.repeat(64) }] }),
    ]);
    await t.db.query('update clue set head_hash = $2 where id = $1', [clue.id, before!.head_hash]);
  });

  it('a sealed reporter record swapped, a message edited or slipped in: found', async () => {
    const clue = await register();
    const other = await register('另一封举报信。');
    const posted = await t.call('POST', `/api/v1/staff/clues/${clue.id}/messages`, { token: operator, body: { body: '请补充材料。' } });
    expect(posted.status).toBe(201);
    await sealAll();
    expect((await verify()).ok).toBe(true);

    // Another clue's sealed box put in place of this one's (it would even decrypt with the right id binding elsewhere).
    const [mine] = await t.db.query<{ box: Buffer }>('select box from sealed_reporter where clue_id = $1', [clue.id]);
    const [theirs] = await t.db.query<{ box: Buffer }>('select box from sealed_reporter where clue_id = $1', [other.id]);
    await t.db.query('update sealed_reporter set box = $2 where clue_id = $1', [clue.id, theirs!.box]);
    let report = await verify();
    expect(report.problems).toEqual([expect.objectContaining({ clueId: clue.id, differences: [expect.objectContaining({ field: 'sealed_reporter (sha256)' })] })]);
    await t.db.query('update sealed_reporter set box = $2 where clue_id = $1', [clue.id, mine!.box]);

    await t.db.query(`update message set body = '不用补充了。' where clue_id = $1`, [clue.id]);
    report = await verify();
    expect(report.problems).toEqual([expect.objectContaining({ clueId: clue.id, differences: [expect.objectContaining({ field: expect.stringMatching(/^message .* \(sha256\)$/) })] })]);
    await t.db.query(`update message set body = '请补充材料。' where clue_id = $1`, [clue.id]);

    await t.db.query(`insert into message (id, clue_id, author, staff_id, body, created_at) values (gen_random_uuid(), $1, 'staff', null, '伪造的答复', now())`, [other.id]);
    report = await verify();
    expect(report.problems).toEqual([expect.objectContaining({ clueId: other.id, differences: [expect.objectContaining({ ledger: '∅', row: 'present' })] })]);
    await t.db.query(`delete from message where clue_id = $1 and body = '伪造的答复'`, [other.id]);
    expect((await verify()).ok).toBe(true);
  });
});

describe('the unsealed tail', () => {
  freshApp();

  it('deleting the newest events and putting the head back is found, before and after the next checkpoint', async () => {
    const clue = await register();
    await act(clue.id, 'accept');
    await sealAll();
    // The newest change, not yet sealed.
    await act(clue.id, 'start_verification');
    const events = await eventsOf(clue.id);
    const lastSealedSeq = (await t.db.query<{ seq: number }>(`select max((clues->$1->>1)::int) as seq from ledger_checkpoint`, [clue.id]))[0]!.seq;
    const tail = events.filter((e) => e.seq > lastSealedSeq);
    expect(tail.length).toBeGreaterThan(0);

    await tamperWithLedger(t.db, 'delete from ledger_event where clue_id = $1 and seq > $2', [clue.id, lastSealedSeq]);
    const head = events.find((e) => e.seq === lastSealedSeq)!;
    await t.db.query('update clue set head_seq = $2, head_hash = $3 where id = $1', [clue.id, head.seq, head.hash]);
    // The chain alone is whole again; the row still says what the deleted events did.
    let report = await verify();
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'clue_row_mismatch', clueId: clue.id })]);
    await sealAll();
    report = await verify();
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'clue_row_mismatch', clueId: clue.id })]);
  });
});

describe('signed checkpoints', () => {
  freshApp();

  it('every checkpoint is signed with the key outside the database, and verify-ledger checks it', async () => {
    await register();
    await sealAll();
    const cps = await t.db.query<{ signature: string | null; key_id: string | null }>('select signature, key_id from ledger_checkpoint');
    expect(cps.length).toBeGreaterThan(0);
    for (const cp of cps) expect(cp).toEqual({ signature: expect.stringMatching(/^[A-Za-z0-9+/]+=*$/), key_id: t.deps.keys.ledger.keyId });

    const clean = await verifyLedgerCli(t.db.url, { dataDir: t.config.DATA_DIR });
    expect(clean.code, clean.out).toBe(0);
    expect(clean.out).toContain(`signatures checked with 1 key(s): ${t.deps.keys.ledger.keyId}`);
    const outsider = await verifyLedgerCli(t.db.url, { env: { LEDGER_VERIFY_KEYS: exportPublicKey(t.deps.keys.ledger.signingKey) } });
    expect(outsider.code, outsider.out).toBe(0);
    expect(outsider.out).toContain(`signatures checked with 1 key(s): ${t.deps.keys.ledger.keyId}`);
    expect(outsider.out).not.toMatch(/not signed|unknown key|does not match it/);
    const blind = await verifyLedgerCli(t.db.url);
    expect(blind.out).toContain('signatures NOT checked');
  });

  it('a chain rewritten and every checkpoint re-sealed with this source code passes every hash, and fails on the signatures', async () => {
    const clue = await register('原始举报内容：村主任冒领低保金。');
    await sealAll();
    await rewriteClueChain(clue.id, '改写后的内容：一切正常。');
    // Unsigned re-seal (the attacker has no key): every hash agrees, no checkpoint carries a signature.
    await resealEverything();
    let report = await verifyLedger(t.deps.orm);
    expect(report.problems).toEqual([]);
    report = await verify();
    expect(report.ok).toBe(false);
    expect(report.problems.every((p) => p.kind === 'checkpoint_signature' && p.reason === 'unsigned')).toBe(true);

    // Re-sealed and signed with a key of the attacker's own: refused (unknown key, or a bad signature under ours).
    const { privateKey } = generateKeyPairSync('ed25519');
    await resealEverything((hash) => signCheckpoint({ signingKey: privateKey, keyId: 'ffffffffffffffff' }, hash));
    report = await verify();
    expect(report.problems[0]).toMatchObject({ kind: 'checkpoint_signature', reason: 'unknown_key', keyId: 'ffffffffffffffff' });
    await resealEverything((hash) => signCheckpoint({ signingKey: privateKey, keyId: t.deps.keys.ledger.keyId }, hash));
    report = await verify();
    expect(report.problems[0]).toMatchObject({ kind: 'checkpoint_signature', reason: 'invalid', keyId: t.deps.keys.ledger.keyId });
    expect(describeProblem(report.problems[0]!)).toMatch(/has a signature that does not match it/);
  });
});

describe('key rotation', () => {
  freshApp();

  it('a new key signs from a given checkpoint on; the old public key, kept in LEDGER_VERIFY_KEYS, still verifies the earlier ones', async () => {
    await register('轮换密钥前的举报。');
    await sealAll();
    const oldKey = t.deps.keys.ledger;
    const newKey = generateLedgerSigningKey();
    // The restarted app after the rotation: the new key signs, the old public key is kept to verify.
    const rotatedConfig = loadConfig({ ...stringConfig(t.config), LEDGER_SIGNING_KEY: newKey, LEDGER_VERIFY_KEYS: exportPublicKey(oldKey.signingKey) });
    const rotatedKeys = resolveKeys(rotatedConfig, createLogger('silent')).ledger;
    const rotated = {
      sealCheckpoint: createCheckpointer({ orm: t.deps.orm, clock: t.clock, logger: createLogger('silent'), keys: rotatedKeys }),
      ledgerWatch: t.deps.ledgerWatch,
    };
    await register('轮换密钥后的举报。');
    await sealAll(rotated);
    const keyIds = (await t.db.query<{ key_id: string }>('select key_id from ledger_checkpoint order by id')).map((r) => r.key_id);
    expect(new Set(keyIds)).toEqual(new Set([oldKey.keyId, rotatedKeys.keyId]));
    expect(keyIds.at(-1)).toBe(rotatedKeys.keyId);

    expect((await verifyLedger(t.deps.orm, { publicKeys: rotatedKeys.publicKeys })).problems).toEqual([]);
    const onlyNew = new Map([[rotatedKeys.keyId, rotatedKeys.publicKeys.get(rotatedKeys.keyId)!]]);
    expect((await verifyLedger(t.deps.orm, { publicKeys: onlyNew })).problems[0]).toMatchObject({ kind: 'checkpoint_signature', reason: 'unknown_key', keyId: oldKey.keyId });
    const cli = await verifyLedgerCli(t.db.url, { env: { LEDGER_SIGNING_KEY: newKey, LEDGER_VERIFY_KEYS: exportPublicKey(oldKey.signingKey) } });
    expect(cli.code, cli.out).toBe(0);
    expect(cli.out).toContain('signatures checked with 2 key(s)');
  });

  it('ledger-sign-legacy signs, once, only the unsigned checkpoints sealed before signing began', async () => {
    await register('升级前的举报。');
    await sealAll();
    await register('升级后的举报。');
    await sealAll();
    const ids = (await t.db.query<{ id: number }>('select id from ledger_checkpoint order by id')).map((r) => r.id);
    expect(ids.length).toBeGreaterThanOrEqual(2);
    // As a database from before signing: all unsigned. Then one unsigned after a signed one (stripped?).
    await t.db.query('update ledger_checkpoint set signature = null, key_id = null');
    expect((await verify()).problems.filter((p) => p.kind === 'checkpoint_signature')).toHaveLength(ids.length);
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, ['src/main.ts', ...args], {
        env: { ...process.env, DATABASE_URL: t.db.url, DATA_DIR: t.config.DATA_DIR, LOG_LEVEL: 'silent', MIGRATE_ON_START: 'false', REPORTER_KEY: t.config.REPORTER_KEY!, SECRET_HMAC_KEY: t.config.SECRET_HMAC_KEY! },
      });
    expect((await run(['ledger-sign-legacy'])).stdout).toContain(`signed ${ids.length} legacy checkpoint(s)`);
    expect((await verify()).problems).toEqual([]);
    expect((await run(['ledger-sign-legacy'])).stdout).toContain('no legacy checkpoint to sign');

    await t.db.query('update ledger_checkpoint set signature = null, key_id = null where id = $1', [ids.at(-1)]);
    expect((await run(['ledger-sign-legacy'])).stdout).toContain('no legacy checkpoint to sign');
    expect((await verify()).problems).toEqual([{ kind: 'checkpoint_signature', checkpointId: ids.at(-1), reason: 'unsigned' }]);
    const [audit] = await t.db.query<{ data: Record<string, unknown> }>(`select data from ledger_event where audit_id = 'system' and type = 'ledger.legacy_signed'`);
    expect(audit!.data).toMatchObject({ count: ids.length, keyId: t.deps.keys.ledger.keyId });
    const digest = await promisify(execFile)(process.execPath, ['src/main.ts', 'ledger-digest'], { env: { ...process.env, DATABASE_URL: t.db.url, LOG_LEVEL: 'silent', MIGRATE_ON_START: 'false' } });
    expect(parseDigests(digest.stdout)).toHaveLength(1);
  });

  it('production needs a signing key; a malformed key is refused at start with the variable named', () => {
    const base = { NODE_ENV: 'production', REPORTER_KEY: Buffer.alloc(32, 1).toString('base64'), SECRET_HMAC_KEY: Buffer.alloc(32, 2).toString('base64') };
    expect(() => loadConfig(base)).toThrow(/LEDGER_SIGNING_KEY is required in production/);
    expect(() => loadConfig({ ...base, LEDGER_SIGNING_KEY: 'bm90IGEga2V5' })).toThrow(/LEDGER_SIGNING_KEY: must be an Ed25519 private key/);
    expect(() => loadConfig({ ...base, LEDGER_SIGNING_KEY: generateLedgerSigningKey(), LEDGER_VERIFY_KEYS: 'bm90IGEga2V5' })).toThrow(/LEDGER_VERIFY_KEYS/);
    expect(loadConfig({ ...base, LEDGER_SIGNING_KEY: generateLedgerSigningKey() }).NODE_ENV).toBe('production');
  });

  it('ledger-keygen prints a key that configuration takes, and its public key for verifiers', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['src/main.ts', 'ledger-keygen'], { env: { ...process.env, LOG_LEVEL: 'silent' } });
    const key = /^LEDGER_SIGNING_KEY=(\S+)$/m.exec(stdout)![1]!;
    const pub = /^# ([A-Za-z0-9+/=]{40,})$/m.exec(stdout)![1]!;
    const config = loadConfig({ LEDGER_SIGNING_KEY: key, LEDGER_VERIFY_KEYS: pub });
    expect(config.LEDGER_VERIFY_KEYS).toEqual([pub]);
  });
});

/** A parsed config back as environment strings (lists joined), to build a second instance on the same database. */
function stringConfig(config: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(config)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(',') : String(v)]),
  );
}

describe('witnesses outside', () => {
  freshApp();

  it('the digest is mailed to each witness and recorded; --witness catches a rewrite that is otherwise consistent, even re-signed with the real key', async () => {
    const clue = await register('见证前的举报内容。');
    await sealAll();
    sink.received.length = 0;
    const res = await t.call('POST', '/api/v1/staff/ledger/digest', { token: admin });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ sent: 2, failed: 0, digest: expect.stringMatching(/^DIBAO-LEDGER-DIGEST v1 checkpoint=\d+ /) });
    expect(sink.received.map((m) => m.to).flat().sort()).toEqual(['jiwei@witness.example.cn', 'jubao@bureau.example.cn']);
    // The mail holds the line as sent (quoted-printable may wrap it: decode soft line breaks first).
    const mailText = sink.received[0]!.raw.replace(/=\r?\n/g, '').replace(/=3D/g, '=');
    const kept = parseDigests(mailText);
    expect(kept.map(formatDigest)).toContain(res.json.digest);
    const [audit] = await t.db.query<{ data: Record<string, unknown> }>(`select data from ledger_event where audit_id = 'system' and type = 'ledger.digest_sent' order by seq desc limit 1`);
    expect(audit!.data).toMatchObject({ witnesses: 2, delivered: 2, checkpointId: kept[0]!.checkpointId });
    expect((await t.call('POST', '/api/v1/staff/ledger/digest', { token: supervisor })).status).toBe(403);
    expect((await t.call('GET', '/api/v1/staff/ledger/digest', { token: supervisor })).json.digest).toBe(res.json.digest);
    expect((await t.call('GET', '/api/v1/staff/ledger/digest', { token: operator })).status).toBe(403);

    const dir = mkdtempSync(join(tmpdir(), 'witness-'));
    const file = join(dir, 'digests.eml');
    writeFileSync(file, mailText);
    const before = await verifyLedgerCli(t.db.url, { dataDir: t.config.DATA_DIR, args: ['--witness', file] });
    expect(before.out).toContain('witnessed digests 1');
    expect(before.out).not.toContain('witnessed checkpoint');

    // An insider with the database, this source code AND the signing key rewrites and re-signs everything.
    await rewriteClueChain(clue.id, '见证后被改写的内容。');
    await resealEverything((hash) => signCheckpoint(t.deps.keys.ledger, hash));
    expect((await verify()).problems).toEqual([]);
    const after = await verifyLedgerCli(t.db.url, { dataDir: t.config.DATA_DIR, args: ['--witness', file] });
    expect(after.code).toBe(1);
    expect(after.out).toContain(`witnessed checkpoint #${kept[0]!.checkpointId}: the witness holds hash ${kept[0]!.hash.slice(0, 16)}`);

    // A forged digest line (not signed by a known key) proves nothing and is reported as such.
    const forged = formatDigest({ ...kept[0]!, hash: 'b'.repeat(64) });
    const report = await verifyLedger(t.deps.orm, { ...keys(), witnesses: parseDigests(forged) });
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'witness_mismatch', reason: expect.stringContaining('own signature') })]);
    expect(await latestDigest(t.deps.orm.em.fork())).toMatchObject({ keyId: t.deps.keys.ledger.keyId });
  });
});

describe('the daily digest job', () => {
  freshApp();

  it('the worker keeps a daily scheduler in TIME_ZONE; a ledger.witness job mails the digest once to each witness', async () => {
    await register('每日摘要任务前的举报。');
    await sealAll();
    const stop = await startWorkers(t.deps);
    try {
      const scheduler = await t.deps.queues.get('ledger').getJobScheduler('ledger-witness');
      expect(scheduler).toMatchObject({ pattern: '0 8 * * *', tz: 'Asia/Shanghai' });
      sink.received.length = 0;
      await t.deps.queues.get('ledger').add('ledger.witness', {}, { jobId: 'witness-now' });
      const mails = await until(async () => sink.received.filter((m) => m.raw.includes('DIBAO-LEDGER-DIGEST')), (m) => m.length >= 2);
      expect(mails.map((m) => m.to[0]).sort()).toEqual(['jiwei@witness.example.cn', 'jubao@bureau.example.cn']);
    } finally {
      await stop();
    }
  });
});

describe('a short, watched window', () => {
  freshApp();

  it('when the checkpoint job stops, /healthz says so and the root unit’s supervisors get one notice per stall', async () => {
    await sealAll();
    expect((await t.call('GET', '/healthz')).json.checks.ledger).toBe('ok');
    await register('封存停止后写入的举报。');
    // Nothing seals it (no worker runs in this test): time passes.
    t.clock.advanceBy(ALERT_MS + 1000);
    const health = await t.call('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.json.checks.ledger).toBe('checkpoint_overdue');
    expect(health.json.warnings.join('\n')).toContain('ledger sealing is overdue');

    await t.deps.ledgerWatch.check();
    await t.deps.ledgerWatch.check();
    const notices = await t.call('GET', '/api/v1/staff/notices', { token: supervisor });
    const overdue = (notices.json.items as { kind: string; zh: string }[]).filter((n) => n.kind === 'ledger_overdue');
    expect(overdue).toHaveLength(1);
    expect(overdue[0]!.zh).toContain('台账封存已停止');
    const opNotices = await t.call('GET', '/api/v1/staff/notices', { token: operator });
    expect((opNotices.json.items as { kind: string }[]).some((n) => n.kind === 'ledger_overdue')).toBe(false);

    await sealAll();
    expect((await t.call('GET', '/healthz')).json.checks.ledger).toBe('ok');
  });
});
