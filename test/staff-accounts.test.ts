import { generate } from 'otplib/functional';
import { appendAuditEvent } from '../src/modules/clues/ledger.ts';
import { recomputeForStaff } from '../src/modules/visibility/visibility.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/roots/server.ts';
import { legacyScryptHash } from '../src/modules/staff/password.ts';
import { createStaffUseCases, secondFactorRequired } from '../src/modules/staff/staff.usecases.ts';
import { loadConfig } from '../src/app/config.ts';
import { appRequest as req, createTestApp, seedTree, type TestEnv } from './helpers.ts';

// Issue 12, items 9–10: argon2id with rehash of old hashes, password change, deactivation,
// sign-out everywhere, idle timeout, every replica refusing an ended session at once; TOTP with
// recovery codes, an audited admin reset, and STAFF_2FA=required.

let t: TestEnv;
let tree: Awaited<ReturnType<typeof seedTree>>;
const PW = 'a long enough password';

beforeAll(async () => {
  t = await createTestApp({ STAFF_IDLE_MINUTES: '60', LOGIN_FREE_FAILURES: '1000', LOGIN_FREE_FAILURES_PER_ADDRESS: '1000' });
  tree = await seedTree(t);
  await t.deps.staff.seedStaff({ username: 'boss', displayName: 'boss', password: PW, role: 'admin', unitId: tree.district.id });
});
afterAll(() => t?.close());

/** Another `serve` process on the same database: its own staff use cases (and whatever they keep in memory). */
const replica = (over: { totpRequired?: boolean } = {}) =>
  createServer({ ...t.deps, staff: createStaffUseCases({ orm: t.deps.orm, clock: t.clock, logger: t.deps.logger, sessionTtlHours: 12, idleMinutes: 60, totpKey: t.deps.keys.reporterKey, audit: appendAuditEvent, recomputeExclusions: recomputeForStaff, ...over }) });

const login = (username: string, password = PW, totp?: string, app = t.app) => req(app, 'POST', '/api/v1/staff/login', { body: { username, password, ...(totp ? { totp } : {}) } });
const me = (token: string, app = t.app) => req(app, 'GET', '/api/v1/staff/me', { token });
/** A fresh admin token (the idle test moves the clock on). */
const adminToken = async () => (await t.deps.staff.login({ username: 'boss', password: PW })).token;
const newStaff = async (username: string) => (await t.deps.staff.seedStaff({ username, displayName: username, password: PW, role: 'operator', unitId: tree.district.id })).id;

describe('passwords and sessions', () => {
  it('an old scrypt hash still signs in and is replaced by argon2id', async () => {
    const id = await newStaff('legacy');
    await t.db.query('update staff set password_hash = $1 where id = $2', [await legacyScryptHash(PW), id]);
    expect((await login('legacy')).status).toBe(200);
    const [row] = await t.db.query<{ password_hash: string }>('select password_hash from staff where id = $1', [id]);
    expect(row!.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect((await login('legacy')).status).toBe(200);
    expect((await login('legacy', 'not the password')).status).toBe(401);
  });

  it('a signed-out token stops working on every replica at once', async () => {
    await newStaff('ann');
    const other = replica();
    const { token } = (await login('ann')).json;
    expect((await me(token, other)).status).toBe(200); // the replica has seen it
    expect((await req(t.app, 'POST', '/api/v1/staff/logout', { token })).status).toBe(204);
    expect((await me(token, other)).status).toBe(401);
  });

  it('deactivating an account ends its sessions everywhere and refuses its sign-in; reactivating allows it again', async () => {
    const id = await newStaff('ben');
    const other = replica();
    const { token } = (await login('ben')).json;
    expect((await me(token, other)).status).toBe(200);
    expect((await req(t.app, 'POST', `/api/v1/staff/users/${id}/deactivate`, { token })).status).toBe(403);
    expect((await req(t.app, 'POST', `/api/v1/staff/users/${id}/deactivate`, { token: await adminToken() })).status).toBe(204);
    expect((await me(token, other)).status).toBe(401);
    expect((await login('ben')).status).toBe(401);
    expect((await req(t.app, 'POST', `/api/v1/staff/users/${id}/activate`, { token: await adminToken() })).status).toBe(204);
    expect((await login('ben')).status).toBe(200);
    const events = await t.db.query<{ type: string }>(`select type from ledger_event where audit_id = 'system' and data->>'staffId' = $1 order by seq`, [id]);
    expect(events.map((e) => e.type)).toEqual(['staff.created', 'staff.deactivated', 'staff.activated']);
  });

  it('sign-out everywhere ends every token; a password change ends the others and keeps this one', async () => {
    await newStaff('cat');
    const a = (await login('cat')).json.token;
    const b = (await login('cat')).json.token;
    expect((await req(t.app, 'POST', '/api/v1/staff/logout-everywhere', { token: a })).status).toBe(204);
    expect((await me(a)).status).toBe(401);
    expect((await me(b)).status).toBe(401);

    const c = (await login('cat')).json.token;
    const d = (await login('cat')).json.token;
    expect((await req(t.app, 'POST', '/api/v1/staff/me/password', { token: c, body: { currentPassword: 'wrong', newPassword: 'another long password' } })).status).toBe(401);
    expect((await req(t.app, 'POST', '/api/v1/staff/me/password', { token: c, body: { currentPassword: PW, newPassword: 'short' } })).status).toBe(400);
    expect((await req(t.app, 'POST', '/api/v1/staff/me/password', { token: c, body: { currentPassword: PW, newPassword: 'another long password' } })).status).toBe(204);
    expect((await me(c)).status).toBe(200);
    expect((await me(d)).status).toBe(401);
    expect((await login('cat')).status).toBe(401);
    expect((await login('cat', 'another long password')).status).toBe(200);
  });

  it('a token unused for STAFF_IDLE_MINUTES stops working; use keeps it alive', async () => {
    await newStaff('dan');
    const { token } = (await login('dan')).json;
    t.clock.advanceBy(50 * 60_000);
    expect((await me(token)).status).toBe(200);
    t.clock.advanceBy(50 * 60_000);
    expect((await me(token)).status).toBe(200);
    t.clock.advanceBy(61 * 60_000);
    expect((await me(token)).status).toBe(401);
  });
});

describe('two-factor sign-in (TOTP)', () => {
  const code = (secret: string) => generate({ secret, epoch: Math.floor(t.clock.now().getTime() / 1000) });

  it('enrol, confirm, then sign-in needs a code or a one-time recovery code; an admin reset is audited', async () => {
    const id = await newStaff('eve');
    const token = (await login('eve')).json.token;
    const start = await req(t.app, 'POST', '/api/v1/staff/me/totp', { token });
    expect(start.status).toBe(200);
    expect(start.json.otpauthUrl).toMatch(/^otpauth:\/\/totp\/.*secret=/);
    const secret: string = start.json.secret;
    expect((await req(t.app, 'POST', '/api/v1/staff/me/totp/confirm', { token, body: { code: '000000' } })).json.error.code).toBe('auth.totp_invalid');
    const confirmed = await req(t.app, 'POST', '/api/v1/staff/me/totp/confirm', { token, body: { code: await code(secret) } });
    expect(confirmed.status).toBe(200);
    const recovery: string[] = confirmed.json.recoveryCodes;
    expect(recovery).toHaveLength(10);
    expect(new Set(recovery).size).toBe(10);
    const [stored] = await t.db.query<{ recovery_codes: string[]; totp_box: Buffer }>('select recovery_codes, totp_box from staff where id = $1', [id]);
    expect(JSON.stringify(stored!.recovery_codes)).not.toContain(recovery[0]!);
    expect(stored!.totp_box.toString('latin1')).not.toContain(secret);

    const without = await login('eve');
    expect(without).toMatchObject({ status: 401, json: { error: { code: 'auth.totp_required' } } });
    expect((await login('eve', PW, '123456')).json.error.code).toBe('auth.totp_invalid');
    expect((await login('eve', 'wrong', await code(secret))).json.error.code).toBe('auth.invalid_credentials');
    const current = await code(secret);
    expect((await login('eve', PW, current)).status).toBe(200);
    // a code signs in once: the same code again (a shoulder-surfer, a replayed request) is refused
    expect((await login('eve', PW, current)).json.error.code).toBe('auth.totp_invalid');
    expect((await login('eve', PW, recovery[3]!.toLowerCase())).status).toBe(200);
    expect((await login('eve', PW, recovery[3]!)).json.error.code).toBe('auth.totp_invalid');

    t.clock.advanceBy(30_000);
    const eveToken = (await login('eve', PW, await code(secret))).json.token;
    expect((await req(t.app, 'POST', `/api/v1/staff/users/${id}/totp/reset`, { token: eveToken })).status).toBe(403);
    expect((await req(t.app, 'POST', `/api/v1/staff/users/${id}/totp/reset`, { token: await adminToken() })).status).toBe(204);
    expect((await me(eveToken)).status).toBe(401);
    expect((await login('eve')).status).toBe(200);
    const [reset] = await t.db.query<{ actor: string; data: { staffId: string } }>(`select actor, data from ledger_event where audit_id = 'system' and type = 'staff.totp_reset'`);
    expect(reset).toMatchObject({ data: { staffId: id } });
    expect(reset!.actor).toMatch(/^staff:/);
  });

  it('STAFF_2FA: required in production unless set, optional elsewhere (with a start-up warning)', () => {
    const keys = { REPORTER_KEY: Buffer.alloc(32, 1).toString('base64'), SECRET_HMAC_KEY: Buffer.alloc(32, 2).toString('base64') };
    const prod = { NODE_ENV: 'production', ...keys, LEDGER_SIGNING_KEY: 'x' };
    expect(secondFactorRequired({ NODE_ENV: 'production' })).toBe(true);
    expect(secondFactorRequired({ NODE_ENV: 'production', STAFF_2FA: 'optional' })).toBe(false);
    expect(secondFactorRequired(loadConfig({}))).toBe(false);
    expect(secondFactorRequired(loadConfig({ STAFF_2FA: 'required' }))).toBe(true);
    expect(() => loadConfig({ ...prod, STAFF_2FA: 'sometimes' })).toThrow(/STAFF_2FA/);
    expect(t.logs.text()).toMatch(/two-factor sign-in is optional \(STAFF_2FA\)/);
  });

  it('with STAFF_2FA required, an account without a second factor can only enrol', async () => {
    await newStaff('fay');
    const strict = replica({ totpRequired: true });
    const token = (await login('fay', PW, undefined, strict)).json.token;
    const refused = await req(strict, 'GET', '/api/v1/staff/clues', { token });
    expect(refused).toMatchObject({ status: 403, json: { error: { code: 'auth.totp_enrolment_required' } } });
    const start = await req(strict, 'POST', '/api/v1/staff/me/totp', { token });
    expect(start.status).toBe(200);
    expect((await req(strict, 'POST', '/api/v1/staff/me/totp/confirm', { token, body: { code: await code(start.json.secret) } })).status).toBe(200);
    expect((await req(strict, 'GET', '/api/v1/staff/clues', { token })).status).toBe(200);
  });
});
