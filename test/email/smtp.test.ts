import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { parseReport } from '../../src/modules/intake-email/email.parse.ts';
import { startSmtpIntake, type SmtpIntake, type SmtpIntakeOptions } from '../../src/modules/intake-email/email.smtp.ts';
import { base64Lines, encodedWord, gbk, rawMessage } from './mime.ts';

const REPORT_ADDRESS = 'Report@Hotline.example';
const SENDER = 'whistle.blower@example.cn';
const SUBJECT = '举报村主任冒领低保';
const TEXT = '村主任把自己的亲戚报成低保户，每月冒领补助。';

interface Received {
  raw: Buffer;
  receivedAt: Date;
}

const running: SmtpIntake[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((s) => s.close()));
});

function captureLogger() {
  const lines: string[] = [];
  return {
    lines,
    logger: {
      info: (obj: Record<string, unknown>, msg: string) => lines.push(JSON.stringify({ level: 'info', ...obj, msg })),
      warn: (obj: Record<string, unknown>, msg: string) => lines.push(JSON.stringify({ level: 'warn', ...obj, msg })),
    },
  };
}

async function start(overrides: Partial<SmtpIntakeOptions> = {}) {
  const received: Received[] = [];
  const logs = captureLogger();
  const intake = await startSmtpIntake({
    port: 0,
    host: '127.0.0.1',
    acceptRecipients: [REPORT_ADDRESS],
    maxBytes: 1024 * 1024,
    onMessage: async (raw, meta) => {
      received.push({ raw, receivedAt: meta.receivedAt });
    },
    logger: logs.logger,
    ...overrides,
  });
  running.push(intake);
  return { intake, received, logs };
}

function transport(port: number, extra: Record<string, unknown> = {}) {
  return nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, ...extra });
}

/** A minimal SMTP client: sends each command (or the DATA payload) and collects every reply. */
async function smtpDialog(port: number, steps: (string | Buffer)[]): Promise<string[]> {
  const socket = connect(port, '127.0.0.1');
  const replies: string[] = [];
  let buffer = '';
  let waiting: ((reply: string) => void) | null = null;
  socket.on('data', (d) => {
    buffer += d.toString('latin1');
    // a complete reply ends with a line "NNN text" (space after the code)
    const m = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n$/.exec(buffer);
    if (m && waiting) {
      const reply = buffer;
      buffer = '';
      const w = waiting;
      waiting = null;
      w(reply);
    }
  });
  const next = () => new Promise<string>((resolve) => (waiting = resolve));
  replies.push(await next()); // greeting
  for (const step of steps) {
    const reply = next();
    socket.write(step);
    replies.push(await reply);
  }
  socket.end();
  return replies;
}

describe('SMTP intake', () => {
  it('accepts a UTF-8 report for the report address (recipient case-insensitive)', async () => {
    const { intake, received } = await start();
    const info = await transport(intake.port).sendMail({
      from: SENDER,
      to: 'REPORT@hotline.example',
      subject: SUBJECT,
      text: TEXT,
      messageId: '<smtp-utf8@example.cn>',
    });
    expect(info.accepted).toEqual(['REPORT@hotline.example']);
    expect(info.response).toMatch(/^250 /);
    expect(received).toHaveLength(1);
    expect(received[0]!.receivedAt).toBeInstanceOf(Date);
    const parsed = await parseReport(received[0]!.raw, { maxBytes: 1024 * 1024, maxAttachments: 5 });
    expect(parsed).toMatchObject({ kind: 'report', messageId: '<smtp-utf8@example.cn>', subject: SUBJECT, text: TEXT, automated: false });
    expect(received[0]!.raw.toString('latin1')).not.toMatch(/^Return-Path:|^Received:/m);
  });

  it('accepts a GBK report byte for byte', async () => {
    const { intake, received } = await start();
    const raw = rawMessage(
      [`From: ${encodedWord('王五')} <${SENDER}>`, `To: ${REPORT_ADDRESS}`, `Subject: ${encodedWord(SUBJECT, 'GB2312')}`, 'Message-ID: <smtp-gbk@example.cn>', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=gb2312', 'Content-Transfer-Encoding: base64'],
      base64Lines(gbk(TEXT)),
      '\r\n',
    );
    await transport(intake.port).sendMail({ envelope: { from: SENDER, to: [REPORT_ADDRESS] }, raw });
    expect(received).toHaveLength(1);
    expect(received[0]!.raw.equals(raw)).toBe(true);
    const parsed = await parseReport(received[0]!.raw, { maxBytes: 1024 * 1024, maxAttachments: 5 });
    expect(parsed).toMatchObject({ kind: 'report', from: { name: '王五' }, subject: SUBJECT, text: TEXT });
  });

  it('refuses other recipients at RCPT TO with 550', async () => {
    const { intake, received, logs } = await start();
    const err = await transport(intake.port)
      .sendMail({ from: SENDER, to: 'someone-else@hotline.example', subject: 'x', text: 'y' })
      .catch((e: Error & { responseCode?: number; response?: string; rejected?: string[] }) => e);
    expect(err).toBeInstanceOf(Error);
    const e = err as Error & { responseCode?: number; response?: string; rejected?: string[] };
    expect(e.responseCode).toBe(550);
    expect(e.response).toMatch(/^550 5\.1\.1 Recipient refused: this server only accepts mail for the hotline report address/);
    expect(received).toHaveLength(0);
    expect(logs.lines.join('\n')).not.toContain('someone-else');
  });

  it('replies 250 only after onMessage has committed, and 451 when it throws (the sender retries)', async () => {
    const events: string[] = [];
    let failNext = true;
    const { intake } = await start({
      onMessage: async () => {
        await new Promise((r) => setTimeout(r, 200));
        if (failNext) {
          failNext = false;
          events.push('handler failed');
          throw new Error('database unavailable');
        }
        events.push('committed');
      },
    });
    const t = transport(intake.port);
    const err = (await t.sendMail({ from: SENDER, to: REPORT_ADDRESS, subject: SUBJECT, text: TEXT }).catch((e: unknown) => e)) as Error & {
      responseCode?: number;
      response?: string;
    };
    expect(err.responseCode).toBe(451);
    expect(err.response).toMatch(/^451 4\.3\.0 /);
    expect(err.response).not.toContain('database');
    // the sending server's retry
    await t.sendMail({ from: SENDER, to: REPORT_ADDRESS, subject: SUBJECT, text: TEXT });
    events.push('250 received');
    expect(events).toEqual(['handler failed', 'committed', '250 received']);
  });

  it('answers 451 when onMessage does not settle in time, also to senders queued behind a stuck handler', async () => {
    let calls = 0;
    const { intake } = await start({
      handlerTimeoutMs: 300,
      maxConcurrentMessages: 1,
      onMessage: () => {
        calls++;
        return new Promise(() => {}); // stuck for ever
      },
    });
    const send = () =>
      transport(intake.port)
        .sendMail({ from: SENDER, to: REPORT_ADDRESS, subject: 's', text: 't' })
        .catch((e: { responseCode?: number }) => e) as Promise<{ responseCode?: number }>;
    const started = Date.now();
    const [a, b] = await Promise.all([send(), send()]);
    expect([a.responseCode, b.responseCode]).toEqual([451, 451]);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(calls).toBe(1); // the second never got a slot, and is not started late either
    await new Promise((r) => setTimeout(r, 100));
    expect(calls).toBe(1);
  });

  it('refuses an oversize message with 552 (declared SIZE or mid-stream) and never hands it over', async () => {
    const { intake, received, logs } = await start({ maxBytes: 64 * 1024 });
    const ehlo = await smtpDialog(intake.port, ['EHLO client.example\r\n']);
    expect(ehlo[1]).toMatch(/250[- ]SIZE 65519\r\n/); // maxBytes − the 17 bytes reserved for "Return-Path: <>"

    // declared in MAIL FROM: refused at once
    const declared = await smtpDialog(intake.port, ['EHLO c\r\n', `MAIL FROM:<${SENDER}> SIZE=200000\r\n`]);
    expect(declared[2]).toMatch(/^552 /);

    // not declared: refused after the data, which is not buffered past the limit
    const big = rawMessage([`From: ${SENDER}`, `To: ${REPORT_ADDRESS}`, 'Subject: big'], base64Lines(Buffer.alloc(200 * 1024, 7)), '\r\n');
    const replies = await smtpDialog(intake.port, ['EHLO c\r\n', `MAIL FROM:<${SENDER}>\r\n`, `RCPT TO:<${REPORT_ADDRESS}>\r\n`, 'DATA\r\n', Buffer.concat([big, Buffer.from('.\r\n')]), 'QUIT\r\n']);
    expect(replies[4]).toMatch(/^354 /);
    expect(replies[5]).toMatch(/^552 5\.3\.4 Message too big/);

    // and through nodemailer
    const err = (await transport(intake.port).sendMail({ from: SENDER, to: REPORT_ADDRESS, subject: 'big', text: 'x'.repeat(100 * 1024) }).catch((e: unknown) => e)) as {
      responseCode?: number;
    };
    expect(err.responseCode).toBe(552);
    expect(received).toHaveLength(0);
    expect(logs.lines.some((l) => l.includes('"event":"too_large"'))).toBe(true);

    // a message just under the limit still goes through
    await transport(intake.port).sendMail({ from: SENDER, to: REPORT_ADDRESS, subject: 'ok', text: 'x'.repeat(60 * 1024) });
    expect(received).toHaveLength(1);
  });

  it('marks null-sender mail (bounces) with Return-Path: <> so it is flagged automated', async () => {
    const { intake, received } = await start();
    await transport(intake.port).sendMail({ envelope: { from: '', to: [REPORT_ADDRESS] }, from: 'mailer@example.cn', to: REPORT_ADDRESS, subject: '通知', text: 'x' });
    expect(received[0]!.raw.subarray(0, 17).toString()).toBe('Return-Path: <>\r\n');
    const parsed = await parseReport(received[0]!.raw, { maxBytes: 1024 * 1024, maxAttachments: 5 });
    expect(parsed).toMatchObject({ kind: 'report', automated: true });
  });

  it('does not lose messages under concurrency, and bounds concurrent onMessage calls', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    const ids: string[] = [];
    const { intake } = await start({
      maxConcurrentMessages: 2,
      onMessage: async (raw) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 30 + Math.random() * 50));
        ids.push(/^Message-ID: (.*)$/im.exec(raw.toString('latin1'))![1]!.trim());
        inFlight--;
      },
    });
    const n = 16;
    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        transport(intake.port).sendMail({ from: SENDER, to: REPORT_ADDRESS, subject: `${SUBJECT} ${i}`, text: TEXT, messageId: `<c${i}@example.cn>` }),
      ),
    );
    expect(results.every((r) => /^250 /.test(r.response))).toBe(true);
    expect(ids.sort()).toEqual(Array.from({ length: n }, (_, i) => `<c${i}@example.cn>`).sort());
    expect(maxInFlight).toBeLessThanOrEqual(2);
    expect(maxInFlight).toBe(2);
  });

  it('offers neither STARTTLS nor AUTH unless configured', async () => {
    const { intake } = await start();
    const [, ehlo] = await smtpDialog(intake.port, ['EHLO client.example\r\n']);
    expect(ehlo).not.toMatch(/STARTTLS/);
    expect(ehlo).not.toMatch(/AUTH/);
  });

  it('with tls and auth: offers STARTTLS, requires AUTH, accepts an authenticated relay', async (ctx) => {
    let certDir: string;
    let key: Buffer;
    let cert: Buffer;
    try {
      certDir = mkdtempSync(join(tmpdir(), 'smtp-tls-'));
      execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'), '-days', '1', '-subj', '/CN=localhost'], { stdio: 'ignore' });
      key = readFileSync(join(certDir, 'key.pem'));
      cert = readFileSync(join(certDir, 'cert.pem'));
      rmSync(certDir, { recursive: true, force: true });
    } catch {
      ctx.skip('openssl is not available to make a test certificate');
      return;
    }
    const { intake, received } = await start({ tls: { key, cert }, auth: { username: 'relay', password: 's3cret-pass' } });
    const [, ehlo] = await smtpDialog(intake.port, ['EHLO client.example\r\n']);
    expect(ehlo).toMatch(/STARTTLS/);

    const tlsOpts = { ignoreTLS: false, requireTLS: true, tls: { rejectUnauthorized: false } };
    const noAuth = (await transport(intake.port, tlsOpts).sendMail({ from: SENDER, to: REPORT_ADDRESS, subject: 's', text: 't' }).catch((e: unknown) => e)) as {
      responseCode?: number;
    };
    expect(noAuth.responseCode).toBe(530);
    const badAuth = (await transport(intake.port, { ...tlsOpts, auth: { user: 'relay', pass: 'wrong' } })
      .sendMail({ from: SENDER, to: REPORT_ADDRESS, subject: 's', text: 't' })
      .catch((e: unknown) => e)) as { responseCode?: number };
    expect(badAuth.responseCode).toBe(535);
    await transport(intake.port, { ...tlsOpts, auth: { user: 'relay', pass: 's3cret-pass' } }).sendMail({ from: SENDER, to: REPORT_ADDRESS, subject: SUBJECT, text: TEXT });
    expect(received).toHaveLength(1);
  });

  it('on close: a session whose message is being recorded gets its 250, then 421; idle sessions and one in DATA get 421 at once', async () => {
    let release: () => void = () => undefined;
    const recording = new Promise<void>((r) => (release = r));
    const started: string[] = [];
    const { intake } = await start({
      onMessage: async () => {
        started.push('recording');
        await recording;
      },
    });
    /** A raw session: write lines, read replies as they come. */
    const session = async () => {
      const socket = connect(intake.port, '127.0.0.1');
      let text = '';
      const closed = new Promise<void>((r) => socket.once('close', () => r()));
      socket.on('data', (d) => (text += d.toString('latin1')));
      socket.on('error', () => undefined);
      const waitFor = async (re: RegExp) => {
        for (let i = 0; i < 200 && !re.test(text); i++) await new Promise((r) => setTimeout(r, 10));
        return re.test(text);
      };
      await waitFor(/^220 /m);
      return { socket, text: () => text, waitFor, closed };
    };
    const envelope = `EHLO client\r\nMAIL FROM:<${SENDER}>\r\nRCPT TO:<${REPORT_ADDRESS}>\r\nDATA\r\n`;
    const recorded = await session();
    recorded.socket.write(envelope);
    expect(await recorded.waitFor(/^354 /m)).toBe(true);
    recorded.socket.write(`Subject: a\r\nMessage-ID: <close-1@example.cn>\r\n\r\n${TEXT}\r\n.\r\n`);
    for (let i = 0; i < 200 && started.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const idle = await session();
    idle.socket.write('EHLO client\r\n');
    expect(await idle.waitFor(/^250 /m)).toBe(true);
    const inData = await session();
    inData.socket.write(envelope);
    expect(await inData.waitFor(/^354 /m)).toBe(true);
    inData.socket.write('Subject: b\r\n\r\nhalf of a message');

    const closing = intake.close(5000);
    expect(await idle.waitFor(/^421 /m)).toBe(true);
    expect(await inData.waitFor(/^421 /m)).toBe(true);
    expect(recorded.text()).not.toMatch(/^421 /m);
    release();
    expect(await recorded.waitFor(/^250 2\.0\.0 OK/m)).toBe(true);
    expect(await recorded.waitFor(/^421 /m)).toBe(true);
    expect(recorded.text().indexOf('250 2.0.0 OK')).toBeLessThan(recorded.text().search(/^421 /m));
    await closing;
    await Promise.all([recorded.closed, idle.closed, inData.closed]);
    running.splice(running.indexOf(intake), 1);
  });

  it('logs message-id hashes and sizes only: no addresses, subjects or bodies', async () => {
    const { intake, logs } = await start({ maxBytes: 32 * 1024 });
    const t = transport(intake.port);
    await t.sendMail({ from: SENDER, to: REPORT_ADDRESS, subject: SUBJECT, text: TEXT, messageId: '<log-test@example.cn>' });
    await t.sendMail({ from: SENDER, to: 'other@hotline.example', subject: SUBJECT, text: TEXT }).catch(() => {});
    await t.sendMail({ from: SENDER, to: REPORT_ADDRESS, subject: SUBJECT, text: TEXT.repeat(500) }).catch(() => {});
    const all = logs.lines.join('\n');
    expect(logs.lines.length).toBeGreaterThanOrEqual(3);
    for (const secret of [SENDER, 'whistle', REPORT_ADDRESS.toLowerCase(), 'other@', SUBJECT, '村主任', 'log-test', '127.0.0.1']) {
      expect(all.toLowerCase()).not.toContain(secret.toLowerCase());
    }
    expect(all).toMatch(/"messageHash":"[0-9a-f]{16}"/);
  });
});
