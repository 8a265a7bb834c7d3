import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer as createNetServer, type Server as NetServer, Socket } from 'node:net';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../src/roots/worker.ts';
import { createLogger } from '../src/app/logger.ts';
import { createPostgresDatabase, createTestApp, freePort, onPglite, type TestEnv, until } from './helpers.ts';
import { startSmtpSink } from './smtp-sink.ts';
import { startFakeTwilio } from './voice/fake-twilio.ts';
import { ACCOUNT_SID, AUTH_TOKEN, SimCall, sid, twilioClient, twilioEnv } from './voice/twilio-sim.ts';

/**
 * Issue 14: nothing lives only in Redis. Drills against a private redis-server (started here on a
 * free port, no persistence) restarted empty or with its keys deleted, with jobs of every kind
 * pending: acknowledgement mail, reply notice mail, triage, recording download, outbound SMS.
 */

const HOTLINE = '+861012345';
const NARRATIVE = '村主任把自己亲戚家报成了低保户，亲戚家开着饭店。';

async function startRedis(port: number): Promise<ChildProcess> {
  const proc = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  const probe = new Redis(`redis://127.0.0.1:${port}`, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  for (let i = 0; i < 100; i++) {
    if (await probe.connect().then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  probe.disconnect();
  return proc;
}

async function killRedis(proc: ChildProcess) {
  if (proc.exitCode !== null) return;
  const exited = new Promise((r) => proc.once('exit', r));
  proc.kill('SIGKILL');
  await exited;
}

/** An app on a private Redis, with a real SMTP server and a fake Twilio; no workers yet. */
async function setUp(extra: Record<string, string> = {}) {
  const redisPort = await freePort();
  let redis = await startRedis(redisPort);
  const smtp = await startSmtpSink();
  const fake = await startFakeTwilio(ACCOUNT_SID, AUTH_TOKEN);
  const t = await createTestApp(
    twilioEnv(fake, {
      REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      MAIL_URL: smtp.url,
      TWILIO_SMS_FROM: '+8610123456',
      TRUST_PROXY: 'true',
      OUTBOX_POLL_MS: '200',
      ...extra,
    }),
  );
  await t.deps.queues.waitUntilReady(5000);
  const district = await t.unit('d', 'district', null, '普陀区');
  const operator = (await t.staffMember('op', 'operator', district.id)).token;
  let ip = 0;
  const report = (body: Record<string, unknown>) =>
    t.call('POST', '/api/v1/reports', { body: { narrative: NARRATIVE, unitId: null, ...body }, headers: { 'x-forwarded-for': `10.30.${++ip >> 8}.${ip & 255}` } });
  const clueOf = async (code: string) => (await t.db.query<{ id: string }>('select id from clue where tracking_code = $1', [code]))[0]!.id;

  /** One job of every outbox kind, pending: returns what each should produce. */
  async function jobsOfEveryKind(tag: string) {
    const ackAddress = `ack-${tag}@example.cn`;
    const replyAddress = `reply-${tag}@example.cn`;
    const ack = await report({ reporter: { name: '周一', email: ackAddress } });
    expect(ack.status).toBe(201);
    const replied = await report({ reporter: { name: '吴二', email: replyAddress, notifyProgress: true } });
    const repliedId = await clueOf(replied.json.trackingCode);
    const posted = await t.call('POST', `/api/v1/staff/clues/${repliedId}/messages`, { token: operator, body: { body: '请补充情况。' } });
    expect(posted.status).toBe(201);
    // An SMS report: its reply (tracking code and PIN) is an outbound SMS job.
    const smsSid = sid('SM');
    const smsFrom = `+86136${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`;
    const inbound = await twilioClient(t).post('https://hotline.example.gov.cn/twilio/sms', {
      MessageSid: smsSid, SmsSid: smsSid, AccountSid: ACCOUNT_SID, From: smsFrom, To: HOTLINE, Body: `短信举报（${tag}）：某街道低保审核人员收受好处费，请核查。`, NumMedia: '0',
    });
    expect(inbound.status).toBe(200);
    // A phone report: its recording download is a job.
    const call = new SimCall(t, `+86135${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`, HOTLINE);
    await call.dial();
    await call.press('1');
    await call.press('2');
    await call.press('3');
    await call.record(fake, Buffer.from(`ID3 recording ${tag}`));
    const [callRow] = await t.db.query<{ clue_id: string }>('select clue_id from "call" where clue_id is not null order by created_at desc limit 1');
    return { ackAddress, replyAddress, smsTo: smsFrom.replace(/^\+86/, ''), smsFromFull: smsFrom, phoneClue: callRow!.clue_id, clues: [await clueOf(ack.json.trackingCode), repliedId] };
  }

  async function jobsInRedis() {
    const counts = await Promise.all(
      ['triage', 'notifications', 'hotline'].map(async (name) => {
        const q = new Queue(name, { connection: { url: `redis://127.0.0.1:${redisPort}` }, prefix: t.deps.queues.prefix });
        const c = await q.getJobCounts('waiting', 'delayed', 'active', 'prioritized');
        await q.close();
        return Object.values(c).reduce((a, b) => a + b, 0);
      }),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  return {
    t,
    smtp,
    fake,
    redisPort,
    jobsOfEveryKind,
    jobsInRedis,
    operator,
    async restartRedisEmpty() {
      await killRedis(redis);
      redis = await startRedis(redisPort);
    },
    async close() {
      await t.close();
      await killRedis(redis);
      await smtp.close();
      await fake.close();
    },
  };
}

/** Every effect of `jobsOfEveryKind`, each exactly once. */
async function expectEveryEffectOnce(s: Awaited<ReturnType<typeof setUp>>, made: Awaited<ReturnType<Awaited<ReturnType<typeof setUp>>['jobsOfEveryKind']>>) {
  const { t, smtp, fake } = s;
  const mails = (to: string) => smtp.received.filter((m) => m.to.includes(to));
  await until(async () => mails(made.ackAddress).length + mails(made.replyAddress).length, (n) => n >= 3, 30_000);
  await until(async () => fake.messages.filter((m) => m.To === made.smsFromFull || m.To === made.smsTo).length, (n) => n >= 1, 30_000);
  await until(
    () => t.db.query(`select 1 from attachment where clue_id = $1 and source = 'twilio'`, [made.phoneClue]),
    (rows) => rows.length >= 1,
    30_000,
  );
  await until(() => t.db.query('select 1 from outbox_message'), (rows) => rows.length === 0, 30_000);
  // Acknowledgement to both named reporters, one reply notice: each once.
  expect(mails(made.ackAddress)).toHaveLength(1);
  expect(mails(made.replyAddress)).toHaveLength(2);
  expect(fake.messages.filter((m) => m.To === made.smsFromFull || m.To === made.smsTo)).toHaveLength(1);
  expect(await t.db.query(`select 1 from attachment where clue_id = $1 and source = 'twilio'`, [made.phoneClue])).toHaveLength(1);
  for (const clueId of [...made.clues, made.phoneClue]) {
    expect(await t.db.query(`select 1 from ledger_event where clue_id = $1 and type = 'triage.checked'`, [clueId])).toHaveLength(1);
  }
  expect(await t.db.query(`select 1 from ledger_event where clue_id = any($1::uuid[]) and type = 'reporter.notified'`, [made.clues])).toHaveLength(3);
  expect(await t.db.query(`select status from notification where status <> 'sent' and channel = 'email'`)).toEqual([]);
}

describe('Redis restarted empty with jobs of every kind pending', () => {
  let s: Awaited<ReturnType<typeof setUp>>;
  beforeAll(async () => {
    s = await setUp();
  });
  afterAll(() => s?.close());

  it('every job comes back from its outbox row and every effect happens once', async () => {
    const made = await s.jobsOfEveryKind('restart');
    // The relay handed every job to Redis; the rows stay (dispatched) until the jobs are done.
    const rows = await until(
      () => s.t.db.query<{ dispatched: boolean; job_name: string }>('select dispatched_at is not null as dispatched, job_name from outbox_message'),
      (r) => r.length > 0 && r.every((x) => x.dispatched),
    );
    expect(new Set(rows.map((r) => r.job_name))).toEqual(new Set(['clue.registered', 'email.reporter_ack', 'reporter.reply_notice', 'sms.send', 'recording.fetch']));
    expect(await s.jobsInRedis()).toBe(rows.length);

    await s.restartRedisEmpty();
    await s.t.deps.queues.waitUntilReady(5000);
    expect(await s.jobsInRedis()).toBe(0);

    const stop = await startWorkers(s.t.deps);
    try {
      await expectEveryEffectOnce(s, made);
      expect(s.t.logs.text()).toContain('jobs missing from Redis put back from their rows');
    } finally {
      await stop();
    }
  });
});

describe('job keys deleted under a running worker', () => {
  let s: Awaited<ReturnType<typeof setUp>>;
  beforeAll(async () => {
    s = await setUp({ OUTBOX_RECONCILE_MS: '300', SCHEDULER_CHECK_MS: '300' });
  });
  afterAll(() => s?.close());

  it('a job whose hash was deleted fails with a clear reason, never runs as "undefined", and comes back from its row: every effect once', async () => {
    const stop = await startWorkers(s.t.deps);
    const redis = new Redis(`redis://127.0.0.1:${s.redisPort}`);
    const queues = ['triage', 'notifications', 'hotline', 'ledger'].map((n) => new Queue(n, { connection: redis, prefix: s.t.deps.queues.prefix }));
    try {
      // Hold the queues so the jobs wait in Redis, then delete every job hash (the ids stay in the lists).
      await Promise.all(queues.map((q) => q.pause()));
      const made = await s.jobsOfEveryKind('deleted');
      await until(() => s.t.db.query<{ n: number }>('select count(*)::int as n from outbox_message where dispatched_at is null'), (r) => r[0]!.n === 0);
      const keys = (await redis.keys(`${s.t.deps.queues.prefix}:*`)).filter((k) => /:[^:]*-[0-9a-f-]{8,}$|:repeat:/.test(k) && !k.endsWith(':meta'));
      expect(keys.length).toBeGreaterThanOrEqual(5);
      await redis.del(...keys);
      await Promise.all(queues.map((q) => q.resume()));

      await expectEveryEffectOnce(s, made);
      const failedReasons = (await Promise.all(queues.map((q) => q.getFailed()))).flat().map((j) => j.failedReason);
      expect(failedReasons.join('\n')).not.toMatch(/undefined/);
      expect(s.t.logs.text()).not.toMatch(/unknown \w+ job undefined|bad \w+ job undefined/);
    } finally {
      await Promise.all(queues.map((q) => q.close()));
      redis.disconnect();
      await stop();
    }
  });
});

describe('mail that was sent but not recorded', () => {
  let s: Awaited<ReturnType<typeof setUp>>;
  beforeAll(async () => {
    s = await setUp();
  });
  afterAll(() => s?.close());

  it('a retry after the record failed to commit records it and does not send again; a provider refusal is kept as a code only', async () => {
    const { t, smtp } = s;
    const address = 'once@example.cn';
    const r = await t.call('POST', '/api/v1/reports', { body: { narrative: NARRATIVE, unitId: null, reporter: { name: '郑三', email: address } }, headers: { 'x-forwarded-for': '10.31.0.1' } });
    const [{ id: clueId }] = (await t.db.query<{ id: string }>('select id from clue where tracking_code = $1', [r.json.trackingCode])) as [{ id: string }];
    // The ledger event cannot be written for a moment: the send happens, its record does not commit.
    await t.db.query(`create or replace function fail_notified() returns trigger language plpgsql as $$ begin
      if new.type = 'reporter.notified' then raise exception 'database went away'; end if; return new; end $$`);
    await t.db.query(`create trigger fail_notified before insert on ledger_event for each row execute function fail_notified()`);
    await expect(t.deps.notifications.sendReporterAck(clueId, `ack-${clueId}`)).rejects.toThrow();
    expect(smtp.received.filter((m) => m.to.includes(address))).toHaveLength(1);
    const [attempt] = await t.db.query<{ status: string; provider_id: string }>(`select status, provider_id from notification where idempotency_key = $1`, [`email:reporter-ack:${clueId}`]);
    expect(attempt?.status).toBe('sending');
    expect(smtp.received[0]!.raw).toContain(attempt!.provider_id);
    await t.db.query('drop trigger fail_notified on ledger_event');
    // The retry commits the record without a second mail.
    expect(await t.deps.notifications.sendReporterAck(clueId, `ack-${clueId}`)).toEqual({ status: 'sent', repeated: false });
    expect(smtp.received.filter((m) => m.to.includes(address))).toHaveLength(1);
    expect(await t.db.query(`select 1 from ledger_event where clue_id = $1 and type = 'reporter.notified'`, [clueId])).toHaveLength(1);
  });

  it('a mail server’s refusal ("550 5.1.1 <address>…") reaches no log line, job failure or row: only its code', async () => {
    const { t } = s;
    // A real SMTP server that refuses the recipient with its address in the text.
    const { SMTPServer } = await import('smtp-server');
    const refusing = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      onRcptTo(address, _session, cb) {
        cb(Object.assign(new Error(`5.1.1 <${address.address}>: Recipient address rejected: User unknown`), { responseCode: 550 }));
      },
    });
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
    const port = (refusing.server.address() as { port: number }).port;
    const { createMailOnce } = await import('../src/modules/notifications/mail-once.ts');
    const nodemailer = (await import('nodemailer')).default;
    const mailOnce = createMailOnce({ orm: t.deps.orm, clock: t.clock, transport: nodemailer.createTransport(`smtp://127.0.0.1:${port}`), mailFrom: 'hotline@localhost' });
    const address = 'secret-person@example.cn';
    const err = await mailOnce({ key: 'email:test:refused', template: 'email/test', clueId: null, recipient: 'reporter', build: async () => ({ to: address, subject: 's', text: 't' }), commit: async () => {} }).catch((e: Error) => e);
    expect((err as Error).message).toBe('smtp 550 5.1.1');
    const [row] = await t.db.query<{ status: string; detail: string }>(`select status, detail from notification where idempotency_key = 'email:test:refused'`);
    expect(row).toEqual({ status: 'failed', detail: 'smtp 550 5.1.1' });
    // The logger's second line: an error object's message and stack are redacted.
    const lines: string[] = [];
    const logger = createLogger('info', { write: (l: string) => void lines.push(l) });
    logger.warn({ err: { type: 'Error', message: `550 5.1.1 <${address}>`, stack: `Error: 550 <${address}>` } }, 'x');
    expect(lines.join('')).not.toContain(address);
    await new Promise<void>((resolve) => refusing.close(() => resolve()));
  });
});

// On PGlite the database is in the app's own process: it cannot refuse connections.
describe.skipIf(onPglite)('the database refusing connections', () => {
  let t: TestEnv;
  let proxy: NetServer;
  const sockets = new Set<Socket>();
  let proxyPort: number;
  let token: string;
  let db: Awaited<ReturnType<typeof createPostgresDatabase>>;
  let target: URL;

  /** A TCP proxy to the test's database that the test can stop (new connections refused, open ones cut). */
  const startProxy = () => {
    proxy = createNetServer((client) => {
      const upstream = new Socket();
      upstream.connect(Number(target.port || 5432), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    return new Promise<void>((r) => proxy.listen(proxyPort, '127.0.0.1', r));
  };

  beforeAll(async () => {
    db = await createPostgresDatabase();
    target = new URL(db.url);
    proxyPort = await freePort();
    await startProxy();
    const proxied = new URL(db.url);
    proxied.host = `127.0.0.1:${proxyPort}`;
    t = await createTestApp({ ...twilioEnv(null), DATABASE_URL: proxied.toString(), DATABASE_ACQUIRE_TIMEOUT_MS: '2000' });
    const district = await t.unit('d', 'district', null, '普陀区');
    token = (await t.staffMember('op', 'operator', district.id)).token;
  });
  afterAll(async () => {
    await t?.close();
    proxy?.close();
    await db?.drop();
  });

  it('answers 503 service.busy with Retry-After on JSON and page routes (never 500), voice answers TwiML, and recovers', async () => {
    expect((await t.call('GET', '/api/v1/staff/clues', { token })).status).toBe(200);
    // Stop the database: open connections are cut (terminated backends), new ones refused.
    await new Promise<void>((r) => {
      proxy.close(() => r());
      for (const s of sockets) s.destroy();
    });
    const busy = async (res: Response, kind: 'json' | 'html') => {
      const text = await res.text();
      expect(res.status, text).toBe(503);
      expect(res.headers.get('retry-after')).toBe('5');
      if (kind === 'json') expect(JSON.parse(text).error.code).toBe('service.busy');
      else expect(text).toContain('系统繁忙');
    };
    await busy(await t.app.request('/api/v1/staff/clues', { headers: { authorization: `Bearer ${token}` } }), 'json');
    await busy(await t.app.request('/api/v1/staff/clues', { headers: { authorization: `Bearer ${token}` } }), 'json');
    await busy(await t.app.request('/api/v1/reports', { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.40.0.1' }, body: JSON.stringify({ narrative: NARRATIVE, unitId: null }) }), 'json');
    await busy(await t.app.request('/api/v1/staff/callbacks', { headers: { authorization: `Bearer ${token}` } }), 'json');
    await busy(await t.app.request('/report', { headers: { accept: 'text/html' } }), 'html');
    // A phone call still gets an answer: an apology and a recorded report.
    const voice = await twilioClient(t).post('https://hotline.example.gov.cn/twilio/voice', { CallSid: sid('CA'), AccountSid: ACCOUNT_SID, From: '+8613600000001', To: HOTLINE, CallStatus: 'ringing' });
    expect(voice.status).toBe(200);
    expect(voice.text).toContain('<Record');
    expect(voice.text).toContain('系统暂时出现故障');
    // A text is kept on disk, sealed (Twilio would not deliver it again after an error answer).
    const texter = '+8613600000077';
    const words = `短信：村主任冒领低保多年，请查处。${sid('X')}`;
    const messageSid = sid('SM');
    const sms = () => twilioClient(t).post('https://hotline.example.gov.cn/twilio/sms', { MessageSid: messageSid, AccountSid: ACCOUNT_SID, From: texter, To: HOTLINE, Body: words, NumMedia: '0' });
    const arrived = t.clock.now();
    const kept = await sms();
    expect(kept.status, kept.text).toBe(200);
    expect(kept.text).toContain('<Response');
    expect((await sms()).status).toBe(200); // Twilio's own duplicate: still one file
    const spoolDir = join(t.config.DATA_DIR, 'sms-spool');
    const files = readdirSync(spoolDir);
    expect(files).toHaveLength(1);
    const onDisk = readFileSync(join(spoolDir, files[0]!));
    for (const secret of [texter, words, messageSid]) expect(onDisk.includes(Buffer.from(secret))).toBe(false);
    expect(await t.deps.smsSpool.drain()).toBe(0); // the database is still away: kept
    expect(readdirSync(spoolDir)).toHaveLength(1);
    // Back: the pool reconnects.
    await startProxy();
    const back = await until(() => t.call('GET', '/api/v1/staff/clues', { token }), (r) => r.status === 200);
    expect(back.status).toBe(200);
    // The kept text becomes one clue, received when it came in, with its reply queued; a late
    // delivery of the same message by Twilio is a repeat.
    t.clock.advanceBy(60_000);
    expect(await t.deps.smsSpool.drain()).toBe(1);
    expect(readdirSync(spoolDir)).toHaveLength(0);
    const clues = await db.query<{ id: string; received_at: Date; narrative: string }>(`select id, received_at, narrative from clue where channel = 'sms'`);
    expect(clues).toHaveLength(1);
    expect(clues[0]!.narrative).toBe(words);
    expect(clues[0]!.received_at.getTime()).toBe(arrived.getTime());
    const replies = await db.query<{ n: number }>(`select count(*)::int as n from sms_message where direction = 'out' and clue_id = $1`, [clues[0]!.id]);
    expect(replies[0]!.n).toBe(1);
    expect((await sms()).status).toBe(200);
    expect(await db.query(`select id from clue where channel = 'sms'`)).toHaveLength(1);
    expect(t.logs.text()).not.toContain(texter);
    expect(t.logs.text()).not.toContain('unhandled error');
  });
});
