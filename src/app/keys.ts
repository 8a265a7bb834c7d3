import { createSecretKey, type KeyObject, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from './config.ts';
import type { Logger } from './logger.ts';

export interface Keys {
  /** AES-256-GCM key for sealed reporter records. */
  reporterKey: KeyObject;
  /** HMAC-SHA256 key for report secrets; lives outside the database by design. */
  secretHmacKey: KeyObject;
}

/**
 * Keys come from configuration. For a quick start outside production they are generated once
 * into DATA_DIR/keys.json (mode 0600): outside the database, so a stolen dump alone reveals nothing.
 */
export function resolveKeys(config: Config, logger: Logger): Keys {
  if (config.REPORTER_KEY && config.SECRET_HMAC_KEY) {
    return {
      reporterKey: key(config.REPORTER_KEY),
      secretHmacKey: key(config.SECRET_HMAC_KEY),
    };
  }
  const file = join(config.DATA_DIR, 'keys.json');
  let stored: { reporterKey: string; secretHmacKey: string };
  try {
    stored = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    mkdirSync(config.DATA_DIR, { recursive: true });
    stored = { reporterKey: randomBytes(32).toString('base64'), secretHmacKey: randomBytes(32).toString('base64') };
    writeFileSync(file, JSON.stringify(stored), { mode: 0o600, flag: 'wx' });
    logger.warn({ file }, 'generated development keys; set REPORTER_KEY and SECRET_HMAC_KEY in production');
  }
  return {
    reporterKey: key(config.REPORTER_KEY ?? stored.reporterKey),
    secretHmacKey: key(config.SECRET_HMAC_KEY ?? stored.secretHmacKey),
  };
}

/** Key objects are made once: building one from raw bytes on every call costs more than the HMAC. */
const key = (base64: string): KeyObject => createSecretKey(Buffer.from(base64, 'base64'));
