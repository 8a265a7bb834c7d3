/**
 * GET /api/v1/staff/notices reads three branches (its unit's for everyone, its unit's for its role,
 * its own) and merges them newest first: what a principal gets, in what order, cut at 50.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, seedTree, type TestEnv } from './helpers.ts';

let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
const who: Record<string, { token: string; id: string }> = {};

beforeAll(async () => {
  t = await createTestApp({ SESSION_TTL_HOURS: '100000', STAFF_IDLE_MINUTES: '10000000' });
  tree = await seedTree(t);
  for (const [name, role, unit] of [['cwA', 'caseworker', tree.streetA.id], ['supA', 'supervisor', tree.streetA.id], ['cwA2', 'caseworker', tree.streetA.id]] as const) {
    const { token } = await t.staffMember(name, role, unit);
    const [row] = await t.db.query<{ id: string }>('select id from staff where username = $1', [name]);
    who[name] = { token, id: row!.id };
  }
});
afterAll(async () => {
  await t?.close();
});

describe('notices', () => {
  it('are the unit’s, the role’s and one’s own, newest first, at most 50', async () => {
    const base = Date.parse('2026-03-02T02:00:00Z');
    const rows: { id: string; unit: string; role: string | null; staff: string | null; at: number }[] = [];
    const add = (unit: string, role: string | null, staff: string | null, minute: number) => rows.push({ id: randomUUID(), unit, role, staff, at: base + minute * 60_000 });
    // Interleaved in time: 30 for the unit, 20 for caseworkers, 15 for cwA, and others' that cwA must not get.
    for (let i = 0; i < 30; i++) add(tree.streetA.id, null, null, i * 3);
    for (let i = 0; i < 20; i++) add(tree.streetA.id, 'caseworker', null, i * 3 + 1);
    for (let i = 0; i < 15; i++) add(tree.streetA.id, null, who.cwA!.id, i * 3 + 2);
    for (let i = 0; i < 10; i++) add(tree.streetA.id, 'supervisor', null, 200 + i);
    for (let i = 0; i < 10; i++) add(tree.streetA.id, null, who.cwA2!.id, 300 + i);
    for (let i = 0; i < 10; i++) add(tree.streetB.id, null, null, 400 + i);
    for (const r of rows) {
      await t.db.query(
        `insert into staff_notice (id, unit_id, role, staff_id, clue_id, deadline_id, callback_id, kind, text_zh, text_en, created_at) values ($1, $2, $3, $4, null, null, null, 'reminder', '提醒', 'Reminder', $5)`,
        [r.id, r.unit, r.role, r.staff, new Date(r.at)],
      );
    }
    const mine = rows.filter((r) => r.unit === tree.streetA.id && ((r.staff === null && (r.role === null || r.role === 'caseworker')) || r.staff === who.cwA!.id));
    expect(mine).toHaveLength(65);
    const expected = mine.sort((a, b) => b.at - a.at).slice(0, 50).map((r) => r.id);
    const res = await t.call('GET', '/api/v1/staff/notices', { token: who.cwA!.token });
    expect(res.status).toBe(200);
    expect(res.json.items.map((n: { id: string }) => n.id)).toEqual(expected);
    expect(res.json.items[0]).toMatchObject({ kind: 'reminder', clueId: null, deadlineId: null, callbackId: null, zh: '提醒', en: 'Reminder' });
    expect(new Date(res.json.items[0].createdAt).getTime()).toBe(mine[0]!.at);

    // The supervisor of the same unit: the unit's, the supervisors', none of the caseworkers' or anyone's own.
    const sup = await t.call('GET', '/api/v1/staff/notices', { token: who.supA!.token });
    const supExpected = rows.filter((r) => r.unit === tree.streetA.id && r.staff === null && (r.role === null || r.role === 'supervisor')).sort((a, b) => b.at - a.at).map((r) => r.id);
    expect(sup.json.items.map((n: { id: string }) => n.id)).toEqual(supExpected);
  });
});
