import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../src/roots/worker.ts';
import { jobIdFor } from '../src/modules/deadlines/deadlines.engine.ts';
import { createTestApp, REDIS_URL, seedTree, type TestEnv, until } from './helpers.ts';

let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
let stopWorkers: () => Promise<void>;
let queue: Queue;
let redis: Redis;
const tokens: Record<string, string> = {};

// Monday 2 March 2026, 10:00 in Shanghai: no holiday for weeks either side.
const T0 = '2026-03-02T02:00:00Z';

beforeAll(async () => {
  t = await createTestApp({ SESSION_TTL_HOURS: '100000', STAFF_IDLE_MINUTES: '10000000', DEADLINE_SYNC_MS: '100000', DEADLINE_RECONCILE_MS: '3600000', CHECKPOINT_INTERVAL_MS: '3600000' });
  t.clock.set(T0);
  tree = await seedTree(t);
  tokens.op = (await t.staffMember('op', 'operator', tree.district.id)).token;
  tokens.caseworker = (await t.staffMember('cw', 'caseworker', tree.streetA.id)).token;
  tokens.supervisor = (await t.staffMember('sup', 'supervisor', tree.district.id)).token;
  tokens.supA = (await t.staffMember('sup-a', 'supervisor', tree.streetA.id)).token;
  tokens.admin = (await t.staffMember('adm', 'admin', tree.district.id)).token;
  stopWorkers = await startWorkers(t.deps);
  queue = new Queue('deadlines', { connection: { url: REDIS_URL }, prefix: t.deps.queues.prefix });
  redis = new Redis(REDIS_URL);
});
afterAll(async () => {
  await stopWorkers?.();
  await queue?.close();
  redis?.disconnect();
  await t?.close();
});

async function register(named = false) {
  const res = await t.call('POST', '/api/v1/staff/clues', {
    token: tokens.op,
    body: {
      channel: 'letter',
      narrative: '村委会干部优亲厚友，把亲戚纳入低保。',
      unitId: tree.committeeA.id,
      ...(named ? { reporter: { name: '钱七', phone: '13600000000' } } : {}),
    },
  });
  expect(res.status).toBe(201);
  return res.json.id as string;
}

type Row = { id: string; kind: string; state: string; fire_seq: number; next_fire_at: Date | null; due_at: Date; escalation_level: number; closed_at: Date | null };
const deadlineOf = async (clueId: string, kind: string) =>
  (await t.db.query<Row>('select * from deadline where clue_id = $1 and kind = $2', [clueId, kind]))[0]!;


/** Moves the clock to the deadline's next step, lets the scheduler put its job in Redis, and fires it. */
async function fireNextStep(row: Row) {
  t.clock.set(row.next_fire_at!);
  await t.deps.deadlineScheduler.sync();
  await t.deps.deadlineScheduler.reconcile();
  const id = jobIdFor({ id: row.id, fireSeq: row.fire_seq, nextFireAt: row.next_fire_at });
  const job = await queue.getJob(id);
  if (job) {
    if ((await job.getState()) === 'delayed') await job.promote();
  } else {
    // The step is due now (no delay) and the workers run: its job may already have fired and been
    // removed — which only the job in Redis could have done, so the row has moved on.
    const now = await deadlineOf((row as any).clue_id, row.kind);
    expect(now.fire_seq, `job ${id} in Redis, or already run`).not.toBe(row.fire_seq);
  }
  return until(() => deadlineOf((row as any).clue_id, row.kind), (r) => r.fire_seq !== row.fire_seq);
}

const ledgerTypes = async (clueId: string) =>
  (await t.db.query<{ type: string; data: any }>('select type, data from ledger_event where clue_id = $1 order by seq', [clueId])).filter((e) =>
    e.type.startsWith('deadline.'),
  );

describe('a receipt-notice deadline', () => {
  it('reminds twice, is missed, then escalates one level and another, each step on the ledger', async () => {
    t.clock.set(T0);
    const clueId = await register();
    let row = await deadlineOf(clueId, 'receipt_notice');
    // 15 calendar days after 2 March is 17 March (Tue), end of day in Shanghai.
    expect(new Date(row.due_at).toISOString()).toBe('2026-03-17T15:59:59.999Z');
    const jobsOf = async (id: string) => (await queue.getJobs(['delayed', 'wait'])).filter((j) => j.id?.startsWith(`dl-${id}-`));
    expect(await jobsOf(row.id)).toEqual([]); // far outside the horizon

    row = await fireNextStep(row); // reminder 3 days before
    row = await fireNextStep(row); // reminder 1 day before
    expect(row.state).toBe('open');
    row = await fireNextStep(row); // due: missed
    expect(row.state).toBe('missed');
    row = await fireNextStep(row); // escalated to the street
    expect(row.escalation_level).toBe(1);
    row = await fireNextStep(row); // escalated to the district
    expect(row.escalation_level).toBe(2);
    expect(row.next_fire_at).toBeNull(); // the root: nowhere further to climb

    const steps = await ledgerTypes(clueId);
    expect(steps.map((e) => e.type)).toEqual([
      'deadline.started',
      'deadline.reminded',
      'deadline.reminded',
      'deadline.missed',
      'deadline.escalated',
      'deadline.escalated',
    ]);
    expect(steps.filter((e) => e.type === 'deadline.escalated').map((e) => e.data.unitId)).toEqual([tree.streetA.id, tree.district.id]);

    // Supervisors see the escalation; the street's supervisor sees what reached the street.
    const notices = await t.call('GET', '/api/v1/staff/notices', { token: tokens.supA });
    expect(notices.json.items.map((n: any) => n.kind)).toEqual(['escalated']);
    const missed = await t.call('GET', '/api/v1/staff/deadlines?view=missed', { token: tokens.supervisor });
    expect(missed.json.items.map((d: any) => d.id)).toContain(row.id);

    // Acting late closes it (as missed) and the ledger says so.
    const accept = await t.call('POST', `/api/v1/staff/clues/${clueId}/transitions`, { token: tokens.op, body: { action: 'accept' } });
    expect(accept.status).toBe(200);
    const closed = await deadlineOf(clueId, 'receipt_notice');
    expect(closed.state).toBe('missed');
    expect(closed.closed_at).not.toBeNull();
    expect((await ledgerTypes(clueId)).find((e) => e.type === 'deadline.met')?.data.late).toBe(true);
  });

  it('acting before due cancels the pending job', async () => {
    t.clock.set(T0);
    const clueId = await register();
    const row = await deadlineOf(clueId, 'receipt_notice');
    t.clock.set(new Date(new Date(row.next_fire_at!).getTime() - 3600_000)); // an hour before the first reminder
    await t.deps.deadlineScheduler.reconcile();
    const jobId = jobIdFor({ id: row.id, fireSeq: row.fire_seq, nextFireAt: row.next_fire_at });
    expect(await (await queue.getJob(jobId))?.getState()).toBe('delayed');
    await t.call('POST', `/api/v1/staff/clues/${clueId}/transitions`, { token: tokens.op, body: { action: 'accept' } });
    await t.deps.deadlineScheduler.sync();
    expect(await queue.getJob(jobId)).toBeUndefined();
    expect((await deadlineOf(clueId, 'receipt_notice')).state).toBe('met');
    expect((await deadlineOf(clueId, 'conclusion')).state).toBe('open');
  });
});

describe('Redis flushed', () => {
  it('after reconciliation every open deadline within the horizon is back exactly once, and nothing fires twice', async () => {
    t.clock.set(T0);
    const ids = [await register(), await register(), await register()];
    const rows = await Promise.all(ids.map((id) => deadlineOf(id, 'receipt_notice')));
    t.clock.set(new Date(new Date(rows[0]!.next_fire_at!).getTime() - 60_000));
    await t.deps.deadlineScheduler.reconcile();
    const jobIds = rows.map((r) => jobIdFor({ id: r.id, fireSeq: r.fire_seq, nextFireAt: r.next_fire_at }));
    for (const id of jobIds) expect(await queue.getJob(id)).toBeDefined();

    // Flush this test's queue keys (the Redis is shared with other test files).
    const keys = await redis.keys(`${t.deps.queues.prefix}:deadlines:*`);
    if (keys.length) await redis.del(...keys);
    for (const id of jobIds) expect(await queue.getJob(id)).toBeUndefined();

    const result = await t.deps.deadlineScheduler.reconcile();
    expect(result.inHorizon).toBeGreaterThanOrEqual(3);
    const delayed = (await queue.getJobs(['delayed'])).map((j) => j.id);
    for (const id of jobIds) expect(delayed.filter((d) => d === id)).toHaveLength(1);
    await t.deps.deadlineScheduler.reconcile(); // again: still once each
    expect((await queue.getJobs(['delayed'])).filter((j) => jobIds.includes(j.id!))).toHaveLength(3);

    // Fire them, then replay the very same jobs: the replay changes nothing.
    t.clock.set(rows[0]!.next_fire_at!);
    for (const id of jobIds) await (await queue.getJob(id))!.promote();
    await until(() => Promise.all(ids.map((id) => deadlineOf(id, 'receipt_notice'))), (rs) => rs.every((r) => r.fire_seq === rows[0]!.fire_seq + 1));
    const before = await Promise.all(ids.map(ledgerTypes));
    for (const [i, r] of rows.entries()) {
      const replay = await t.deps.deadlines.fireStep(r.id, r.fire_seq, new Date(r.next_fire_at!).toISOString());
      expect(replay, `replay ${i}`).toEqual({ fired: false, why: 'stale' });
    }
    expect(await Promise.all(ids.map(ledgerTypes))).toEqual(before);
    expect(before.every((events) => events.filter((e) => e.type === 'deadline.reminded').length === 1)).toBe(true);
  });

  it('reconcile pages through rows whose times carry microseconds (written by SQL, not the app) and adds each once', async () => {
    const clueId = await register();
    const soon = new Date(t.clock.now().getTime() + 60_000);
    // 7 rows, two sharing each time, every time with microseconds a JavaScript Date cannot hold
    const inserted = await t.db.query<{ id: string; next_fire_at: Date }>(
      `insert into deadline (id, clue_id, kind, unit_id, starts_at, due_at, original_due_at, policy, state, fire_seq, next_fire_at, created_at, sync_needed)
       select gen_random_uuid(), $1, 'conclusion', null, $2::timestamptz, t, t, '{}'::jsonb, 'open', 0, t, now(), false
       from (select $2::timestamptz + ((g / 2) || ' seconds')::interval + interval '0.000437 seconds' as t from generate_series(1, 7) g) s
       returning id, next_fire_at`,
      [clueId, soon],
    );
    const result = await Promise.race([
      t.deps.deadlineScheduler.reconcile(2),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error('reconcile did not finish')), 10_000)),
    ]);
    expect(result.inHorizon).toBeGreaterThanOrEqual(7);
    const delayed = (await queue.getJobs(['delayed'])).map((j) => j.data.deadlineId as string);
    for (const row of inserted) expect(delayed.filter((d) => d === row.id), row.id).toHaveLength(1);
    await t.db.query(`update deadline set state = 'cancelled', closed_at = now(), next_fire_at = null where id = any($1::uuid[])`, [inserted.map((r) => r.id)]);
  });

  it('Redis holds nothing for 100 000 deadlines far in the future', async () => {
    const clueId = await register();
    const keysBefore = (await redis.keys(`${t.deps.queues.prefix}:deadlines:*`)).length;
    const countsBefore = await queue.getJobCounts('delayed', 'wait');
    const memBefore = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    await t.db.query(
      `insert into deadline (id, clue_id, kind, unit_id, starts_at, due_at, original_due_at, policy, state, fire_seq, next_fire_at, created_at)
       select gen_random_uuid(), $1, 'conclusion', null, now(), now() + (g || ' minutes')::interval + interval '200 days',
              now() + interval '200 days', '{}'::jsonb, 'open', 0, now() + (g || ' minutes')::interval + interval '200 days', now()
       from generate_series(1, 100000) g`,
      [clueId],
    );
    const result = await t.deps.deadlineScheduler.reconcile();
    expect(result.readded).toBe(0);
    expect(await queue.getJobCounts('delayed', 'wait')).toEqual(countsBefore);
    expect((await redis.keys(`${t.deps.queues.prefix}:deadlines:*`)).length).toBe(keysBefore);
    const memAfter = Number(/used_memory:(\d+)/.exec(await redis.info('memory'))![1]);
    // Other test files share this Redis, so allow their noise; 100 000 jobs would be hundreds of MB.
    expect(memAfter - memBefore).toBeLessThan(20 * 1024 * 1024);
    await t.db.query(`delete from deadline where clue_id = $1 and kind = 'conclusion'`, [clueId]);
  });
});

describe('policy and extensions', () => {
  it('a policy change affects only deadlines created after it', async () => {
    t.clock.set(T0);
    const before = await register();
    const policy = (await t.call('GET', '/api/v1/staff/deadline-policy', { token: tokens.admin })).json;
    policy.version = 'test: receipt notice in 20 days';
    policy.kinds.find((k: any) => k.kind === 'receipt_notice').duration = 'P20D';
    expect((await t.call('PUT', '/api/v1/staff/deadline-policy', { token: tokens.op, body: policy })).status).toBe(403);
    expect((await t.call('PUT', '/api/v1/staff/deadline-policy', { token: tokens.admin, body: { ...policy, kinds: [] } })).json.error.code).toBe('deadline.invalid_policy');
    expect((await t.call('PUT', '/api/v1/staff/deadline-policy', { token: tokens.admin, body: policy })).status).toBe(200);
    const after = await register();
    expect(new Date((await deadlineOf(before, 'receipt_notice')).due_at).toISOString()).toBe('2026-03-17T15:59:59.999Z');
    // 20 days after 2 March is 22 March, a Sunday: the period runs to Monday 23 March.
    expect(new Date((await deadlineOf(after, 'receipt_notice')).due_at).toISOString()).toBe('2026-03-23T15:59:59.999Z');
    const started = (await ledgerTypes(after)).find((e) => e.type === 'deadline.started');
    expect(started!.data.policyVersion).toBe('test: receipt notice in 20 days');
    policy.version = 'test: back to 15 days';
    policy.kinds.find((k: any) => k.kind === 'receipt_notice').duration = 'P15D';
    await t.call('PUT', '/api/v1/staff/deadline-policy', { token: tokens.admin, body: policy });
  });

  it('an extension needs a supervisor, is allowed once, gives an exact new date and tells the reporter', async () => {
    t.clock.set(T0);
    const clueId = await register(true);
    await t.call('POST', `/api/v1/staff/clues/${clueId}/transitions`, { token: tokens.op, body: { action: 'accept' } });
    const row = await deadlineOf(clueId, 'conclusion');
    // 60 days after 2 March is 1 May, a Labour Day holiday (1–5 May): the period runs to 6 May.
    expect(new Date(row.due_at).toISOString()).toBe('2026-05-06T15:59:59.999Z');

    const noApproval = await t.call('POST', `/api/v1/staff/deadlines/${row.id}/extend`, { token: tokens.caseworker, body: { reason: '需要补充调查' } });
    expect(noApproval.status).toBe(403);
    expect(noApproval.json.error.code).toBe('deadline.approval_required');
    const noReason = await t.call('POST', `/api/v1/staff/deadlines/${row.id}/extend`, { token: tokens.supervisor, body: {} });
    expect(noReason.status).toBe(400);

    const ok = await t.call('POST', `/api/v1/staff/deadlines/${row.id}/extend`, { token: tokens.supervisor, body: { reason: '涉及多户家庭，需入户核查' } });
    expect(ok.status).toBe(200);
    // 30 more calendar days from 6 May: 5 June (Fri).
    expect(ok.json.dueAt).toBe('2026-06-05T15:59:59.999Z');
    expect(ok.json.state).toBe('extended');
    const again = await t.call('POST', `/api/v1/staff/deadlines/${row.id}/extend`, { token: tokens.supervisor, body: { reason: '再延一次' } });
    expect(again.status).toBe(409);
    expect(again.json.error.code).toBe('deadline.extension_not_allowed');

    const extended = (await ledgerTypes(clueId)).find((e) => e.type === 'deadline.extended');
    expect(extended!.data).toMatchObject({ previousDue: '2026-05-06T15:59:59.999Z', newDue: '2026-06-05T15:59:59.999Z', reason: '涉及多户家庭，需入户核查' });
    const thread = await t.call('GET', `/api/v1/staff/clues/${clueId}/messages`, { token: tokens.op });
    expect(thread.json.items.at(-1).body).toContain('延长至');
  });

  it('a paused clock is recorded with a reason and moves the due date by the paused time', async () => {
    t.clock.set(T0);
    const clueId = await register();
    await t.call('POST', `/api/v1/staff/clues/${clueId}/transitions`, { token: tokens.op, body: { action: 'accept' } });
    const row = await deadlineOf(clueId, 'conclusion');
    const receipt = await deadlineOf(clueId, 'receipt_notice');
    expect((await t.call('POST', `/api/v1/staff/deadlines/${receipt.id}/pause`, { token: tokens.op, body: { reason: 'x x' } })).status).toBe(409);
    expect((await t.call('POST', `/api/v1/staff/deadlines/${row.id}/pause`, { token: tokens.op, body: { reason: '等待举报人补充材料' } })).status).toBe(200);
    t.clock.advanceBy(3 * 86400_000);
    const resumed = await t.call('POST', `/api/v1/staff/deadlines/${row.id}/resume`, { token: tokens.op });
    expect(resumed.status).toBe(200);
    expect(new Date(resumed.json.dueAt).getTime() - new Date(row.due_at).getTime()).toBe(3 * 86400_000);
    const types = (await ledgerTypes(clueId)).map((e) => e.type);
    expect(types).toContain('deadline.paused');
    expect(types).toContain('deadline.resumed');
  });
});

describe('views', () => {
  it('the reporter’s follow-up shows the dates that apply; staff list what is due soon', async () => {
    t.clock.set(T0);
    const res = await t.call('POST', '/api/v1/reports', { body: { narrative: '社区干部的亲戚违规领取低保。', unitId: tree.committeeA.id } });
    const view = await t.call('GET', `/api/v1/reports/${res.json.trackingCode}`, { headers: { 'x-report-secret': res.json.secret } });
    expect(view.json.deadlines).toEqual([
      expect.objectContaining({ kind: 'receipt_notice', zh: '告知是否受理', due: '2026-03-17T15:59:59.999Z', met: false }),
    ]);
    const soon = await t.call('GET', '/api/v1/staff/deadlines?view=due_soon&withinHours=400', { token: tokens.op });
    expect(soon.status).toBe(200);
    expect(soon.json.items.length).toBeGreaterThan(0);
    expect(soon.json.items.every((d: any) => new Date(d.dueAt).getTime() < new Date(T0).getTime() + 400 * 3600_000)).toBe(true);
    const otherStreet = await t.call('GET', '/api/v1/staff/deadlines?view=due_soon&withinHours=400', {
      token: (await t.staffMember('op-b', 'operator', tree.streetB.id)).token,
    });
    expect(otherStreet.json.items).toEqual([]);
  });
});

describe('Redis flushed under a running worker', () => {
  it('the worker notices its schedulers are gone, puts them back and reconciles: the deadline job returns without a restart', async () => {
    const own = await createTestApp({ SESSION_TTL_HOURS: '100000', STAFF_IDLE_MINUTES: '10000000', DEADLINE_SYNC_MS: '100000', SCHEDULER_CHECK_MS: '200' });
    const stop = await startWorkers(own.deps);
    const q = new Queue('deadlines', { connection: { url: REDIS_URL }, prefix: own.deps.queues.prefix });
    try {
      own.clock.set(T0);
      const units = await seedTree(own);
      const { token } = await own.staffMember('op', 'operator', units.district.id);
      const res = await own.call('POST', '/api/v1/staff/clues', {
        token,
        body: { channel: 'letter', narrative: '村干部优亲厚友。', unitId: units.committeeA.id },
      });
      expect(res.status).toBe(201);
      const [row] = await own.db.query<Row>(`select * from deadline where clue_id = $1 and kind = 'receipt_notice'`, [res.json.id]);
      // Just before its first step: within the horizon, so Redis must hold its job.
      own.clock.set(new Date(new Date(row!.next_fire_at!).getTime() - 60_000));
      await own.deps.deadlineScheduler.reconcile();
      const jobId = jobIdFor({ id: row!.id, fireSeq: row!.fire_seq, nextFireAt: row!.next_fire_at });
      expect(await q.getJob(jobId)).toBeDefined();
      expect(await q.getJobScheduler('deadline-reconcile')).toBeDefined();

      const keys = await redis.keys(`${own.deps.queues.prefix}:*`);
      await redis.del(...keys);
      expect(await q.getJobScheduler('deadline-reconcile')).toBeUndefined();

      const back = await until(
        async () => ({ scheduler: await q.getJobScheduler('deadline-reconcile'), job: await q.getJob(jobId) }),
        (v) => !!v.scheduler && !!v.job,
        10_000,
      );
      expect(back.scheduler).toBeDefined();
      expect(back.job?.data).toMatchObject({ deadlineId: row!.id, seq: row!.fire_seq });
      expect(own.logs.text()).toContain('job schedulers missing from Redis');
    } finally {
      await q.close();
      await stop();
      await own.close();
    }
  });
});
