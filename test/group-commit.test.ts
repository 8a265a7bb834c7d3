import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGroupCommit } from '../src/app/group-commit.ts';
import { verifyLedger } from '../src/modules/clues/ledger.verify.ts';
import { createTestApp, seedTree, type TestEnv } from './helpers.ts';

let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;

beforeAll(async () => {
  t = await createTestApp();
  tree = await seedTree(t);
});
afterAll(() => t.close());

const input = (unitId: string, narrative: string, intakeKey?: string) => ({
  channel: 'letter' as const,
  categories: ['favor_enrolment' as const],
  narrative,
  unitId,
  accused: [{ name: '王某', role: 'cadre' as const, unitId }],
  reporter: { name: '李四', phone: '13800000000' },
  intakeKey,
});

describe('registrations are committed in groups', () => {
  it('concurrent registrations share statements; each is whole, verifies, and answers only after its commit', async () => {
    const before = t.deps.clues.registrationStats();
    const results = await Promise.all(
      Array.from({ length: 60 }, (_, i) => t.deps.clues.registerClue('system:test', input(tree.committeeA.id, `第${i}号：村干部优亲厚友。`))),
    );
    const after = t.deps.clues.registrationStats();
    // 60 callers, a pool of 5 and one batch in flight: most waited and went out together.
    expect(after.items - before.items).toBe(60);
    expect(after.batches - before.batches).toBeLessThan(60);
    expect(after.largestBatch).toBeGreaterThan(1);

    const ids = results.map((r) => r.clue.id);
    const rows = await t.db.query<{ id: string; events: number; accused: number; reporters: number; deadlines: number }>(
      `select c.id,
              (select count(*)::int from ledger_event e where e.clue_id = c.id) as events,
              (select count(*)::int from accused a where a.clue_id = c.id) as accused,
              (select count(*)::int from sealed_reporter r where r.clue_id = c.id) as reporters,
              (select count(*)::int from deadline d where d.clue_id = c.id) as deadlines
         from clue c where c.id = any($1::uuid[])`,
      [ids],
    );
    expect(rows).toHaveLength(60);
    for (const r of rows) {
      expect(r.accused).toBe(1);
      expect(r.reporters).toBe(1);
      expect(r.deadlines).toBeGreaterThanOrEqual(1);
      expect(r.events).toBe(1 + r.deadlines);
    }
    expect(new Set(results.map((r) => r.trackingCode)).size).toBe(60);
    // each one's outbox row became its triage job
    await t.deps.relay.dispatchPending();
    const triage = t.deps.queues.get('triage');
    const jobs = await Promise.all(ids.map((id) => triage.getJob(`triage-${id}`)));
    expect(jobs.filter((j) => j?.data.clueId)).toHaveLength(60);
    expect((await verifyLedger(t.deps.orm)).ok).toBe(true);
  });

  it('one bad registration in a group fails alone: the others are written, the bad one gets its own coded error', async () => {
    const before = t.deps.clues.registrationStats();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 30 }, (_, i) =>
        t.deps.clues.registerClue('system:test', input(i === 7 ? randomUUID() : tree.committeeB.id, `第${i}号：错保漏保。`)),
      ),
    );
    const failed = outcomes.filter((o) => o.status === 'rejected');
    expect(failed).toHaveLength(1);
    expect((failed[0] as PromiseRejectedResult).reason).toMatchObject({ code: 'clue.unknown_unit' });
    const ok = outcomes.flatMap((o) => (o.status === 'fulfilled' ? [o.value.clue.id] : []));
    expect(ok).toHaveLength(29);
    const [written] = await t.db.query<{ n: number }>('select count(*)::int as n from clue where id = any($1::uuid[])', [ok]);
    expect(written?.n).toBe(29);
    // the group holding the bad one was retried item by item
    expect(t.deps.clues.registrationStats().retriedAlone).toBeGreaterThan(before.retriedAlone);
  });

  it('the same delivery arriving twice in one group is one clue', async () => {
    const key = `test:${randomUUID()}`;
    const [a, b] = await Promise.all([
      t.deps.clues.registerClue('email', input(tree.committeeA.id, '同一封邮件投递两次。', key)),
      t.deps.clues.registerClue('email', input(tree.committeeA.id, '同一封邮件投递两次。', key)),
    ]);
    expect(a.clue.id).toBe(b.clue.id);
    expect([a.duplicate, b.duplicate].sort()).toEqual([false, true]);
    const [keys] = await t.db.query<{ n: number }>('select count(*)::int as n from intake_key where key = $1', [key]);
    expect(keys?.n).toBe(1);
  });
});

describe('createGroupCommit', () => {
  it('never has more batches in flight than allowed, batches what waited, and keeps callers apart on failure', async () => {
    let inFlight = 0;
    let maxSeen = 0;
    const sizes: number[] = [];
    const gc = createGroupCommit<number>({
      maxBatch: 4,
      maxInFlight: 2,
      write: async (items) => {
        inFlight++;
        maxSeen = Math.max(maxSeen, inFlight);
        sizes.push(items.length);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        if (items.includes(13)) throw new Error('bad item 13');
      },
    });
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => gc.submit(i)));
    expect(maxSeen).toBe(2);
    expect(Math.max(...sizes)).toBe(4);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => String((o as PromiseRejectedResult).reason))).toEqual(['Error: bad item 13']);
    expect(gc.stats().retriedAlone).toBe(4);
  });
});
