import nodemailer from 'nodemailer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkers } from '../src/roots/worker.ts';
import { startSmtpIntake } from '../src/modules/intake-email/email.smtp.ts';
import { createTestApp, type TestEnv, until } from './helpers.ts';
import { startSmtpSink } from './smtp-sink.ts';

// Issue 12, item 8: SMTP intake is limited per connecting address and per envelope sender, and
// acknowledgements to one address are capped per hour; over a limit the mail is still kept
// (quarantined, reason `rate`), never lost, and the stranger named in forged mail gets no flood.

let t: TestEnv;
let sink: Awaited<ReturnType<typeof startSmtpSink>>;
let intake: Awaited<ReturnType<typeof startSmtpIntake>>;
let stopWorkers: () => Promise<void>;
const TO = 'jubao@minzheng.example.cn';

beforeAll(async () => {
  sink = await startSmtpSink();
  t = await createTestApp({ MAIL_URL: sink.url, SMTP_PER_ADDRESS_HOUR: '25', SMTP_PER_SENDER_HOUR: '10', ACK_PER_ADDRESS_HOUR: '3', OUTBOX_POLL_MS: '200' });
  await until(async () => t.deps.queues.connection.status, (s) => s === 'ready');
  intake = await startSmtpIntake({ port: 0, host: '127.0.0.1', acceptRecipients: [TO], maxBytes: 1024 * 1024, onMessage: (raw, meta) => t.deps.email.receive(raw, meta).then(() => undefined) });
  stopWorkers = await startWorkers(t.deps);
});
afterAll(async () => {
  await stopWorkers?.();
  await intake?.close();
  await t?.close();
  await sink?.close();
});

const transport = () => nodemailer.createTransport({ host: '127.0.0.1', port: intake.port, secure: false, ignoreTLS: true, pool: false });
const count = async (q: string) => Number((await t.db.query<{ n: string }>(q))[0]!.n);

describe('SMTP intake limits', () => {
  it('20 forged mails from one sender: 10 become clues, 10 are quarantined (rate), the named stranger gets at most 3 acknowledgements', { timeout: 60_000 }, async () => {
    const tx = transport();
    for (let i = 0; i < 20; i++) {
      const info = await tx.sendMail({ envelope: { from: 'forger@example.net', to: TO }, from: 'Victim <victim@example.cn>', to: TO, subject: `举报 ${i}`, text: `第${i}封：村主任冒领低保，每月都领。` });
      expect(info.response).toMatch(/^250/);
    }
    expect(await count(`select count(*) as n from clue where channel = 'email'`)).toBe(10);
    expect(await count(`select count(*) as n from quarantined_mail where reason = 'rate'`)).toBe(10);
    const acks = await until(
      () => t.db.query<{ status: string }>(`select status from notification where template like 'email/reporter-ack%'`),
      (rows) => rows.length >= 10 && rows.every((r) => r.status !== 'sending'),
      30_000,
    );
    expect(acks.filter((a) => a.status === 'sent')).toHaveLength(3);
    expect(acks.filter((a) => a.status === 'skipped')).toHaveLength(7);
    expect(sink.received.filter((m) => m.to.includes('victim@example.cn'))).toHaveLength(3);
  });

  it('per connecting address: beyond 25 an hour mail from many senders is quarantined too; the next hour it flows again', { timeout: 60_000 }, async () => {
    const tx = transport();
    for (let i = 0; i < 10; i++) await tx.sendMail({ envelope: { from: `s${i}@example.org`, to: TO }, from: `s${i}@example.org`, to: TO, subject: `来信 ${i}`, text: '村主任冒领低保，每月都领。' });
    expect(await count(`select count(*) as n from clue where channel = 'email'`)).toBe(15);
    expect(await count(`select count(*) as n from quarantined_mail where reason = 'rate'`)).toBe(15);
    t.clock.advanceBy(3600_000);
    await tx.sendMail({ envelope: { from: 'forger@example.net', to: TO }, from: 'x@example.org', to: TO, subject: '新的一小时', text: '村主任冒领低保，每月都领。' });
    expect(await count(`select count(*) as n from clue where channel = 'email'`)).toBe(16);
  });
});
