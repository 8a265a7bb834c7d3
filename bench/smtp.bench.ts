/**
 * Report mail through the built-in SMTP listener, wired exactly as src/main.ts wires it
 * (`startSmtpIntake` with the configured recipients and size limit, `onMessage` awaiting
 * `deps.email.receive`, default connection and handler limits), on a loopback port.
 *
 * The load: 20 KB messages (a Chinese narrative, UTF-8, base64 as nodemailer encodes it, from a
 * named sender) with a unique Message-ID each, sent by a nodemailer pooled transport over several
 * connections from a worker thread, closed loop, for a fixed time. Counted: messages accepted (250),
 * refused (4xx/5xx) and failed (no answer); then the email clues in the database, which must equal
 * the accepted messages (250 is sent only after the commit: nothing lost, nothing doubled).
 *
 * Target: at least 200 messages/s of 20 KB registered end to end, none refused.
 */
import nodemailer from 'nodemailer';
import pg from 'pg';
import { startSmtpIntake } from '../src/modules/intake-email/email.smtp.ts';
import { drainOutbox } from './lib/checks.ts';
import { type Benchmark, startFullApp } from './lib/setup.ts';
import { runSmtpLoad } from './lib/smtp-load.ts';

const MIN_MESSAGES_PER_SECOND = 200;
const MESSAGE_BYTES = 20 * 1024;
const DEFAULT_CONNECTIONS = 8;
const PLACEHOLDER = 'Q'.repeat(28);
const SENDER = 'li.xiuying@example.cn';

const PARAGRAPH =
  '我是长风街道长风一村的居民，实名反映本村低保审批中存在的问题。村委会委员王某某负责低保初审，' +
  '今年三月将其妻弟张某某一家三口纳入最低生活保障范围。张某某名下有一套商品住房和一辆小型轿车，' +
  '本人在物流公司当驾驶员，月收入六千元以上，其配偶在超市上班，家庭人均收入明显高于本市低保标准。' +
  '入户调查时，王某某事先通知张某某把车辆停到别处，并在家庭经济状况核对表上隐瞒了房产和工资收入。' +
  '民主评议会议没有按规定召开，公示名单只在公告栏张贴了两天就被撕掉。同楼栋独居的残疾老人刘某某多次申请，' +
  '都被以材料不全为由退回。附上我记录的时间、地点和在场人员，请有关部门认真核查，依法依规处理，并为举报人保密。\n';

/** The raw message, about `bytes` long, with PLACEHOLDER where each copy gets its own Message-ID. */
async function buildMessage(to: string, bytes: number): Promise<Buffer> {
  const composer = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'windows' });
  const build = async (chars: number) => {
    const text = PARAGRAPH.repeat(Math.ceil(chars / PARAGRAPH.length) + 1).slice(0, chars);
    const info = await composer.sendMail({
      from: { name: '李秀英', address: SENDER },
      to,
      subject: '实名举报：长风一村低保审批优亲厚友、隐瞒收入',
      text,
      messageId: `<${PLACEHOLDER}@mail.example.cn>`,
      date: new Date(),
    });
    return info.message as Buffer;
  };
  // UTF-8 (3 bytes a character) in base64 (4/3, plus line breaks): about 4.1 bytes a character.
  let chars = Math.round(bytes / 4.1);
  let raw = await build(chars);
  for (let i = 0; i < 8 && Math.abs(raw.length - bytes) > 8; i++) {
    chars += Math.round((bytes - raw.length) / 4.1) || Math.sign(bytes - raw.length);
    raw = await build(chars);
  }
  return raw;
}

export const smtpBenchmark: Benchmark = {
  name: 'smtp',
  description: 'report mail through the SMTP listener (20 KB, Chinese body) into clues',
  async run({ db, settings, signal }) {
    const connections = Math.round(Number(process.env.BENCH_SMTP_CONNECTIONS ?? DEFAULT_CONNECTIONS));
    const app = await startFullApp(db);
    const pool = new pg.Pool({ connectionString: db.url, max: 2 });
    const { config, logger, email } = app.deps;
    // As src/main.ts starts it (port and host aside: an ephemeral loopback port).
    const smtp = await startSmtpIntake({
      port: 0,
      host: '127.0.0.1',
      acceptRecipients: config.REPORT_ADDRESSES,
      maxBytes: config.EMAIL_MAX_BYTES,
      logger,
      onMessage: async (raw, meta) => {
        await email.receive(raw, meta);
      },
    }).catch(async (err) => {
      await pool.end().finally(() => app.close());
      throw err;
    });
    try {
      const count = async (text: string) => (await pool.query<{ n: number }>(text)).rows[0]?.n ?? 0;
      const to = config.REPORT_ADDRESSES[0]!;
      const raw = await buildMessage(to, MESSAGE_BYTES);
      const before = await count(`select count(*)::int as n from clue where channel = 'email'`);

      const load = await runSmtpLoad(
        {
          port: smtp.port,
          raw: raw.toString('latin1'),
          messageIdPlaceholder: PLACEHOLDER,
          envelopeFrom: SENDER,
          envelopeTo: to,
          connections,
          warmupSeconds: settings.warmupSeconds,
          seconds: settings.seconds,
          timeoutMs: 60_000,
        },
        signal,
      );
      const outbox = await drainOutbox(app, signal);
      const registered = (await count(`select count(*)::int as n from clue where channel = 'email'`)) - before;
      const quarantined = await count('select count(*)::int as n from quarantined_mail');
      const { acceptedTotal, refusedTotal, failedTotal, ...result } = load;
      return {
        results: { smtp: result },
        derived: { acceptedTotal, refusedTotal, failedTotal, registered, messageBytes: raw.length },
        targets: [
          {
            name: `at least ${MIN_MESSAGES_PER_SECOND} messages/s of 20 KB registered end to end`,
            ok: result.requestsPerSecond >= MIN_MESSAGES_PER_SECOND,
            detail: `${result.requestsPerSecond} messages/s accepted after commit (p50 ${result.latencyMs.p50} ms, p99 ${result.latencyMs.p99} ms per message)`,
          },
          {
            name: 'nothing lost or doubled: clues registered = messages accepted',
            ok: registered === acceptedTotal && quarantined === 0,
            detail: `${registered} email clues for ${acceptedTotal} messages answered 250 (${quarantined} quarantined)`,
          },
          {
            name: 'no message refused while the database is reachable',
            ok: refusedTotal === 0 && failedTotal === 0,
            detail: `${refusedTotal} refused, ${failedTotal} failed without an answer${Object.keys(result.errorKinds).length ? ` (${JSON.stringify(result.errorKinds)})` : ''}`,
          },
        ],
        notes: { smtpConnections: connections, maxConcurrentMessages: 4, ...outbox },
      };
    } finally {
      await smtp
        .close()
        .finally(() => pool.end())
        .finally(() => app.close());
    }
  },
};
