/**
 * SMTP load, run in a worker thread by `runSmtpLoad` (smtp-load.ts) so that building and sending
 * mail does not share the event loop of the SMTP listener being measured: a nodemailer pooled
 * transport with `connections` connections and as many closed loops, each sending its next message
 * when the last one is answered. Every message is the same raw MIME with a unique Message-ID.
 */
import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import nodemailer from 'nodemailer';
import type { SmtpLoadReport, SmtpLoadSpec } from './smtp-load.ts';

const spec = workerData as SmtpLoadSpec;
const template = Buffer.from(spec.raw, 'latin1');
const slot = template.indexOf(spec.messageIdPlaceholder, 0, 'latin1');
if (slot < 0) throw new Error('the raw message has no Message-ID placeholder');
const head = template.subarray(0, slot);
const tail = template.subarray(slot + spec.messageIdPlaceholder.length);
// Same length as the placeholder, so every message has the same size: worker tag + counter, hex.
const width = spec.messageIdPlaceholder.length;
const tag = randomBytes(8).toString('hex').slice(0, Math.max(0, width - 12));
let sent = 0;
const nextRaw = () => Buffer.concat([head, Buffer.from(tag + (sent++).toString(16).padStart(width - tag.length, '0'), 'latin1'), tail]);

const transport = nodemailer.createTransport({
  host: '127.0.0.1',
  port: spec.port,
  secure: false,
  ignoreTLS: true,
  pool: true,
  maxConnections: spec.connections,
  maxMessages: Infinity,
  connectionTimeout: spec.timeoutMs,
  greetingTimeout: spec.timeoutMs,
  socketTimeout: spec.timeoutMs,
});

const started = performance.now();
const windowStart = started + spec.warmupSeconds * 1000;
const windowEnd = windowStart + spec.seconds * 1000;
let latencies = new Float64Array(1 << 14);
let count = 0;
const report: Omit<SmtpLoadReport, 'latencies'> = {
  errors: 0,
  warmupErrors: 0,
  errorKinds: {},
  sockets: spec.connections,
  windowMs: spec.seconds * 1000,
  acceptedTotal: 0,
  refusedTotal: 0,
  failedTotal: 0,
};

function record(start: number, end: number, error: string | null) {
  const inWindow = end >= windowStart && end <= windowEnd;
  if (error !== null) {
    if (inWindow) report.errors++;
    else if (end < windowStart) report.warmupErrors++;
    report.errorKinds[error] = (report.errorKinds[error] ?? 0) + 1;
    return;
  }
  if (!inWindow) return;
  if (count === latencies.length) {
    const bigger = new Float64Array(latencies.length * 2);
    bigger.set(latencies);
    latencies = bigger;
  }
  latencies[count++] = end - start;
}

async function loop() {
  while (performance.now() < windowEnd) {
    const start = performance.now();
    let error: string | null = null;
    try {
      const info = await transport.sendMail({ envelope: { from: spec.envelopeFrom, to: [spec.envelopeTo] }, raw: nextRaw() });
      if (info.accepted.length === 1 && /^250\b/.test(info.response)) report.acceptedTotal++;
      else {
        report.refusedTotal++;
        error = `not accepted: ${info.response.slice(0, 60)}`;
      }
    } catch (err) {
      const e = err as Error & { responseCode?: number };
      if (e.responseCode) {
        report.refusedTotal++;
        error = `SMTP ${e.responseCode}`;
      } else {
        report.failedTotal++;
        error = e.message.slice(0, 80);
      }
    }
    record(start, performance.now(), error);
  }
}

await Promise.all(Array.from({ length: spec.connections }, loop));
transport.close();
const result = latencies.slice(0, count);
parentPort!.postMessage({ ...report, latencies: result } satisfies SmtpLoadReport, [result.buffer]);
