import { createPrivateKey, createPublicKey } from 'node:crypto';
import { z } from 'zod';

function isEd25519PrivateKey(base64: string): boolean {
  try {
    return createPrivateKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'pkcs8' }).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

function isEd25519PublicKey(base64: string): boolean {
  try {
    return createPublicKey({ key: Buffer.from(base64, 'base64'), format: 'der', type: 'spki' }).asymmetricKeyType === 'ed25519';
  } catch {
    return false;
  }
}

// Every key is documented in README.md (Configuration). Parsed once at start; never read elsewhere.
const port = z.coerce.number().int().min(0).max(65535);
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const key32 = z
  .string()
  .refine((s) => Buffer.from(s, 'base64').length === 32, 'must be 32 bytes, base64-encoded');

export const configSchema = z.object({
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: port.default(3000),
  HOST: z.string().default('0.0.0.0'),
  SMTP_PORT: port.default(2525),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://')
    .optional(),
  DATABASE_POOL_MAX: z.coerce.number().int().min(1).max(200).default(20),
  /** How long a request waits for a free pooled connection before failing (503) instead of hanging. */
  DATABASE_ACQUIRE_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, 'must start with redis:// or rediss://').default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z.string().min(1).default('dibao'),
  DATA_DIR: z.string().min(1).default('./data'),
  PUBLIC_BASE_URL: z.url().default('http://localhost:3000'),
  TWILIO_ACCOUNT_SID: z.string().default(''),
  TWILIO_AUTH_TOKEN: z.string().default(''),
  /** Phone hotline (README "Phone hotline"). Unset: the real https://api.twilio.com. */
  TWILIO_API_BASE: z.url().optional(),
  TWILIO_DELETE_RECORDINGS: bool.default(false),
  /** Sender of outbound SMS; unset: the hotline number the caller or texter used. */
  TWILIO_SMS_FROM: z.string().optional(),
  /** The published complaint hotline number(s), as people dial them (comma-separated): shown on the citizen pages and in acknowledgements. */
  HOTLINE_NUMBERS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((n) => n.trim()).filter(Boolean)),
  /** Code of the hotline unit: its operators and supervisors (and admins) alone handle quarantined mail and call-back numbers, and get the call-back reminders. Unset: the root unit. */
  HOTLINE_UNIT_CODE: z.string().trim().min(1).optional(),
  /** Days a referral packet link stays valid for a discipline body without accounts (one with officer accounts opens it signed in). */
  REFERRAL_LINK_DAYS: z.coerce.number().int().min(1).max(30).default(3),
  /** How long a reporter stays signed in on the follow-up pages without doing anything (a browser-session cookie). */
  FOLLOW_UP_SESSION_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(30),
  OPERATOR_NUMBERS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((n) => n.trim()).filter(Boolean)),
  DIAL_TIMEOUT_SECONDS: z.coerce.number().int().min(5).max(120).default(20),
  RECORDING_MAX_SECONDS: z.coerce.number().int().min(10).max(3600).default(300),
  RECORDING_FETCH_ATTEMPTS: z.coerce.number().int().min(1).max(8).default(8),
  PHONE_PIN_LENGTH: z.coerce.number().int().min(4).max(8).default(6),
  VOICE_MAX_WRONG_ENTRIES: z.coerce.number().int().min(1).max(10).default(3),
  VOICE_LOCALE: z.enum(['zh-CN', 'en']).default('zh-CN'),
  SMS_CALLBACK_NOTICE: bool.default(true),
  /** How often the `hotline.sweep` job runs: call-back reminders and escalation, recordings that never came. */
  HOTLINE_SWEEP_MS: z.coerce.number().int().min(1000).default(60_000),
  /** A call that ended in the recording step is owed a call-back if no recording callback came within this. */
  RECORDING_WAIT_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(10),
  /** AES-256-GCM key sealing reporter identity. Unset outside production: generated into DATA_DIR/keys.json. */
  REPORTER_KEY: key32.optional(),
  /** HMAC key for report secrets. Never stored in the database. Same fallback as REPORTER_KEY. */
  SECRET_HMAC_KEY: key32.optional(),
  /** Outbound mail: an SMTP URL (smtp://user:pass@host:587), or `json` to build messages without sending (development). */
  MAIL_URL: z.string().regex(/^(smtps?:\/\/.+|json)$/, 'smtp://…, smtps://… or json').default('json'),
  MAIL_FROM: z.string().min(3).default('低保投诉举报热线 <hotline@localhost>'),
  /** How many reverse proxies of your own stand in front (0: none); the client address is the one the outermost saw, the nth from the right of X-Forwarded-For. `true` = 1, `false` = 0. */
  TRUST_PROXY: z
    .string()
    .regex(/^(true|false|yes|no|\d{1,2})$/, 'a number of proxies (0–99), or true (1) / false (0)')
    .transform((v) => (v === 'true' || v === 'yes' ? 1 : v === 'false' || v === 'no' ? 0 : Number(v)))
    .default(0),
  /** Staff sign-in slow-down (README "Account security and limits"). */
  LOGIN_FREE_FAILURES: z.coerce.number().int().min(1).default(5),
  LOGIN_FREE_FAILURES_PER_ADDRESS: z.coerce.number().int().min(1).default(20),
  LOGIN_MAX_DELAY_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  LOGIN_WINDOW_MINUTES: z.coerce.number().int().min(1).max(24 * 60).default(15),
  /** Abuse limits on the citizen endpoints (see README "Why guessing a tracking code is hopeless"). */
  RATE_SUBMIT_PER_CLIENT_HOUR: z.coerce.number().int().min(1).default(10),
  RATE_SUBMIT_GLOBAL_MINUTE: z.coerce.number().int().min(1).default(300),
  RATE_FOLLOWUP_PER_CLIENT_10MIN: z.coerce.number().int().min(1).default(30),
  RATE_FOLLOWUP_GLOBAL_10MIN: z.coerce.number().int().min(1).default(1000),
  /** IANA zone for day boundaries and office hours in deadline arithmetic. */
  TIME_ZONE: z.string().default('Asia/Shanghai'),
  /** Extra folder of working-day calendar files (YYYY.json), overriding the shipped ones. */
  CALENDAR_DIR: z.string().optional(),
  /** A deadline policy file replacing the shipped defaults (admins can also edit it through the API). */
  DEADLINE_POLICY_FILE: z.string().optional(),
  /** Only deadline steps due within this many hours are held in Redis as delayed jobs. */
  DEADLINE_HORIZON_HOURS: z.coerce.number().positive().max(24 * 30).default(6),
  DEADLINE_SYNC_MS: z.coerce.number().int().min(50).default(1000),
  DEADLINE_RECONCILE_MS: z.coerce.number().int().min(1000).default(60_000),
  SCHEDULER_CHECK_MS: z.coerce.number().int().min(100).default(30_000),
  /** The report addresses the SMTP listener accepts mail for (comma-separated); others are refused. */
  REPORT_ADDRESSES: z.string().default('report@localhost').transform((s) => s.split(',').map((a) => a.trim()).filter(Boolean)),
  SMTP_ENABLED: bool.default(true),
  /** SMTP intake per hour, per connecting address and per envelope sender; beyond, mail is quarantined (reason `rate`), never lost. */
  SMTP_PER_ADDRESS_HOUR: z.coerce.number().int().min(1).default(30),
  SMTP_PER_SENDER_HOUR: z.coerce.number().int().min(1).default(10),
  /** Acknowledgement mails to one address per hour; beyond, recorded as skipped. */
  ACK_PER_ADDRESS_HOUR: z.coerce.number().int().min(1).default(3),
  /** Larger mail is refused by SMTP (552) or quarantined when fetched over IMAP. */
  EMAIL_MAX_BYTES: z.coerce.number().int().min(1024).default(25 * 1024 * 1024),
  /** Poll an existing mailbox: imap://user:pass@host:143/INBOX or imaps://…:993/INBOX. Unset: no polling. */
  IMAP_URL: z.string().regex(/^imaps?:\/\//, 'imap://… or imaps://…').optional(),
  IMAP_POLL_MS: z.coerce.number().int().min(5000).default(60_000),
  /** A request still running after this long is logged with its route (so a hang shows in the log); so is one that ends later. */
  SLOW_REQUEST_LOG_MS: z.coerce.number().int().min(1).default(10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(200).default(5000),
  /** Ed25519 private key (base64 PKCS#8 DER) signing ledger checkpoints. Unset outside production: generated into DATA_DIR/keys.json. */
  LEDGER_SIGNING_KEY: z
    .string()
    .refine((s) => isEd25519PrivateKey(s), 'must be an Ed25519 private key, base64 PKCS#8 DER (see README "The ledger")')
    .optional(),
  /** Earlier signing keys' public keys (base64 SPKI DER, comma-separated), kept to verify checkpoints they signed. */
  LEDGER_VERIFY_KEYS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((k) => k.trim()).filter(Boolean))
    .refine((keys) => keys.every(isEd25519PublicKey), 'each must be an Ed25519 public key, base64 SPKI DER'),
  /** Who receives the ledger digest (latest checkpoint's number, hash and signature) each day. */
  LEDGER_WITNESS_EMAILS: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((a) => a.trim()).filter(Boolean))
    .refine((list) => list.every((a) => /^[^\s@<>]+@[^\s@<>]+$/.test(a)), 'comma-separated email addresses'),
  /** When the daily digest goes out (cron, in TIME_ZONE). */
  LEDGER_WITNESS_CRON: z.string().default('0 8 * * *'),
  /** Events waiting longer than this for a checkpoint: /healthz says so and supervisors get a notice. */
  LEDGER_CHECKPOINT_ALERT_MS: z.coerce.number().int().min(1000).default(300_000),
  /** Bearer token a Prometheus scraper sends for /metrics. Unset: /metrics answers loopback requests only. */
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  OUTBOX_POLL_MS: z.coerce.number().int().min(50).default(1000),
  /** How often a worker puts back jobs Redis lost from their outbox rows (also at start and after a flush is seen). */
  OUTBOX_RECONCILE_MS: z.coerce.number().int().min(100).default(60_000),
  /** A job whose worker died is taken up again after about this long (BullMQ lock and stalled check). */
  JOB_LOCK_MS: z.coerce.number().int().min(500).default(30_000),
  /** SIGTERM: how long in-flight requests, SMTP sessions and jobs get before the process exits. */
  SHUTDOWN_GRACE_MS: z.coerce.number().int().min(100).default(15_000),
  SESSION_TTL_HOURS: z.coerce.number().positive().default(12),
  /** A staff token unused this long stops working. */
  STAFF_IDLE_MINUTES: z.coerce.number().int().min(1).default(60),
  /**
   * A serve process keeps a token's principal this long at most, while it hears the database's
   * notices of session and account changes (README "Account security and limits"); 0: read every request's session.
   */
  STAFF_PRINCIPAL_CACHE_SECONDS: z.coerce.number().min(0).max(300).default(10),
  /** `required`: every staff account needs TOTP before it can do anything but enrol; `optional`. Unset: required in production. */
  STAFF_2FA: z.enum(['required', 'optional']).optional(),
  /** Phone PIN slow-down (README "Why guessing a tracking code is hopeless"): tries per code (twice as many per caller) before each waits longer. */
  PIN_FREE_ATTEMPTS: z.coerce.number().int().min(1).default(5),
  PIN_MAX_DELAY_SECONDS: z.coerce.number().int().min(1).max(24 * 3600).default(900),
  MIGRATE_ON_START: bool.default(true),
  ADMIN_USERNAME: z.string().min(3).default('admin'),
  ADMIN_PASSWORD: z.string().min(10).optional(),
});

export type Config = z.infer<typeof configSchema>;

export class ConfigError extends Error {}

export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const known = Object.fromEntries(
    Object.keys(configSchema.shape).flatMap((k) => (env[k] === undefined || env[k] === '' ? [] : [[k, env[k]]])),
  );
  const parsed = configSchema.safeParse(known);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`配置无效 / Invalid configuration:\n${lines.join('\n')}`);
  }
  if (parsed.data.NODE_ENV === 'production' && (!parsed.data.REPORTER_KEY || !parsed.data.SECRET_HMAC_KEY)) {
    throw new ConfigError(
      '生产环境必须设置 REPORTER_KEY 与 SECRET_HMAC_KEY / REPORTER_KEY and SECRET_HMAC_KEY are required in production ' +
        '(generate each with: node -e "console.log(crypto.randomBytes(32).toString(\'base64\'))")',
    );
  }
  if (parsed.data.NODE_ENV === 'production' && !parsed.data.LEDGER_SIGNING_KEY) {
    throw new ConfigError(
      '生产环境必须设置 LEDGER_SIGNING_KEY / LEDGER_SIGNING_KEY is required in production ' +
        '(generate one with: node src/main.ts ledger-keygen)',
    );
  }
  return parsed.data;
}
