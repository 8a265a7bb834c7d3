import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REDIS_URL } from './helpers.ts';

/** `npm start` and the npm commands as a user runs them (node src/start.mjs …, no DATABASE_URL): embedded PGlite. */

const run = promisify(execFile);
const children = new Set<ChildProcess>();

export function embeddedEnv(extra: Record<string, string> = {}) {
  return {
    ...process.env,
    DATABASE_URL: '',
    TEST_DATABASE: '',
    DATA_DIR: mkdtempSync(join(tmpdir(), 'dibao-npm-start-')),
    REDIS_URL,
    QUEUE_PREFIX: `test-${randomUUID()}`,
    ADMIN_PASSWORD: 'first-admin-password',
    SMTP_PORT: '0',
    NODE_ENV: 'development',
    LOG_LEVEL: 'info',
    ...extra,
  } as Record<string, string>;
}

export interface Server {
  proc: ChildProcess;
  port: number;
  output: () => string;
}

/** `npm start`: resolves once /healthz answers `healthy` (200, or 503 when Redis is meant to be down). */
export async function startServer(env: Record<string, string>, port: number, opts: { expectStatus?: number } = {}): Promise<Server> {
  const proc = spawn(process.execPath, ['src/start.mjs', 'all'], { env: { ...env, PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  let output = '';
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  // A first start runs initdb in WebAssembly: seconds alone, minutes on a machine shared with other work.
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`server exited early:\n${output}`);
    const status = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status, () => 0);
    if (status === (opts.expectStatus ?? 200)) break;
    if (Date.now() > deadline) throw new Error(`server did not answer /healthz with ${opts.expectStatus ?? 200}:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  return { proc, port, output: () => output };
}

export async function stopServer(server: Server, signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
  if (server.proc.exitCode !== null || server.proc.signalCode !== null) return server.proc.exitCode;
  const exited = new Promise<number | null>((r) => server.proc.once('exit', (code) => r(code)));
  server.proc.kill(signal);
  return exited;
}

/** Every process started here, killed (for afterAll). */
export function killAll() {
  for (const c of children) c.kill('SIGKILL');
}

/** An npm command (`node src/start.mjs <role> …`): exit code and output, never throws. */
export function npmCommand(env: Record<string, string>, ...args: string[]): Promise<{ code: number; out: string; ms: number }> {
  const started = Date.now();
  return run(process.execPath, ['src/start.mjs', ...args], { env, timeout: 120_000 }).then(
    (r) => ({ code: 0, out: `${r.stdout}${r.stderr}`, ms: Date.now() - started }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: `${e.stdout}${e.stderr}`, ms: Date.now() - started }),
  );
}

export async function api(port: number, path: string, init: { token?: string; body?: unknown } = {}) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, {
    method: init.body ? 'POST' : 'GET',
    headers: { 'content-type': 'application/json', ...(init.token ? { authorization: `Bearer ${init.token}` } : {}) },
    body: init.body ? JSON.stringify(init.body) : undefined,
    // Nothing here may wait for ever: a request the server never answers fails the test.
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: res.status, json, text };
}
