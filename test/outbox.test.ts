import { type ChildProcess, spawn } from 'node:child_process';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../src/roots/worker.ts';
import { createTestApp, freePort, REDIS_URL, seedTree, type TestEnv, until } from './helpers.ts';



const body = (unitId: string) => ({
  channel: 'visit',
  categories: ['withholding_funds'],
  narrative: '村委会截留了我家三个月的低保金，至今没有发放。',
  unitId,
  accused: [{ name: '赵某', role: 'cadre', unitId }],
});

describe('transactional outbox with Redis down', () => {
  let t: TestEnv;
  let redis: ChildProcess | undefined;
  let port: number;

  beforeAll(async () => {
    port = await freePort();
    t = await createTestApp({ REDIS_URL: `redis://127.0.0.1:${port}` });
  });
  afterAll(async () => {
    await t.close();
    redis?.kill('SIGTERM');
  });

  it('registers (201) while Redis is unreachable, and the job reaches the queue exactly once after Redis is back', async () => {
    const tree = await seedTree(t);
    const { token } = await t.staffMember('op', 'operator', tree.district.id);
    const healthDown = await t.call('GET', '/healthz');
    expect(healthDown.status).toBe(503);
    expect(healthDown.json.checks).toEqual({ database: 'ok', redis: 'down', ledger: 'ok' });

    const res = await t.call('POST', '/api/v1/staff/clues', { token, body: body(tree.committeeA.id) });
    expect(res.status).toBe(201);
    const clueId = res.json.id as string;
    expect(await t.deps.relay.dispatchPending()).toBe(0);
    const [pending] = await t.db.query<{ attempts: number; job_id: string; queue: string; job_name: string; payload: unknown }>(
      'select attempts, job_id, queue, job_name, payload from outbox_message where payload->>$1 = $2',
      ['clueId', clueId],
    );
    expect(pending?.attempts).toBeGreaterThanOrEqual(1);

    redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    expect(await until(() => t.deps.queues.ping(), (ok) => ok)).toBe(true);

    // Two relays at once (two replicas) and a replay after "crashing" before the row was marked.
    const moved = await Promise.all([t.deps.relay.dispatchPending(), t.deps.relay.dispatchPending()]);
    expect(moved[0]! + moved[1]!).toBeGreaterThanOrEqual(1);
    // The row stays, dispatched, until a worker has done the job (no worker runs here).
    const [kept] = await t.db.query<{ dispatched: boolean }>('select dispatched_at is not null as dispatched from outbox_message where job_id = $1', [pending!.job_id]);
    expect(kept?.dispatched).toBe(true);
    await t.db.query('update outbox_message set dispatched_at = null where job_id = $1', [pending!.job_id]);
    expect(await t.deps.relay.dispatchPending()).toBe(1);

    const queue = new Queue('triage', { connection: { url: `redis://127.0.0.1:${port}` }, prefix: t.deps.queues.prefix });
    const counts = await queue.getJobCounts('waiting', 'delayed', 'active', 'completed', 'failed');
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    expect(total).toBe(1);
    const job = await queue.getJob(pending!.job_id);
    expect(job?.data).toEqual({ clueId });
    await queue.close();

    expect((await t.call('GET', '/healthz')).status).toBe(200);
  });
});

describe('jobs are processed by the workers', () => {
  let t: TestEnv;
  beforeAll(async () => {
    t = await createTestApp({ REDIS_URL, CHECKPOINT_INTERVAL_MS: '300' });
  });
  afterAll(() => t.close());

  it('the triage job runs once per clue, lists earlier clues about the same person, and several make it major', async () => {
    const stop = await startWorkers(t.deps);
    try {
      const tree = await seedTree(t);
      const { token } = await t.staffMember('op', 'operator', tree.district.id);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await t.call('POST', '/api/v1/staff/clues', { token, body: body(tree.committeeA.id) });
        expect(res.status).toBe(201);
        ids.push(res.json.id);
        // One at a time, so each triage sees the clues before it.
        await until(
          () => t.db.query('select 1 from ledger_event where clue_id = $1 and type = $2', [res.json.id, 'triage.checked']),
          (rows) => rows.length === 1,
        );
      }
      const third = await t.call('GET', `/api/v1/staff/clues/${ids[2]}`, { token });
      const triage = third.json.events.find((e: { type: string }) => e.type === 'triage.checked');
      expect(triage.actor).toBe('system:job:triage');
      expect(triage.data.possibleRepeats.map((r: { id: string }) => r.id).sort()).toEqual([ids[0], ids[1]].sort());
      expect(third.json.priority).toBe('major');
      expect(third.json.events.map((e: { type: string }) => e.type)).toContain('clue.priority_changed');

      // The checkpoint scheduler seals the ledger on its own.
      const [{ total, clueEvents }] = (await t.db.query<{ total: number; clueEvents: number }>(
        'select count(*)::int as total, (count(*) filter (where clue_id is not null))::int as "clueEvents" from ledger_event',
      )) as [{ total: number; clueEvents: number }];
      const sealed = await until(
        () => t.db.query<{ n: number }>('select coalesce(sum(event_count), 0)::int as n from ledger_checkpoint'),
        (rows) => (rows[0]?.n ?? 0) >= total,
      );
      // 3 registrations (each with its receipt-notice deadline), 3 triage checks, 1 priority change;
      // the rest are the system audit chain's (the test's units and accounts).
      expect(clueEvents).toBe(10);
      expect(sealed[0]!.n).toBe(total);

      // Running the same triage again changes nothing.
      expect(await t.deps.triage.checkNewClue(ids[2]!)).toEqual({ skipped: 'done' });
    } finally {
      await stop();
    }
  });
});
