import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducerConnection } from '../queues/connection.ts';
import { createServer } from '../src/roots/server.ts';
import { RateLimiter } from '../src/app/rate-limit.ts';
import { createThrottle } from '../src/app/throttle.ts';
import { createTestApp, freePort, type TestEnv, until } from './helpers.ts';

// Issue 12, item 6: TRUST_PROXY is a count of proxies; the client address is the nth from the
// right of X-Forwarded-For (what a client writes on the left is never believed). The citizen
// limits are shared by every process through Redis and per process while Redis is down (reports
// are still taken then).

let t: TestEnv;
const extra: { quit: () => Promise<unknown> }[] = [];

beforeAll(async () => {
  t = await createTestApp({ TRUST_PROXY: '2', RATE_FOLLOWUP_PER_CLIENT_10MIN: '3', RATE_SUBMIT_PER_CLIENT_HOUR: '2' });
  // Counted in Redis from the first request (before it connects, each process counts for itself).
  await until(async () => t.deps.queues.connection.status, (s) => s === 'ready');
});
afterAll(async () => {
  for (const c of extra) await c.quit().catch(() => undefined);
  await t?.close();
});

function otherProcess(redisUrl = t.config.REDIS_URL) {
  const redis = createProducerConnection(redisUrl);
  redis.on('error', () => undefined);
  extra.push({ quit: () => redis.quit() });
  const throttle = createThrottle({ redis, prefix: `{${t.config.QUEUE_PREFIX}}`, key: t.deps.keys.secretHmacKey, clock: t.clock, logger: t.deps.logger });
  return { redis, app: createServer({ ...t.deps, throttle }) };
}

const view = (app: typeof t.app, xff: string) => app.request('/api/v1/reports/123412341234', { headers: { 'x-forwarded-for': xff, 'x-report-secret': 'AAAAA-BBBBB-CCCCC-DDDDD' } });

describe('client address and shared citizen limits', () => {
  it('behind 2 proxies, a forged leftmost X-Forwarded-For entry does not buy more guesses', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) statuses.push((await view(t.app, `10.0.${i}.1, 198.51.100.7, 172.16.0.2`)).status);
    expect(statuses).toEqual([404, 404, 404, 429, 429]);
    // another client behind the same proxies is not held
    expect((await view(t.app, '198.51.100.8, 172.16.0.2')).status).toBe(404);
  });

  it('the count is shared by every serve process', async () => {
    const other = otherProcess();
    await until(async () => other.redis.status, (s) => s === 'ready');
    const xff = '198.51.100.20, 172.16.0.2';
    expect((await view(t.app, xff)).status).toBe(404);
    expect((await view(other.app, xff)).status).toBe(404);
    expect((await view(t.app, xff)).status).toBe(404);
    const held = await view(other.app, xff);
    expect(held.status).toBe(429);
    expect(Number(held.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('with Redis down the limits hold per process and reports are still accepted', async () => {
    const down = otherProcess(`redis://127.0.0.1:${await freePort()}`);
    const xff = '198.51.100.30, 172.16.0.2';
    const submit = () => down.app.request('/api/v1/reports', { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': xff }, body: JSON.stringify({ narrative: '村主任冒领低保，每月都领。' }) });
    expect((await submit()).status).toBe(201);
    expect((await submit()).status).toBe(201);
    expect((await submit()).status).toBe(429);
  });
});

describe('several limits of one request in one Redis round trip', () => {
  it('counted in order, the first refusal ends the count: a burst refusal does not use up the hour', async () => {
    const { redis } = otherProcess();
    await until(async () => redis.status, (s) => s === 'ready');
    const throttle = createThrottle({ redis, prefix: `{${t.config.QUEUE_PREFIX}}:stages`, key: t.deps.keys.secretHmacKey, clock: t.clock, logger: t.deps.logger });
    const burst = new RateLimiter({ max: 2, windowMs: 60_000 }, { max: 100, windowMs: 60_000 }, t.clock, { name: 'burst', throttle });
    const hour = new RateLimiter({ max: 3, windowMs: 3600_000 }, { max: 100, windowMs: 3600_000 }, t.clock, { name: 'hour', throttle });
    const commands: string[] = [];
    const monitor = (cmd: string) => commands.push(cmd);
    const sendCommand = redis.sendCommand.bind(redis);
    redis.sendCommand = ((command: { name: string }) => (monitor(command.name), sendCommand(command as never))) as typeof redis.sendCommand;
    const waits: number[] = [];
    for (let i = 0; i < 4; i++) waits.push(await RateLimiter.hitInOrder([burst, hour], '198.51.100.40'));
    expect(waits.map((w) => w > 0)).toEqual([false, false, true, true]);
    // One script call a request, by its SHA1 (the body only once, if Redis did not have it yet).
    expect(commands.filter((c) => c === 'evalsha')).toHaveLength(4);
    expect(commands.filter((c) => c !== 'evalsha').every((c) => c === 'eval')).toBe(true);
    expect(commands.filter((c) => c === 'eval').length).toBeLessThanOrEqual(1);
    redis.sendCommand = sendCommand;
    // Redis forgets its scripts (a flush, a restart): the next call sends the body again and counts.
    await redis.script('FLUSH');
    expect(await RateLimiter.hitInOrder([burst, hour], '198.51.100.42')).toBe(0);
    // The hour was counted only for the two that passed the burst limit: one more fits in it.
    expect(await hour.hit('198.51.100.40')).toBe(0);
    expect(await hour.hit('198.51.100.40')).toBeGreaterThan(0);
    // Another address is not held by this one.
    expect(await RateLimiter.hitInOrder([burst, hour], '198.51.100.41')).toBe(0);
  });
});
