import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, createTestApp, freePort, onPglite, REDIS_URL, type TestEnv, until } from './helpers.ts';

/**
 * Issue 14, drills with `serve` and `work` as separate processes on PostgreSQL (PGlite is one
 * process per folder, so these do not apply to it): a worker SIGKILLed in the middle of sending a
 * mail, and `serve` sent SIGTERM under keep-alive load.
 */

const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

function startRole(role: 'serve' | 'work', env: Record<string, string>) {
  const proc = spawn(process.execPath, ['src/main.ts', role], { env: { ...process.env, ...env } as Record<string, string>, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(proc);
  let output = '';
  proc.stdout!.on('data', (d) => (output += d));
  proc.stderr!.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
  return { proc, output: () => output, exited };
}

/** An SMTP server on loopback that keeps every message and holds its reply to the first one until told. */
async function startHoldingSmtp() {
  const received: string[] = [];
  let firstArrived: () => void = () => undefined;
  const first = new Promise<void>((r) => (firstArrived = r));
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push(Buffer.concat(chunks).toString('utf8'));
        // The first message is never answered: its sender dies waiting.
        if (received.length === 1) return firstArrived();
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.server.address() as { port: number }).port;
  return { url: `smtp://127.0.0.1:${port}`, received, first, close: () => new Promise<void>((r) => server.close(() => r())) };
}

describe.skipIf(onPglite)('a worker SIGKILLed in the middle of sending a mail', () => {
  let t: TestEnv;
  let smtp: Awaited<ReturnType<typeof startHoldingSmtp>>;
  afterAll(async () => {
    await t?.close();
    await smtp?.close();
  });

  it('loses nothing: the attempt was recorded before the send, the next worker sends the same mail (same Message-ID) and records it once', async () => {
    smtp = await startHoldingSmtp();
    t = await createTestApp({ MAIL_URL: smtp.url, TRUST_PROXY: 'true' });
    const env = {
      DATABASE_URL: t.config.DATABASE_URL!,
      REDIS_URL: t.config.REDIS_URL,
      QUEUE_PREFIX: t.config.QUEUE_PREFIX,
      DATA_DIR: t.config.DATA_DIR,
      REPORTER_KEY: t.config.REPORTER_KEY!,
      SECRET_HMAC_KEY: t.config.SECRET_HMAC_KEY!,
      MAIL_URL: smtp.url,
      JOB_LOCK_MS: '1500',
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      SMTP_ENABLED: 'false',
      MIGRATE_ON_START: 'false',
    };
    const address = 'killed-mid-send@example.cn';
    const r = await t.call('POST', '/api/v1/reports', { body: { narrative: '村主任把自己亲戚家报成了低保户，亲戚家开着饭店。', unitId: null, reporter: { name: '周一', email: address } }, headers: { 'x-forwarded-for': '10.50.0.1' } });
    expect(r.status).toBe(201);
    const [{ id: clueId }] = (await t.db.query<{ id: string }>('select id from clue where tracking_code = $1', [r.json.trackingCode])) as [{ id: string }];
    await until(() => t.db.query(`select 1 from outbox_message where job_name = 'email.reporter_ack' and dispatched_at is not null`), (rows) => rows.length === 1);

    const first = startRole('work', env);
    await Promise.race([smtp.first, first.exited.then(() => Promise.reject(new Error(`worker exited:\n${first.output()}`)))]);
    // While the server holds the mail, the attempt is on record with the mail's Message-ID.
    const [attempt] = await t.db.query<{ status: string; provider_id: string }>(`select status, provider_id from notification where idempotency_key = $1`, [`email:reporter-ack:${clueId}`]);
    expect(attempt?.status).toBe('sending');
    const messageIdOf = (raw: string) => /^Message-ID:\s*(.+)$/im.exec(raw)?.[1]?.trim();
    expect(messageIdOf(smtp.received[0]!)).toBe(attempt!.provider_id);
    first.proc.kill('SIGKILL');
    await first.exited;

    const second = startRole('work', env);
    try {
      const sent = await until(() => t.db.query<{ status: string }>(`select status from notification where idempotency_key = $1`, [`email:reporter-ack:${clueId}`]), (rows) => rows[0]?.status === 'sent', 30_000);
      expect(sent[0]?.status).toBe('sent');
      // Sent twice at most, both times the same mail by its Message-ID; recorded once; the intent is gone.
      expect(smtp.received.length).toBeGreaterThanOrEqual(1);
      expect(smtp.received.length).toBeLessThanOrEqual(2);
      const ids = smtp.received.map(messageIdOf);
      expect(new Set(ids)).toEqual(new Set([attempt!.provider_id]));
      expect(await t.db.query(`select 1 from ledger_event where clue_id = $1 and type = 'reporter.notified'`, [clueId])).toHaveLength(1);
      expect(await until(() => t.db.query(`select 1 from outbox_message where job_name = 'email.reporter_ack'`), (rows) => rows.length === 0)).toHaveLength(0);
    } finally {
      second.proc.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  });
});

describe.skipIf(onPglite)('SIGTERM of serve under keep-alive load', () => {
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  afterAll(() => db?.drop());

  it('stops accepting, answers every request in flight (Connection: close), and exits 0 well within SHUTDOWN_GRACE_MS; every committed report was answered', async () => {
    db = await createPostgresDatabase();
    const port = await freePort();
    const server = startRole('serve', {
      DATABASE_URL: db.url,
      REDIS_URL,
      QUEUE_PREFIX: `test-${randomUUID()}`,
      DATA_DIR: mkdtempSync(join(tmpdir(), 'dibao-drill-')),
      REPORTER_KEY: randomBytes(32).toString('base64'),
      SECRET_HMAC_KEY: randomBytes(32).toString('base64'),
      PORT: String(port),
      HOST: '127.0.0.1',
      SMTP_ENABLED: 'false',
      NODE_ENV: 'development',
      ADMIN_PASSWORD: 'first-admin-password',
      TRUST_PROXY: 'true',
      RATE_SUBMIT_PER_CLIENT_HOUR: '100000',
      RATE_SUBMIT_GLOBAL_MINUTE: '100000',
      SHUTDOWN_GRACE_MS: '10000',
      LOG_LEVEL: 'info',
    });
    const base = `http://127.0.0.1:${port}`;
    await until(() => fetch(`${base}/healthz`).then((r) => r.status, () => 0), (s) => s === 200, 60_000);

    const answered: string[] = [];
    const failures: string[] = [];
    let exited = false;
    let n = 0;
    const loop = async (i: number) => {
      while (!exited) {
        try {
          const res = await fetch(`${base}/api/v1/reports`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.60.${i}.${++n & 255}` },
            body: JSON.stringify({ narrative: `村委会截留了我家三个月的低保金，至今没有发放。第${i}-${n}号`, unitId: null }),
          });
          const body = (await res.json()) as { trackingCode?: string };
          if (res.status === 201 && body.trackingCode) answered.push(body.trackingCode);
          else failures.push(`status ${res.status}`);
        } catch (err) {
          // After the listener closed: a new connection is refused. That request never reached the app.
          failures.push(String((err as Error & { cause?: { code?: string } }).cause?.code ?? (err as Error).message));
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    };
    const loops = Array.from({ length: 8 }, (_, i) => loop(i));
    await until(async () => answered.length, (k) => k >= 40, 30_000);
    const before = answered.length;
    const started = Date.now();
    server.proc.kill('SIGTERM');
    const code = await server.exited;
    const took = Date.now() - started;
    exited = true;
    await Promise.all(loops);

    expect(code, server.output()).toBe(0);
    expect(took).toBeLessThan(10_000);
    expect(server.output()).toContain('stopped');
    expect(before).toBeGreaterThan(0);
    // Every report committed was answered, and nothing answered is missing.
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    const rows = (await c.query<{ tracking_code: string }>('select tracking_code from clue')).rows;
    await c.end();
    expect(rows.map((r) => r.tracking_code).sort()).toEqual([...answered].sort());
    // No answer was an error status: requests either got their 201 or never reached the server.
    expect(failures.filter((f) => f.startsWith('status'))).toEqual([]);
  }, 90_000);
});
