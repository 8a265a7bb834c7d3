import { Queues } from '../../queues/connection.ts';
import { appendAuditEvent } from '../modules/clues/ledger.ts';
import { recomputeForStaff } from '../modules/visibility/visibility.ts';
import { createCheckpointer } from '../modules/clues/ledger.checkpoint.ts';
import { createLedgerWatch } from '../modules/clues/ledger.watch.ts';
import { createLedgerWitness } from '../modules/clues/ledger.witness.ts';
import { createClueUseCases } from '../modules/clues/clues.usecases.ts';
import { createMailTransport, createNotificationUseCases, type MailTransport } from '../modules/notifications/notifications.usecases.ts';
import { LocalFolderStorage } from '../modules/attachments/attachments.storage.ts';
import { createUploads } from '../modules/attachments/uploads.ts';
import { createReportUseCases } from '../modules/intake-web/reports.usecases.ts';
import { createFollowUpSessions } from '../modules/intake-web/follow-up.session.ts';
import { createHotline } from '../modules/intake-voice/hotline.ts';
import { createMessageUseCases } from '../modules/messages/messages.usecases.ts';
import { tellReporterOfDecision } from '../modules/messages/messages.decision.ts';
import { sealClearNames } from '../modules/attachments/attachments.names.ts';
import { DEFAULT_CALENDAR_DATA_DIR, loadCalendar } from '../modules/deadlines/calendar/calendar.ts';
import { createDeadlineScheduler } from '../modules/deadlines/deadlines.scheduler.ts';
import { createDeadlineUseCases } from '../modules/deadlines/deadlines.usecases.ts';
import { defaultPolicyPath, loadPolicyFile } from '../modules/deadlines/policy.ts';
import { createWorkflowUseCases } from '../modules/verification/workflow.usecases.ts';
import { createReferralUseCases } from '../modules/referrals/referrals.usecases.ts';
import { createEmailUseCases } from '../modules/intake-email/email.usecases.ts';
import { OutboxRelay } from '../modules/outbox/outbox.relay.ts';
import { createSmsSpool } from '../modules/intake-voice/sms.spool.ts';
import { MailNotSent, mailErrorCode } from '../modules/notifications/mail-once.ts';
import { createRegistryUseCases } from '../modules/registry/registry.usecases.ts';
import { createStaffUseCases, secondFactorRequired } from '../modules/staff/staff.usecases.ts';
import { createPrincipalCache, STAFF_PRINCIPAL_CHANNEL } from '../modules/staff/principal-cache.ts';
import { createTriageUseCases } from '../modules/triage/triage.usecases.ts';
import { createAuditUseCases } from '../modules/audit/audit.usecases.ts';
import { createStatisticsUseCases } from '../modules/statistics/statistics.usecases.ts';
import { createContactUseCases } from '../modules/contact/contact.usecases.ts';
import { join } from 'node:path';
import { type Clock, systemClock } from '../app/clock.ts';
import { createCsrf } from '../app/csrf.ts';
import type { Config } from '../app/config.ts';
import { migrate, type Orm, sql } from '../app/db.ts';
import { createOrm } from './orm.ts';
import { type NoticeFeed, noticeFeed } from '../app/db-notices.ts';
import { type Keys, resolveKeys } from '../app/keys.ts';
import { createLogger, type Logger } from '../app/logger.ts';
import { createMetrics } from '../app/metrics.ts';
import { createThrottle } from '../app/throttle.ts';
import { createLoginGuard } from '../modules/staff/login.guard.ts';
import { registerLedgerHooks } from './ledger-hooks.ts';

/** The typed bag every composition root (serve, work, tests, bench) builds the app from. */
export async function createDependencies(
  config: Config,
  overrides: { logger?: Logger; clock?: Clock; keys?: Keys; orm?: Orm; mailTransport?: MailTransport } = {},
) {
  registerLedgerHooks();
  const logger = overrides.logger ?? createLogger(config.LOG_LEVEL);
  const clock = overrides.clock ?? systemClock;
  const keys = overrides.keys ?? resolveKeys(config, logger);
  const orm = overrides.orm ?? (await createOrm(config, logger));
  if (config.MIGRATE_ON_START) await migrate(orm, logger);
  const queues = new Queues({ url: config.REDIS_URL, prefix: config.QUEUE_PREFIX }, logger);
  const relay = new OutboxRelay(orm, queues, logger, config.OUTBOX_POLL_MS);
  const metrics = createMetrics(clock);
  const throttle = createThrottle({ redis: queues.connection, prefix: `{${config.QUEUE_PREFIX}}`, key: keys.secretHmacKey, clock, logger });
  const loginGuard = createLoginGuard(throttle, config);
  const totpRequired = secondFactorRequired(config);
  if (!totpRequired) logger.warn('双重验证为可选（STAFF_2FA）：员工账号可只凭密码登录 / two-factor sign-in is optional (STAFF_2FA): staff can sign in with a password alone');
  // Staff principals kept while the database's notices are heard; the LISTEN starts with the first
  // staff request, so a process that serves none (a worker) opens no connection for it.
  let principalNotices: NoticeFeed | undefined;
  const principals =
    config.STAFF_PRINCIPAL_CACHE_SECONDS > 0 ? createPrincipalCache({ maxAgeMs: config.STAFF_PRINCIPAL_CACHE_SECONDS * 1000, onFirstUse: () => principalNotices?.start() }) : undefined;
  if (principals) {
    principalNotices = noticeFeed({
      orm,
      databaseUrl: config.DATABASE_URL,
      channel: STAFF_PRINCIPAL_CHANNEL,
      logger,
      onNotice: () => principals.forget(),
      onUp: () => principals.up(),
      onDown: () => principals.down(),
    });
  }
  const staff = createStaffUseCases({ orm, clock, logger, sessionTtlHours: config.SESSION_TTL_HOURS, idleMinutes: config.STAFF_IDLE_MINUTES, totpKey: keys.reporterKey, totpRequired, principals, audit: appendAuditEvent, recomputeExclusions: recomputeForStaff });
  const missingYears: number[] = [];
  const calendar = loadCalendar({
    dirs: [DEFAULT_CALENDAR_DATA_DIR, ...(config.CALENDAR_DIR ? [config.CALENDAR_DIR] : [])],
    timeZone: config.TIME_ZONE,
    onMissingYear: (year) => {
      missingYears.push(year);
      logger.warn({ year }, '工作日历缺少该年份，按周一至周五计算 / no working-day calendar for this year: Monday–Friday is assumed');
    },
  });
  const deadlines = createDeadlineUseCases({
    orm,
    clock,
    logger,
    calendar,
    basePolicy: loadPolicyFile(config.DEADLINE_POLICY_FILE ?? defaultPolicyPath),
  });
  const deadlineScheduler = createDeadlineScheduler({
    orm,
    queues,
    clock,
    logger,
    horizonMs: config.DEADLINE_HORIZON_HOURS * 3600_000,
    syncMs: config.DEADLINE_SYNC_MS,
  });
  const storage = new LocalFolderStorage(join(config.DATA_DIR, 'attachments'));
  const uploads = createUploads(storage);
  const clues = createClueUseCases({
    uploads,
    orm,
    clock,
    keys,
    logger,
    onOutboxWritten: () => relay.kick(),
    pinGuard: {
      throttle,
      perCode: { free: config.PIN_FREE_ATTEMPTS, maxDelaySeconds: config.PIN_MAX_DELAY_SECONDS, windowMs: 3600_000 },
      perCaller: { free: config.PIN_FREE_ATTEMPTS * 2, maxDelaySeconds: config.PIN_MAX_DELAY_SECONDS, windowMs: 3600_000 },
    },
    pinLength: config.PHONE_PIN_LENGTH,
    deadlines,
    tellReporterOfDecision,
    onDeadlinesChanged: () => deadlineScheduler.kick(),
    deadlineHorizonMs: config.DEADLINE_HORIZON_HOURS * 3600_000,
    onAccepted: (clueId) => {
      workflow.ensureHomeVisit(clueId).catch((err: Error) => logger.warn({ clueId, err: err.message }, 'automatic home visit not created'));
    },
  });
  const hotline = createHotline({ orm, clock, keys, logger, config, clues, deadlines, calendar, storage, metrics, onOutboxWritten: () => relay.kick() });
  const messages = createMessageUseCases({ orm, clock, logger, reporterKey: keys.reporterKey, onOutboxWritten: () => relay.kick() });
  // Start-up step (idempotent): attachment names kept in clear by earlier versions are sealed (needs the key, so not a
  // migration). In the background: reads take either form, and a large database must not hold the start back.
  let closing = false;
  const sealingNames = sealClearNames(orm, keys.reporterKey, logger, () => closing).catch((err: Error) => logger.warn({ err: err.message }, 'could not seal clear attachment names; retried at the next start'));
  const contact = createContactUseCases({ config, deadlines });
  const reports = createReportUseCases({ orm, clues, messages, uploads, deadlines, logger });
  const csrf = createCsrf(keys.secretHmacKey);
  const followUpSessions = createFollowUpSessions({ secretHmacKey: keys.secretHmacKey, clock, ttlMinutes: config.FOLLOW_UP_SESSION_MINUTES });
  const workflow = createWorkflowUseCases({
    orm,
    clock,
    logger,
    clues,
    deadlines,
    afterCommit: () => {
      relay.kick();
      deadlineScheduler.kick();
    },
  });
  const mailTransport = overrides.mailTransport ?? createMailTransport(config.MAIL_URL);
  const referrals = createReferralUseCases({
    orm,
    clock,
    logger,
    keys,
    clues,
    deadlines,
    transport: mailTransport,
    mailFrom: config.MAIL_FROM,
    publicBaseUrl: config.PUBLIC_BASE_URL,
    linkDays: config.REFERRAL_LINK_DAYS,
    afterCommit: () => {
      relay.kick();
      deadlineScheduler.kick();
    },
  });
  const triage = createTriageUseCases({ orm, clock, logger });
  const registry = createRegistryUseCases({ orm, clock, keys, logger, assertClueVisible: clues.assertVisible, timeZone: config.TIME_ZONE });
  const email = createEmailUseCases({ orm, clock, logger, keys, storage, clues, messages, maxBytes: config.EMAIL_MAX_BYTES, hotlineUnitCode: config.HOTLINE_UNIT_CODE, limits: { throttle, perAddressHour: config.SMTP_PER_ADDRESS_HOUR, perSenderHour: config.SMTP_PER_SENDER_HOUR } });
  if (config.HOTLINE_UNIT_CODE) {
    const [found] = await sql(orm.em.fork(), 'select 1 from unit where code = ?', [config.HOTLINE_UNIT_CODE]).catch(() => [true]);
    if (!found) logger.warn({ code: config.HOTLINE_UNIT_CODE }, 'HOTLINE_UNIT_CODE names no unit: only admins can handle quarantined mail and call-back numbers, and call-back reminders go nowhere');
  }
  // Start-up step (idempotent): Message-IDs kept in clear by earlier versions become keyed hashes (needs the key, so not a migration).
  await email.rekeyClearMessageIds().catch((err: Error) => logger.warn({ err: err.message }, 'could not rewrite clear Message-IDs; retried at the next start'));
  const sealCheckpoint = createCheckpointer({ orm, clock, logger, keys: keys.ledger });
  const audit = createAuditUseCases();
  const statistics = createStatisticsUseCases({ orm, clock, logger, calendar });
  const ledgerWatch = createLedgerWatch({ orm, clock, logger, alertMs: config.LEDGER_CHECKPOINT_ALERT_MS });
  const ledgerWitness = createLedgerWitness({
    orm,
    clock,
    logger,
    witnesses: config.LEDGER_WITNESS_EMAILS,
    mailFrom: config.MAIL_FROM,
    // A refusal's text may name an address: only its code goes on (job failure, logs).
    send: (mail) =>
      mailTransport.sendMail(mail).catch((err: unknown) => {
        throw new MailNotSent(mailErrorCode(err));
      }),
    sealCheckpoint,
  });
  const notifications = createNotificationUseCases({
    orm,
    clock,
    logger,
    keys,
    transport: mailTransport,
    mailFrom: config.MAIL_FROM,
    publicBaseUrl: config.PUBLIC_BASE_URL,
    contact,
    queueReporterSms: hotline.sms.queueToReporter,
    onOutboxWritten: () => relay.kick(),
    ackLimit: { throttle, perAddressHour: config.ACK_PER_ADDRESS_HOUR },
  });

  const smsSpool = createSmsSpool({ dir: join(config.DATA_DIR, 'sms-spool'), keys, logger, receive: (input, at) => hotline.sms.receive(input, at) });

  async function close() {
    closing = true;
    await smsSpool.stop();
    await sealingNames;
    ledgerWatch.stop();
    await relay.stop();
    await deadlineScheduler.stop();
    await queues.close();
    await principalNotices?.close();
    await orm.close(true);
  }

  return {
    config,
    logger,
    clock,
    keys,
    orm,
    queues,
    relay,
    smsSpool,
    metrics,
    staff,
    principals,
    principalNotices,
    throttle,
    loginGuard,
    clues,
    storage,
    hotline,
    messages,
    contact,
    reports,
    csrf,
    followUpSessions,
    triage,
    registry,
    notifications,
    workflow,
    referrals,
    email,
    calendar,
    missingYears,
    deadlines,
    deadlineScheduler,
    sealCheckpoint,
    audit,
    statistics,
    ledgerWatch,
    ledgerWitness,
    close,
  };
}

export type Dependencies = Awaited<ReturnType<typeof createDependencies>>;
