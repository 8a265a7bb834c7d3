import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../src/modules/clues/ledger.verify.ts';
import { eventHash } from '../src/modules/clues/ledger.ts';
import { createTestApp, seedTree, type TestEnv, tamperWithLedger, verifyLedgerCli } from './helpers.ts';

let t: TestEnv;
let admin: string;
let supervisor: string;
let tree: Awaited<ReturnType<typeof seedTree>>;

beforeAll(async () => {
  t = await createTestApp();
  t.ledgerDamageExpected(); // this file alters the ledger on purpose
  tree = await seedTree(t);
  admin = (await t.staffMember('root', 'admin', tree.district.id)).token;
  supervisor = (await t.staffMember('sup', 'supervisor', tree.district.id)).token;
});
afterAll(() => t?.close());

type Row = { id: string; seq: number; type: string; actor: string; data: Record<string, unknown> };
const systemEvents = () =>
  t.db.query<Row>(`select id::text as id, seq, type, actor, data from ledger_event where audit_id = 'system' order by seq`);

/** Seals checkpoints until one covers the system chain's newest event (another database's open transaction may hold xmin back). */
async function sealUntilCovered(seq: number) {
  for (let i = 0; i < 100; i++) {
    await t.deps.sealCheckpoint();
    const [row] = await t.db.query<{ n: number }>(`select count(*)::int as n from ledger_checkpoint where (audits->'system'->>1)::int >= $1`, [seq]);
    if (row!.n > 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('no checkpoint covered the system chain');
}

describe('the system audit chain', () => {
  it('records units, accounts and policy changes with who did it, as a chain that verifies', async () => {
    const me = (await t.call('GET', '/api/v1/staff/me', { token: admin })).json;
    const unit = await t.call('POST', '/api/v1/staff/units', { token: admin, body: { code: 'c9', name: '长征镇', kind: 'town', parentId: tree.district.id } });
    expect(unit.status).toBe(201);
    const user = await t.call('POST', '/api/v1/staff/users', {
      token: admin,
      body: { username: 'zhang-op', displayName: '张接线员', password: 'a-long-password-1', role: 'operator', unitId: unit.json.id },
    });
    expect(user.status).toBe(201);
    const policy = (await t.call('GET', '/api/v1/staff/deadline-policy', { token: admin })).json;
    expect((await t.call('PUT', '/api/v1/staff/deadline-policy', { token: admin, body: { ...policy, version: 'audit-test-1' } })).status).toBe(200);

    const events = await systemEvents();
    // The seeded tree and accounts came first (actor system:seed); then the admin's three changes.
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const last = events.slice(-3);
    expect(last.map((e) => e.type)).toEqual(['unit.created', 'staff.created', 'deadline_policy.changed']);
    for (const e of last) expect(e.actor).toBe(`staff:${me.id}`);
    expect(last[0]!.data).toMatchObject({ unitId: unit.json.id, code: 'c9', kind: 'town' });
    expect(last[1]!.data).toMatchObject({ staffId: user.json.id, username: 'zhang-op', role: 'operator', unitId: unit.json.id });
    expect(JSON.stringify(last[1]!.data)).not.toContain('a-long-password-1');
    expect(last[2]!.data).toMatchObject({ version: 'audit-test-1', policySha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    const [head] = await t.db.query<{ head_seq: number; head_hash: string }>(`select head_seq, head_hash from audit_chain where id = 'system'`);
    expect(head!.head_seq).toBe(events.length);

    await sealUntilCovered(events.length);
    const report = await verifyLedger(t.deps.orm);
    expect(report.problems).toEqual([]);
    expect(report.auditChains).toBe(1);
  });

  it('a failed change leaves no event: the event commits with the change or not at all', async () => {
    const before = (await systemEvents()).length;
    const dup = await t.call('POST', '/api/v1/staff/units', { token: admin, body: { code: 'c9', name: '重复', kind: 'town', parentId: tree.district.id } });
    expect(dup.status).toBe(409);
    expect((await systemEvents()).length).toBe(before);
  });

  it('only admins read it', async () => {
    expect((await t.call('GET', '/api/v1/staff/audit-events', { token: supervisor })).status).toBe(403);
    const page = await t.call('GET', '/api/v1/staff/audit-events?limit=2', { token: admin });
    expect(page.status).toBe(200);
    expect(page.json.items.map((e: Row) => e.seq)).toEqual([1, 2]);
    const next = await t.call('GET', `/api/v1/staff/audit-events?limit=2&afterSeq=${page.json.nextAfterSeq}`, { token: admin });
    expect(next.json.items[0].seq).toBe(3);
    expect((await t.call('GET', '/api/v1/staff/audit-events?chain=DROP%20TABLE', { token: admin })).status).toBe(400);
  });

  it('verify-ledger names an audit event altered in SQL, and one removed from the end with the head put back', async () => {
    const events = await systemEvents();
    const target = events[1]!;
    await tamperWithLedger(t.db, `update ledger_event set data = jsonb_set(data, '{role}', '"admin"') where id = $1`, [target.id]);
    const cli = await verifyLedgerCli(t.db.url);
    expect(cli.code).toBe(1);
    expect(cli.out).toContain(`event #${target.id} (audit chain system, seq ${target.seq}) does not match its hash`);
    await tamperWithLedger(t.db, `update ledger_event set data = $2::jsonb where id = $1`, [target.id, JSON.stringify(target.data)]);
    expect((await verifyLedger(t.deps.orm)).ok).toBe(true);

    // Removing the newest event and moving the head back is caught by the checkpoint that sealed it.
    const last = events.at(-1)!;
    const [prev] = await t.db.query<{ hash: string }>(`select hash from ledger_event where audit_id = 'system' and seq = $1`, [last.seq - 1]);
    await tamperWithLedger(t.db, 'delete from ledger_event where id = $1', [last.id]);
    await t.db.query(`update audit_chain set head_seq = $1, head_hash = $2 where id = 'system'`, [last.seq - 1, prev!.hash]);
    const report = await verifyLedger(t.deps.orm);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatchObject({ kind: 'checkpoint_mismatch', reason: 'a sealed event is missing', auditChain: 'system', seq: last.seq });
  });

  it('an audit event hash covers the chain name: the same event on a clue chain has another hash', () => {
    const fields = { seq: 1, type: 'staff.created', actor: 'system:seed', at: new Date('2026-12-01T00:00:00Z'), data: { a: 1 }, prevHash: '0'.repeat(64) };
    expect(eventHash({ ...fields, audit: 'system' })).not.toBe(eventHash({ ...fields, clue: 'system' }));
  });
});
