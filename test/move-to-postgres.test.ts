import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/app/config.ts';
import { sql } from '../src/app/db.ts';
import { createDependencies, type Dependencies } from '../src/roots/dependencies.ts';
import { createServer } from '../src/roots/server.ts';
import { verifyLedger } from '../src/modules/clues/ledger.verify.ts';
import { createPostgresDatabase, REDIS_URL, type TestDatabase, until, verifyLedgerCli } from './helpers.ts';
import { npmCommand } from './npm-start.ts';

// The source is always the embedded database (what `npm start` made); the target a real
// PostgreSQL database, on either leg.
const dataDir = mkdtempSync(join(tmpdir(), 'dibao-move-'));
const base = { NODE_ENV: 'development', DATA_DIR: dataDir, REDIS_URL, QUEUE_PREFIX: `test-${randomUUID()}`, LOG_LEVEL: 'silent', SMTP_ENABLED: 'false' };
const PDF = Buffer.from('%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n');
const REPORTER = { name: '孙丽华', phone: '13700001111' };
let target: TestDatabase | undefined;
const open: Dependencies[] = [];

afterAll(async () => {
  for (const d of open) await d.close().catch(() => undefined);
  await target?.drop();
});

async function app(env: Record<string, string>) {
  const deps = await createDependencies(loadConfig({ ...base, ...env }));
  open.push(deps);
  const server = createServer(deps);
  const call = async (method: string, path: string, token?: string, body?: unknown) => {
    const res = await server.request(path, { method, headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: body ? JSON.stringify(body) : undefined });
    return { status: res.status, json: (await res.json().catch(() => null)) as any };
  };
  return { deps, server, call };
}

describe('moving from the embedded database to PostgreSQL', () => {
  it('carries rows, sealed reporters, attachments and checkpoints; verify-ledger passes on the copy and after new events there', { timeout: 240_000 }, async () => {
    target = await createPostgresDatabase();
    // --- On PGlite, as `npm start` left it: an admin, a unit, a named report with a file, a checkpoint, an event after it.
    const src = await app({});
    await src.deps.staff.seedAdmin({ username: 'admin', password: 'first-admin-password' });
    const token = (await src.call('POST', '/api/v1/staff/login', undefined, { username: 'admin', password: 'first-admin-password' })).json.token;
    const [district] = await src.deps.staff.listUnits();
    await src.deps.staff.seedStaff({ username: 'op', displayName: '接线员', password: 'operator-password', role: 'operator', unitId: district!.id });
    const clue = await src.call('POST', '/api/v1/staff/clues', token, { channel: 'letter', categories: ['false_claim'], narrative: '有人冒领去世老人的低保金，已经两年了。', reporter: REPORTER, accused: [] });
    expect(clue.status).toBe(201);
    const form = new FormData();
    form.set('report', JSON.stringify({ narrative: '附上村里公示的名单，请核查。' }));
    form.append('files', new Blob([new Uint8Array(PDF)]), '公示名单.pdf');
    const web = await src.server.request('/api/v1/reports', { method: 'POST', body: form });
    expect(web.status).toBe(201);
    // The source's transaction ids ahead of the target's, as when the new server's counter starts lower: the
    // checkpoint's upper bound and the event after it are beyond the target's ids (without the move's advance,
    // events written on the target would fall below the last seal, and no checkpoint would ever take them).
    const [targetXid] = await target.query<{ x: string }>('select pg_current_xact_id()::text as x');
    const [sourceXid] = await sql<{ x: string }>(src.deps.orm.em.fork(), 'select pg_current_xact_id()::text as x');
    // A margin: other databases on a shared server use up transaction ids meanwhile.
    const ahead = Number(targetXid!.x) - Number(sourceXid!.x) + 100_000;
    if (ahead > 0) await sql(src.deps.orm.em.fork(), `do $$ begin for i in 1..${ahead} loop perform pg_current_xact_id(); commit; end loop; end $$`);
    expect(await src.deps.sealCheckpoint()).not.toBeNull();
    expect((await src.call('POST', `/api/v1/staff/clues/${clue.json.id}/transitions`, token, { action: 'accept' })).status).toBe(200);
    const [before] = await sql<{ clues: number; events: number }>(src.deps.orm.em.fork(), 'select (select count(*)::int from clue) as clues, (select count(*)::int from ledger_event) as events');
    open.splice(open.indexOf(src.deps), 1);
    await src.deps.close();

    // --- The move, as the README says to run it (the source's folder must not be in use).
    const toDataDir = mkdtempSync(join(tmpdir(), 'dibao-moved-'));
    const moved = await npmCommand({ ...process.env, ...base, DATABASE_URL: '', TEST_DATABASE: '' } as Record<string, string>, 'move-to-postgres', target.url, '--data-dir', toDataDir);
    expect(moved.out).toContain('ledger verified on the copy');
    expect(moved.out).toMatch(/PostgreSQL 18\.\d+ \(PGlite\) → \d+/);
    // Normally the target is still behind and the move advances it; a server busy with other databases
    // may have overtaken the source meanwhile (then nothing needs advancing): the checks below hold either way.
    if (!moved.out.includes("advancing the target's transaction ids")) console.warn('move test: the target had already passed the source; no advance was needed');
    expect(moved.code, moved.out).toBe(0);
    expect(existsSync(join(toDataDir, 'keys.json'))).toBe(true);
    expect(readFileSync(join(toDataDir, 'keys.json'), 'utf8')).toBe(readFileSync(join(dataDir, 'keys.json'), 'utf8'));
    expect((await verifyLedgerCli(target.url)).out).toContain('ledger verified');

    // --- The app on PostgreSQL with the new data folder: everything is there and opens.
    const dst = await app({ DATABASE_URL: target.url, DATA_DIR: toDataDir });
    const [after] = await target.query<{ clues: number; events: number }>('select (select count(*)::int from clue) as clues, (select count(*)::int from ledger_event) as events');
    expect(after).toEqual(before);
    const token2 = (await dst.call('POST', '/api/v1/staff/login', undefined, { username: 'admin', password: 'first-admin-password' })).json.token;
    // The sealed reporter opens with the carried keys (operators may open it).
    const op = (await dst.call('POST', '/api/v1/staff/login', undefined, { username: 'op', password: 'operator-password' })).json.token;
    const revealed = await dst.call('POST', `/api/v1/staff/clues/${clue.json.id}/reporter/reveal`, op, { purpose: '迁移后核对' });
    expect(revealed.json).toMatchObject(REPORTER);
    const [att] = await target.query<{ storage_key: string; sha256: string }>('select storage_key, sha256 from attachment');
    expect(existsSync(join(toDataDir, 'attachments', att!.storage_key))).toBe(true);

    // New events after the move are sealed by the next checkpoint, with the one left unsealed on PGlite.
    expect((await dst.call('POST', `/api/v1/staff/clues/${clue.json.id}/triage`, token2, { priority: 'major', majorReasons: ['media_exposure'] })).status).toBe(200);
    // No event below the last seal outside every sealed range: each one is sealed or will be (without
    // the move's advance, the events written here would sit below the copied seals for good).
    const lost = await target.query<{ id: string }>(
      `select e.id from ledger_event e where e.txid < (select max(to_xid) from ledger_checkpoint)
          and not exists (select 1 from ledger_checkpoint c where e.txid >= c.from_xid and e.txid < c.to_xid)`,
    );
    expect(lost).toEqual([]);
    // And the next checkpoint takes them. (Its upper bound is the oldest transaction running anywhere on
    // the server: on a shared server another database's long transaction can hold it back for minutes.)
    const unsealed = async () => (await target!.query<{ n: number }>('select count(*)::int as n from ledger_event where txid >= (select max(to_xid) from ledger_checkpoint)'))[0]!.n;
    const left = await until(async () => (await dst.deps.sealCheckpoint(), await unsealed()), (n) => n === 0, 30_000);
    const [held] = await target.query<{ held: boolean }>(
      'select pg_snapshot_xmin(pg_current_snapshot()) <= (select max(txid) from ledger_event) as held',
    );
    if (left > 0 && held!.held) console.warn('move test: sealing after the move not checked, the server\'s oldest transaction (another database) holds the seal back');
    else expect(left).toBe(0);
    expect((await verifyLedger(dst.deps.orm)).ok).toBe(true);
    expect((await verifyLedgerCli(target.url)).out).toContain('ledger verified');

    // A second move into a database that now has rows is refused.
    const again = await npmCommand({ ...process.env, ...base, DATABASE_URL: '', TEST_DATABASE: '' } as Record<string, string>, 'move-to-postgres', target.url);
    expect(again.code).toBe(1);
    expect(again.out).toContain('the target database is not empty');
  });
});
