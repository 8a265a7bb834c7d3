import { networkInterfaces } from 'node:os';
import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/roots/server.ts';
import { createTestApp, type TestEnv } from './helpers.ts';

// Issue 12, item 4: /metrics is for the operator's scraper only (METRICS_TOKEN, else loopback),
// and no per-channel count finer than an hour: a scrape never says a report was just made.

let t: TestEnv;
const servers: ServerType[] = [];
const TOKEN = 'metrics-token-0123456789abcdef';

async function listen(app: { fetch: (r: Request, env?: unknown) => Response | Promise<Response> }, hostname = '127.0.0.1') {
  const server = serve({ fetch: app.fetch, port: 0, hostname });
  servers.push(server);
  await new Promise<void>((r) => server.once('listening', () => r()));
  return (server.address() as AddressInfo).port;
}

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(async () => {
  for (const s of servers) {
    (s as unknown as { closeAllConnections?: () => void }).closeAllConnections?.();
    await new Promise((r) => s.close(r));
  }
  await t?.close();
});

const external = Object.values(networkInterfaces()).flat().find((i) => i && i.family === 'IPv4' && !i.internal)?.address;

describe('/metrics', () => {
  it('without METRICS_TOKEN: a loopback scraper gets it; a forwarded or outside request gets 404', async () => {
    const port = await listen(t.app, '0.0.0.0');
    expect((await fetch(`http://127.0.0.1:${port}/metrics`)).status).toBe(200);
    expect((await fetch(`http://127.0.0.1:${port}/metrics`, { headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(404);
    if (external) expect((await fetch(`http://${external}:${port}/metrics`)).status).toBe(404);
  });

  it('with METRICS_TOKEN: only the bearer token opens it, from anywhere', async () => {
    const app = createServer({ ...t.deps, config: { ...t.deps.config, METRICS_TOKEN: TOKEN } });
    const port = await listen(app);
    const at = `http://127.0.0.1:${port}/metrics`;
    expect((await fetch(at)).status).toBe(404);
    expect((await fetch(at, { headers: { authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(404);
    const ok = await fetch(at, { headers: { authorization: `Bearer ${TOKEN}`, 'x-forwarded-for': '203.0.113.9' } });
    expect(ok.status).toBe(200);
    expect(await ok.text()).toMatch(/process_cpu/);
  });

  it('a report made just now shows in no counter until the hour is over', async () => {
    const before = await (await t.app.request('/metrics')).text();
    const r = await t.call('POST', '/api/v1/reports', { body: { narrative: '村主任冒领低保，每月都领。' } });
    expect(r.status).toBe(201);
    const now = await (await t.app.request('/metrics')).text();
    const lines = (text: string) => text.split('\n').filter((l) => /channel="web"|route="\/api\/v1\/reports"|route="\/report"/.test(l));
    expect(lines(now)).toEqual(lines(before));
    expect(now).not.toMatch(/clues_registered_total\{channel="web"\}/);
    t.clock.advanceBy(3600_000);
    expect(await (await t.app.request('/metrics')).text()).toMatch(/clues_registered_total\{channel="web"\} 1/);
  });
});
