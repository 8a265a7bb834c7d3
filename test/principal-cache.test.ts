import { createHash } from 'node:crypto';
import { appendAuditEvent } from '../src/modules/clues/ledger.ts';
import { recomputeForStaff } from '../src/modules/visibility/visibility.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from '../src/app/db.ts';
import { noticeFeed, type NoticeFeed } from '../src/app/db-notices.ts';
import { createServer } from '../src/roots/server.ts';
import { createPrincipalCache, STAFF_PRINCIPAL_CHANNEL } from '../src/modules/staff/principal-cache.ts';
import { createStaffUseCases } from '../src/modules/staff/staff.usecases.ts';
import { appRequest as req, createTestApp, onPglite, seedTree, type TestEnv, until } from './helpers.ts';

// The principal cache of the serve process (principal-cache.ts, db-notices.ts, migration
// staff_principal_notices): a principal is kept only while the database's notices are heard, any
// change to sessions, accounts or units empties it from inside the changing transaction, a lost
// notice connection turns it off and a new one starts it empty; a short max age is the second guard.

let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
const PW = 'a long enough password';
const feeds: NoticeFeed[] = [];

beforeAll(async () => {
  t = await createTestApp({ STAFF_PRINCIPAL_CACHE_SECONDS: '30', LOGIN_FREE_FAILURES: '1000', LOGIN_FREE_FAILURES_PER_ADDRESS: '1000' });
  tree = await seedTree(t);
  await t.deps.staff.seedStaff({ username: 'boss', displayName: 'boss', password: PW, role: 'admin', unitId: tree.district.id });
});
afterAll(async () => {
  for (const feed of feeds) await feed.close();
  await t?.close();
});

/** Another `serve` process on the same database: its own cache, hearing notices on its own connection. */
function replica(maxAgeSeconds = 30) {
  let feed: NoticeFeed | undefined = undefined;
  const principals = createPrincipalCache({ maxAgeMs: maxAgeSeconds * 1000, onFirstUse: () => feed?.start() });
  feed = noticeFeed({
    orm: t.deps.orm,
    databaseUrl: t.config.DATABASE_URL,
    channel: STAFF_PRINCIPAL_CHANNEL,
    logger: t.deps.logger,
    onNotice: () => principals.forget(),
    onUp: () => principals.up(),
    onDown: () => principals.down(),
  });
  feeds.push(feed);
  const staff = createStaffUseCases({ orm: t.deps.orm, clock: t.clock, logger: t.deps.logger, sessionTtlHours: 12, idleMinutes: 60, totpKey: t.deps.keys.reporterKey, principals, audit: appendAuditEvent, recomputeExclusions: recomputeForStaff });
  return { app: createServer({ ...t.deps, staff }), principals, feed };
}

const me = (token: string, app = t.app) => req(app, 'GET', '/api/v1/staff/me', { token });
const newStaff = async (username: string, role: 'operator' | 'supervisor' = 'operator') =>
  (await t.deps.staff.seedStaff({ username, displayName: username, password: PW, role, unitId: tree.streetA.id })).id;
const login = async (username: string) => (await t.deps.staff.login({ username, password: PW })).token;
const adminToken = () => login('boss');
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Deletes a session as a change that no trigger reports would (replication role: user triggers do
 * not fire), through the app's own database connection: what a lost notice looks like to a cache.
 */
async function deleteUnreported(token: string) {
  await t.deps.orm.em.fork().transactional(async (tx) => {
    await sql(tx, 'set local session_replication_role = replica');
    await sql(tx, 'delete from staff_session where token_hash = ?', [hashOf(token)]);
  });
}

/** Requests until refused (at most `ms`): how many were still answered after the change. */
async function answeredUntilRefused(token: string, app: typeof t.app, ms = 2_000) {
  const end = Date.now() + ms;
  let answered = 0;
  for (;;) {
    const { status } = await me(token, app);
    if (status === 401) return answered;
    expect(status).toBe(200);
    answered++;
    if (Date.now() > end) return answered;
    await new Promise((r) => setTimeout(r, 5));
  }
}

const listening = (principals: { on: boolean }) => until(async () => principals.on, (on) => on, 5_000);

describe('the principal cache', () => {
  it('answers a token from memory while notices are heard; a change no trigger reports is seen after the max age', async () => {
    await newStaff('amy');
    const token = await login('amy');
    const r = replica(0.5);
    expect((await me(token, r.app)).status).toBe(200); // read from the database; starts the listener
    await listening(r.principals);
    expect((await me(token, r.app)).status).toBe(200); // read again (the cache came up empty), kept
    const hits = r.principals.stats.hits;
    expect((await me(token, r.app)).json.username).toBe('amy');
    expect(r.principals.stats.hits).toBe(hits + 1);
    // A deletion no trigger reports: the cache keeps answering, which is what the triggers are for…
    await deleteUnreported(token);
    expect((await me(token, r.app)).status).toBe(200);
    // …until the entry is older than the max age.
    await new Promise((res) => setTimeout(res, 600));
    expect((await me(token, r.app)).status).toBe(401);
  });

  it('a session or account changed through this process is seen on its very next request', async () => {
    const id = await newStaff('bob');
    const principals = t.deps.principals!;
    const a = await login('bob');
    expect((await me(a)).status).toBe(200);
    await listening(principals);
    expect((await me(a)).status).toBe(200);
    const hits = principals.stats.hits;
    expect((await me(a)).status).toBe(200);
    expect(principals.stats.hits).toBe(hits + 1); // answered from the cache
    expect((await req(t.app, 'POST', '/api/v1/staff/logout', { token: a })).status).toBe(204);
    expect((await me(a)).status).toBe(401);

    const b = await login('bob');
    expect((await me(b)).json.unitId).toBe(tree.streetA.id);
    expect((await me(b)).json.unitId).toBe(tree.streetA.id);
    expect((await req(t.app, 'PATCH', `/api/v1/staff/users/${id}`, { token: await adminToken(), body: { unitId: tree.streetB.id } })).status).toBe(200);
    const moved = (await me(b)).json;
    expect(moved.unitId).toBe(tree.streetB.id);
    expect(moved.unitPath).toBe(tree.streetB.path);

    expect((await me(b)).status).toBe(200);
    expect((await req(t.app, 'POST', `/api/v1/staff/users/${id}/deactivate`, { token: await adminToken() })).status).toBe(204);
    expect((await me(b)).status).toBe(401);
  });

  it('a change committed elsewhere (another replica, psql) reaches a replica by its notice', async () => {
    const id = await newStaff('cid');
    const r = replica();
    const token = await login('cid');
    expect((await me(token, r.app)).status).toBe(200);
    await listening(r.principals);
    expect((await me(token, r.app)).json.role).toBe('operator');
    expect((await me(token, r.app)).json.role).toBe('operator'); // kept
    // A role changed by hand in the database: on PGlite through its socket (the cache is off while
    // that client holds the connection, and starts empty after), on PostgreSQL on a connection of its own.
    await t.db.query(`update staff set role = 'supervisor' where id = $1`, [id]);
    const end = Date.now() + 2_000;
    let role = (await me(token, r.app)).json.role;
    if (onPglite) expect(role).toBe('supervisor');
    while (role !== 'supervisor' && Date.now() < end) {
      // A cached answer is all promises: give the event loop a turn, or the notice's socket is never read.
      await new Promise((res) => setTimeout(res, 5));
      role = (await me(token, r.app)).json.role;
    }
    expect(role).toBe('supervisor');
    // Signed out on the other replica (this test's app): the replica refuses it as soon as the notice is in.
    expect((await me(token, r.app)).status).toBe(200);
    expect((await req(t.app, 'POST', '/api/v1/staff/logout', { token })).status).toBe(204);
    expect(await answeredUntilRefused(token, r.app)).toBeLessThan(onPglite ? 1 : 50);
    // Deactivated by hand: refused.
    const again = await login('cid');
    expect((await me(again, r.app)).status).toBe(200);
    expect((await me(again, r.app)).status).toBe(200);
    await t.db.query('update staff set active = false where id = $1', [id]);
    expect(await answeredUntilRefused(again, r.app)).toBeLessThan(onPglite ? 1 : 50);
  });

  it('keeps the idle timeout exactly: a due touch of last_seen_at reads the database', async () => {
    await newStaff('dee');
    const token = await login('dee');
    const principals = t.deps.principals!;
    expect((await me(token)).status).toBe(200);
    await listening(principals);
    const lastSeen = async () => (await t.db.query<{ last_seen_at: Date }>('select last_seen_at from staff_session where token_hash = $1', [hashOf(token)]))[0]!.last_seen_at.getTime();
    const signedIn = await lastSeen();
    t.clock.advanceBy(30_000);
    expect((await me(token)).status).toBe(200);
    const hits = principals.stats.hits;
    expect((await me(token)).status).toBe(200);
    expect(principals.stats.hits).toBe(hits + 1);
    expect(await lastSeen()).toBe(signedIn); // not due yet
    t.clock.advanceBy(31_000);
    expect((await me(token)).status).toBe(200);
    expect(await lastSeen()).toBe(t.clock.now().getTime()); // due: read and touched, as without the cache
    t.clock.advanceBy(59 * 60_000);
    expect((await me(token)).status).toBe(200); // a cached entry is never used past a due touch
    expect(await lastSeen()).toBe(t.clock.now().getTime());
    t.clock.advanceBy(60 * 60_000 + 1);
    expect((await me(token)).status).toBe(401);
  });
});

describe.skipIf(onPglite)('the notice connection lost (PostgreSQL: the embedded database has no connection to lose)', () => {
  const killListeners = () =>
    t.db.query<{ killed: boolean }>(
      `select pg_terminate_backend(pid, 5000) as killed from pg_stat_activity where datname = current_database() and application_name = $1`,
      [`dibao-listen:${STAFF_PRINCIPAL_CHANNEL}`],
    );

  it('with the listener killed the next request still sees a revocation made meanwhile; it listens again and starts empty', async () => {
    await newStaff('eli');
    const r = replica();
    const token = await login('eli');
    expect((await me(token, r.app)).status).toBe(200);
    await listening(r.principals);
    expect((await me(token, r.app)).status).toBe(200);
    const hits = r.principals.stats.hits;
    expect((await me(token, r.app)).status).toBe(200);
    expect(r.principals.stats.hits).toBe(hits + 1);

    const killed = await killListeners();
    expect(killed.length).toBeGreaterThan(0);
    expect(killed.every((k) => k.killed)).toBe(true);
    // Revoked while nobody listens (and unreported, so that no later notice could help).
    await deleteUnreported(token);
    expect((await me(token, r.app)).status).toBe(401);

    // Back: listening on a new connection, and caching again.
    await listening(r.principals);
    const again = await login('eli');
    expect((await me(again, r.app)).status).toBe(200);
    const hitsAfter = r.principals.stats.hits;
    expect((await me(again, r.app)).status).toBe(200);
    expect(r.principals.stats.hits).toBe(hitsAfter + 1);

    // A change missed while the connection was down does not survive the reconnect.
    await deleteUnreported(again);
    await killListeners();
    await until(async () => r.principals.on, (on) => !on, 5_000);
    await listening(r.principals);
    expect((await me(again, r.app)).status).toBe(401);
  });
});
