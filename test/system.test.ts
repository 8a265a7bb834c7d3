import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../src/app/db.ts';
import { createTestApp, onPglite, seedTree, type TestEnv } from './helpers.ts';

let t: TestEnv;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t.close());

describe('system endpoints', () => {
  it('/healthz answers ok when PostgreSQL and Redis answer', async () => {
    await t.deps.queues.waitUntilReady(3000);
    const res = await t.call('GET', '/healthz');
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: 'ok', checks: { database: 'ok', redis: 'ok', ledger: 'ok' } });
  });

  it.skipIf(onPglite)("runs the app's statements without parallel query (a worker per request costs more than it saves)", async () => {
    const rows = await sql(t.deps.orm.em.fork(), 'show max_parallel_workers_per_gather');
    expect(rows).toEqual([{ max_parallel_workers_per_gather: '0' }]);
  });

  it('/openapi.json documents every staff JSON endpoint with its body schema', async () => {
    const res = await t.call('GET', '/openapi.json');
    expect(res.status).toBe(200);
    const paths = res.json.paths as Record<string, Record<string, any>>;
    for (const [path, method] of [
      ['/api/v1/staff/login', 'post'],
      ['/api/v1/staff/clues', 'post'],
      ['/api/v1/staff/clues', 'get'],
      ['/api/v1/staff/clues/{id}', 'get'],
      ['/api/v1/staff/clues/{id}/transitions', 'post'],
      ['/api/v1/staff/clues/{id}/reporter/reveal', 'post'],
      ['/api/v1/staff/units', 'post'],
      ['/api/v1/staff/users', 'post'],
      ['/healthz', 'get'],
    ] as const) {
      expect(paths[path]?.[method], `${method} ${path}`).toBeDefined();
    }
    const register = paths['/api/v1/staff/clues']!.post.requestBody.content['application/json'].schema;
    expect(register.required).toEqual(expect.arrayContaining(['channel', 'narrative']));
    expect(register.properties.channel.enum).toContain('letter');
    const list = paths['/api/v1/staff/clues']!.get.parameters.map((p: { name: string }) => p.name);
    expect(list).toEqual(expect.arrayContaining(['status', 'unitId', 'limit', 'cursor']));
  });

  it('/metrics is Prometheus text that counts registrations and requests', async () => {
    const tree = await seedTree(t);
    const { token } = await t.staffMember('op', 'operator', tree.district.id);
    const res = await t.call('POST', '/api/v1/staff/clues', {
      token,
      body: { channel: 'letter', narrative: '来信反映低保资金发放不规范。', unitId: tree.streetA.id },
    });
    expect(res.status).toBe(201);
    // Per-channel counts are published by the hour (README "Account security and limits").
    t.clock.advanceBy(3600_000);
    const metrics = await t.app.request('/metrics');
    expect(metrics.headers.get('content-type')).toContain('text/plain');
    const text = await metrics.text();
    expect(text).toMatch(/clues_registered_total\{channel="letter"\} 1/);
    expect(text).toMatch(/http_requests_total\{method="POST",route="\/api\/v1\/staff\/clues",status="201"\} 1/);
    expect(text).toMatch(/outbox_pending \d+/);
  });

  it('lists with filters and a cursor, newest first', async () => {
    const district = (await t.deps.staff.listUnits()).find((u) => u.kind === 'district')!;
    const { token } = await t.staffMember('adm', 'admin', district.id);
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      t.clock.advanceBy(60_000);
      const r = await t.call('POST', '/api/v1/staff/clues', {
        token,
        body: { channel: 'visit', categories: i % 2 ? ['embezzlement'] : ['other'], narrative: `第${i}次来访反映问题。` },
      });
      made.push(r.json.id);
    }
    const page1 = await t.call('GET', '/api/v1/staff/clues?channel=visit&limit=2', { token });
    expect(page1.json.items.map((c: { id: string }) => c.id)).toEqual([made[4], made[3]]);
    const page2 = await t.call('GET', `/api/v1/staff/clues?channel=visit&limit=2&cursor=${page1.json.nextCursor}`, { token });
    expect(page2.json.items.map((c: { id: string }) => c.id)).toEqual([made[2], made[1]]);
    const embezzlement = await t.call('GET', '/api/v1/staff/clues?channel=visit&category=embezzlement', { token });
    expect(embezzlement.json.items.map((c: { id: string }) => c.id).sort()).toEqual([made[1], made[3]].sort());
    const bad = await t.call('GET', '/api/v1/staff/clues?status=lost', { token });
    expect(bad.status).toBe(400);
  });
});

describe('migrations', () => {
  it('build exactly the schema the entities describe', async () => {
    const diff = await t.deps.orm.schema.getUpdateSchemaSQL({ wrap: false, safe: false });
    // What the migrations add on purpose beyond the entity metadata: the ledger's transaction-id
    // column and index, and indexes for hot queries (partial, descending or covering ones the
    // entity metadata cannot say).
    // The append-only triggers are the migration's too (MikroORM would name their function itself).
    const intended = [
      /"ledger_event_txid_index"/,
      /"txid"/,
      /"clue_received_at_index"/,
      /"deadline_next_fire_index"|"deadline_sync_index"|"deadline_open_due_index"|"deadline_pending_due_index"|"deadline_missed_due_index"/,
      /"staff_notice_unit_created_index"|"staff_notice_unit_role_created_index"|"staff_notice_staff_created_index"/,
      /"callback_open_due_index"|"callback_created_index"|"clue_status_received_index"/,
      /"clue_open_received_index"|"deadline_clue_kind_index"/,
      /"outbox_message_undispatched_index"/,
      // An expression index (the excluded set's staff-name match) the entities cannot describe.
      /"staff_name_key_index"/,
      /trigger if exists "ledger_event_append_only"/,
      /function if exists "ledger_event_ledger_event_append_only_fn"/,
      // The hotline figures' roll-up is dropped by triggers when a counted call or call-back changes late.
      /trigger if exists "hotline_day_(call|callback)_(late|deleted)"/,
      /function if exists "(call|callback)_hotline_day_(call|callback)_(late|deleted)_fn"/,
      // PL/pgSQL functions whose plans are kept per connection: the registration's excluded set and the session read.
      /function if exists "(clue_exclusions_named|staff_session_principal)"/,
      // The outbox relay's pending read: a plain scan of the pending index (bitmap scans off).
      /function if exists "outbox_pending"/,
      // The hotline figures' read (plan kept per connection) and the median's fixed edges.
      /function if exists "(hotline_stats_read|hotline_seconds_edges)"/,
      // Sessions, accounts and units notify the serve processes' principal caches when they change.
      /trigger if exists "(staff_session|staff|unit)_principal_(changed|deleted)"/,
      /function if exists "(staff_session|staff|unit)_(staff_session|staff|unit)_principal_(changed|deleted)_fn"/,
    ];
    const unexpected = diff
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !intended.some((re) => re.test(l)));
    expect(unexpected).toEqual([]);
  });
});
