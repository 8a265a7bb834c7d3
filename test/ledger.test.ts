import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyLedger } from '../src/modules/clues/ledger.verify.ts';
import { createTestApp, seedTree, type TestEnv, tamperWithLedger, verifyLedgerCli } from './helpers.ts';

let t: TestEnv;
let operator: string;
let tree: Awaited<ReturnType<typeof seedTree>>;

beforeAll(async () => {
  t = await createTestApp();
  t.ledgerDamageExpected(); // this file alters the ledger on purpose
  tree = await seedTree(t);
  operator = (await t.staffMember('op', 'operator', tree.district.id)).token;
});
afterAll(() => t.close());

async function register(narrative = '社区干部把亲戚违规纳入低保，家里有车有房。') {
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
  return res.json;
}

describe('the clue ledger', () => {
  it('registers, reads back, changes status and keeps a verifying hash chain', async () => {
    const created = await register();
    expect(created.trackingCode).toMatch(/^\d{12}$/);
    expect(created.secret).toMatch(/^[0-9A-Z]{5}(-[0-9A-Z]{5}){3}$/);
    expect(created.status).toBe('registered');

    for (const [action, extra] of [
      ['accept', {}],
      ['start_verification', {}],
      ['conclude', { finding: 'partly_substantiated' }],
      ['reply', {}],
      ['close', {}],
    ] as const) {
      const res = await t.call('POST', `/api/v1/staff/clues/${created.id}/transitions`, { token: operator, body: { action, ...extra } });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
    }

    const read = await t.call('GET', `/api/v1/staff/clues/${created.id}`, { token: operator });
    expect(read.status).toBe(200);
    expect(read.json.status).toBe('closed');
    expect(read.json.finding).toBe('partly_substantiated');
    expect(read.json.narrative).toContain('亲戚');
    const events = read.json.events as { seq: number; type: string; data: Record<string, string> }[];
    expect(events.filter((e) => e.type.startsWith('clue.')).map((e) => e.data.action ?? e.type)).toEqual([
      'clue.registered',
      'accept',
      'start_verification',
      'conclude',
      'reply',
      'close',
    ]);
    // Deadlines start and end in the same transactions, on the same chain.
    const started = events.filter((e) => e.type === 'deadline.started').map((e) => e.data.kind);
    expect(started).toEqual(['receipt_notice', 'acceptance_decision', 'conclusion', 'reply_to_reporter']);
    expect(events.filter((e) => e.type === 'deadline.met')).toHaveLength(4);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(JSON.stringify(read.json)).not.toContain('李四');
    expect(JSON.stringify(read.json)).not.toContain('13800000000');

    const report = await verifyLedger(t.deps.orm);
    expect(report.ok).toBe(true);
    expect(report.events).toBeGreaterThanOrEqual(6);
    const cli = await verifyLedgerCli(t.db.url);
    expect(cli.code).toBe(0);
    expect(cli.out).toContain('ledger verified');
  });

  it('refuses an illegal transition with a coded error and writes nothing', async () => {
    const created = await register();
    const before = await t.db.query<{ n: number }>('select count(*)::int as n from ledger_event where clue_id = $1', [created.id]);
    const res = await t.call('POST', `/api/v1/staff/clues/${created.id}/transitions`, {
      token: operator,
      body: { action: 'conclude', finding: 'substantiated' },
    });
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe('clue.illegal_transition');
    expect(res.json.error.details.allowed).toContain('accept');
    const noReason = await t.call('POST', `/api/v1/staff/clues/${created.id}/transitions`, { token: operator, body: { action: 'decline' } });
    expect(noReason.status).toBe(400);
    expect(noReason.json.error.details.issues[0].path).toBe('reasonCode');
    const noText = await t.call('POST', `/api/v1/staff/clues/${created.id}/transitions`, { token: operator, body: { action: 'decline', reasonCode: 'other' } });
    expect(noText.status).toBe(400);
    const noFinding = await t.call('POST', `/api/v1/staff/clues/${created.id}/transitions`, { token: operator, body: { action: 'merge' } });
    expect(noFinding.status).toBe(422);
    expect(noFinding.json.error.code).toBe('clue.transition_requirement_missing');
    const after = await t.db.query('select count(*)::int as n from ledger_event where clue_id = $1', [created.id]);
    expect(after).toEqual(before);
    const [row] = await t.db.query<{ status: string; head_seq: number }>('select status, head_seq from clue where id = $1', [created.id]);
    expect(row).toEqual({ status: 'registered', head_seq: before[0]!.n });
  });

  it('the database refuses to update or delete ledger events', async () => {
    const created = await register();
    await expect(t.db.query(`update ledger_event set type = 'x' where clue_id = $1`, [created.id])).rejects.toThrow(/append-only/);
    await expect(t.db.query('delete from ledger_event where clue_id = $1', [created.id])).rejects.toThrow(/append-only/);
  });

  it('verify-ledger names an event altered in SQL', async () => {
    const created = await register();
    await t.call('POST', `/api/v1/staff/clues/${created.id}/transitions`, { token: operator, body: { action: 'accept' } });
    // An attacker with superuser rights can switch the guard trigger off; the hash chain still tells.
    await t.db.query('alter table ledger_event disable trigger ledger_event_append_only');
    const [target] = await t.db.query<{ id: string; seq: number; data: unknown }>(
      `select id::text as id, seq, data from ledger_event where clue_id = $1 and type = 'clue.status_changed'`,
      [created.id],
    );
    await t.db.query(`update ledger_event set data = jsonb_set(data, '{action}', '"decline"') where id = $1`, [target!.id]);
    await t.db.query('alter table ledger_event enable trigger ledger_event_append_only');
    const report = await verifyLedger(t.deps.orm);
    expect(report.ok).toBe(false);
    expect(report.problems[0]).toMatchObject({ kind: 'event_altered', eventId: target!.id, trackingCode: created.trackingCode, seq: target!.seq });
    const cli = await verifyLedgerCli(t.db.url);
    expect(cli.code).toBe(1);
    expect(cli.out).toContain(`event #${target!.id} (clue ${created.trackingCode}, seq ${target!.seq})`);
    // Restore so later tests start from a sound ledger.
    await tamperWithLedger(t.db, 'update ledger_event set data = $2 where id = $1', [target!.id, JSON.stringify(target!.data)]);
    expect((await verifyLedger(t.deps.orm)).ok).toBe(true);
  });

  it('a checkpoint seals events, and removing a whole clue afterwards is detected and named', async () => {
    const victim = await register('要被删除的线索：村干部截留低保金。');
    await t.call('POST', `/api/v1/staff/clues/${victim.id}/transitions`, { token: operator, body: { action: 'accept' } });
    // Transaction ids are cluster-wide: a transaction open in another test's database holds the
    // snapshot's xmin back, and the victim's events are sealed by a later checkpoint instead.
    let sealedHere: string[] = [];
    for (let i = 0; i < 100 && sealedHere.length === 0; i++) {
      await t.deps.sealCheckpoint();
      sealedHere = (await t.db.query<{ id: string }>(`select id::text from ledger_checkpoint where clues ? $1`, [victim.id])).map((r) => r.id);
      if (sealedHere.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(sealedHere).toHaveLength(1);
    // Every event below the newest checkpoint's bound is sealed exactly once.
    const [coverage] = await t.db.query<{ sealed: number; events: number }>(
      `select (select sum(event_count)::int from ledger_checkpoint) as sealed,
              (select count(*)::int from ledger_event where txid < (select max(to_xid::text::bigint) from ledger_checkpoint)::text::xid8) as events`,
    );
    expect(coverage!.sealed).toBe(coverage!.events);
    expect((await verifyLedger(t.deps.orm)).ok).toBe(true);

    await t.db.query('alter table ledger_event disable trigger ledger_event_append_only');
    await t.db.query('delete from ledger_event where clue_id = $1', [victim.id]);
    await t.db.query('delete from accused where clue_id = $1', [victim.id]);
    await t.db.query('delete from sealed_reporter where clue_id = $1', [victim.id]);
    await t.db.query('delete from deadline where clue_id = $1', [victim.id]);
    await t.db.query('delete from message where clue_id = $1', [victim.id]);
    await t.db.query('delete from clue where id = $1', [victim.id]);
    await t.db.query('alter table ledger_event enable trigger ledger_event_append_only');

    const report = await verifyLedger(t.deps.orm);
    expect(report.ok).toBe(false);
    expect(report.problems).toContainEqual(
      expect.objectContaining({ kind: 'checkpoint_mismatch', reason: 'a sealed event is missing', clueId: victim.id, seq: 1 }),
    );
    const cli = await verifyLedgerCli(t.db.url);
    expect(cli.code).toBe(1);
    expect(cli.out).toContain(`clue ${victim.id}, seq 1`);
  });
});
