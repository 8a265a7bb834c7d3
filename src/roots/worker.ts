import type { Worker } from 'bullmq';
import { createWorker } from '../../queues/connection.ts';
import { queueNames } from '../../queues/names.ts';
import { createProcessors, JobDataMissing } from './processors.ts';
import { markIntentFailed } from '../modules/outbox/outbox.relay.ts';
import type { Dependencies } from './dependencies.ts';

/** The `work` role: BullMQ workers, job schedulers and the outbox relay. */
export async function startWorkers(deps: Dependencies) {
  const settings = { url: deps.config.REDIS_URL, prefix: deps.config.QUEUE_PREFIX };
  const processors = createProcessors(deps);
  const workers: Worker[] = queueNames.map((name) => createWorker(settings, name, processors[name], deps.logger, 4, deps.config.JOB_LOCK_MS));
  for (const worker of workers) {
    // Failed for good (last attempt, or unrecoverable): the outbox row stays, marked, for a person;
    // the reconciler does not put it back. A job Redis lost the data of is put back, so not marked.
    worker.on('failed', (job, err) => {
      if (!job?.id || job.repeatJobKey || err instanceof JobDataMissing) return;
      const final = err.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
      if (final) void markIntentFailed(deps.orm.em.fork(), job.id, err.message).catch(() => undefined);
    });
  }
  deps.relay.start();
  deps.relay.kick();
  // Jobs Redis lost (restarted empty, keys deleted) come back from their outbox rows: now, on a
  // schedule, and when the scheduler check below finds Redis flushed.
  let reconciling: Promise<unknown> | null = null;
  const reconcileOutbox = (): Promise<unknown> =>
    (reconciling ??= deps.relay
      .reconcile()
      .catch((err: Error) => deps.logger.warn({ err: err.message }, 'outbox reconcile failed (Redis or database down?); will retry'))
      .finally(() => {
        reconciling = null;
      }));
  const reconcileTimer = setInterval(() => void reconcileOutbox(), deps.config.OUTBOX_RECONCILE_MS);
  reconcileTimer.unref();
  deps.deadlineScheduler.start();
  // A scheduler, not a timer: with several workers the checkpoint still runs once per interval.
  // While Redis is down the upsert is retried until it lands.
  let retry: NodeJS.Timeout | undefined;
  // `queues.get` throws at once while Redis is down: inside the chain, so the retry below catches it.
  const schedule = (): Promise<unknown> =>
    Promise.resolve().then(() => Promise.all([
      deps.queues
        .get('ledger')
        .upsertJobScheduler('ledger-checkpoint', { every: deps.config.CHECKPOINT_INTERVAL_MS }, { name: 'ledger.checkpoint', data: {} }),
      // The daily digest to the ledger's witnesses outside the bureau.
      ...(deps.config.LEDGER_WITNESS_EMAILS.length
        ? [
            deps.queues
              .get('ledger')
              .upsertJobScheduler('ledger-witness', { pattern: deps.config.LEDGER_WITNESS_CRON, tz: deps.config.TIME_ZONE }, { name: 'ledger.witness', data: {} }),
          ]
        : []),
      ...(deps.config.IMAP_URL
        ? [deps.queues.get('email').upsertJobScheduler('email-poll-imap', { every: deps.config.IMAP_POLL_MS }, { name: 'email.poll_imap', data: {} })]
        : []),
      // Call-back reminders and escalation, and calls whose recording never came (idempotent: steps are recorded on the rows).
      deps.queues
        .get('hotline')
        .upsertJobScheduler('hotline-sweep', { every: deps.config.HOTLINE_SWEEP_MS }, { name: 'hotline.sweep', data: {} }),
      // Tops the deadline horizon up and puts back whatever a Redis flush or restart lost.
      deps.queues
        .get('deadlines')
        .upsertJobScheduler('deadline-reconcile', { every: deps.config.DEADLINE_RECONCILE_MS }, { name: 'deadline.reconcile', data: {} }),
    ]))
      .then(() => Promise.all([deps.deadlineScheduler.reconcile(), reconcileOutbox()]))
      .catch((err: Error) => {
        deps.logger.warn({ err: err.message }, 'could not set up job schedulers yet (Redis down?); retrying');
        retry = setTimeout(schedule, 5000);
      });
  await deps.queues.waitUntilReady(3000);
  await schedule();
  deps.logger.info({ queues: queueNames }, 'workers started');

  // A Redis flush or a restart without persistence takes the schedulers with it, and nothing
  // would run the reconcile that puts the deadlines back. So each worker looks now and then, and
  // restores them (upserts are idempotent, so several workers doing it at once is harmless).
  let checking = false;
  const check = setInterval(() => {
    if (checking) return;
    checking = true;
    deps.queues
      .get('deadlines')
      .getJobScheduler('deadline-reconcile')
      .then(async (found) => {
        if (found) return;
        deps.logger.warn('job schedulers missing from Redis (flushed or restarted?): restoring them, reconciling deadlines and outbox jobs');
        await schedule();
      })
      .catch(() => undefined) // Redis down: the next check tries again
      .finally(() => {
        checking = false;
      });
  }, deps.config.SCHEDULER_CHECK_MS);
  check.unref();

  return async function stopWorkers() {
    clearTimeout(retry);
    clearInterval(check);
    clearInterval(reconcileTimer);
    // Each worker finishes its current jobs (BullMQ's close waits for them) and takes no new one.
    await Promise.allSettled(workers.map((w) => w.close()));
    await reconciling;
  };
}
