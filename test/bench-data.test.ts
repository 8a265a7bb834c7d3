/**
 * The benchmark data set (bench/data) at a small size: built through the real migrations, the same
 * for the same seed, in time order on disk, with a ledger that verify-ledger accepts, and usable by
 * the app with the data set's keys. PostgreSQL only: the loader streams with COPY on several
 * connections at once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { TestClock } from '../src/app/clock.ts';
import { buildDataset, dropDatabase } from '../bench/data/build.ts';
import { ANCHOR, BENCH_PASSWORD } from '../bench/data/shape.ts';
import { datasetKeys } from '../bench/data/world.ts';
import { startFullApp } from '../bench/lib/setup.ts';
import { PG_ADMIN_URL, verifyLedgerCli } from './helpers.ts';

const CLUES = 400;
const urlOf = (name: string) => PG_ADMIN_URL.replace(/\/[^/]*$/, `/${name}`);
const suffix = `${process.pid}_${Date.now() % 1_000_000}`;
const first = urlOf(`t_benchdata_a_${suffix}`);
const second = urlOf(`t_benchdata_b_${suffix}`);
const other = urlOf(`t_benchdata_c_${suffix}`);

async function query<T extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** An order-independent digest of every table's rows (each row as text, sorted, hashed). */
async function digest(url: string) {
  const tables = await query<{ t: string }>(url, `select tablename as t from pg_tables where schemaname = 'public' and tablename <> 'mikro_orm_migrations' order by 1`);
  const out: Record<string, string> = {};
  for (const { t } of tables) {
    const [row] = await query<{ d: string | null; n: string }>(url, `select md5(string_agg(r, E'\\n' order by r)) as d, count(*)::text as n from (select t::text as r from "${t}" t) s`);
    out[t] = `${row!.n}:${row!.d}`;
  }
  return out;
}

let built: Awaited<ReturnType<typeof buildDataset>>;

beforeAll(async () => {
  built = await buildDataset(first, { clues: CLUES, seed: 7 });
}, 240_000);

afterAll(async () => {
  for (const url of [first, second, other]) await dropDatabase(url).catch(() => undefined);
}, 180_000);

describe('the benchmark data set', () => {
  it('is built through the migrations, with the lives the issue asks for', async () => {
    const migrations = await query<{ n: number }>(first, 'select count(*)::int as n from mikro_orm_migrations');
    expect(migrations[0]!.n).toBeGreaterThan(10);
    expect(await query(first, 'select count(*)::int as n from clue')).toEqual([{ n: CLUES }]);
    const units = await query<{ kind: string; n: number }>(first, 'select kind, count(*)::int as n from unit group by 1');
    expect(Object.fromEntries(units.map((u) => [u.kind, u.n]))).toMatchObject({ district: 1, street: 8, town: 4 });
    const roles = await query<{ role: string }>(first, 'select distinct role from staff order by 1');
    expect(roles.map((r) => r.role)).toEqual(['admin', 'caseworker', 'discipline_officer', 'operator', 'supervisor']);
    const status = Object.fromEntries((await query<{ status: string; n: number }>(first, 'select status, count(*)::int as n from clue group by 1')).map((r) => [r.status, r.n]));
    expect(status.closed! / CLUES).toBeGreaterThan(0.5);
    const channels = Object.fromEntries((await query<{ channel: string; n: number }>(first, 'select channel, count(*)::int as n from clue group by 1')).map((r) => [r.channel, r.n]));
    expect(channels.phone! / CLUES).toBeGreaterThan(0.25);
    expect(channels.web! / CLUES).toBeGreaterThan(0.18);
    const [named] = await query<{ named: number; sealed: number }>(first, 'select count(*) filter (where named)::int as named, (select count(*)::int from sealed_reporter) as sealed from clue');
    expect(named!.named).toBe(named!.sealed);
    expect(named!.named / CLUES).toBeGreaterThan(0.35);
    expect(named!.named / CLUES).toBeLessThan(0.65);
    const [deadlines] = await query<{ open: number; missed: number }>(
      first,
      `select count(*) filter (where closed_at is null and state <> 'missed')::int as open, count(*) filter (where closed_at is null and state = 'missed')::int as missed from deadline`,
    );
    expect(deadlines!.open).toBeGreaterThan(0);
    expect(deadlines!.missed).toBeGreaterThan(0);
    const [notices] = await query<{ unit: number; person: number; callback: number }>(
      first,
      `select count(*) filter (where staff_id is null and clue_id is not null)::int as unit, count(*) filter (where staff_id is not null)::int as person, count(*) filter (where callback_id is not null)::int as callback from staff_notice`,
    );
    expect(notices).toMatchObject({ unit: expect.any(Number), person: expect.any(Number), callback: expect.any(Number) });
    expect(Math.min(notices!.unit, notices!.person, notices!.callback)).toBeGreaterThan(0);
    for (const t of ['accused', 'verification_task', 'referral', 'message', 'call', 'callback', 'near_relative', 'attachment']) {
      expect((await query<{ n: number }>(first, `select count(*)::int as n from ${t}`))[0]!.n, t).toBeGreaterThan(0);
    }
    const [outcomes] = await query<{ n: number }>(first, `select count(*)::int as n from clue where outcome is not null and (outcome->>'householdsRemoved')::int > 0`);
    expect(outcomes!.n).toBeGreaterThan(0);
    expect(built.checkpoints).toBeGreaterThan(300);
  });

  it('has a ledger that verify-ledger accepts, checkpoints included', async () => {
    // Checked with the data set's own signing key, as the benchmark app is started with it.
    const { code, out } = await verifyLedgerCli(first, { env: { LEDGER_SIGNING_KEY: datasetKeys(7).LEDGER_SIGNING_KEY } });
    expect(out).toContain('ledger verified');
    expect(out).toContain('signatures checked with 1 key(s)');
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`clues ${CLUES}, quarantined mail 0, audit chains 1, events \\d+, checkpoints ${built.checkpoints}`));
  });

  it('keeps rows physically in the order the app writes them', async () => {
    // Ledger ids follow time; heap order (ctid) follows the insert time of each table.
    const [events] = await query<{ back: number }>(first, 'select count(*)::int as back from (select at < lag(at) over (order by id) as b from ledger_event) s where b');
    expect(events!.back).toBe(0);
    for (const [t, col] of [['clue', 'created_at'], ['deadline', 'created_at'], ['staff_notice', 'created_at'], ['message', 'created_at'], ['call', 'started_at']] as const) {
      const [r] = await query<{ back: number }>(first, `select count(*)::int as back from (select ${col} < lag(${col}) over (order by ctid) as b from ${t}) s where b`);
      expect(r!.back, t).toBe(0);
    }
  });

  it('gives clues time-ordered ids, as the app does (version 7, sorting as the clues arrived)', async () => {
    const [r] = await query<{ n: number; v7: number; back: number }>(
      first,
      `select count(*)::int as n, count(*) filter (where substr(id::text, 15, 1) = '7')::int as v7,
         count(*) filter (where b)::int as back from (select id, id < lag(id) over (order by received_at, created_at) as b from clue) s`,
    );
    expect(r!.n).toBe(CLUES);
    expect(r!.v7).toBe(CLUES);
    expect(r!.back).toBe(0);
  });

  it('is the same for the same seed, and different for another', async () => {
    await buildDataset(second, { clues: CLUES, seed: 7 });
    expect(await digest(second)).toEqual(await digest(first));
    await buildDataset(other, { clues: 150, seed: 8 });
    // Another seed: other clues (no id in common), other units and staff ids.
    const ids = async (url: string, t: string) => new Set((await query<{ id: string }>(url, `select id::text from ${t}`)).map((r) => r.id));
    for (const t of ['clue', 'unit', 'staff']) {
      const a = await ids(first, t);
      expect([...(await ids(other, t))].filter((id) => a.has(id)), t).toEqual([]);
    }
  }, 240_000);

  it('refuses a database that exists already', async () => {
    await expect(buildDataset(first, { clues: CLUES, seed: 7 })).rejects.toThrow(/already exists/);
  });

  it('serves the app started with its keys and clock: sign-in, lists, detail, a sealed reporter opens', async () => {
    const app = await startFullApp({ url: first }, { ...datasetKeys(7), MIGRATE_ON_START: 'false' }, { clock: new TestClock(ANCHOR) });
    try {
      const login = await fetch(`${app.url}/api/v1/staff/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'district.operator.1', password: BENCH_PASSWORD }) });
      expect(login.status).toBe(200);
      const { token } = (await login.json()) as { token: string };
      const auth = { authorization: `Bearer ${token}` };
      const list = (await (await fetch(`${app.url}/api/v1/staff/clues?limit=200`, { headers: auth })).json()) as { items: { id: string; named: boolean }[] };
      expect(list.items.length).toBe(200);
      const named = list.items.find((c) => c.named)!;
      const detail = await fetch(`${app.url}/api/v1/staff/clues/${named.id}`, { headers: auth });
      expect(detail.status).toBe(200);
      const reveal = await fetch(`${app.url}/api/v1/staff/clues/${named.id}/reporter/reveal`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ purpose: '核实需要' }) });
      const body = (await reveal.json()) as { name?: string; phone?: string; error?: { code: string } };
      // The box opens with the data set's key (an operator of the district may open it unless the accused are of its unit).
      if (reveal.status === 200) expect(body.phone).toMatch(/^13\d{9}$/);
      else expect(body.error?.code).toBe('clue.reporter_recusal');
      for (const path of ['/api/v1/staff/notices', '/api/v1/staff/deadlines?view=missed', '/api/v1/staff/callbacks', '/api/v1/staff/hotline-stats']) {
        expect((await fetch(`${app.url}${path}`, { headers: auth })).status, path).toBe(200);
      }
    } finally {
      await app.close();
    }
  });
});
