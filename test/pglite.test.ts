import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, REDIS_URL } from './helpers.ts';

const run = promisify(execFile);


const dataDir = mkdtempSync(join(tmpdir(), 'dibao-pglite-'));
const env = {
  ...process.env,
  DATABASE_URL: '',
  DATA_DIR: dataDir,
  REDIS_URL,
  QUEUE_PREFIX: `test-${randomUUID()}`,
  ADMIN_PASSWORD: 'first-admin-password',
  SMTP_PORT: '0',
  NODE_ENV: 'development',
  LOG_LEVEL: 'info',
};
let child: ChildProcess | undefined;

/** `npm start` as a user runs it: node src/main.ts all, no DATABASE_URL. */
async function start(port: number) {
  const proc = spawn(process.execPath, ['src/main.ts', 'all'], { env: { ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  const deadline = Date.now() + 45_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited early:\n${output}`);
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status === 200, () => false);
    if (ok) break;
    if (Date.now() > deadline) throw new Error(`server did not become healthy:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  child = proc;
  return { proc, output: () => output };
}

async function stop(proc: ChildProcess) {
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  proc.kill('SIGTERM');
  return exited;
}

async function api(port: number, path: string, init: { token?: string; body?: unknown } = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: init.body ? 'POST' : 'GET',
    headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    body: init.body ? JSON.stringify(init.body) : undefined,
  });
  return { status: res.status, json: (await res.json()) as any };
}

afterAll(() => {
  child?.kill('SIGKILL');
});

describe('embedded PGlite (no DATABASE_URL)', () => {
  it('starts, registers, stops gracefully on SIGTERM, restarts, and the clue is still there', { timeout: 150_000 }, async () => {
    const port = await freePort();
    const first = await start(port);
    expect(first.output()).toContain('first admin created');
    const login = await api(port, '/api/v1/staff/login', { body: { username: 'admin', password: 'first-admin-password' } });
    expect(login.status).toBe(200);
    const token = login.json.token as string;
    const created = await api(port, '/api/v1/staff/clues', {
      token,
      body: { channel: 'visit', categories: ['missed_enrolment'], narrative: '我家符合条件却一直没有纳入低保。', accused: [] },
    });
    expect(created.status).toBe(201);
    expect(await stop(first.proc)).toBe(0);
    expect(first.output()).toContain('"msg":"stopped"');

    const port2 = await freePort();
    const second = await start(port2);
    const login2 = await api(port2, '/api/v1/staff/login', { body: { username: 'admin', password: 'first-admin-password' } });
    const again = await api(port2, `/api/v1/staff/clues/${created.json.id}`, { token: login2.json.token });
    expect(again.status).toBe(200);
    expect(again.json.trackingCode).toBe(created.json.trackingCode);
    expect(again.json.narrative).toBe('我家符合条件却一直没有纳入低保。');
    expect(await stop(second.proc)).toBe(0);

    const verified = await run(process.execPath, ['src/main.ts', 'verify-ledger'], { env: { ...env, LOG_LEVEL: 'silent' } });
    expect(verified.stdout).toContain('ledger verified');
  });
});
