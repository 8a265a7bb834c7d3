import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../src/app/db.ts';
import { createTestApp, onPglite, seedTree, type TestEnv, until } from './helpers.ts';

let t: TestEnv;
let token: string;
let clueId: string;

beforeAll(async () => {
  t = await createTestApp({ SLOW_REQUEST_LOG_MS: '2000' });
  const tree = await seedTree(t);
  token = (await t.staffMember('op', 'operator', tree.district.id)).token;
  const res = await t.call('POST', '/api/v1/staff/clues', {
    token,
    body: { channel: 'visit', categories: ['missed_enrolment'], narrative: '申请低保半年没有下文。', unitId: tree.streetA.id, accused: [] },
  });
  clueId = res.json.id;
});
afterAll(async () => {
  await t?.close();
});

// Lines about one route only: on a loaded machine a setup request may be slow too.
const lines = (msg: string, route = '/api/v1/staff/clues/:id/triage') =>
  t.logs.lines.map((l) => JSON.parse(l)).filter((l) => l.msg === msg && l.route === route);

describe('SLOW_REQUEST_LOG_MS', () => {
  it('a request held longer is logged with its route while it still runs, and again when it ends', async () => {
    // Someone else holds the clue (PostgreSQL: its row lock; PGlite: the one connection) for a while.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    let holding = false;
    const holder = t.deps.orm.em.fork().transactional(async (tx) => {
      await sql(tx, 'select id from clue where id = ? for update', [clueId]);
      holding = true;
      await gate;
    });
    await until(async () => holding, (h) => h, 5000);
    const triage = t.call('POST', `/api/v1/staff/clues/${clueId}/triage`, { token, body: { priority: 'major', majorReasons: ['media_exposure'] } });
    // Where it waits: on PostgreSQL in the triage handler (the row lock); on PGlite already in the
    // sign-in check, which needs the one connection too.
    const waitingAt = onPglite ? '/api/v1/staff/*' : '/api/v1/staff/clues/:id/triage';
    let running: Record<string, unknown>[];
    try {
      running = await until(async () => lines('request still running after SLOW_REQUEST_LOG_MS', waitingAt), (l) => l.length > 0, 10_000);
    } finally {
      release();
      await holder;
    }
    expect(running).toEqual([expect.objectContaining({ level: 40, method: 'POST', route: waitingAt, ms: 2000 })]);
    // The route, never the path: ids and tracking codes stay out of the log.
    expect(JSON.stringify(running)).not.toContain(clueId);
    expect((await triage).status).toBe(200);
    expect(lines('slow request')).toEqual([expect.objectContaining({ route: '/api/v1/staff/clues/:id/triage', status: 200, ms: expect.any(Number) })]);
    expect(lines('slow request')[0].ms).toBeGreaterThanOrEqual(2000);
  });

  it('a quick request logs nothing of the kind', async () => {
    const route = '/api/v1/staff/clues/:id';
    expect((await t.call('GET', `/api/v1/staff/clues/${clueId}`, { token })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 2500));
    expect([...lines('slow request', route), ...lines('request still running after SLOW_REQUEST_LOG_MS', route)]).toEqual([]);
  });
});
