import { Worker } from 'node:worker_threads';
import { type LoadResult, summarize, type WorkerReport } from './load.ts';

/** A closed-loop SMTP load (smtp-load-worker.ts): `connections` pooled connections, one message in flight on each. */
export interface SmtpLoadSpec {
  port: number;
  /** The raw MIME, as latin1 (a binary string); `messageIdPlaceholder` in it is replaced per message. */
  raw: string;
  messageIdPlaceholder: string;
  envelopeFrom: string;
  envelopeTo: string;
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** Connection, greeting and socket timeouts. */
  timeoutMs: number;
}

export interface SmtpLoadReport extends WorkerReport {
  /** Over the whole run, warm-up and the messages still in flight when the window closed included. */
  acceptedTotal: number;
  /** Answered with a 4xx/5xx (or accepted by nobody). */
  refusedTotal: number;
  /** No SMTP answer at all: socket errors, timeouts. */
  failedTotal: number;
}

export type SmtpLoadResult = LoadResult & Pick<SmtpLoadReport, 'acceptedTotal' | 'refusedTotal' | 'failedTotal'>;

/** Runs the SMTP load in a worker thread; aborting `signal` stops it at once. */
export function runSmtpLoad(spec: SmtpLoadSpec, signal?: AbortSignal): Promise<SmtpLoadResult> {
  signal?.throwIfAborted();
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('./smtp-load-worker.ts', import.meta.url), { workerData: spec });
    const onAbort = () => void worker.terminate();
    signal?.addEventListener('abort', onAbort, { once: true });
    let report: SmtpLoadReport | undefined;
    worker.once('message', (m: SmtpLoadReport) => {
      report = m;
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) reject(signal.reason);
      else if (report) {
        const { acceptedTotal, refusedTotal, failedTotal } = report;
        resolve({ ...summarize(report, spec), acceptedTotal, refusedTotal, failedTotal });
      } else reject(new Error(`SMTP load worker exited with code ${code} before reporting`));
    });
  });
}
