import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, seedTree, type TestEnv } from '../helpers.ts';

// The median time to call-back is found through `hotline_day.callback_below` (counts below fixed
// edges) and a sort of one bucket only: here it is held to percentile_cont over the rows themselves,
// for windows all rolled up, partly rolled up and not at all, odd and even counts, values on the
// edges, just beside them, tied, under the first edge and over the last, and without a time.
let t: TestEnv;
let token: string;
let EDGES: number[];
const at = (local: string) => new Date(`${local}+08:00`);
const DAY = 86_400_000;

// A fixed pseudo-random sequence (mulberry32), so a failure can be replayed.
function rng(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4_294_967_296;
  };
}

beforeAll(async () => {
  t = await createTestApp();
  const tree = await seedTree(t);
  token = (await t.staffMember('sup', 'supervisor', tree.district.id)).token;
  EDGES = (await t.db.query<{ e: number[] }>('select hotline_seconds_edges() as e'))[0]!.e.map(Number);
  const random = rng(16);
  // 12 days from 1 March 2026 (Shanghai), a call-back every ~50 minutes, most done.
  const first = at('2026-03-01T00:00:00').getTime();
  const seconds = (i: number): number => {
    const edge = EDGES[Math.floor(random() * EDGES.length)]!;
    switch (i % 8) {
      case 0:
        return edge; // on an edge (counted at most it)
      case 1:
        return edge + (random() < 0.5 ? -0.001 : 0.001); // just beside one
      case 2:
        return 3600; // tied
      case 3:
        return Math.floor(random() * 40); // under the first edge (32 s), zero included
      case 4:
        return EDGES.at(-1)! + random() * 1e6; // over the last
      default:
        return Math.round(random() * 5 * DAY) / 1000; // ms, up to 5 days
    }
  };
  const calls: unknown[][] = [];
  const cbs: unknown[][] = [];
  for (let i = 0, t0 = first; t0 < first + 12 * DAY; i++, t0 += Math.floor(random() * 100 * 60_000)) {
    const callId = randomUUID();
    const created = new Date(t0);
    const state = random() < 0.8 ? 'done' : random() < 0.5 ? 'open' : 'cancelled';
    // Now and then a done call-back without its time (no duration: left out of the median, as percentile_cont leaves out nulls).
    const done = state === 'done' && i % 97 !== 5 ? new Date(t0 + Math.round(seconds(i) * 1000)) : null;
    calls.push([callId, `median-${i}`, new Date(t0 - 60_000), created, 'abandoned', false, '{}', created, created]);
    cbs.push([randomUUID(), callId, `hash-${i}`, 'abandoned', new Date(t0 + DAY), state, created, done]);
  }
  const values = (rows: unknown[][], params: unknown[]) => rows.map((r) => `(${r.map((v) => (params.push(v), `$${params.length}`)).join(', ')})`).join(', ');
  const p1: unknown[] = [];
  await t.db.query(`insert into "call" (id, sid_hash, started_at, ended_at, outcome, withheld, ivr, created_at, updated_at) values ${values(calls, p1)}`, p1);
  const p2: unknown[] = [];
  await t.db.query(`insert into callback (id, call_id, caller_hash, reason, due_at, state, created_at, done_at) values ${values(cbs, p2)}`, p2);
});
afterAll(async () => {
  await t?.close();
});

describe('hotline figures: the median time to call-back', () => {
  it('is the one percentile_cont gives over the rows, rolled-up days or not', async () => {
    const fromRows = async (from: Date, to: Date) => {
      const [k] = await t.db.query<{ n: number; median: number | null }>(
        `select count(*)::int as n, round((percentile_cont(0.5) within group (order by extract(epoch from done_at - created_at)))::numeric)::int as median
         from callback where state = 'done' and created_at >= $1 and created_at < $2`,
        [from, to],
      );
      return k!;
    };
    const random = rng(7);
    const parities = new Set<number>();
    let rolled = 0;
    for (let i = 0; i < 24; i++) {
      // Now between 3 and 16 March: from nothing settled to every day of the data settled.
      t.clock.set(new Date(at('2026-03-03T00:00:00').getTime() + Math.floor(random() * 13 * DAY)));
      const from = new Date(at('2026-02-28T12:00:00').getTime() + Math.floor(random() * 6 * DAY));
      const to = new Date(Math.min(from.getTime() + 3_600_000 + Math.floor(random() * 12 * DAY), t.clock.now().getTime()));
      if (from >= to) continue;
      const want = await fromRows(from, to);
      const res = await t.call('GET', `/api/v1/staff/hotline-stats?from=${encodeURIComponent(from.toISOString())}&to=${encodeURIComponent(to.toISOString())}`, { token });
      expect(res.status).toBe(200);
      expect({ from, to, calledBack: res.json.calledBack, median: res.json.medianTimeToCallbackSeconds }).toEqual({ from, to, calledBack: want.n, median: want.median });
      parities.add(want.n % 2);
      const [days] = await t.db.query<{ n: number }>('select count(*)::int as n from hotline_day where day >= $1 and day < $2', [from, to]);
      rolled += days!.n > 0 ? 1 : 0;
    }
    // Both an odd and an even count were met, and windows with rolled-up days.
    expect([...parities].sort()).toEqual([0, 1]);
    expect(rolled).toBeGreaterThan(5);
    // The counts are those of the rows: for each day, its values at most each edge.
    const bad = await t.db.query(
      `select h.day from hotline_day h
       where h.callback_below <> array(select (select count(*)::int from unnest(h.callback_seconds) s where s <= e) from unnest(hotline_seconds_edges()) with ordinality x(e, o) order by o)
          or h.callback_seconds <> array(select extract(epoch from done_at - created_at)::float8 as s from callback
                                         where state = 'done' and done_at is not null and created_at >= h.day and created_at < h.day + interval '1 day' order by s)`,
    );
    expect(bad).toEqual([]);
  });

  it('is null without a done call-back in the window', async () => {
    t.clock.set(at('2026-04-20T10:00:00'));
    const res = await t.call('GET', `/api/v1/staff/hotline-stats?from=${encodeURIComponent(at('2026-04-01T00:00:00').toISOString())}&to=${encodeURIComponent(at('2026-04-15T00:00:00').toISOString())}`, { token });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ calledBack: 0, medianTimeToCallbackSeconds: null });
  });
});
