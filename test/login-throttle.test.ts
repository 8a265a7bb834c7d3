import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducerConnection } from '../queues/connection.ts';
import { createServer } from '../src/roots/server.ts';
import { createThrottle } from '../src/app/throttle.ts';
import { createLoginGuard } from '../src/modules/staff/login.guard.ts';
import { createTestApp, freePort, seedTree, type TestEnv, until } from './helpers.ts';

// Issue 12, item 5: staff sign-in slows down per account and per address, shared by every serve
// process through Redis, per process (never unlimited) while Redis is down; never a long lock.

let t: TestEnv;
const PASSWORD = 'correct horse battery';
const extra: { quit: () => Promise<unknown> }[] = [];

beforeAll(async () => {
  t = await createTestApp({ LOGIN_FREE_FAILURES: '5', LOGIN_FREE_FAILURES_PER_ADDRESS: '1000', LOGIN_MAX_DELAY_SECONDS: '60' });
  await until(async () => t.deps.queues.connection.status, (s) => s === 'ready');
  const tree = await seedTree(t);
  for (const u of ['alice', 'bob', 'carol']) await t.deps.staff.seedStaff({ username: u, displayName: u, password: PASSWORD, role: 'operator', unitId: tree.district.id });
});
afterAll(async () => {
  for (const c of extra) await c.quit().catch(() => undefined);
  await t?.close();
});

/** Another `serve` process: the same database, its own Redis connection and its own memory. */
function otherProcess(redisUrl = t.config.REDIS_URL) {
  const redis = createProducerConnection(redisUrl);
  redis.on('error', () => undefined);
  extra.push({ quit: () => redis.quit() });
  const throttle = createThrottle({ redis, prefix: `{${t.config.QUEUE_PREFIX}}`, key: t.deps.keys.secretHmacKey, clock: t.clock, logger: t.deps.logger });
  return { redis, app: createServer({ ...t.deps, throttle, loginGuard: createLoginGuard(throttle, t.config) }) };
}

async function login(app: { request: (path: string, init: RequestInit) => Response | Promise<Response> }, username: string, password: string) {
  const res = await app.request('/api/v1/staff/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username, password }) });
  return { status: res.status, retryAfter: res.headers.get('retry-after'), json: (await res.json()) as { error?: { code: string } } };
}

describe('staff sign-in slow-down', () => {
  it('after 5 wrong passwords the next attempt waits (429, Retry-After) on every process, the wait doubles and is capped, and then the right password works', async () => {
    const other = otherProcess();
    await until(async () => other.redis.status, (s) => s === 'ready');
    for (let i = 0; i < 5; i++) expect((await login(t.app, 'alice', 'wrong')).status).toBe(401);
    const held = await login(t.app, 'alice', 'wrong');
    expect(held).toMatchObject({ status: 429, retryAfter: '1', json: { error: { code: 'request.rate_limited' } } });
    // The other process sees the same count, and the right password waits too.
    expect((await login(other.app, 'alice', PASSWORD)).status).toBe(429);
    const waits: number[] = [];
    for (let i = 0; i < 9; i++) {
      const r = await login(other.app, 'alice', 'wrong');
      if (r.status === 429) {
        waits.push(Number(r.retryAfter));
        t.clock.advanceBy(Number(r.retryAfter) * 1000);
        expect((await login(t.app, 'alice', 'wrong')).status).toBe(401);
      }
    }
    expect(waits).toEqual([1, 2, 4, 8, 16, 32, 60, 60, 60]);
    // Never a long lock: the right password works once the (capped) wait is over, and clears the count.
    t.clock.advanceBy(60_000);
    expect((await login(t.app, 'alice', PASSWORD)).status).toBe(200);
    expect((await login(other.app, 'alice', 'wrong')).status).toBe(401);
  });

  it('60 guesses in parallel get no more tries than sequential ones', async () => {
    const results = await Promise.all(Array.from({ length: 60 }, () => login(t.app, 'bob', 'wrong')));
    expect(results.filter((r) => r.status === 401)).toHaveLength(5);
    expect(results.filter((r) => r.status === 429)).toHaveLength(55);
  });

  it('with Redis down each process still limits (per process), never not at all', async () => {
    const down = otherProcess(`redis://127.0.0.1:${await freePort()}`);
    for (let i = 0; i < 5; i++) expect((await login(down.app, 'carol', 'wrong')).status).toBe(401);
    expect((await login(down.app, 'carol', 'wrong')).status).toBe(429);
    expect(t.logs.text()).toMatch(/Redis unavailable: sign-in and citizen limits are counted per process/);
  });
});
